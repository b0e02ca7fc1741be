"""Ground-truth normalisation, done once at data-prep time.

The source files store answers as integer strings (AIME24), JSON ints (AIME25), floats like ``27.0``
(AMC23), LaTeX strings (MATH500, DeepScaleR), lists of ``$...$`` strings (OlympiadBench), list-looking
strings (rllm Minerva) or only inside a solution's ``\\boxed{}`` (Minerva). ``normalize_ground_truth``
turns each into the one LaTeX string the reward compares against.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from siri_verl.reward.extraction import last_boxed_content


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


_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d*\.\d+$")


def answer_kind(answer: str) -> str:
    """A coarse label for the summary: integer, decimal, fraction, tuple/list, interval, text, expression."""
    if _INTEGER.match(answer):
        return "integer"
    if _DECIMAL.match(answer):
        return "decimal"
    if re.fullmatch(r"-?\\[dt]?frac\{[^{}]+\}\{[^{}]+\}", answer):
        return "fraction"
    if "\\text" in answer or re.fullmatch(r"[A-Za-z ]+", answer):
        return "text"
    if "," in answer and answer[:1] in "([" and answer[-1:] in ")]":
        return "tuple" if (answer[0], answer[-1]) == ("(", ")") else "interval"
    if "," in answer:
        return "list"
    return "expression"


def string_match_only_golds(ground_truths: Iterable[str]) -> dict[str, str]:
    """The ground truths the reward cannot parse whole, each with why (a key of
    ``siri_verl.reward.GOLD_STATUSES``: "partial_parse", "unparsable", "hopeless", "timeout"). Answers to
    these rows score 1 only when they match the gold as a normalised string."""
    from siri_verl.reward import check_ground_truths

    golds = list(dict.fromkeys(ground_truths))
    return {gold: status for gold, status in zip(golds, check_ground_truths(golds)) if status}


def string_match_only_rows(records: Sequence[dict], statuses: dict[str, str]) -> list[dict]:
    """The prepared ``records`` whose ground truth is in ``statuses``, named for the summary."""
    rows = []
    for record in records:
        gold = record["reward_model"]["ground_truth"]
        if gold in statuses:
            info = record["extra_info"]
            rows.append({"index": info["index"], "original_id": info.get("original_id"), "ground_truth": gold,
                         "status": statuses[gold]})
    return rows
