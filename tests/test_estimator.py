"""siri_grpo through verl's own ``compute_advantage`` on a real DataProto, for every truncation policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from verl.protocol import DataProto
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, get_adv_estimator_fn
from verl.trainer.ppo.ray_trainer import compute_advantage

from siri_verl.integration.estimator import BatchTruncation, batch_truncation, compute_siri_grpo_advantage
from siri_verl.config import SiriConfigError, SoftOverlongConfig
from siri_verl.integration.truncation import siri_grpo_advantages, soft_overlong_penalty

WIDTH = 10


def make_batch(scores, lengths, uids):
    """A DataProto as verl's trainer builds it: rewards on the last response token, right-padded mask."""
    bs = len(scores)
    mask = torch.zeros(bs, WIDTH, dtype=torch.float32)
    rewards = torch.zeros(bs, WIDTH, dtype=torch.float32)
    for row, (score, length) in enumerate(zip(scores, lengths)):
        mask[row, :length] = 1.0
        rewards[row, length - 1] = score
    data = DataProto.from_dict(
        tensors={"token_level_rewards": rewards, "response_mask": mask},
        non_tensors={"uid": np.array(uids, dtype=object)},
    )
    return data


def algo_config(policy="paper", **extra):
    return OmegaConf.create({"adv_estimator": "siri_grpo", "norm_adv_by_std_in_grpo": True,
                             "siri": {"truncation": policy, **extra}})


def run_verl(data, policy, truncated=None, caps=None, **extra):
    config = algo_config(policy, **extra)
    if truncated is None:
        return compute_advantage(data, adv_estimator="siri_grpo", config=config)
    info = BatchTruncation(truncated=torch.tensor(truncated), caps=torch.tensor(caps if caps else [WIDTH] * len(truncated)))
    with batch_truncation(info):
        return compute_advantage(data, adv_estimator="siri_grpo", config=config)


SCORES = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
LENGTHS = [4, 10, 10, 7, 3, 2]
UIDS = ["a", "a", "a", "a", "b", "b"]
TRUNC = [False, True, True, False, False, False]


def test_registered_by_name():
    assert get_adv_estimator_fn("siri_grpo") is compute_siri_grpo_advantage


def test_paper_is_identical_to_verl_grpo():
    rng = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 2, (24,), generator=rng).float().tolist()
    lengths = torch.randint(1, WIDTH + 1, (24,), generator=rng).tolist()
    uids = [f"g{i // 4}" for i in range(20)] + ["solo", "g5", "g5", "g5"]
    siri = run_verl(make_batch(scores, lengths, uids), "paper")
    reference = make_batch(scores, lengths, uids)
    expected, _ = compute_grpo_outcome_advantage(
        reference.batch["token_level_rewards"], reference.batch["response_mask"], reference.non_tensor_batch["uid"]
    )
    assert torch.equal(siri.batch["advantages"], expected)
    assert torch.equal(siri.batch["returns"], expected)
    # and verl's own built-in GRPO dispatch on the same data gives the same numbers
    builtin = compute_advantage(make_batch(scores, lengths, uids), adv_estimator="grpo", config=algo_config())
    assert torch.equal(siri.batch["advantages"], builtin.batch["advantages"])


def test_paper_ignores_flags():
    with_flags = run_verl(make_batch(SCORES, LENGTHS, UIDS), "paper", TRUNC)
    without = run_verl(make_batch(SCORES, LENGTHS, UIDS), "paper")
    assert torch.equal(with_flags.batch["advantages"], without.batch["advantages"])


def test_zero_scores_truncated_responses_zero():
    scores = [1.0, 1.0, 0.0, 0.0]  # row 1 truncated but correct: zero policy grades it 0
    out = run_verl(make_batch(scores, [3, 10, 4, 5], ["a"] * 4), "zero", [False, True, False, False])
    expected = run_verl(make_batch([1.0, 0.0, 0.0, 0.0], [3, 10, 4, 5], ["a"] * 4), "paper")
    assert torch.equal(out.batch["advantages"], expected.batch["advantages"])
    assert out.batch["advantages"][1, 0] < 0


def test_mask_zero_advantage_and_keep_flags():
    out = run_verl(make_batch(SCORES, LENGTHS, UIDS), "mask", TRUNC)
    adv = out.batch["advantages"]
    assert torch.all(adv[1] == 0) and torch.all(adv[2] == 0)
    paper = run_verl(make_batch(SCORES, LENGTHS, UIDS), "paper")
    # finished rows keep GRPO's value (baseline over the whole group)
    assert torch.equal(adv[[0, 3, 4, 5]], paper.batch["advantages"][[0, 3, 4, 5]])
    result = siri_grpo_advantages(torch.tensor(SCORES), UIDS, torch.tensor(TRUNC), "mask")
    assert result.keep_in_loss.tolist() == [not t for t in TRUNC]


def test_exclude_from_baseline_uses_finished_only():
    out = run_verl(make_batch(SCORES, LENGTHS, UIDS), "exclude_from_baseline", TRUNC)
    adv = out.batch["advantages"][:, 0]
    group_a = torch.tensor(SCORES[:4])
    mean_finished, std_all = torch.tensor([1.0, 1.0]).mean(), group_a.std()  # rows 0 and 3 finished
    assert adv[0].item() == pytest.approx(((1.0 - mean_finished) / (std_all + 1e-6)).item())  # 0
    assert adv[1].item() == pytest.approx(((0.0 - mean_finished) / (std_all + 1e-6)).item())
    paper = run_verl(make_batch(SCORES, LENGTHS, UIDS), "paper").batch["advantages"][:, 0]
    assert adv[1] < paper[1] < 0  # a higher baseline pushes truncated responses further down
    assert torch.isfinite(adv).all() and adv.abs().max() < 10
    # group b has no truncation: plain GRPO
    assert torch.equal(out.batch["advantages"][4:], run_verl(make_batch(SCORES, LENGTHS, UIDS), "paper").batch["advantages"][4:])


def test_exclude_from_baseline_single_finished_is_its_own_baseline():
    result = siri_grpo_advantages(torch.tensor([1.0, 0.0, 1.0]), ["a"] * 3, torch.tensor([False, True, True]),
                                  "exclude_from_baseline")
    std = torch.tensor([1.0, 0.0, 1.0]).std().item()
    assert result.advantages.tolist() == pytest.approx([0.0, -1.0 / std, 0.0], abs=1e-5)


def test_soft_penalty_tracks_the_per_sample_cap():
    soft = SoftOverlongConfig(buffer_fraction=0.25, penalty_factor=1.0)
    lengths = torch.tensor([6, 7, 8, 14, 16])
    caps = torch.tensor([8, 8, 8, 16, 16])
    penalty = soft_overlong_penalty(lengths, caps, soft)
    # cap 8: buffer 2, expected 6 -> 0, -0.5, -1 ; cap 16: buffer 4, expected 12 -> -0.5, -1
    assert penalty.tolist() == pytest.approx([0.0, -0.5, -1.0, -0.5, -1.0])
    data = make_batch([1.0, 1.0, 1.0, 0.0], [5, 8, 3, 4], ["a"] * 4)
    out = run_verl(data, "soft", [False, True, False, False], caps=[8, 8, 8, 8],
                   soft_overlong={"buffer_fraction": 0.25, "penalty_factor": 1.0})
    expected = run_verl(make_batch([1.0, 0.0, 1.0, 0.0], [5, 8, 3, 4], ["a"] * 4), "paper")
    assert torch.allclose(out.batch["advantages"], expected.batch["advantages"])


@pytest.mark.parametrize("policy", ["paper", "zero", "mask", "exclude_from_baseline", "soft"])
def test_all_truncated_group_is_finite_zero(policy):
    data = make_batch([0.0, 0.0, 0.0, 1.0, 0.0], [10, 10, 10, 3, 5], ["a", "a", "a", "b", "b"])
    out = run_verl(data, policy, [True, True, True, False, False], caps=[10] * 5)
    adv = out.batch["advantages"]
    assert torch.isfinite(adv).all()
    assert torch.all(adv[:3] == 0)
    assert adv[3, 0] > 0


@pytest.mark.parametrize("policy", ["zero", "mask", "exclude_from_baseline"])
def test_all_truncated_group_with_a_correct_answer_is_zero(policy):
    out = run_verl(make_batch([1.0, 0.0], [10, 10], ["a", "a"]), policy, [True, True])
    assert torch.isfinite(out.batch["advantages"]).all()
    assert torch.all(out.batch["advantages"] == 0)


def test_non_paper_policy_without_flags_fails_clearly():
    with pytest.raises(ValueError, match="python -m siri_verl.main"):
        run_verl(make_batch(SCORES, LENGTHS, UIDS), "mask")


def test_flag_count_mismatch_fails():
    with pytest.raises(ValueError, match="row order"):
        run_verl(make_batch(SCORES, LENGTHS, UIDS), "mask", [True, False])


def test_unknown_policy_names_the_key():
    with pytest.raises(SiriConfigError, match=r"algorithm\.siri\.truncation='drop'") as error:
        run_verl(make_batch(SCORES, LENGTHS, UIDS), "drop", TRUNC)
    assert error.value.key == "algorithm.siri.truncation"
    with pytest.raises(SiriConfigError, match="buffer_fraction=1.5"):
        run_verl(make_batch(SCORES, LENGTHS, UIDS), "soft", TRUNC, soft_overlong={"buffer_fraction": 1.5})
