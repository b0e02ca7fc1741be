"""siri_verl.cpu.tiny: the fixture problems fit the tiny caps as documented, the saved folder has the structure of
the real model's files (R1-Distill-Qwen family by default, ChatML as the second family), the parquet is verl's."""

import json

import pandas as pd
import pytest

from siri_verl.cpu import tiny
from siri_verl.cpu.tiny import DATA_SOURCE, build_model, make_problems, prompt_ids, save_and_reload, tokenizer_for, write_parquet
from siri_verl.reward import compute_score


@pytest.fixture(scope="module", params=sorted(tiny.FAMILIES))
def family(request):
    return request.param


@pytest.fixture(scope="module")
def problems(family):
    return make_problems(64, seed=0, family=family)


@pytest.fixture(scope="module")
def saved(problems, family, tmp_path_factory):
    """(model, tokenizer as verl loads it from the saved folder, folder)."""
    trained = tokenizer_for(problems, family=family)
    model = build_model(trained, family=family)
    folder = tmp_path_factory.mktemp(f"tiny_{family}")
    return model, save_and_reload(model, trained, folder, family=family), folder


def test_problems_are_deterministic_and_correct(problems, family):
    assert make_problems(64, seed=0, family=family) == problems
    assert make_problems(64, seed=1, family=family) != problems
    for p in problems:
        terms = [int(t) for t in p.question.removeprefix("What is ").removesuffix("?").split(" + ")]
        assert sum(terms) == int(p.answer) and len(terms) == p.num_terms
        assert compute_score(DATA_SOURCE, p.solution, p.answer)["score"] == 1.0  # the real reward accepts it


def test_solution_length_needs_the_cap_range(problems, saved):
    _, tokenizer, _ = saved
    lengths = {}
    for p in problems:
        n = len(tokenizer.encode(p.solution, add_special_tokens=False)) + 1  # + EOS
        lengths.setdefault(p.num_terms, []).append(n)
    assert max(lengths[2]) <= 16  # two terms fit the smallest cap
    assert min(lengths[3]) > 16 and min(lengths[4]) > 16  # more terms are truncated at 16 ...
    assert max(lengths[4]) <= 32  # ... and fit from 32 on


def test_r1_folder_has_the_real_models_structure(tmp_path):
    problems = make_problems(16, seed=0, family="r1")
    trained = tokenizer_for(problems, family="r1")
    model = build_model(trained, family="r1")
    tokenizer = save_and_reload(model, trained, tmp_path, family="r1")
    eos, bos = tokenizer.convert_tokens_to_ids(tiny.R1_EOS), tokenizer.convert_tokens_to_ids(tiny.R1_BOS)
    assert tokenizer.eos_token == tiny.R1_EOS and tokenizer.pad_token == tiny.R1_EOS and tokenizer.bos_token == tiny.R1_BOS
    assert "<|im_end|>" not in tokenizer.get_vocab()
    special = {t.content: t.special for t in tokenizer.added_tokens_decoder.values()}
    assert special == {tiny.R1_EOS: True, tiny.R1_USER: False, tiny.R1_ASSISTANT: False, tiny.R1_BOS: True,
                       "<|EOT|>": False, "<think>": False, "</think>": False}
    # added after the trained vocabulary, in the real release's order (151643 EOS, 151644 User, ..., 151649 </think>)
    ids = [tokenizer.convert_tokens_to_ids(t) for t, _ in tiny.FAMILIES["r1"].added_tokens]
    assert ids == list(range(ids[0], ids[0] + 7)) and ids[-1] == len(tokenizer) - 1
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["bos_token_id"] == config["eos_token_id"] == eos
    assert config["num_attention_heads"] == 2 and config["hidden_size"] // 2 == 32  # head_dim vLLM-CPU supports
    generation = json.loads((tmp_path / "generation_config.json").read_text())
    assert generation["eos_token_id"] == eos and generation["bos_token_id"] == bos
    assert (generation["temperature"], generation["top_p"]) == (0.6, 0.95)
    tokenizer_config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert tokenizer_config["add_bos_token"] is True and tokenizer_config["chat_template"] == tiny.R1_CHAT_TEMPLATE
    # digits are pre-tokenized one by one (Qwen2's regex), and the tokenizer adds BOS like the real one
    assert tokenizer.tokenize("12+34") == ["1", "2", "+", "3", "4"]
    assert tokenizer("12")["input_ids"][0] == bos


def test_chat_prompt_and_special_tokens(problems, saved, family):
    model, tokenizer, _ = saved
    ids = prompt_ids(tokenizer, problems[0].question)
    text = tokenizer.decode(ids)
    if family == "r1":  # BOS, User marker, question, Assistant marker and the opened thinking block
        assert text == f"{tiny.R1_BOS}{tiny.R1_USER}{problems[0].question}{tiny.R1_ASSISTANT}<think>\n"
        assert ids.count(tokenizer.bos_token_id) == 1
    else:
        assert text.startswith("<|im_start|>user\n") and text.endswith("<|im_start|>assistant\n")
    assert tokenizer.eos_token_id in tiny.stop_token_ids(model, tokenizer)
    # </think> survives decoding with skip_special_tokens=True (the reward needs it); EOS does not
    response = tokenizer.encode(problems[0].solution, add_special_tokens=False) + [tokenizer.eos_token_id]
    assert tokenizer.decode(response, skip_special_tokens=True) == problems[0].solution


def test_parquet_loads_in_verl_rlhf_dataset(problems, saved, tmp_path):
    from omegaconf import OmegaConf

    from verl.utils.dataset.rl_dataset import RLHFDataset

    _, tokenizer, _ = saved
    path = tmp_path / "train.parquet"
    write_parquet(problems[:8], path, "train")
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    config = OmegaConf.create({"max_prompt_length": 64, "filter_overlong_prompts": False, "truncation": "error"})
    dataset = RLHFDataset(data_files=str(path), tokenizer=tokenizer, config=config)
    item = dataset[0]
    assert len(dataset) == 8 and item["data_source"] == DATA_SOURCE
    assert item["reward_model"]["ground_truth"] == problems[0].answer


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown tiny model family 'llama'.*chatml.*r1"):
        make_problems(1, seed=0, family="llama")
