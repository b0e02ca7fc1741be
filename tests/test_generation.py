"""siri_verl.generation on a real tiny Qwen2 built locally (no Ray, no verl)."""

import pytest
import torch

from siri_verl.cpu.tiny import build_random_tiny, prompt_ids
from siri_verl.generation import SamplingParams, generate, sample_next_token


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    tokenizer, model = build_random_tiny(seed=0)
    return tokenizer, model, prompt_ids(tokenizer, "What is 3 + 4?")


def reference_logprobs(model, prompt, response, temperature):
    """log_softmax(logits / T) of each response token from one full forward pass (no KV cache)."""
    ids = torch.tensor([prompt + response])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    step_logits = logits[len(prompt) - 1 : len(prompt) - 1 + len(response)] / temperature
    return torch.log_softmax(step_logits, dim=-1).gather(1, torch.tensor(response)[:, None])[:, 0]


def test_greedy_is_deterministic_and_respects_max_tokens(tiny):
    _, model, prompt = tiny
    params = SamplingParams(max_tokens=12, temperature=0.0)
    first = generate(model, prompt, params, eos_token_ids=[])
    second = generate(model, prompt, params, eos_token_ids=[])
    assert first.token_ids == second.token_ids
    assert len(first.token_ids) == 12 and first.finish_reason == "length"
    assert len(first.logprobs) == 12


def test_stops_at_eos_and_includes_it(tiny):
    _, model, prompt = tiny
    free = generate(model, prompt, SamplingParams(max_tokens=10, temperature=0.0), eos_token_ids=[])
    eos = free.token_ids[3]
    first_eos = free.token_ids.index(eos)
    stopped = generate(model, prompt, SamplingParams(max_tokens=10, temperature=0.0), eos_token_ids=[eos])
    assert stopped.finish_reason == "stop"
    assert stopped.token_ids == free.token_ids[: first_eos + 1]
    assert stopped.token_ids[-1] == eos


def test_stop_token_ids_end_the_response_like_eos(tiny):
    _, model, prompt = tiny
    free = generate(model, prompt, SamplingParams(max_tokens=10, temperature=0.0), eos_token_ids=[])
    stop = free.token_ids[2]
    out = generate(model, prompt, SamplingParams(max_tokens=10, temperature=0.0, stop_token_ids=(stop,)), [])
    assert out.finish_reason == "stop" and out.token_ids[-1] == stop
    assert out.token_ids == free.token_ids[: free.token_ids.index(stop) + 1]


@pytest.mark.parametrize("mode", ["processed_logprobs", "raw_logprobs"])
def test_logprobs_match_a_reference_forward_pass(tiny, mode):
    _, model, prompt = tiny
    params = SamplingParams(max_tokens=16, temperature=0.7, top_p=0.9, seed=3, logprobs_mode=mode)
    out = generate(model, prompt, params, eos_token_ids=[])
    scale = 0.7 if mode == "processed_logprobs" else 1.0
    expected = reference_logprobs(model, prompt, out.token_ids, scale)
    torch.testing.assert_close(torch.tensor(out.logprobs), expected, atol=1e-5, rtol=1e-5)
    # the two modes really differ at T != 1 (so the check above could fail)
    other = 1.0 if scale != 1.0 else 0.7
    assert not torch.allclose(torch.tensor(out.logprobs), reference_logprobs(model, prompt, out.token_ids, other),
                              atol=1e-3)


def test_top_k_one_equals_greedy(tiny):
    _, model, prompt = tiny
    greedy = generate(model, prompt, SamplingParams(max_tokens=10, temperature=0.0), eos_token_ids=[])
    top1 = generate(model, prompt, SamplingParams(max_tokens=10, temperature=1.3, top_k=1, seed=5), eos_token_ids=[])
    assert top1.token_ids == greedy.token_ids


def test_seed_reproduces_sampling_and_different_seeds_differ(tiny):
    _, model, prompt = tiny
    a = generate(model, prompt, SamplingParams(max_tokens=20, temperature=1.0, seed=11), eos_token_ids=[])
    b = generate(model, prompt, SamplingParams(max_tokens=20, temperature=1.0, seed=11), eos_token_ids=[])
    c = generate(model, prompt, SamplingParams(max_tokens=20, temperature=1.0, seed=12), eos_token_ids=[])
    assert a.token_ids == b.token_ids and a.logprobs == b.logprobs
    assert a.token_ids != c.token_ids


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    params = SamplingParams(max_tokens=1, temperature=1.0, top_p=0.7)
    generator = torch.Generator().manual_seed(0)
    seen = {sample_next_token(logits, params, generator)[0] for _ in range(300)}
    assert seen == {0, 1}  # 0.5 < 0.7 needs the second token; 0.5 + 0.3 >= 0.7 drops the rest


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 4, "temperature": -1.0}, "temperature"),
        ({"max_tokens": 4, "top_p": 0.0}, "top_p"),
        ({"max_tokens": 4, "top_k": -2}, "top_k"),
        ({"max_tokens": 4, "logprobs_mode": "raw_logits"}, "logprobs_mode"),
    ],
)
def test_bad_sampling_params_name_the_field(kwargs, key):
    with pytest.raises(ValueError, match=key):
        SamplingParams(**kwargs)


def test_empty_prompt_is_rejected(tiny):
    _, model, _ = tiny
    with pytest.raises(ValueError, match="prompt"):
        generate(model, [], SamplingParams(max_tokens=2), eos_token_ids=[])
