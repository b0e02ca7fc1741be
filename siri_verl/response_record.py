"""The per-response record: the cap a response ran under, whether it was truncated, and its length.

The ``siri_single_turn`` agent loop decides it (:meth:`ResponseRecord.decide`) and writes it into the sample's
``extra_fields`` (:meth:`ResponseRecord.to_fields`); verl stores those with the sample and hands them to the reward
as ``extra_info``. The reward, the step metrics, the trainer and (through the trainer) the ``siri_grpo``
estimator read it back with :meth:`ResponseRecord.from_fields` (the reward reads the cap and the flag when present,
as it is also called outside a SIRI rollout). The field names below exist only here.

Pure Python (no torch, Ray or verl).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

CAP_FIELD = "siri_cap"
"""Also the name of the per-prompt request field the trainer sets (the step's cap) and the agent loop reads."""
TRUNCATED_FIELD = "siri_truncated"
RESPONSE_LENGTH_FIELD = "siri_response_length"


class MissingResponseRecordError(RuntimeError):
    """A response carries no SIRI record: the rollout did not run the SIRI agent loop."""


def is_truncated(response_ids: Sequence[int], cap: int, stop_token_ids: Collection[int]) -> bool:
    """A response is truncated when it reached ``cap`` tokens without ending on a stop (EOS) token.

    Engines report a length stop as an ordinary completion (vLLM maps ``length`` to ``completed``), so
    this is decided from the tokens. A response that ends on EOS exactly at the cap finished.
    """
    if cap < 1:
        raise ValueError(f"cap must be >= 1, got {cap}")
    return len(response_ids) >= cap and (len(response_ids) == 0 or response_ids[-1] not in stop_token_ids)


@dataclass(frozen=True)
class ResponseRecord:
    """What SIRI records about one generated response."""

    cap: int  # the max_tokens this response was generated with: L(t) of its step, or the validation cap
    truncated: bool  # reached ``cap`` tokens without a stop token
    response_length: int  # tokens generated

    @classmethod
    def decide(cls, response_ids: Sequence[int], cap: int, stop_token_ids: Collection[int]) -> "ResponseRecord":
        """The record of a response generated under ``cap`` (see :func:`is_truncated`)."""
        return cls(cap=int(cap), truncated=is_truncated(response_ids, cap, stop_token_ids),
                   response_length=len(response_ids))

    def to_fields(self) -> dict[str, Any]:
        """The ``extra_fields`` entries verl stores with the sample."""
        return {CAP_FIELD: self.cap, TRUNCATED_FIELD: self.truncated, RESPONSE_LENGTH_FIELD: self.response_length}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None, row: int | None = None) -> "ResponseRecord":
        """Read the record back from a sample's ``extra_fields`` / the reward's ``extra_info``.

        Raises :class:`MissingResponseRecordError` (naming the row and the fix) when it is absent."""
        fields = fields or {}
        if any(name not in fields for name in (CAP_FIELD, TRUNCATED_FIELD, RESPONSE_LENGTH_FIELD)):
            where = "a response" if row is None else f"response {row}"
            raise MissingResponseRecordError(
                f"{where} has no {CAP_FIELD}/{TRUNCATED_FIELD}/{RESPONSE_LENGTH_FIELD} in its extra_fields: the rollout did not run the SIRI "
                "agent loop, so its cap is unknown. Set actor_rollout_ref.rollout.agent.default_agent_loop="
                "siri_single_turn and launch with `python -m siri_verl.main`"
            )
        return cls(cap=int(fields[CAP_FIELD]), truncated=bool(fields[TRUNCATED_FIELD]),
                   response_length=int(fields[RESPONSE_LENGTH_FIELD]))
