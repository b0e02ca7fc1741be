"""``mask`` truncation through verl's real PPO loss, for every ``loss_agg_mode``.

The advantages come from ``siri_grpo`` through verl's ``compute_advantage`` on a DataProto; the masks are
zeroed by the trainer's own :func:`drop_rows_from_loss` on TransferQueue-layout nested tensors; the loss is
verl 0.9.1's ``ppo_loss`` (``verl/workers/utils/losses.py`` -> ``compute_policy_loss_vanilla`` -> ``agg_loss``)
fed the global-batch numbers verl feeds it: ``global_batch_size`` = ``ppo_mini_batch_size x rollout.n``
(``trainer_base._update_actor``) and ``batch_num_tokens`` = the mini-batch's ``loss_mask`` sum, counted after
the masking (``FSDPEngine.forward_backward_batch``).

``mask`` is right when the loss and its gradient equal the loss over the finished responses alone: true for
token-mean and token-sum; the seq-mean modes come out shrunk by finished/total, which is why the preflight and
the trainer refuse them.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from verl.protocol import DataProto
from verl.trainer.ppo.ray_trainer import compute_advantage
from verl.utils import tensordict_utils as tu
from verl.workers.config import FSDPActorConfig
from verl.workers.utils.losses import ppo_loss

from siri_verl.integration.estimator import BatchTruncation, batch_truncation
from siri_verl.integration.trainer import drop_rows_from_loss
from siri_verl.integration.truncation import MASK_LOSS_AGG_MODES, mask_loss_agg_problem

from repo_paths import REPO

ALL_MODES = ("token-mean", "token-sum", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm")
PROMPT = 3
LENGTHS = [4, 9, 9, 6, 3, 2, 9, 5]
SCORES = [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
UIDS = ["a", "a", "a", "a", "b", "b", "b", "b"]
TRUNCATED = [False, True, True, False, False, False, True, False]  # the three length-9 responses hit the cap 9


def nested(rows):
    return torch.nested.as_nested_tensor(list(rows), layout=torch.jagged)


def siri_advantages() -> list[torch.Tensor]:
    """Per-row advantages of the ``mask`` policy, computed by verl's compute_advantage with siri_grpo."""
    width = max(LENGTHS)
    mask = torch.zeros(len(LENGTHS), width)
    rewards = torch.zeros(len(LENGTHS), width)
    for row, (score, length) in enumerate(zip(SCORES, LENGTHS)):
        mask[row, :length] = 1.0
        rewards[row, length - 1] = score
    data = DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask},
                               non_tensors={"uid": np.array(UIDS, dtype=object)})
    config = OmegaConf.create({"adv_estimator": "siri_grpo", "norm_adv_by_std_in_grpo": True,
                               "siri": {"truncation": "mask"}})
    info = BatchTruncation(truncated=torch.tensor(TRUNCATED), caps=torch.full((len(LENGTHS),), 9))
    with batch_truncation(info):
        data = compute_advantage(data, adv_estimator="siri_grpo", config=config)
    advantages = data.batch["advantages"]
    assert all(advantages[row].abs().sum() == 0 for row, t in enumerate(TRUNCATED) if t)
    return [advantages[row, :length] for row, length in enumerate(LENGTHS)]


def verl_loss(rows, params, old, advantages, masks, mode, global_batch_size):
    """verl's ppo_loss on ``rows`` (nested, no-padding layout as the V1 worker receives it)."""
    config = FSDPActorConfig(strategy="fsdp", ppo_mini_batch_size=len(rows), rollout_n=1, loss_agg_mode=mode,
                             use_dynamic_bsz=True, ppo_max_token_len_per_gpu=1024, clip_ratio_low=0.2,
                             clip_ratio_high=0.28,
                             loss_scale_factor=16 if mode == "seq-mean-token-sum-norm" else None)
    response_mask = nested([masks["response_mask"][r] for r in rows])
    loss_mask = nested([masks["loss_mask"][r] for r in rows])
    tensors = {
        "prompts": nested([torch.ones(PROMPT, dtype=torch.int64) for _ in rows]),
        "responses": nested([torch.ones(LENGTHS[r], dtype=torch.int64) for r in rows]),
        "response_mask": response_mask,
        "loss_mask": loss_mask,
        "old_log_probs": nested([old[r] for r in rows]),
        "advantages": nested([advantages[r] for r in rows]),
    }
    # the engine's count: FSDPEngine.forward_backward_batch sums data["loss_mask"] over the mini-batch
    batch_num_tokens = int(loss_mask.values().sum())
    data = tu.get_tensordict(tensors, non_tensor_dict={"dp_size": 1, "batch_num_tokens": batch_num_tokens,
                                                       "global_batch_size": global_batch_size})
    # model output over whole sequences; response token j's log-prob sits at position prompt + j - 1
    flat = torch.cat([torch.cat([torch.zeros(PROMPT - 1), params[r], torch.zeros(1)]) for r in rows])
    loss, _ = ppo_loss(config, {"log_probs": flat}, data)
    return loss


@pytest.fixture(scope="module")
def batch():
    generator = torch.Generator().manual_seed(0)
    old = [-torch.rand(n, generator=generator) - 0.5 for n in LENGTHS]
    shift = [0.4 * (torch.rand(n, generator=generator) - 0.5) for n in LENGTHS]  # some ratios leave the clip range
    advantages = siri_advantages()
    full_masks = {name: nested([torch.ones(n) for n in LENGTHS]) for name in ("response_mask", "loss_mask")}
    masked = drop_rows_from_loss(full_masks, torch.tensor(TRUNCATED))
    masks = {name: [masked[name][r] for r in range(len(LENGTHS))] for name in masked}
    return old, shift, advantages, masks


def losses_and_grads(batch, mode):
    old, shift, advantages, masks = batch
    rows = list(range(len(LENGTHS)))
    finished = [r for r in rows if not TRUNCATED[r]]
    results = []
    for subset in (rows, finished):
        params = [(o + s).clone().requires_grad_(True) for o, s in zip(old, shift)]
        # verl: global_batch_size = ppo_mini_batch_size x rollout.n = every response of the mini-batch
        loss = verl_loss(subset, params, old, advantages, masks, mode, global_batch_size=len(subset))
        loss.backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        results.append((loss.detach(), grads))
    return results


def test_masks_zeroed_for_truncated_rows_only(batch):
    _, _, _, masks = batch
    for name in ("response_mask", "loss_mask"):
        sums = [float(m.sum()) for m in masks[name]]
        assert sums == [0.0 if t else float(n) for t, n in zip(TRUNCATED, LENGTHS)]


@pytest.mark.parametrize("mode", MASK_LOSS_AGG_MODES)
def test_mask_equals_the_loss_over_finished_responses(batch, mode):
    (loss, grads), (reference, reference_grads) = losses_and_grads(batch, mode)
    assert loss.abs() > 0
    torch.testing.assert_close(loss, reference)
    for row, truncated in enumerate(TRUNCATED):
        if truncated:
            assert grads[row].abs().sum() == 0
        else:
            torch.testing.assert_close(grads[row], reference_grads[row])
    assert mask_loss_agg_problem("mask", mode) is None


@pytest.mark.parametrize("mode", sorted(set(ALL_MODES) - set(MASK_LOSS_AGG_MODES)))
def test_seq_mean_modes_keep_masked_rows_in_the_denominator_and_are_refused(batch, mode):
    (loss, grads), (reference, reference_grads) = losses_and_grads(batch, mode)
    finished, total = TRUNCATED.count(False), len(TRUNCATED)
    torch.testing.assert_close(loss, reference * finished / total)  # the update shrinks by finished/total
    row = TRUNCATED.index(False)
    torch.testing.assert_close(grads[row], reference_grads[row] * finished / total)
    problem = mask_loss_agg_problem("mask", mode)
    assert problem and "algorithm.siri.truncation=mask" in problem
    assert f"actor_rollout_ref.actor.loss_agg_mode={mode}" in problem and "token-mean" in problem


def test_other_policies_run_with_every_mode():
    for policy in ("paper", "zero", "exclude_from_baseline", "soft"):
        for mode in ALL_MODES:
            assert mask_loss_agg_problem(policy, mode) is None


def test_verl_still_has_exactly_these_modes():
    """A new verl aggregation mode must be classified here before mask may run with it."""
    from verl.trainer.ppo.core_algos import agg_loss

    mat = torch.ones(2, 3)
    for mode in ALL_MODES:
        agg_loss(mat, torch.ones(2, 3), mode)
    with pytest.raises(ValueError, match="Invalid loss_agg_mode"):
        agg_loss(mat, torch.ones(2, 3), "seq-mean-token-max")


@pytest.mark.slow
def test_siri_trainer_refuses_mask_with_the_paper_recipes_mode_before_building_anything():
    from siri_verl.integration.trainer import SiriPPOTrainer
    from siri_verl.recipe_config import compose_target

    paths = ["actor_rollout_ref.model.path=/nonexistent", "data.train_files=/nonexistent",
             "data.val_files=[/nonexistent]", "trainer.default_local_dir=/nonexistent"]
    recipe = REPO / "recipes" / "siri_1.5b.yaml"
    config = compose_target(str(recipe), [*paths, "algorithm.siri.truncation=mask"])
    with pytest.raises(ValueError, match="actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean"):
        SiriPPOTrainer(config)
