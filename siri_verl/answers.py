"""Math answers as strings: the ``\\boxed{}`` parser and ground-truth normalisation.

The one home of both, shared by data prep (``siri_verl.data``: ground truths normalised once, answers taken
from worked solutions) and the reward (``siri_verl.reward``: the model's final answer, and a fallback for
ground truths stored in another form). Pure Python; it imports neither package, so neither depends on the
other through it.

The source files store answers as integer strings (AIME24), JSON ints (AIME25), floats like ``27.0``
(AMC23), LaTeX strings (MATH500, DeepScaleR), lists of ``$...$`` strings (OlympiadBench), list-looking
strings (rllm Minerva) or only inside a solution's ``\\boxed{}`` (Minerva). ``normalize_ground_truth``
turns each into the one LaTeX string the reward compares against.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

# ---------------------------------------------------------------------------------------------------
# The box parser
# ---------------------------------------------------------------------------------------------------
_BOX_COMMANDS = ("\\boxed", "\\fbox")

# A box command with its opening brace, or a lone brace.
_BRACE_TOKENS = re.compile(r"\\(?:boxed|fbox)\{|[{}]")


def _braceless_box(text: str) -> tuple[int, str | None]:
    """Start and content of the last ``\\boxed 5`` (brace-less) box: the argument runs to the next
    whitespace or ``$``, a trailing period dropped."""
    start = max(text.rfind(command + " ") for command in _BOX_COMMANDS)
    if start < 0:
        return -1, None
    begin = text.index(" ", start) + 1
    end = begin
    while end < len(text) and not text[end].isspace() and text[end] != "$":
        end += 1
    return start, text[begin:end].rstrip(".") or None


def last_boxed_content(text: str) -> str | None:
    """Content of the last closed ``\\boxed{}``/``\\fbox{}`` in ``text`` (None when there is none).

    "Last" is the box that starts last among the closed ones (nested braces handled; for nested boxes
    the inner one). An unclosed trailing box (a response cut inside it) is skipped in favour of an
    earlier closed one. One pass over the braces, so degenerate output such as thousands of unclosed
    ``\\boxed{`` costs linear time.
    """
    best_start, best = -1, None
    open_braces: list[tuple[int, int] | None] = []  # (command start, content start) for boxes
    for match in _BRACE_TOKENS.finditer(text):
        token = match.group()
        if token == "}":
            if open_braces:
                opened = open_braces.pop()
                if opened is not None and opened[0] > best_start:
                    best_start, best = opened[0], text[opened[1] : match.start()]
        else:
            open_braces.append(None if token == "{" else (match.start(), match.end()))
    braceless_start, braceless = _braceless_box(text)
    if braceless is not None and braceless_start > best_start:
        return braceless
    return best


# ---------------------------------------------------------------------------------------------------
# Ground-truth normalisation
# ---------------------------------------------------------------------------------------------------
class InvalidAnswerError(ValueError):
    """A stored answer that cannot serve as a ground truth (missing, empty, NaN, ...)."""


_SCIENTIFIC = re.compile(r"^([+-]?\d+(?:\.\d+)?)[eE]([+-]?\d+)$")
_LIST_LIKE = re.compile(r"^\[.*\]$", re.DOTALL)


def _strip_math_delimiters(text: str) -> str:
    text = text.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(text) > len(left) + len(right) and text.startswith(left) and text.endswith(right):
            text = text[len(left) : -len(right)].strip()
            break
    boxed = last_boxed_content(text) if text.startswith("\\boxed{") else None
    if boxed is not None and text == "\\boxed{" + boxed + "}":  # the whole string is one box
        text = boxed.strip()
    return text


def _normalize_string(text: str) -> str:
    text = _strip_math_delimiters(text).replace("$ $", " ")  # Minerva: "a+$ $b" (split math mode)
    scientific = _SCIENTIFIC.match(text)
    if scientific:  # "4.5e33" parses as 4.5*e*33 in LaTeX; write it as a power of ten
        mantissa, exponent = scientific.groups()
        text = f"{mantissa}\\times10^{{{int(exponent)}}}"
    return text


def _normalize_number(value: float | int) -> str:
    if isinstance(value, bool):
        raise InvalidAnswerError(f"a boolean ({value}) is not a math answer")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidAnswerError(f"non-finite answer {value!r}")
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def normalize_ground_truth(value: Any) -> str:
    """The canonical answer string for a stored answer; raises ``InvalidAnswerError`` when unusable.

    ints and integral floats become integer strings (``27.0`` -> ``"27"``), strings lose surrounding
    ``$``/``\\(\\)``/``\\boxed{}``, scientific notation becomes ``a\\times10^{b}``, list-looking strings
    are parsed, and lists (several answers) are joined with ", " after normalising each element.
    """
    if value is None:
        raise InvalidAnswerError("answer is missing (null)")
    if isinstance(value, (int, float)):
        return _normalize_number(value)
    if isinstance(value, (list, tuple)):
        parts = [normalize_ground_truth(item) for item in value]
        if not parts:
            raise InvalidAnswerError("answer is an empty list")
        return ", ".join(parts)
    if hasattr(value, "tolist"):  # numpy arrays / scalars from parquet
        return normalize_ground_truth(value.tolist())
    if not isinstance(value, str):
        raise InvalidAnswerError(f"answer has unsupported type {type(value).__name__}")
    text = value.strip()
    if _LIST_LIKE.match(text):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None  # an interval like "[1, 3]" stays a string
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return normalize_ground_truth(parsed)
    text = _normalize_string(text)
    if not text:
        raise InvalidAnswerError("answer is empty")
    return text


def answer_from_solution(solution: Any) -> str:
    """The last ``\\boxed{}`` of a worked solution (for sources that store no separate answer)."""
    if isinstance(solution, (list, tuple)):
        solution = "\n".join(str(part) for part in solution)
    if not isinstance(solution, str):
        raise InvalidAnswerError("no answer field and no solution text to take a \\boxed{} answer from")
    boxed = last_boxed_content(solution)
    if boxed is None:
        raise InvalidAnswerError("no answer field and the solution has no \\boxed{} answer")
    return normalize_ground_truth(boxed)
