"""SIRI's per-step training metrics, computed from what each response recorded (pure Python).

The stock ``response_length/clip_ratio`` compares lengths with the padded tensor width, which under a
moving cap is neither the cap nor meaningful (verl #7823). These metrics use the cap each response
actually ran under and its truncation flag (its ``siri_verl.response_record.ResponseRecord``).

Logged each step (see docs/integration.md for the meaning of each):
``siri/cap``, ``siri/phase`` (-1 compression, +1 expansion, 0 constant/warm-up), ``siri/iteration``,
``siri/truncation_rate``, ``siri/response_length/mean``, ``siri/response_length/max``,
``siri/response_length/max_over_cap`` (<= 1 unless a response overran its cap), ``siri/cap_violations``,
``siri/acc_finished`` (accuracy of the responses that finished; absent when none finished),
``siri/num_finished``, ``siri/rollout_tokens``, ``siri/rollout_token_budget`` (cap x responses) and
``siri/rollout_token_budget_vs_constant_max`` (cap / schedule max).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from siri_verl.response_record import ResponseRecord

PHASE_CODES = {"compression": -1.0, "expansion": 1.0, "constant": 0.0, "warmup": 0.0}


@dataclass(frozen=True)
class RolloutFacts:
    """The response records of one training batch (synthetic padding rows excluded), in batch order, with
    whether each response was correct."""

    records: tuple[ResponseRecord, ...]
    correct: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def caps(self) -> tuple[int, ...]:
        return tuple(record.cap for record in self.records)

    @property
    def truncated(self) -> tuple[bool, ...]:
        return tuple(record.truncated for record in self.records)

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(record.response_length for record in self.records)

    @classmethod
    def from_samples(cls, extra_fields: Sequence[Mapping[str, Any]], scores: Sequence[float]) -> "RolloutFacts":
        """Read each sample's :class:`ResponseRecord` from its ``extra_fields``; "correct" is the reward's ``acc``
        when it reports one, else ``score > 0``."""
        records, correct = [], []
        for row, (fields, score) in enumerate(zip(extra_fields, scores, strict=True)):
            records.append(ResponseRecord.from_fields(fields, row))
            acc = ((fields or {}).get("reward_extra_info") or {}).get("acc", None)
            correct.append(bool(acc) if acc is not None else float(score) > 0)
        return cls(tuple(records), tuple(correct))

    @classmethod
    def concat(cls, parts: Sequence["RolloutFacts"]) -> "RolloutFacts":
        """One step's facts from the batches it was computed in."""
        return cls(sum((p.records for p in parts), ()), sum((p.correct for p in parts), ()))


def step_metrics(cap: int, phase: str, iteration: int, max_length: int, facts: RolloutFacts) -> dict[str, float]:
    """The ``siri/*`` metrics of one step (cap/phase/iteration from the schedule at this step)."""
    metrics = {
        "siri/cap": float(cap),
        "siri/phase": PHASE_CODES[phase],
        "siri/iteration": float(iteration),
    }
    n = len(facts)
    if n == 0:
        return metrics
    finished = [c for c, t in zip(facts.correct, facts.truncated) if not t]
    metrics.update(
        {
            "siri/truncation_rate": sum(facts.truncated) / n,
            "siri/response_length/mean": sum(facts.lengths) / n,
            "siri/response_length/max": float(max(facts.lengths)),
            "siri/response_length/max_over_cap": max(length / c for length, c in zip(facts.lengths, facts.caps)),
            "siri/cap_violations": float(sum(length > c for length, c in zip(facts.lengths, facts.caps))),
            "siri/num_finished": float(len(finished)),
            "siri/rollout_tokens": float(sum(facts.lengths)),
            "siri/rollout_token_budget": float(sum(facts.caps)),
            "siri/rollout_token_budget_vs_constant_max": sum(facts.caps) / (max_length * n),
        }
    )
    if finished:
        metrics["siri/acc_finished"] = sum(finished) / len(finished)
    return metrics
