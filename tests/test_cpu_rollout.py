"""The hf rollout server, called directly (no Ray): the generate contract verl's agent loop relies on."""

import asyncio
import json
import subprocess
import sys

import pytest
import torch

from siri_verl.cpu.tiny import prompt_ids
from siri_verl.generation import SamplingParams, generate


@pytest.fixture(scope="module")
def model_dir(tiny):
    """The session's untrained tiny model (tests/conftest.py), served on one thread."""
    torch.set_num_threads(1)
    return str(tiny / "model")


def make_server(model_dir, **rollout_kwargs):
    from verl.workers.config import HFModelConfig, RolloutConfig

    from siri_verl.cpu.rollout import HFRolloutServer

    config = RolloutConfig(name="hf", **{"response_length": 8, "prompt_length": 32, **rollout_kwargs})
    return HFRolloutServer(config, HFModelConfig(path=model_dir))


@pytest.fixture(scope="module")
def server(model_dir):
    return make_server(model_dir)


@pytest.fixture(scope="module")
def prompt(server):
    from transformers import AutoTokenizer

    return prompt_ids(AutoTokenizer.from_pretrained(server.model_config.local_path), "What is 1 + 2?")


def call(server, prompt, **sampling):
    return asyncio.run(server.generate(prompt_ids=prompt, sampling_params=sampling, request_id="r"))


def test_caps_at_response_length_without_max_tokens(server, prompt):
    assert server.max_tokens_for(len(prompt), {}) == 8
    # prompt + response budget binds when the prompt is longer than prompt_length
    assert server.max_tokens_for(30, {}) == 8 and server.max_tokens_for(36, {}) == 4
    assert server.max_tokens_for(len(prompt), {"max_tokens": 5}) == 5
    assert server.max_tokens_for(len(prompt), {"max_new_tokens": 3}) == 3
    # clamped to the model's context (max_position_embeddings = 512)
    assert server.max_tokens_for(510, {"max_tokens": 50}) == 2
    with pytest.raises(ValueError, match="max_model_len"):
        server.max_tokens_for(512, {})
    # a random model does not stop on its own: the response fills the cap
    out = call(server, prompt, temperature=1.0, top_p=1.0, top_k=-1, repetition_penalty=1.0, logprobs=True)
    assert len(out.token_ids) <= 8 and len(out.log_probs) == len(out.token_ids)
    assert len(call(server, prompt, temperature=0.0, max_tokens=3).token_ids) == 3


def test_greedy_matches_the_generation_core_and_reports_weight_version(server, prompt):
    asyncio.run(server.set_global_steps(7))
    out = call(server, prompt, temperature=0.0, logprobs=True)
    ref = generate(server.model, prompt, SamplingParams(max_tokens=8, temperature=0.0), server.eos_token_ids)
    assert out.token_ids == ref.token_ids and out.log_probs == pytest.approx(ref.logprobs)
    assert out.stop_reason == "completed"
    assert out.extra_fields["global_steps"] == 7
    assert out.extra_fields["finish_reason"] == ref.finish_reason
    assert call(server, prompt, temperature=0.0, logprobs=False).log_probs is None


def test_logprobs_mode_follows_the_rollout_config(model_dir, prompt):
    raw = make_server(model_dir, logprobs_mode="raw_logprobs")
    processed = make_server(model_dir)
    a = call(raw, prompt, temperature=0.5, seed=4)
    b = call(processed, prompt, temperature=0.5, seed=4)
    assert a.token_ids == b.token_ids
    assert not torch.allclose(torch.tensor(a.log_probs), torch.tensor(b.log_probs), atol=1e-3)
    with pytest.raises(ValueError, match="logprobs_mode"):
        make_server(model_dir, logprobs_mode="processed_logits")


def test_stop_token_ids_from_the_request(server, prompt):
    free = call(server, prompt, temperature=0.0)
    stop = free.token_ids[1]
    out = call(server, prompt, temperature=0.0, stop_token_ids=[stop])
    assert out.token_ids == free.token_ids[: free.token_ids.index(stop) + 1]
    assert out.extra_fields["finish_reason"] == "stop"


def test_multimodal_and_unsupported_sampling_fail_clearly(server, prompt):
    with pytest.raises(NotImplementedError, match="text-only"):
        asyncio.run(server.generate(prompt_ids=prompt, sampling_params={}, request_id="r", image_data=[object()]))
    with pytest.raises(ValueError, match="repetition_penalty"):
        call(server, prompt, repetition_penalty=1.2)
    with pytest.raises(ValueError, match="presence_penalty"):
        call(server, prompt, presence_penalty=0.5)


def test_weight_sync_changes_outputs_and_rejects_bad_updates(model_dir, prompt):
    server = make_server(model_dir)
    before = call(server, prompt, temperature=0.0, logprobs=True)
    state = {name: tensor.clone() for name, tensor in server.model.state_dict().items()}
    perturbed = [(name, tensor + 0.5 * torch.randn_like(tensor)) for name, tensor in state.items()]
    assert asyncio.run(server.load_weights(perturbed)) == len(perturbed)
    fingerprint_before = server.weights_fingerprint
    assert asyncio.run(server.finish_weight_update(3))["weights_fingerprint"] != fingerprint_before
    after = call(server, prompt, temperature=0.0, logprobs=True)
    assert after.extra_fields["global_steps"] == 3
    assert after.log_probs != before.log_probs
    with pytest.raises(KeyError, match="do not exist"):
        asyncio.run(server.load_weights([("model.no_such.weight", torch.zeros(1))]))
    name, tensor = next(iter(state.items()))
    with pytest.raises(ValueError, match="shape"):
        asyncio.run(server.load_weights([(name, torch.zeros(tensor.numel() + 1))]))
    asyncio.run(server.load_weights([(name, tensor)]))  # a partial sync ...
    with pytest.raises(RuntimeError, match="stale"):  # ... is refused at the end of the update
        asyncio.run(server.finish_weight_update(4))


def test_request_log_records_every_request(model_dir, prompt, tmp_path, monkeypatch):
    from siri_verl.cpu.report import read_request_log, rollout_cost_per_step
    from siri_verl.cpu.rollout import REQUEST_LOG_ENV_VAR

    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv(REQUEST_LOG_ENV_VAR, str(log))
    server = make_server(model_dir)
    asyncio.run(server.set_global_steps(1))
    outs = [call(server, prompt, temperature=1.0, seed=s) for s in range(3)]
    asyncio.run(server.set_global_steps(2))
    greedy = call(server, prompt, temperature=0.0, max_tokens=3)
    records = read_request_log(log)
    assert [r["token_ids"] for r in records] == [o.token_ids for o in outs] + [greedy.token_ids]
    assert [r["weights_version"] for r in records] == [1, 1, 1, 2]
    assert [r["max_tokens"] for r in records] == [8, 8, 8, 3]
    steps = rollout_cost_per_step(records, temperature=1.0)  # the greedy request is left out
    assert len(steps) == 1 and steps[0]["step"] == 2 and steps[0]["requests"] == 3
    assert steps[0]["response_tokens"] == sum(len(o.token_ids) for o in outs)
    assert steps[0]["truncated"] == sum(o.extra_fields["finish_reason"] == "length" for o in outs)
    assert steps[0]["max_tokens"] == [8]
    assert steps[0]["generate_seconds"] > 0 and steps[0]["generate_cpu_seconds"] > 0


def test_paused_admission_rejects_when_asked(server, prompt):
    asyncio.run(server.abort_all_requests(reject_request=True))
    assert call(server, prompt, temperature=0.0).stop_reason == "aborted"
    asyncio.run(server.resume_generation())
    assert call(server, prompt, temperature=0.0).stop_reason == "completed"


def test_lora_without_merge_is_refused(model_dir):
    from verl.workers.config import HFModelConfig, RolloutConfig

    from siri_verl.cpu.rollout import _check_supported

    config = RolloutConfig(name="hf", response_length=8, prompt_length=32)
    with pytest.raises(NotImplementedError, match="lora.merge=True"):
        _check_supported(config, HFModelConfig(path=model_dir, lora_rank=8))
    _check_supported(config, HFModelConfig(path=model_dir, lora_rank=8, lora={"merge": True}))


@pytest.mark.slow
@pytest.mark.subprocess
def test_backend_is_registered_in_a_fresh_verl_process():
    code = (
        "import verl\n"
        "from verl.workers.rollout.base import get_rollout_class\n"
        "from verl.workers.rollout.replica import get_rollout_replica_class\n"
        "print(get_rollout_class('hf', 'async').__name__, get_rollout_replica_class('hf').__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["HFServerAdapter", "HFReplica"]
