"""SIRI's binary length-capping math reward as a verl custom reward function, plus batch scoring.

Rule (docs/paper.md §5, DeepScaleR): the response *is* the rollout clipped at the current cap L(t), so it
is graded as it stands -- 1.0 when an answer can be extracted from it (the last ``\\boxed{}`` after
``</think>``) and equals the ground truth, 0.0 otherwise. A response cut before ``</think>`` or before its
box closes therefore scores 0. No format reward, no length penalty.

Grading order, cheapest first: extraction (string scan) -> normalised string equality -> refusal of
hopeless answers (power towers, huge powers/factorials, deep nesting; a string check) -> notation
rewrites and units (``siri_verl.reward.notation``; both answers carrying different units -> 0) -> integer
literals compared exactly, other number literals (decimal, scientific, integer fractions) by value ->
math-verify in a killable worker process with a hard time limit, which compares symbolically only when
both parses account for the whole answer. Nothing here raises on model output: a timeout, a refused, an
unparsable or a partly parsed answer scores 0 and says why in ``reason``.

The reward applies no truncation policy: it reports whether the response hit its cap (``truncated``, ``cap``,
read from the response record the SIRI agent loop writes, ``siri_verl.response_record``), and what happens
to truncated responses is the one setting ``algorithm.siri.truncation`` (``siri_verl.integration.truncation``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, NoReturn

from siri_verl.answers import InvalidAnswerError, normalize_ground_truth
from siri_verl.errors import ConfigKeyError
from siri_verl.response_record import CAP_FIELD, TRUNCATED_FIELD
from siri_verl.reward.extraction import THINK_MODES, extract_answer
from siri_verl.reward.normalize import integer_value, normalize_answer, numbers_verdict, numeric_value
from siri_verl.reward.notation import PreparedAnswer, hopeless_reason, prepare_answer, units_differ
from siri_verl.reward.verifier import Verdict, shared_pool

REWARD_KWARGS_KEY = "reward.custom_reward_function.reward_kwargs"


class RewardOptionError(ConfigKeyError, TypeError):
    """A bad reward option; ``key`` is its full dotted key (``reward.custom_reward_function.reward_kwargs.<option>``).

    Also a ``TypeError``, as Python raises for an unknown keyword argument, so callers catching either work."""


# Options that no longer exist, with what replaced them (checked before "not an option": the user reads the
# migration hint).
REMOVED_OPTIONS = {
    "truncated_score": (
        "was removed: truncation is one setting, algorithm.siri.truncation (zero = the old truncated_score=zero, "
        "needs algorithm.adv_estimator=siri_grpo; paper = the old as_is); delete the reward kwarg "
        "(docs/integration.md)"
    ),
}

# Keys verl may add to the call that are not reward options (reward-loop managers with a reward router).
_VERL_CALL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})

# Every result has exactly these keys (verl builds reward_extra_info columns from the first sample).
RESULT_KEYS = ("score", "acc", "pred", "has_answer", "truncated", "cap", "reason")


@dataclass(frozen=True)
class RewardOptions:
    """Options of the SIRI math reward; set them under ``reward.custom_reward_function.reward_kwargs``.

    think_mode: where the answer is searched: "require" (after ``</think>``; none -> 0, the DeepScaleR/SIRI
        rule), "optional" (after ``</think>`` if present, else everywhere) or "ignore" (models without
        think tags).
    timeout_s: hard wall-clock limit per math-verify comparison, in seconds; on expiry the worker process
        is killed and the answer scores 0 with reason "timeout". The default, 4, covers the slowest
        comparison of a legitimate benchmark answer measured on a busy 2-core machine (3.5 s) and keeps
        every response under 5 s end to end (docs/reward.md, "Time limits").
    verify_workers: number of math-verify worker processes per reward process (0 = min(4, CPU count)).
    memory_limit_mb: address-space limit of each worker process (0 = none); a comparison that exceeds it
        scores 0 with reason "memory_limit".
    """

    think_mode: str = "require"
    timeout_s: float = 4.0
    verify_workers: int = 0
    memory_limit_mb: int = 4096

    def __post_init__(self) -> None:
        if not isinstance(self.think_mode, str) or self.think_mode not in THINK_MODES:
            self._refuse("think_mode", f"choose one of {sorted(THINK_MODES)}")
        if not (isinstance(self.timeout_s, (int, float)) and math.isfinite(self.timeout_s) and self.timeout_s > 0):
            self._refuse("timeout_s", "must be a positive number of seconds")
        if not isinstance(self.verify_workers, int) or self.verify_workers < 0:
            self._refuse("verify_workers", "must be an int >= 0 (0 = auto)")
        if not isinstance(self.memory_limit_mb, int) or self.memory_limit_mb < 0:
            self._refuse("memory_limit_mb", "must be an int >= 0 (0 = none)")

    def _refuse(self, option: str, problem: str) -> NoReturn:
        raise RewardOptionError(f"{REWARD_KWARGS_KEY}.{option}", problem, getattr(self, option))

    @property
    def num_workers(self) -> int:
        return self.verify_workers or min(4, os.cpu_count() or 1)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RewardOptions:
        """Options from reward kwargs. Raises :class:`RewardOptionError` keyed by the option: for a removed option
        naming the setting that replaced it (``REMOVED_OPTIONS``), for an unknown one listing the valid ones."""
        known = sorted(f.name for f in fields(cls))
        removed = sorted(set(kwargs) & set(REMOVED_OPTIONS))
        if removed:
            raise RewardOptionError(f"{REWARD_KWARGS_KEY}.{removed[0]}", REMOVED_OPTIONS[removed[0]])
        unknown = sorted(set(kwargs) - set(known) - _VERL_CALL_KWARGS)
        if unknown:
            also = f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else ""
            raise RewardOptionError(
                f"{REWARD_KWARGS_KEY}.{unknown[0]}",
                f"is not an option of siri_verl.reward.compute_score{also}; valid options: {', '.join(known)} "
                "(docs/reward.md)",
            )
        options = tuple(sorted((k, v) for k, v in kwargs.items() if k in known))
        if all(isinstance(value, Hashable) for _, value in options):
            return _options_cached(options)
        return cls(**dict(options))  # a list or dict value (from the YAML): refused by the checks, uncached


@lru_cache(maxsize=64)
def _options_cached(items: tuple) -> RewardOptions:
    return RewardOptions(**dict(items))


def _ground_truth_string(ground_truth: Any) -> str:
    if isinstance(ground_truth, str):
        return ground_truth.strip()
    # Prepared parquet stores strings; other stored types (int, 27.0, lists) are converted here only as
    # a fallback for data not produced by data_prep/prepare.py.
    try:
        return normalize_ground_truth(ground_truth)
    except InvalidAnswerError:
        return ""


def _truncation_info(extra_info: Mapping[str, Any] | None) -> tuple[bool, int | None]:
    """(truncated, cap) as far as ``extra_info`` carries the SIRI response record: a reward called outside a SIRI
    rollout (no record, or only the flag) still grades, reporting not truncated / no cap for what is missing."""
    if not extra_info:
        return False, None
    truncated = bool(extra_info.get(TRUNCATED_FIELD, False))
    cap = extra_info.get(CAP_FIELD)
    try:
        cap = None if cap is None else int(cap)
    except (TypeError, ValueError):
        cap = None
    return truncated, cap


# Longer answers skip the in-process string checks (their cost grows with nesting) and go straight to
# the time-bounded worker.
_MAX_FAST_PATH_CHARS = 1000


def _fast_verdict(gold: str, pred: str) -> bool | None:
    """Decide without math-verify when that is exact; None when math-verify is needed."""
    if len(pred) > _MAX_FAST_PATH_CHARS or len(gold) > _MAX_FAST_PATH_CHARS:
        return None
    gold_norm, pred_norm = normalize_answer(gold), normalize_answer(pred)
    if gold_norm == pred_norm:
        return True
    gold_int, pred_int = integer_value(gold_norm), integer_value(pred_norm)
    if gold_int is not None and pred_int is not None:
        return gold_int == pred_int
    gold_num, pred_num = numeric_value(gold_norm), numeric_value(pred_norm)
    if gold_num is not None and pred_num is not None:
        return numbers_verdict(gold_num, pred_num)
    return None


@lru_cache(maxsize=4096)
def _prepared_gold(gold: str) -> tuple[PreparedAnswer, str]:
    """A gold's prepared form and why it is hopeless ("" when it is not); golds repeat in a GRPO group."""
    hopeless = hopeless_reason(gold)
    return (PreparedAnswer(gold, "") if hopeless else prepare_answer(gold)), ("hopeless" if hopeless else "")


def _first_verdict(gold: str, pred: str) -> tuple[bool | None, str, PreparedAnswer | None, PreparedAnswer | None]:
    """(equal or None when math-verify must decide, reason, prepared gold, prepared answer)."""
    short = len(gold) <= _MAX_FAST_PATH_CHARS and len(pred) <= _MAX_FAST_PATH_CHARS
    if short and normalize_answer(gold) == normalize_answer(pred):
        return True, "", None, None
    if hopeless_reason(pred):
        return False, "hopeless_answer", None, None
    gold_prepared, gold_hopeless = _prepared_gold(gold)
    if gold_hopeless:
        return False, "hopeless_ground_truth", None, None
    pred_prepared = prepare_answer(pred)
    if units_differ(gold_prepared, pred_prepared):
        return False, "wrong_unit", None, None
    equal = _fast_verdict(gold_prepared.value, pred_prepared.value)
    return equal, "", gold_prepared, pred_prepared


class _Pending:
    """One response graded up to the point where math-verify is needed (or finished)."""

    __slots__ = ("gold", "pred", "has_answer", "truncated", "cap", "equal", "reason", "gold_value", "pred_value")

    def __init__(self, solution_str: Any, ground_truth: Any, extra_info: Any, options: RewardOptions) -> None:
        self.truncated, self.cap = _truncation_info(extra_info if isinstance(extra_info, Mapping) else None)
        self.gold = _ground_truth_string(ground_truth)
        solution = solution_str if isinstance(solution_str, str) else ""
        extraction = extract_answer(solution, options.think_mode)
        self.pred = extraction.answer
        self.has_answer = extraction.has_answer
        self.equal: bool | None = False
        self.reason = extraction.reason
        if not isinstance(solution_str, str):
            self.reason = "not_a_string"
        elif not self.gold:
            self.reason = "bad_ground_truth"
        elif self.has_answer:
            self.equal, reason, gold_prepared, pred_prepared = _first_verdict(self.gold, self.pred)
            self.reason = reason or self.reason
            if self.equal is None:
                self.gold_value, self.pred_value = gold_prepared.value, pred_prepared.value

    def resolve(self, verdict: Verdict) -> None:
        self.equal = verdict.equal
        self.reason = verdict.reason

    def result(self) -> dict:
        return {
            "score": 1.0 if self.equal else 0.0,
            "acc": bool(self.equal),
            "pred": self.pred,
            "has_answer": self.has_answer,
            "truncated": self.truncated,
            "cap": self.cap,
            "reason": self.reason or ("correct" if self.equal else "wrong_answer"),
        }


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict:
    """verl custom reward function: SIRI's binary length-capping reward for one response.

    Args:
        data_source: dataset name (not used for grading; every source is graded the same way).
        solution_str: the decoded response, already clipped at the rollout cap.
        ground_truth: the prepared answer string (``reward_model.ground_truth``).
        extra_info: per-sample info; the response record's truncation flag and cap
            (``siri_verl.response_record``) are reported, not applied.
        **kwargs: ``RewardOptions`` fields from ``reward.custom_reward_function.reward_kwargs``.

    Returns:
        dict with keys ``RESULT_KEYS``: ``score`` (1.0 when the extracted answer is correct, else 0.0,
        truncated or not: ``algorithm.siri.truncation`` decides what a truncated response is worth),
        ``acc`` (the same as a bool), ``pred``, ``has_answer``, ``truncated``, ``cap`` (None when not set)
        and ``reason`` ("correct", "wrong_answer", "no_think_end", "no_boxed_answer", "timeout", ...).
    """
    options = RewardOptions.from_kwargs(kwargs)
    pending = _Pending(solution_str, ground_truth, extra_info, options)
    if pending.equal is None:
        pool = shared_pool(options.num_workers, options.timeout_s, options.memory_limit_mb)
        pending.resolve(pool.check(pending.gold_value, pending.pred_value))
    return pending.result()


def score_batch(
    solutions: Sequence[str],
    ground_truths: Sequence[Any],
    *,
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    max_workers: int | None = None,
    **kwargs: Any,
) -> list[dict]:
    """Grade many responses at once; same results as ``compute_score`` on each, in input order.

    Extraction and the cheap checks run in this process; the remaining comparisons run on at most
    ``max_workers`` math-verify worker processes at a time (default: ``verify_workers`` option), each
    bounded by ``timeout_s``; responses with the same ground truth share a worker. Reused by the eval
    harness and benchmarks.
    """
    if len(solutions) != len(ground_truths):
        raise ValueError(f"score_batch: {len(solutions)} solutions but {len(ground_truths)} ground_truths")
    if extra_infos is not None and len(extra_infos) != len(solutions):
        raise ValueError(f"score_batch: {len(solutions)} solutions but {len(extra_infos)} extra_infos")
    options = RewardOptions.from_kwargs(kwargs)
    workers = max_workers or options.num_workers
    infos = extra_infos if extra_infos is not None else [None] * len(solutions)
    pending = [_Pending(s, g, e, options) for s, g, e in zip(solutions, ground_truths, infos)]
    # Responses sharing a gold (a GRPO group) go to one worker in one task: its parse of the gold is reused.
    by_gold: dict[str, list[_Pending]] = {}
    for item in pending:
        if item.equal is None:
            by_gold.setdefault(item.gold_value, []).append(item)
    if by_gold:
        pool = shared_pool(workers, options.timeout_s, options.memory_limit_mb)
        groups = list(by_gold.values())
        with ThreadPoolExecutor(max_workers=min(workers, len(groups))) as executor:
            results = executor.map(
                lambda group: pool.check_many([(p.gold_value, p.pred_value) for p in group]), groups
            )
            for group, verdicts in zip(groups, results):
                for item, verdict in zip(group, verdicts):
                    item.resolve(verdict)
    return [p.result() for p in pending]


# Why a ground truth can only be string-matched (``check_ground_truths``).
GOLD_STATUSES = {
    "partial_parse": "math-verify parses only a fragment of it (a dropped term, variable, unit or base)",
    "unparsable": "math-verify gets no expression from it",
    "hopeless": "refused as too costly to evaluate (see siri_verl.reward.notation.hopeless_reason)",
    "timeout": "its parse did not finish within timeout_s",
}


def check_ground_truths(
    ground_truths: Sequence[str], *, max_workers: int | None = None, **kwargs: Any
) -> list[str]:
    """For each ground truth, "" when the reward can compare answers with it as mathematics, else why
    answers can only be string-matched against it (a key of ``GOLD_STATUSES``). Data prep reports these
    rows before training; the parses run on the reward's time-bounded worker processes."""
    options = RewardOptions.from_kwargs(kwargs)
    workers = max_workers or options.num_workers
    statuses: dict[str, str] = {}
    to_parse: list[str] = []
    for gold in dict.fromkeys(_ground_truth_string(g) for g in ground_truths):
        prepared, hopeless = _prepared_gold(gold)
        if hopeless:
            statuses[gold] = "hopeless"
        else:
            to_parse.append(gold)
    if to_parse:
        pool = shared_pool(workers, options.timeout_s, options.memory_limit_mb)
        chunks = [to_parse[i :: workers] for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as executor:
            results = executor.map(
                lambda chunk: pool.check_many([(_prepared_gold(g)[0].value, None) for g in chunk]), chunks
            )
            for chunk, verdicts in zip(chunks, results):
                for gold, verdict in zip(chunk, verdicts):
                    statuses[gold] = verdict.reason if verdict.reason in GOLD_STATUSES else (
                        "" if not verdict.reason else "unparsable"
                    )
    return [statuses[_ground_truth_string(g)] for g in ground_truths]
