"""GPU-only checks (marker ``gpu``): skipped unless CUDA and vLLM are present.

* vLLM honours a different ``max_tokens`` per request in one batch, and SIRI's truncation rule
  (cap reached without EOS) agrees with vLLM's own ``finish_reason``.
* With ``SIRI_GPU_SMOKE=1``: ``recipes/siri_smoke_gpu.sh`` for 2 steps, every response within its cap.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from repo_paths import REPO

pytestmark = pytest.mark.gpu



def _gpu_and_vllm() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


requires_gpu = pytest.mark.skipif(not _gpu_and_vllm(), reason="needs a CUDA GPU and vLLM")


@requires_gpu
def test_vllm_per_request_max_tokens_and_truncation_rule():
    from vllm import LLM, SamplingParams

    from siri_verl.integration.truncation import is_truncated

    model = os.environ.get("SIRI_GPU_TEST_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")
    llm = LLM(model=model, max_model_len=2048, gpu_memory_utilization=0.3, enforce_eager=True)
    eos = {llm.get_tokenizer().eos_token_id}
    caps = [8, 32, 128, 512]
    prompts = ["Count from 1 to 1000, one number per line."] * len(caps)
    outputs = llm.generate(prompts, [SamplingParams(max_tokens=c, temperature=1.0, seed=0) for c in caps])
    for cap, output in zip(caps, outputs):
        completion = output.outputs[0]
        ids = list(completion.token_ids)
        assert len(ids) <= cap
        assert is_truncated(ids, cap, eos) == (completion.finish_reason == "length")
    assert len(outputs[0].outputs[0].token_ids) == 8  # the short cap binds


@requires_gpu
@pytest.mark.skipif(os.environ.get("SIRI_GPU_SMOKE") != "1", reason="set SIRI_GPU_SMOKE=1 to run the GPU smoke recipe")
@pytest.mark.slow
@pytest.mark.subprocess
def test_smoke_recipe_two_steps(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    env = {**os.environ, "CKPT_DIR": str(tmp_path / "ckpt"), "PYTHON": sys.executable,
           "VERL_FILE_LOGGER_PATH": str(metrics)}
    result = subprocess.run(["bash", str(REPO / "recipes" / "siri_smoke_gpu.sh"), "trainer.total_training_steps=2",
                             "trainer.logger=[console,file]"], env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-5000:]
    rows = [json.loads(line)["data"] for line in metrics.read_text().splitlines()]
    assert [r["siri/cap"] for r in rows] == [1536, 1024]
    assert all(r["siri/cap_violations"] == 0 for r in rows)
    assert (tmp_path / "ckpt" / "siri_smoke_gpu" / "siri_phase_checkpoints" / "siri_low_iter1").is_dir()
