"""The ``siri_grpo`` advantage estimator, registered in verl's ``ADV_ESTIMATOR_REGISTRY``.

Select it with ``algorithm.adv_estimator=siri_grpo`` and the policy with ``algorithm.siri.truncation``
(see ``siri_verl.integration.truncation``). verl's ``compute_advantage`` hands a registered estimator
only ``token_level_rewards``, ``response_mask``, ``index`` and ``config`` (= ``config.algorithm``), no
per-sample metadata. The SIRI trainer (``SiriPPOTrainer._compute_advantage``) therefore publishes the
batch's truncation flags, caps and lengths with :func:`batch_truncation` around verl's call, and this
estimator reads them from there (or from explicit ``truncated=`` / ``caps=`` keyword arguments).
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterator

import torch

from verl.trainer.ppo.core_algos import register_adv_est

from siri_verl.config import SiriConfig
from siri_verl.integration.truncation import siri_grpo_advantages

ESTIMATOR_NAME = "siri_grpo"


@dataclass(frozen=True)
class BatchTruncation:
    """Per-row facts about the batch whose advantages are being computed, in the row order verl uses."""

    truncated: torch.Tensor  # (bs,) bool
    caps: torch.Tensor  # (bs,) int, the cap each response was generated under


_CURRENT_BATCH: contextvars.ContextVar[BatchTruncation | None] = contextvars.ContextVar(
    "siri_batch_truncation", default=None
)


@contextlib.contextmanager
def batch_truncation(info: BatchTruncation) -> Iterator[None]:
    """Make ``info`` visible to :func:`compute_siri_grpo_advantage` for the duration of the block."""
    token = _CURRENT_BATCH.set(info)
    try:
        yield
    finally:
        _CURRENT_BATCH.reset(token)


@register_adv_est(ESTIMATOR_NAME)
def compute_siri_grpo_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index=None,
    config=None,
    truncated: torch.Tensor | None = None,
    caps: torch.Tensor | None = None,
    epsilon: float = 1e-6,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GRPO outcome advantage with SIRI's truncation policy; returns ``(advantages, returns)``.

    Rows the ``mask`` policy removes get zero advantage here; removing them from the loss (zeroing their
    ``response_mask``/``loss_mask``) is done by the trainer, which owns the batch. That also removes them from the
    denominator only under ``loss_agg_mode`` token-mean (token-sum has none); the seq-mean modes are refused
    (``truncation.mask_loss_agg_problem``).
    """
    if index is None:
        raise ValueError("siri_grpo needs the GRPO group of each response (verl's `uid` column)")
    siri = SiriConfig.from_mapping(config.get("siri", None) if config is not None else None)
    published = _CURRENT_BATCH.get()
    if truncated is None and published is not None:
        truncated, caps = published.truncated, published.caps
    if truncated is not None and truncated.shape[0] != token_level_rewards.shape[0]:
        raise ValueError(
            f"siri_grpo got {truncated.shape[0]} truncation flags for {token_level_rewards.shape[0]} responses; "
            "the flags must follow the batch's row order"
        )
    norm_by_std = config.get("norm_adv_by_std_in_grpo", True) if config is not None else True
    result = siri_grpo_advantages(
        token_level_rewards.sum(dim=-1),
        index,
        truncated,
        siri.truncation,
        soft=siri.soft_overlong,
        response_lengths=response_mask.sum(dim=-1),
        caps=caps,
        norm_by_std=norm_by_std,
        epsilon=epsilon,
    )
    advantages = result.advantages.unsqueeze(-1) * response_mask
    return advantages, advantages
