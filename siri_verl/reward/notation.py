"""Answer notation rewritten before any comparison, and the cheap refusal of hopeless expressions.

``prepare_answer`` turns an extracted answer (or a ground truth) into the form both the fast path and
math-verify compare, and splits off what is not part of the value:

- math-mode ``$`` left inside the answer (``221,$8``, ``(1,2)$,$(3,4)``) is dropped;
- TeX's argument rule: an unbraced argument of ``\\frac``/``\\sqrt``/``\\binom`` is one token, so ``\\frac 123``
  is ``\\frac{1}{2}3`` and ``\\sqrt 23`` is ``\\sqrt{2}3`` (arguments are braced explicitly);
- upright constants: ``\\mathrm{e}``, ``\\operatorname{e}``, ``\\mathrm{i}``, ``\\mathrm{d}``, ``\\mathrm{\\pi}`` (and
  ``\\text``/``\\textrm``/``\\rm`` spellings) become ``e``, ``i``, ``d``, ``\\pi``, which math-verify parses;
- the empty set spellings ``\\varnothing``, ``\\emptyset``, ``\\{\\}``, ``∅`` become ``\\emptyset``;
- a repeating decimal (``0.\\overline{3}``, ``0.1\\overline{6}``) becomes the integer fraction it equals;
- an ordinal suffix (``11^{\\text{th}}``) is dropped;
- a trailing unit becomes ``unit`` (``15\\mbox{ cm}^2``, ``\\text{4 inches}``, ``245 yd.``, ``10\\%``,
  ``90^\\circ``): the value is compared alone, and two answers that both carry a unit must carry the same one;
- a list of equations for one variable (``x = \\frac12, x = 3``) becomes the list of right-hand sides, and an
  item with one ``\\pm``/``\\mp`` becomes its two roots, so ``x = 2, x = \\pm 3`` is the set ``2, 3, -3``.

Every rewrite keeps the value; none of them needs sympy. ``hopeless_reason`` refuses, by looking at the
string only, expressions no grader can evaluate in time (power towers, huge powers and factorials, deep
nesting, very long answers), so they never reach a worker process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

# ------------------------------------------------------------------------------- TeX argument rule
_ARGUMENT_COMMANDS = {"frac": 2, "dfrac": 2, "tfrac": 2, "cfrac": 2, "binom": 2, "dbinom": 2, "tbinom": 2, "sqrt": 1}
_COMMAND = re.compile(r"\\([A-Za-z]+)")


def _braces(text: str, start: int = 0):
    """(index, brace, depth after it) for each ``{`` / ``}`` of ``text`` from ``start`` that no backslash
    escapes (a backslash skips the character after it)."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in "{}":
            depth += 1 if char == "{" else -1
            yield index, char, depth
        index += 1


def _group_end(text: str, start: int) -> tuple[int, bool]:
    """(end exclusive, closed) of the balanced ``{...}`` group opening at ``start``; (len(text), False)
    when it is never closed."""
    for index, brace, depth in _braces(text, start):
        if brace == "}" and depth == 0:
            return index + 1, True
    return len(text), False


def _read_argument(text: str, start: int) -> tuple[str, int] | None:
    """One TeX macro argument at ``start`` (spaces skipped): a braced group, a control word or one
    character. Returns (argument without braces, end) or None at the end of the text."""
    index = start
    while index < len(text) and text[index] == " ":
        index += 1
    if index >= len(text):
        return None
    char = text[index]
    if char == "{":
        end, closed = _group_end(text, index)
        return text[index + 1 : end - 1 if closed else end], end
    if char == "\\":
        match = _COMMAND.match(text, index)
        end = match.end() if match else min(index + 2, len(text))
        return text[index:end], end
    if char == "}":
        return None
    return char, index + 1


def brace_arguments(text: str) -> str:
    """Brace every argument of ``\\frac``-like commands and ``\\sqrt`` (TeX's rule: an unbraced argument is
    one token), so ``\\frac 123`` -> ``\\frac{1}{2}3`` and ``\\sqrt 23`` -> ``\\sqrt{2}3``."""
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        match = _COMMAND.match(text, index) if text[index] == "\\" else None
        if match is None:
            out.append(text[index : index + 2] if text[index] == "\\" else text[index])
            index += 2 if text[index] == "\\" else 1
            continue
        name = match.group(1)
        out.append(match.group())
        index = match.end()
        count = _ARGUMENT_COMMANDS.get(name)
        if count is None:
            continue
        if name == "sqrt":  # optional [n]
            probe = index
            while probe < len(text) and text[probe] == " ":
                probe += 1
            if probe < len(text) and text[probe] == "[":
                close = text.find("]", probe)
                if close > 0:
                    out.append(text[probe : close + 1])
                    index = close + 1
        for _ in range(count):
            argument = _read_argument(text, index)
            if argument is None:
                break
            content, index = argument
            out.append("{" + brace_arguments(content) + "}")
    return "".join(out)


# -------------------------------------------------------------------------------- spellings
_UPRIGHT_CONSTANT = re.compile(
    r"\\(?:mathrm|operatorname|textrm|text|mathit|mathsf|rm)\s*\{\s*(e|i|d|\\pi)\s*\}|\{\\rm\s+(e|i|d)\}"
)
_EMPTY_SET = re.compile(r"\\varnothing(?![A-Za-z])|\\emptyset(?![A-Za-z])|∅|\\\{\s*\\\}|\\left\\\{\s*\\right\\\}")
_REPEATING = re.compile(r"(?<![\d.])([+-]?)(\d*)\.(\d*)\\overline\s*(?:\{\s*(\d+)\s*\}|(\d))")
_ORDINAL = re.compile(r"(\d)\s*\^\s*\{?\s*\\(?:text|mathrm|textrm)\{\s*(?:st|nd|rd|th)\s*\}\s*\}?")
_DOLLAR = re.compile(r"(?<!\\)\$")
# "2, 3, or 4", "9 and -7", "1 \text{ or } 5": the words join the items of a list
_CONNECTOR = re.compile(r"\s*,?\s*(?:\\(?:text|textrm|mbox)\s*\{\s*(?:and|or)\s*\}|(?<=[\s,])(?:and|or)(?=\s))\s*")


def canonical_spellings(text: str) -> str:
    """Upright constants, empty-set spellings, repeating decimals and ordinal suffixes in one canonical
    form (see the module docstring); everything else unchanged."""
    text = _UPRIGHT_CONSTANT.sub(lambda m: m.group(1) or m.group(2), text)
    text = _EMPTY_SET.sub(r"\\emptyset", text)
    text = _REPEATING.sub(_repeating_to_fraction, text)
    return _ORDINAL.sub(r"\1", text)


def _repeating_to_fraction(match: re.Match) -> str:
    sign, whole, fixed, repeat = match.group(1), match.group(2), match.group(3), match.group(4) or match.group(5)
    value = Fraction(int(whole or 0))
    if fixed:
        value += Fraction(int(fixed), 10 ** len(fixed))
    value += Fraction(int(repeat), (10 ** len(repeat) - 1) * 10 ** len(fixed))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


# --------------------------------------------------------------------------------------- units
_TEXT_GROUP = r"\\(?:text|textrm|mbox|mathrm|textnormal|textit)\s*\{[^{}]*\}"
_TEXT_GROUP_CONTENT = re.compile(r"\\(?:text|textrm|mbox|mathrm|textnormal|textit)\s*\{([^{}]*)\}")
_UNIT_WORDS = re.compile(r"[A-Za-z][A-Za-z .\-/]*")
_POWER = r"(?:\s*\^\s*(?:\{\s*-?\d\s*\}|-?\d))?"
_TRAILING_TEXT_UNIT = re.compile(
    rf"(?:\s*(?:\\[,;:! ]|~)*\s*{_TEXT_GROUP}{_POWER}(?:\s*/\s*{_TEXT_GROUP}{_POWER})?)+\s*\.?$"
)
_TEXT_WITH_NUMBER = re.compile(
    r"^\\(?:text|textrm|mbox)\s*\{\s*([+-]?\d[\d,]*(?:\.\d+)?)\s+([A-Za-z][A-Za-z .\-/]*?)\.?\s*\}$"
)
_PLAIN_UNIT = re.compile(r"^([+-]?\d[\d,]*(?:\.\d+)?)\s+([A-Za-z]{2,}(?:\s+[A-Za-z]{2,})?)\.?$")
_BASE = re.compile(r"([0-9A-Za-z]*\d[0-9A-Za-z]*)\s*_\s*\{?\s*(\d+)\s*\}?")  # 204_5, 4210_{5}
_SHORT_UNITS = frozenset("cm mm km kg mg yd ft in mi lb oz hr ml".split())
_PERCENT = re.compile(r"\s*\\?%\s*\.?$")
_DEGREE = re.compile(r"\s*\^\s*(?:\\circ|\{\s*\\circ\s*\})\s*\.?$|\s*°\s*$|\s*\\degree\s*$")
_CURRENCY = re.compile(r"^\\\$\s*")
_UNIT_SPACE = re.compile(r"\\[,;:! ]|~|\s+|[{}]")
_UNIT_WRAPPER = re.compile(r"\\(?:text|textrm|mbox|mathrm|textnormal|textit)")


# Spellings of one unit (after plural folding): percent, degrees, dollars and a few common abbreviations.
_UNIT_ALIASES = {
    "percent": "%", "percentage": "%", "pct": "%", "degree": "°", "deg": "°", "\\circ": "°", "dollar": "$",
    "\\$": "$", "centimeter": "cm", "centimetre": "cm", "meter": "m", "metre": "m", "kilometer": "km",
    "kilometre": "km", "millimeter": "mm", "millimetre": "mm", "inch": "in", "foot": "ft", "feet": "ft",
    "yard": "yd", "second": "s", "sec": "s", "minute": "min", "hour": "h", "hr": "h", "gram": "g", "kilogram": "kg",
}


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("es") and word[:-2].endswith(("ch", "sh", "x", "s")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _unit_key(unit: str) -> str:
    """A unit in one spelling: wrappers and spacing removed, words singular, common aliases folded
    (``\\text{ inches}`` and ``\\text{in}``, ``\\text{ degrees}`` and ``^\\circ`` are the same unit)."""
    key = _UNIT_SPACE.sub(" ", _UNIT_WRAPPER.sub(" ", unit)).strip().rstrip(".").strip()
    words = [_UNIT_ALIASES.get(_singular(w), _singular(w)) for w in re.split(r"(\s+|/|\^)", key) if w.strip()]
    return "".join(words)


def split_unit(text: str) -> tuple[str, str]:
    """(value, unit) of an answer with a trailing unit, percent sign or degree sign; unit "" when none.

    A unit is recognised only after a non-empty value that is not itself a text group, so ``\\text{Evelyn}``
    or ``\\text{(C)}`` stay whole. ``\\text{4 inches}`` and ``245 yd.`` are (number, words).
    """
    text = text.strip()
    base = _BASE.fullmatch(text)
    if base:
        return base.group(1), f"base {base.group(2)}"
    plain = _PLAIN_UNIT.match(text)
    if plain and not all(len(w) > 2 or w.lower() in _SHORT_UNITS for w in plain.group(2).split()):
        plain = None  # "4 ab" is a product, not a unit
    match = _TEXT_WITH_NUMBER.match(text) or plain
    if match:
        return match.group(1).replace(",", ""), _unit_key(match.group(2))
    for pattern, name in ((_PERCENT, "%"), (_DEGREE, "°")):
        found = pattern.search(text)
        if found and found.start() > 0:
            return text[: found.start()].strip(), name
    found = _TRAILING_TEXT_UNIT.search(text)
    if found and found.start() > 0:
        value, unit = text[: found.start()].strip(), found.group()
        words = [_UNIT_SPACE.sub(" ", w).strip() for w in re.findall(_TEXT_GROUP_CONTENT, unit)]
        if value and all(_UNIT_WORDS.fullmatch(w) for w in words) and not value.endswith(("\\", "^", "_")):
            if not re.search(_TEXT_GROUP + r"\s*$", value):
                return value, _unit_key(unit)
    currency = _CURRENCY.match(text)
    if currency and len(text) > currency.end():
        return text[currency.end() :], "$"
    return text, ""


# ------------------------------------------------------------------------- lists of equations, ±
_OPENERS, _CLOSERS = "([{", ")]}"
_EQUATION = re.compile(r"^\s*([A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?)\s*=\s*([^=]+?)\s*$")
_WHOLE_SET = re.compile(r"(\\left\\\{|\\\{)(.*)(\\right\\\}|\\\})", re.DOTALL)
_PLUS_MINUS = re.compile(r"\\(?:pm|mp)(?![A-Za-z])|±|∓")


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """``text`` split at ``separator`` outside any (), [], {} or \\{\\} group."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            if text[index + 1] in "{}":
                depth = depth + 1 if text[index + 1] == "{" else max(depth - 1, 0)
            index += 2
            continue
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return parts


def expand_roots(text: str) -> str:
    """A list of equations for one variable becomes the list of right-hand sides, and an item with one
    ``\\pm`` becomes its two roots; other answers are returned unchanged."""
    if "=" not in text and not _PLUS_MINUS.search(text):
        return text
    braced_set = _WHOLE_SET.fullmatch(text)
    if braced_set and len(split_top_level(braced_set.group(2) + "," + "x", ",")) > 1:
        inner = braced_set.group(2)
        if len(split_top_level(text)) == 1:  # one set: expand inside it
            return braced_set.group(1) + expand_roots(inner) + braced_set.group(3)
    items = [item.strip() for item in split_top_level(text)]
    equations = [_EQUATION.match(item) for item in items]
    has_pm = any(_PLUS_MINUS.search(item) for item in items)
    if all(equations) and len({m.group(1) for m in equations}) == 1 and (len(items) > 1 or has_pm):
        items = [m.group(2) for m in equations]
    elif any("=" in item for item in items):
        return text
    expanded = []
    for item in items:
        signs = _PLUS_MINUS.findall(item)
        if len(signs) == 1:
            minus_first = signs[0] in ("\\mp", "∓")
            for sign in ("-", "+") if minus_first else ("+", "-"):
                expanded.append(_PLUS_MINUS.sub(sign, item).lstrip("+").strip())
        elif signs:
            return text  # two or more: ambiguous pairing, left to the parser
        else:
            expanded.append(item)
    return ", ".join(expanded)


# ------------------------------------------------------------------------------------- prepare
@dataclass(frozen=True)
class PreparedAnswer:
    """An answer ready to compare: ``value`` (LaTeX, value-preserving rewrites applied) and ``unit``
    ("" when none; "%" percent, "°" degrees, "$" currency, else the unit text without spacing)."""

    value: str
    unit: str


def prepare_answer(answer: str) -> PreparedAnswer:
    """The rewrites of the module docstring, in order: ``$``, arguments, spellings, unit, roots."""
    text = answer.strip()
    if len(text) >= 2 and text[0] == "$" and text[-1] == "$":
        text = text.strip("$")
    text = _DOLLAR.sub("", text).strip()
    if text.endswith(".") and not text[-2:-1].isdigit():
        text = text[:-1].rstrip()
    text = _CONNECTOR.sub(", ", canonical_spellings(brace_arguments(text)))
    value, unit = split_unit(text)
    return PreparedAnswer(expand_roots(value), unit)


def units_differ(a: PreparedAnswer, b: PreparedAnswer) -> bool:
    """Both answers carry a unit and the units are not the same (one side without a unit is accepted:
    the bare number of ``\\text{4 inches}`` is 4)."""
    return bool(a.unit and b.unit and a.unit != b.unit)


# ------------------------------------------------------------------------------- hopeless answers
# Thresholds (see docs/reward.md "Time limits"): legitimate answers stay far below every one of them.
MAX_ANSWER_CHARS = 600  # longest prepared benchmark ground truth: 210 characters
MAX_NESTING = 30  # deepest (), [], {} nesting of a benchmark ground truth: 6
MAX_RESULT_DIGITS = 10_000  # an integer power or factorial with more digits than this is refused
MAX_TOWER_HEIGHT = 3  # a^{b^{c}} is allowed (e^{-x^2}, 2^{2^n}); a^{b^{c^{d}}} is refused

_NUMBER_LITERAL = re.compile(r"[+-]?\s*(?:\d+(?:\.\d*)?|\.\d+)")


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            if text.startswith("\\left", index) or text.startswith("\\right", index):
                index += 5 if text.startswith("\\left", index) else 6
                continue
            index += 2
            continue
        if char in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSERS:
            depth -= 1
        index += 1
    return deepest


def _braces_balanced(text: str) -> bool:
    depth = 0
    for _, _, depth in _braces(text):
        if depth < 0:
            return False
    return depth == 0


def _strip_enclosing(expr: str) -> str:
    """``expr`` without spaces at the ends and without one pair of (), {} enclosing all of it."""
    expr = expr.strip()
    while len(expr) >= 2 and (expr[0], expr[-1]) in (("(", ")"), ("{", "}")):
        depth = 0
        for index, char in enumerate(expr):
            depth += char in "({"
            depth -= char in ")}"
            if depth == 0 and index < len(expr) - 1:
                return expr  # the first group closes before the end: not enclosing
        expr = expr[1:-1].strip()
    return expr


def _log10_value(expr: str, depth: int = 0) -> float | None:
    """log10 of a numeric power tower (``a^{b^{c}}``, ``(10^{10})^{5}``, a number), None when ``expr`` is
    not one (symbolic towers are judged by their height only); math.inf when it overflows."""
    expr = _strip_enclosing(expr)
    if depth > MAX_NESTING:
        return math.inf
    if _NUMBER_LITERAL.fullmatch(expr):
        value = abs(float(expr.replace(" ", "")))  # 10^{-100000} has as many digits as 10^{100000}
        return math.log10(value) if value > 0 else -math.inf
    caret = _top_level_caret(expr)
    if caret < 0:
        return None
    argument = _read_argument(expr, caret + 1)
    if argument is None or expr[argument[1] :].strip():
        return None
    base_log = _log10_value(expr[:caret], depth + 1)
    exponent_log = _log10_value(argument[0], depth + 1)
    if base_log is None or exponent_log is None:
        return None
    if base_log <= 0:
        return 0.0
    if exponent_log > 300:
        return math.inf
    return base_log * 10.0**exponent_log


def _top_level_caret(expr: str) -> int:
    depth = 0
    for index, char in enumerate(expr):
        depth += char in "({["
        depth -= char in ")}]"
        if char == "^" and depth == 0:
            return index
    return -1


def _power_bases(text: str):
    """(base, exponent) strings of every ``^`` in ``text``: the base is the number literal or bracketed
    group just before it, the exponent the TeX argument after it."""
    for caret, char in enumerate(text):
        if char != "^":
            continue
        end = len(text[:caret].rstrip())
        start = end
        if end and text[end - 1] in ")}":
            depth = 0
            while start > 0:
                start -= 1
                depth += text[start] in ")}"
                depth -= text[start] in "({"
                if depth == 0:
                    break
        else:
            while start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
                start -= 1
        argument = _read_argument(text, caret + 1)
        if start < end and argument is not None:
            yield text[start:end], argument[0]


def _tower_height(text: str) -> int:
    """Number of stacked powers: ``a^b`` is 2, ``a^{b^{c}}`` is 3 (1 when there is no power)."""
    best, index = 1, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            match = _COMMAND.match(text, index)
            index = match.end() if match else index + 2
        elif char == "^":
            argument = _read_argument(text, index + 1)
            if argument is None:
                break
            exponent, index = argument
            best = max(best, 1 + _tower_height(exponent))
        elif char == "{":
            end, _ = _group_end(text, index)
            best = max(best, _tower_height(text[index + 1 : end - 1]))
            index = end
        else:
            index += 1
    return best


def hopeless_reason(answer: str) -> str | None:
    """Why ``answer`` cannot be evaluated in time by any grader (a string check, microseconds), or None.

    Refused: more than ``MAX_ANSWER_CHARS`` characters; brackets nested deeper than ``MAX_NESTING``;
    unbalanced braces (no parser reads them, and latex2sympy2 can spend seconds failing); a power tower
    higher than ``MAX_TOWER_HEIGHT``; an integer power or factorial of more than ``MAX_RESULT_DIGITS`` digits (``9^{9^9}``, ``10^{100000}``, ``(10^{10})!``, ``100000!``).
    """
    if len(answer) > MAX_ANSWER_CHARS:
        return f"longer than {MAX_ANSWER_CHARS} characters"
    if _nesting_depth(answer) > MAX_NESTING:
        return f"brackets nested deeper than {MAX_NESTING}"
    if not _braces_balanced(answer):
        return "unbalanced braces (not a TeX expression)"
    if "^" in answer:
        if _tower_height(answer) > MAX_TOWER_HEIGHT:
            return f"a tower of more than {MAX_TOWER_HEIGHT} powers"
        for base, exponent in _power_bases(answer):
            log_value = _log10_value("{" + base + "}^{" + exponent + "}")
            if log_value is not None and log_value > MAX_RESULT_DIGITS:
                return f"a power with more than {MAX_RESULT_DIGITS} digits"
    if "!" in answer:
        for match in re.finditer(r"(\d+(?:\.\d+)?|\}|\))\s*!", answer):
            if match.group(1).isdigit() or "." in match.group(1):
                argument = match.group(1)
            else:  # (…)! or {…}!: the bracketed argument before it
                close = match.start(1)
                opener = "(" if match.group(1) == ")" else "{"
                depth, index = 0, close
                while index >= 0:
                    if answer[index] in ")}":
                        depth += 1
                    elif answer[index] in "({":
                        depth -= 1
                        if depth == 0:
                            break
                    index -= 1
                argument = answer[index + 1 : close] if index >= 0 and answer[index] == opener else ""
            log_value = _log10_value(argument) if argument else None
            if log_value is not None and (log_value == math.inf or _factorial_digits(log_value) > MAX_RESULT_DIGITS):
                return f"a factorial with more than {MAX_RESULT_DIGITS} digits"
    return None


def _factorial_digits(log10_n: float) -> float:
    """Digits of n! for n = 10**log10_n (Stirling)."""
    if log10_n > 300:
        return math.inf
    n = 10.0**log10_n
    if n < 2:
        return 1.0
    return (n * math.log(n) - n + 0.5 * math.log(2 * math.pi * n)) / math.log(10)


# ------------------------------------------------------------------- what a whole parse must keep
GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi omicron rho "
    "varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma Upsilon Phi "
    "Psi Omega hbar ell".split()
)
_SKIPPED_GROUPS = re.compile(
    r"\\(?:text|textrm|textbf|textit|mbox|mathrm|mathbf|mathit|mathsf|mathcal|mathbb|operatorname|"
    r"begin|end|textnormal)\s*\{[^{}]*\}"
)
_NUMBER_WITH_SUBSCRIPT = re.compile(r"\d\s*_")


def answer_identifiers(text: str) -> list[str]:
    """The variable names written in ``text``, in order: single letters and Greek letters outside text
    groups and command names (``\\frac{x}{\\omega}`` -> ["x", "omega"])."""
    text = _SKIPPED_GROUPS.sub(" ", text)
    names = []
    for match in re.finditer(r"\\([A-Za-z]+)|([A-Za-z])", text):
        if match.group(1) is not None:
            if match.group(1) in GREEK:
                names.append(match.group(1))
        else:
            names.append(match.group(2))
    return names


def lost_by_parse(text: str) -> str | None:
    """What a parser that folds letter case and drops subscripts of numbers (as latex2sympy2 does) would
    lose in ``text``, or None: two variables that differ only in case (``N=n``), or a number with a
    subscript (a base, ``204_5``)."""
    if _NUMBER_WITH_SUBSCRIPT.search(text):
        return "a number with a subscript (a base)"
    letters = {name for name in answer_identifiers(text) if len(name) == 1}
    if any(name.swapcase() in letters for name in letters if name.islower()):
        return "variables that differ only in letter case"
    return None


_EXPONENT_DIGITS = re.compile(r"\^\s*\{?\s*-?\s*(\d+)")


def exponent_counts(text: str) -> dict[str, int]:
    """How often each number occurs as an exponent in ``text``; a normaliser that drops a unit drops its
    exponent with it (``15\\mbox{ cm}^2`` -> ``15``), so a whole parse's source keeps every one."""
    counts: dict[str, int] = {}
    for number in _EXPONENT_DIGITS.findall(text):
        counts[number] = counts.get(number, 0) + 1
    return counts
