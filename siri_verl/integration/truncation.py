"""What happens to a response that hit the step's length cap: the policy switch and the truncation-aware
GRPO advantage (whether a response was truncated is decided in ``siri_verl.response_record``).

Pure torch (no Ray, no verl), so the maths is tested directly; ``siri_verl.integration.estimator`` is
the thin verl hook that calls :func:`siri_grpo_advantages`.

Policies (``algorithm.siri.truncation``):

* ``paper`` (default): the clipped response is graded as it stands (the reward gives 0 when no correct
  answer was extracted within the cap) and stays in its GRPO group. Numerically identical to verl's
  ``compute_grpo_outcome_advantage`` on the same rewards (docs/paper.md §5).
* ``zero``: every truncated response scores 0, even if a correct answer appeared before the cap.
* ``mask``: DAPO's overlong filtering. Truncated responses get advantage 0 *and* leave the loss
  entirely: the trainer zeroes their ``response_mask``/``loss_mask`` rows. The group mean/std still
  include them (as TRL's ``mask_truncated_completions`` does). Leaving the loss's *denominator* too holds
  only for ``actor.loss_agg_mode`` ``token-mean`` (verl divides by the mini-batch's ``loss_mask`` token
  count, which its engine counts after the masking) and ``token-sum`` (no denominator). The three
  ``seq-mean-*`` modes divide by the fixed ``ppo_mini_batch_size x rollout.n``, so a masked response would
  stay in the denominator and shrink the update by the truncated fraction: :func:`mask_loss_agg_problem`
  refuses them (the preflight and the trainer call it). See :data:`MASK_LOSS_AGG_MODES`.
* ``exclude_from_baseline``: the group *mean* (the baseline) is computed over the finished responses
  only; every response, truncated included, is compared with it and scaled by the whole group's std
  (as GRPO). A group of one finished response gets advantage 0.
* ``soft``: DAPO's soft overlong punishment against the *current per-sample cap*: with a buffer of
  ``round(buffer_fraction * cap)`` tokens, a response longer than ``cap - buffer`` gets
  ``-(length - (cap - buffer)) / buffer * penalty_factor`` added to its score (at most
  ``-penalty_factor``, reached at the cap). Applied to the scores before the group normalisation.

A group in which every response is truncated never yields NaN: ``zero``, ``mask`` and
``exclude_from_baseline`` give it exactly zero advantages, ``paper`` and ``soft`` give verl GRPO's finite
value for whatever scores the group has (all zero when no truncated response had a correct answer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Hashable, Sequence

import torch

from siri_verl.config import PREFIX as CONFIG_PREFIX
from siri_verl.config import TRUNCATION_POLICIES, SoftOverlongConfig, SiriConfigError

LOSS_AGG_KEY = "actor_rollout_ref.actor.loss_agg_mode"

# verl 0.9.1 ``agg_loss`` (verl/trainer/ppo/core_algos.py) and the denominators its callers pass:
#   token-mean:  sum(loss * mask) / batch_num_tokens * dp_size; batch_num_tokens = the global mini-batch's
#                loss_mask sum, all-reduced by the engine (workers/engine/fsdp/transformer_impl.py,
#                forward_backward_batch; the Megatron engine likewise) -> a zeroed row leaves it.
#   token-sum:   sum(loss * mask) * dp_size -> no denominator; a zeroed row contributes nothing.
#   seq-mean-token-mean / seq-mean-token-sum / seq-mean-token-sum-norm: the sum over sequences / global_batch_size
#                * dp_size, global_batch_size = ppo_mini_batch_size * rollout.n, a constant set per update
#                (trainer/ppo/v1/trainer_base.py, _update_actor) -> a zeroed row stays in the denominator.
MASK_LOSS_AGG_MODES = ("token-mean", "token-sum")


def mask_loss_agg_problem(policy: str, loss_agg_mode: str | None) -> str | None:
    """Why ``policy`` cannot run with verl's ``loss_agg_mode`` (None when it can).

    ``mask`` removes a truncated response from the loss by zeroing its masks; that removes it from the
    denominator only for the modes in :data:`MASK_LOSS_AGG_MODES`.
    """
    if policy != "mask" or loss_agg_mode is None or loss_agg_mode in MASK_LOSS_AGG_MODES:
        return None
    return (
        f"{CONFIG_PREFIX}.truncation=mask with {LOSS_AGG_KEY}={loss_agg_mode}: verl divides this mode's sum over "
        "sequences by the fixed ppo_mini_batch_size x rollout.n, so the masked (truncated) responses stay in the "
        "denominator and every update shrinks by the truncated fraction. Set "
        f"{LOSS_AGG_KEY}=token-mean (DAPO's overlong filtering: the denominator is the mini-batch's unmasked "
        f"token count) or token-sum, or choose another {CONFIG_PREFIX}.truncation (zero, exclude_from_baseline, "
        "soft, paper)"
    )


def soft_overlong_penalty(
    response_lengths: torch.Tensor, caps: torch.Tensor, soft: SoftOverlongConfig
) -> torch.Tensor:
    """DAPO's soft overlong punishment, per sample, against each sample's own cap (<= 0)."""
    caps = caps.to(torch.float64)
    buffers = torch.clamp(torch.round(caps * soft.buffer_fraction), min=1.0)
    expected = caps - buffers
    overshoot = response_lengths.to(torch.float64) - expected
    return torch.clamp(-overshoot / buffers * soft.penalty_factor, max=0.0)


def _group_rows(index: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    rows: dict[Hashable, list[int]] = defaultdict(list)
    for row, group in enumerate(index):
        rows[group].append(row)
    return rows


def grpo_normalise(
    scores: torch.Tensor, index: Sequence[Hashable], norm_by_std: bool = True, epsilon: float = 1e-6
) -> torch.Tensor:
    """verl GRPO's group normalisation, operation for operation (``compute_grpo_outcome_advantage`` in
    verl 0.9.1 ``trainer/ppo/core_algos.py``): a group of one gets mean 0 and std 1, larger groups
    ``torch.mean`` / unbiased ``torch.std``; then ``(score - mean) / (std + epsilon)``."""
    return _normalise(scores, index, include=None, norm_by_std=norm_by_std, epsilon=epsilon)


def _normalise(
    scores: torch.Tensor,
    index: Sequence[Hashable],
    include: torch.Tensor | None,
    norm_by_std: bool,
    epsilon: float,
) -> torch.Tensor:
    """Group-normalise ``scores``. With ``include`` None this is verl's GRPO exactly. Otherwise the
    group *mean* uses only the rows where ``include`` is True, while the *scale* stays the whole group's
    std (a finished-only std is 0 whenever the finished responses agree, which would blow the truncated
    rows' advantages up to 1/epsilon). A group with no included row gets zero advantages."""
    result = torch.zeros_like(scores)
    with torch.no_grad():
        for rows in _group_rows(index).values():
            group_scores = torch.stack([scores[r] for r in rows])
            if len(rows) == 1:
                mean, std = torch.tensor(0.0), torch.tensor(1.0)
            else:
                mean, std = torch.mean(group_scores), torch.std(group_scores)
            if include is not None:
                baseline_rows = [r for r in rows if bool(include[r])]
                if not baseline_rows:
                    continue  # every response truncated and excluded: no baseline, zero advantage
                mean = torch.mean(torch.stack([scores[r] for r in baseline_rows]))
            for r in rows:
                result[r] = (scores[r] - mean) / (std + epsilon) if norm_by_std else scores[r] - mean
    return result


@dataclass(frozen=True)
class SiriAdvantage:
    """Per-sample output of :func:`siri_grpo_advantages`."""

    advantages: torch.Tensor  # (bs,) float, the scalar advantage of each response
    keep_in_loss: torch.Tensor  # (bs,) bool, False for responses the ``mask`` policy removes from the loss
    shaped_scores: torch.Tensor  # (bs,) the scores after the policy's reward change (zero / soft)


def siri_grpo_advantages(
    scores: torch.Tensor,
    index: Sequence[Hashable],
    truncated: torch.Tensor | None,
    policy: str,
    *,
    soft: SoftOverlongConfig = SoftOverlongConfig(),
    response_lengths: torch.Tensor | None = None,
    caps: torch.Tensor | None = None,
    norm_by_std: bool = True,
    epsilon: float = 1e-6,
) -> SiriAdvantage:
    """The SIRI GRPO advantage of each response under the truncation ``policy`` (``algorithm.siri.truncation``).

    ``scores``: (bs,) summed rewards; ``index``: the GRPO group of each row (verl's ``uid``);
    ``truncated``: (bs,) bool, reached the cap without EOS (required for every policy but ``paper``);
    ``soft``: ``algorithm.siri.soft_overlong``; ``response_lengths`` / ``caps``: (bs,) tokens generated and the
    cap each response ran under (required for ``soft``).
    """
    if policy not in TRUNCATION_POLICIES:
        raise SiriConfigError(f"{CONFIG_PREFIX}.truncation", "unknown truncation policy", policy)
    batch_size = scores.shape[0]
    if policy != "paper":
        if truncated is None:
            raise ValueError(
                f"{CONFIG_PREFIX}.truncation={policy!r} needs each response's truncation flag, and none reached "
                "the estimator. Launch with `python -m siri_verl.main` (its trainer passes the flags), or set "
                f"{CONFIG_PREFIX}.truncation=paper"
            )
        if truncated.shape != (batch_size,):
            raise ValueError(f"truncated has shape {tuple(truncated.shape)}, expected ({batch_size},)")
        truncated = truncated.to(torch.bool)
    keep = torch.ones(batch_size, dtype=torch.bool)
    shaped = scores.clone()

    if policy == "paper":
        advantages = grpo_normalise(shaped, index, norm_by_std, epsilon)
    elif policy == "zero":
        shaped = torch.where(truncated, torch.zeros_like(shaped), shaped)
        advantages = grpo_normalise(shaped, index, norm_by_std, epsilon)
    elif policy == "mask":
        advantages = grpo_normalise(shaped, index, norm_by_std, epsilon)
        advantages = torch.where(truncated, torch.zeros_like(advantages), advantages)
        keep = ~truncated
    elif policy == "exclude_from_baseline":
        advantages = _normalise(shaped, index, include=~truncated, norm_by_std=norm_by_std, epsilon=epsilon)
    else:  # soft
        if response_lengths is None or caps is None:
            raise ValueError(f"{CONFIG_PREFIX}.truncation='soft' needs each response's length and cap")
        shaped = shaped + soft_overlong_penalty(response_lengths, caps, soft).to(shaped.dtype)
        advantages = grpo_normalise(shaped, index, norm_by_std, epsilon)
    return SiriAdvantage(advantages=advantages, keep_in_loss=keep, shaped_scores=shaped)
