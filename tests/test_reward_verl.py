"""Wire-up: ``siri_verl.reward.compute_score`` as verl 0.9.1's custom reward function, run by verl's own
reward-loop worker and ``naive`` reward manager (what the trainers use) on a real DataProto, with a real
byte-level BPE tokenizer trained locally on the fixture text (no hub)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures" / "math"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [path.read_text() for path in sorted(FIXTURES.iterdir())]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>")
    path = tmp_path_factory.mktemp("tokenizer")
    fast.save_pretrained(path)
    return path


def _batch(tokenizer, prompts, responses, non_tensors):
    """A DataProto laid out like the agent loop's output: left-padded prompts, right-padded responses."""
    from verl import DataProto

    prompt_ids = [tokenizer.encode(p) for p in prompts]
    response_ids = [tokenizer.encode(r) + [tokenizer.eos_token_id] for r in responses]
    prompt_width = max(map(len, prompt_ids))
    response_width = max(map(len, response_ids))
    pad = tokenizer.pad_token_id
    prompts_t = torch.tensor([[pad] * (prompt_width - len(p)) + p for p in prompt_ids])
    responses_t = torch.tensor([r + [pad] * (response_width - len(r)) for r in response_ids])
    prompt_mask = torch.tensor([[0] * (prompt_width - len(p)) + [1] * len(p) for p in prompt_ids])
    response_mask = torch.tensor([[1] * len(r) + [0] * (response_width - len(r)) for r in response_ids])
    return DataProto.from_dict(
        tensors={
            "prompts": prompts_t,
            "responses": responses_t,
            "input_ids": torch.cat([prompts_t, responses_t], dim=1),
            "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        },
        non_tensors={key: np.array(values, dtype=object) for key, values in non_tensors.items()},
    )


def _reward_loop_worker(tokenizer_dir: Path, reward_kwargs: dict):
    from omegaconf import OmegaConf
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    config = OmegaConf.create(
        {
            "actor_rollout_ref": {"model": {"path": str(tokenizer_dir), "tokenizer_path": str(tokenizer_dir)}},
            "reward": {
                "reward_manager": {"source": "register", "name": "naive"},
                "reward_model": {"enable": False},
                "custom_reward_function": {
                    "path": "pkg://siri_verl.reward",
                    "name": "compute_score",
                    "reward_kwargs": reward_kwargs,
                },
            },
        }
    )
    return RewardLoopWorker(config)


CASES = [
    # (response, ground truth, tool_extra_fields set by the integration's agent loop)
    ("Half of 54.\n</think>\nThe answer is \\boxed{27}.", "27", {"siri_truncated": False, "siri_cap": 16384}),
    ("It is 1/2.\n</think>\nSo \\boxed{0.5}.", "\\frac{1}{2}", {"siri_truncated": False, "siri_cap": 16384}),
    ("Wrong turn.\n</think>\n\\boxed{26}", "27", {"siri_truncated": False, "siri_cap": 8192}),
    ("Long thinking cut at the cap before the answer", "27", {"siri_truncated": True, "siri_cap": 8192}),
    ("Done just at the cap.\n</think>\n\\boxed{27}", "27", {"siri_truncated": True, "siri_cap": 8192}),
]


def _run(tokenizer_dir, reward_kwargs):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    data = _batch(
        tokenizer,
        prompts=["Compute it. Let's think step by step and output the final answer within \\boxed{}."] * len(CASES),
        responses=[response for response, _, _ in CASES],
        non_tensors={
            "data_source": ["amc23"] * len(CASES),
            "reward_model": [{"style": "rule", "ground_truth": gold} for _, gold, _ in CASES],
            "extra_info": [{"index": i, "split": "test"} for i in range(len(CASES))],
            "tool_extra_fields": [fields for _, _, fields in CASES],
        },
    )
    worker = _reward_loop_worker(tokenizer_dir, reward_kwargs)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    rm_scores = type(worker.reward_manager).assemble_rm_scores(data, [o["reward_score"] for o in outputs])
    return worker, outputs, rm_scores, data


def test_compute_score_runs_through_verl_naive_reward_manager(tokenizer_dir):
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

    worker, outputs, rm_scores, data = _run(tokenizer_dir, {})
    assert type(worker.reward_manager) is NaiveRewardManager
    assert [o["reward_score"] for o in outputs] == [1.0, 1.0, 0.0, 0.0, 1.0]
    infos = [o["reward_extra_info"] for o in outputs]
    # same keys for every sample, truncation flags merged in from tool_extra_fields by verl
    assert len({tuple(sorted(info)) for info in infos}) == 1
    assert [info["truncated"] for info in infos] == [False, False, False, True, True]
    assert [info["cap"] for info in infos] == [16384, 16384, 8192, 8192, 8192]
    assert [info["reason"] for info in infos] == ["correct", "correct", "wrong_answer", "no_think_end", "correct"]
    assert [info["pred"] for info in infos] == ["27", "0.5", "26", "", "27"]
    # the reward lands on the last valid response token, as verl places it
    valid_lengths = data.batch["attention_mask"][:, data.batch["prompts"].shape[1] :].sum(-1)
    for row, length in enumerate(valid_lengths.tolist()):
        assert rm_scores[row, length - 1].item() == outputs[row]["reward_score"]
        assert rm_scores[row].abs().sum().item() == outputs[row]["reward_score"]


def test_reward_kwargs_from_config_reach_compute_score(tokenizer_dir):
    _, outputs, _, _ = _run(tokenizer_dir, {"think_mode": "ignore"})
    # searched without </think>: the cut response has no box at all (not "no_think_end"); grading is unchanged
    assert [o["reward_score"] for o in outputs] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert outputs[3]["reward_extra_info"]["reason"] == "no_boxed_answer"


def test_the_removed_truncated_score_kwarg_fails_in_verl_naming_the_new_key(tokenizer_dir):
    """Zeroing truncated responses is algorithm.siri.truncation=zero (the siri_grpo estimator), not the reward's job:
    the old reward kwarg fails on verl's real reward path with the key that replaced it."""
    from siri_verl.reward import RewardOptionError

    with pytest.raises(RewardOptionError, match="algorithm.siri.truncation") as caught:
        _run(tokenizer_dir, {"truncated_score": "zero"})
    assert caught.value.key == "reward.custom_reward_function.reward_kwargs.truncated_score"
