"""The vLLM engine's pure parts (GPU grouping, sharding, sampling arguments) and its lazy import.

vLLM itself cannot run here (no GPU; it would replace the CPU torch), so generation with it is untested
in this repository; these tests cover everything around the ``vllm.LLM`` call.
"""

import importlib.util

import pytest

from siri_verl.eval.engines import (
    SampleOutput,
    SampleRequest,
    VLLMEngine,
    gpu_groups,
    make_engine,
    shard_requests,
    vllm_sampling_kwargs,
)
from siri_verl.eval.protocol import EvalProtocol


def test_gpu_groups_data_parallel_times_tensor_parallel():
    gpus = [str(i) for i in range(8)]
    assert gpu_groups(gpus, 1, 0) == [[g] for g in gpus]
    assert gpu_groups(gpus, 2, 0) == [["0", "1"], ["2", "3"], ["4", "5"], ["6", "7"]]
    assert gpu_groups(gpus, 4, 1) == [["0", "1", "2", "3"]]
    assert gpu_groups(["3", "5", "6"], 1, 2) == [["3"], ["5"]]
    with pytest.raises(ValueError, match="needs 16 GPUs but 8 are visible.*--data-parallel-size 4"):
        gpu_groups(gpus, 2, 8)
    with pytest.raises(ValueError, match="tensor_parallel_size=2 needs that many GPUs but 1"):
        gpu_groups(["0"], 2, 0)


def requests(n):
    return [SampleRequest("aime24", str(i // 4), i % 4, (1, 2), seed=i) for i in range(n)]


def test_shard_requests_round_robin_covers_everything_once():
    shards = shard_requests(requests(10), 3)
    assert [len(s) for s in shards] == [4, 3, 3]
    assert sorted((r.problem_id, r.sample_index) for s in shards for r in s) == sorted(
        (r.problem_id, r.sample_index) for r in requests(10))


def test_vllm_sampling_kwargs_carry_the_protocol_and_the_sample_seed():
    kwargs = vllm_sampling_kwargs(EvalProtocol(), seed=123)
    assert kwargs == {"n": 1, "temperature": 0.6, "top_p": 0.95, "top_k": -1, "max_tokens": 16384, "seed": 123,
                      "skip_special_tokens": True}


def test_make_engine_picks_vllm_without_importing_it():
    engine = make_engine("/models/x", EvalProtocol(engine="vllm"), chunk_size=7)
    assert isinstance(engine, VLLMEngine) and engine.chunk_size == 7


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_engine_without_vllm_fails_with_the_cpu_hint():
    engine = VLLMEngine("/models/x", EvalProtocol())
    with pytest.raises(ImportError, match="--engine transformers"):
        list(engine.generate(requests(1)))


def test_sample_output_rejects_unknown_finish_reasons():
    with pytest.raises(ValueError, match="finish_reason"):
        SampleOutput(requests(1)[0], (1,), "abort")
