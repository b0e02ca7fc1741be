"""``SiriPPOTrainer``: verl 0.9.1's V1 synchronous trainer (``PPOTrainerSync``) with SIRI's hooks.

Only hooks are overridden; ``fit()`` and every pipeline stage stay verl's:

* ``_next_train_batch``: attach the step's cap ``L(global_steps)`` to every prompt as ``siri_cap``
  (the ``siri_single_turn`` agent loop sends it as the request's ``max_tokens``). Validation batches do
  not pass through here, so validation keeps its own cap.
* ``_init_dataloader``: wrap verl's validation dataloader so each row carries ``__rollout_n__`` from
  ``algorithm.siri.validation_n`` (per-benchmark sample counts; ``siri_verl.integration.validation``).
* ``_compute_advantage``: read each response's cap/truncation record from TransferQueue, publish it to
  the ``siri_grpo`` estimator around verl's own ``_compute_advantage``, and for the ``mask`` policy
  zero the truncated responses' ``response_mask``/``loss_mask`` (:func:`drop_rows_from_loss`) so they
  leave the loss and, under ``loss_agg_mode`` token-mean, its denominator (the ``seq-mean-*`` modes are
  refused: ``truncation.mask_loss_agg_problem``).
* ``_compute_metrics``: add the ``siri/*`` metrics (``siri_verl.integration.step_metrics``).
* ``on_step_end``: at every schedule low/high step, save a checkpoint (whatever ``save_freq`` is),
  record it under its stable name and validate there (unless verl's ``test_freq`` validates anyway).
* ``_save_checkpoint``: write ``siri_run.json`` (composed config + versions) into every checkpoint.
* ``_load_checkpoint``: refuse a resume whose schedule changed (``run_record.check_resume``).
"""

from __future__ import annotations

import functools
import logging
import os

import torch
from omegaconf import OmegaConf
from tensordict import TensorDict

import transfer_queue as tq
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
from verl.utils import tensordict_utils as tu
from verl.utils.debug import marked_timer
from verl.workers.utils.padding import response_to_nested

import siri_verl
from siri_verl.config import SiriConfig
from siri_verl.integration import run_record
from siri_verl.integration.estimator import BatchTruncation, batch_truncation
from siri_verl.integration.step_metrics import RolloutFacts, step_metrics
from siri_verl.integration.truncation import mask_loss_agg_problem
from siri_verl.integration.validation import PerSourceRolloutN
from siri_verl.response_record import CAP_FIELD
from siri_verl.schedule import LengthSchedule

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "INFO"))


def _row_sums(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to_padded_tensor(0.0).sum(-1) if tensor.is_nested else tensor.sum(-1)


def drop_rows_from_loss(masks: dict[str, torch.Tensor], rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """The ``mask`` policy's edit: the given (nested, TransferQueue-layout) masks with ``rows`` zeroed."""
    output = {}
    for name, nested in masks.items():
        padded = nested.to_padded_tensor(0)
        padded[rows] = 0
        output[name] = response_to_nested(padded, nested)
    return output


class SiriPPOTrainer(PPOTrainerSync):
    """verl's sync PPO trainer with SIRI's per-step cap, truncation policy, metrics and checkpoints."""

    def __init__(self, config):
        siri = SiriConfig.from_run_config(config)  # a bad algorithm.siri fails before verl builds anything
        problem = mask_loss_agg_problem(siri.truncation, config.actor_rollout_ref.actor.loss_agg_mode)
        if problem:  # the preflight refuses this too; a trainer built another way must not run it either
            raise ValueError(problem)
        super().__init__(config)
        self.siri = siri
        self._siri_facts: list[RolloutFacts] = []
        self._siri_last_saved_step: int | None = None
        self._siri_phase_val_metrics: dict[str, float] = {}

    # Read from ``self.config`` on first use, so that a hook also works on a trainer made with
    # ``object.__new__`` (verl's own unit-test pattern) that has only ``config``.
    @functools.cached_property
    def siri(self) -> SiriConfig:
        return SiriConfig.from_run_config(self.config)

    @functools.cached_property
    def siri_schedule(self) -> LengthSchedule:
        return self.siri.length_schedule()

    # -- per-benchmark validation n -------------------------------------------------------------
    def _init_dataloader(self):
        super()._init_dataloader()
        if self.siri.validation_n:
            default_n = self.config.actor_rollout_ref.rollout.val_kwargs.n
            self.val_dataloader = PerSourceRolloutN(self.val_dataloader, self.siri.validation_n, default_n)

    # -- the cap --------------------------------------------------------------------------------
    def _next_train_batch(self, num_prompts: int | None = None):
        batch = super()._next_train_batch(num_prompts)
        tu.assign_non_tensor_data(batch, CAP_FIELD, self.siri_schedule.cap(self.global_steps))
        return batch

    # -- truncation-aware advantage -------------------------------------------------------------
    def _compute_advantage(self, batch, metrics: dict):
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                               select_fields=["extra_fields", "rm_scores"])
        scores = _row_sums(data["rm_scores"]).tolist()
        real = torch.tensor([not tag.get("is_padding", False) for tag in batch.tags])
        truncation = self._siri_batch_truncation(data.pop("extra_fields").tolist(), scores, real)
        with batch_truncation(truncation):
            batch = super()._compute_advantage(batch, metrics)

        if self.siri.truncation == "mask" and truncation.truncated.any():
            self._drop_from_loss(batch, truncation.truncated, real, metrics)
        return batch

    def _siri_batch_truncation(self, extra_fields: list, scores: list[float], real: torch.Tensor) -> BatchTruncation:
        """Each row's truncation flag and cap in batch order, from the response records of the ``real`` rows, whose
        records are kept for the step metrics. Synthetic padding rows (verl pads a batch to the data-parallel size;
        their own group, zero reward, no record) count as finished at the step's cap."""
        real_rows = real.nonzero().flatten().tolist()
        facts = RolloutFacts.from_samples([extra_fields[r] for r in real_rows], [scores[r] for r in real_rows])
        self._siri_facts.append(facts)
        truncated = torch.zeros(len(real), dtype=torch.bool)
        caps = torch.full((len(real),), self.siri_schedule.cap(self.global_steps), dtype=torch.int64)
        for record, row in zip(facts.records, real_rows):
            truncated[row] = record.truncated
            caps[row] = record.cap
        return BatchTruncation(truncated=truncated, caps=caps)

    def _drop_from_loss(self, batch, truncated: torch.Tensor, real: torch.Tensor, metrics: dict) -> None:
        """``mask`` policy: zero the truncated rows' response/loss masks in TransferQueue.

        When every (non-padding) response of the batch is truncated, the masks are kept (all advantages
        are already 0): an all-zero mask would make the token-mean denominator 0. A single PPO mini-batch
        can still be all-truncated when the batch is not (ppo_mini_batch_size < train_batch_size): verl's
        loss is then 0/0 and its FSDP engine skips that optimizer step on the non-finite grad norm
        (verl/workers/engine/fsdp/transformer_impl.py, optimizer_step)."""
        if bool(truncated[real].all()):
            metrics["siri/mask_skipped_all_truncated"] = 1.0
            return
        masks = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                                select_fields=["response_mask", "loss_mask"])
        output = drop_rows_from_loss({name: masks[name] for name in ("response_mask", "loss_mask")}, truncated)
        tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                        fields=TensorDict(output, batch_size=len(batch)))
        metrics["siri/masked_responses"] = float(truncated[real].sum())

    # -- metrics --------------------------------------------------------------------------------
    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        super()._compute_metrics(batch, metrics, timing_raw, global_steps=global_steps, epoch=epoch)
        facts = RolloutFacts.concat(self._siri_facts)
        self._siri_facts = []
        point = self.siri_schedule.point(global_steps)
        metrics.update(step_metrics(point.cap, point.phase, point.iteration, self.siri_schedule.max_length, facts))
        metrics.update(self._siri_phase_val_metrics)
        self._siri_phase_val_metrics = {}
        checkpoint = self.siri_schedule.checkpoint_at(global_steps)
        if checkpoint is not None and self.siri.phase_checkpoints.enable:
            val = {k: v for k, v in metrics.items() if k.startswith("val-")}
            if val:
                run_record.record_phase_validation(self.config.trainer.default_local_dir, checkpoint.name, val)

    # -- phase checkpoints ----------------------------------------------------------------------
    def _fit_validates_now(self) -> bool:
        test_freq = self.config.trainer.test_freq
        is_last_step = self.global_steps >= self.total_training_steps
        return test_freq > 0 and (is_last_step or self.global_steps % test_freq == 0)

    def on_step_end(self):
        checkpoint = self.siri_schedule.checkpoint_at(self.global_steps)
        phase_enabled = checkpoint is not None and self.siri.phase_checkpoints.enable
        if phase_enabled and self._siri_last_saved_step != self.global_steps:
            with marked_timer("save_checkpoint", self.timing_raw, color="green"):
                self._save_checkpoint()
        super().on_step_end()  # weights to the rollout before validating them
        if phase_enabled and self.siri.phase_checkpoints.validate and not self._fit_validates_now():
            with marked_timer("testing", self.timing_raw, color="green"):
                self.on_validate_begin()
                self._siri_phase_val_metrics = self._validate()
                self.on_validate_end()

    def _save_checkpoint(self):
        step_folder = os.path.join(self.config.trainer.default_local_dir, f"global_step_{self.global_steps}")
        run_record.write_run_record(
            step_folder,
            step=self.global_steps,
            config=OmegaConf.to_container(self.config, resolve=True),
            versions={"siri_verl": siri_verl.__version__, "verl": _verl_version()},
        )
        super()._save_checkpoint()
        self._siri_last_saved_step = self.global_steps
        checkpoint = self.siri_schedule.checkpoint_at(self.global_steps)
        if checkpoint is not None and self.siri.phase_checkpoints.enable:
            target = run_record.record_phase_checkpoint(
                self.config.trainer.default_local_dir, step_folder, name=checkpoint.name, step=checkpoint.step,
                kind=checkpoint.kind, iteration=checkpoint.iteration, cap=self.siri_schedule.cap(checkpoint.step),
            )
            logger.info("SIRI phase checkpoint %s (step %d) kept at %s", checkpoint.name, checkpoint.step, target)

    # -- resume ---------------------------------------------------------------------------------
    def _load_checkpoint(self):
        folder = run_record.resume_folder(OmegaConf.to_container(self.config.trainer, resolve=True))
        if folder is not None:
            logger.info("SIRI resume check: %s", run_record.check_resume(folder, self.siri))
        super()._load_checkpoint()


def _verl_version() -> str:
    import verl

    return getattr(verl, "__version__", "unknown")
