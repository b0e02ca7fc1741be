"""siri_verl.cpu.tiny: the fixture problems fit the tiny caps as documented, the parquet is verl's schema."""

import pandas as pd
import pytest

from siri_verl.cpu.tiny import (
    DATA_SOURCE,
    build_model,
    make_problems,
    prompt_ids,
    save_and_reload,
    tokenizer_for,
    write_parquet,
)
from siri_verl.reward import compute_score


@pytest.fixture(scope="module")
def problems():
    return make_problems(64, seed=0)


@pytest.fixture(scope="module")
def saved(problems, tmp_path_factory):
    """(model, tokenizer as verl loads it from the saved folder)."""
    trained = tokenizer_for(problems)
    model = build_model(trained)
    return model, save_and_reload(model, trained, tmp_path_factory.mktemp("tiny"))


def test_problems_are_deterministic_and_correct(problems):
    assert make_problems(64, seed=0) == problems
    assert make_problems(64, seed=1) != problems
    for p in problems:
        terms = [int(t) for t in p.question.removeprefix("What is ").removesuffix("?").split(" + ")]
        assert sum(terms) == int(p.answer) and len(terms) == p.num_terms
        assert compute_score(DATA_SOURCE, p.solution, p.answer)["score"] == 1.0  # the real reward accepts it


def test_solution_length_needs_the_cap_range(problems, saved):
    _, tokenizer = saved
    lengths = {}
    for p in problems:
        n = len(tokenizer.encode(p.solution, add_special_tokens=False)) + 1  # + EOS
        lengths.setdefault(p.num_terms, []).append(n)
    assert max(lengths[2]) <= 16  # two terms fit the smallest cap
    assert min(lengths[3]) > 16 and min(lengths[4]) > 16  # more terms are truncated at 16 ...
    assert max(lengths[4]) <= 32  # ... and fit from 32 on


def test_chat_prompt_and_special_tokens(problems, saved):
    model, tokenizer = saved
    ids = prompt_ids(tokenizer, problems[0].question)
    text = tokenizer.decode(ids)
    assert text.startswith("<|im_start|>user\n") and text.endswith("<|im_start|>assistant\n")
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id == eos
    # <think> survives decoding with skip_special_tokens=True (the reward needs </think>)
    think = tokenizer.encode("<think>1</think>", add_special_tokens=False)
    assert tokenizer.decode(think, skip_special_tokens=True) == "<think>1</think>"


def test_parquet_loads_in_verl_rlhf_dataset(problems, saved, tmp_path):
    from omegaconf import OmegaConf

    from verl.utils.dataset.rl_dataset import RLHFDataset

    _, tokenizer = saved
    path = tmp_path / "train.parquet"
    write_parquet(problems[:8], path, "train")
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    config = OmegaConf.create({"max_prompt_length": 64, "filter_overlong_prompts": False, "truncation": "error"})
    dataset = RLHFDataset(data_files=str(path), tokenizer=tokenizer, config=config)
    item = dataset[0]
    assert len(dataset) == 8 and item["data_source"] == DATA_SOURCE
    assert item["reward_model"]["ground_truth"] == problems[0].answer
