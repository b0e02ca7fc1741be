"""Data-prep summaries of prepared answers: a coarse kind label per ground truth, and the ground truths the
reward can only string-match (reported before training).

The answer parsing itself (``normalize_ground_truth``, ``answer_from_solution``, the box parser) lives in
``siri_verl.answers``, shared with the reward.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from siri_verl.reward import check_ground_truths

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
