"""siri_verl.cpu.platform: inert without VERL_PLATFORM=cpu, a working gloo platform with it; the launch preset."""

import os
import subprocess
import sys

import pytest

from siri_verl.cpu.launch import CPU_OVERRIDES, cpu_env, cpu_overrides, override_key
from siri_verl.cpu.platform import _dedupe_backend

from repo_paths import REPO


def run_fresh(code: str, **env_changes) -> str:
    env = {k: v for k, v in os.environ.items() if k != "VERL_PLATFORM"}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.subprocess
def test_without_the_env_var_verl_is_untouched():
    code = (
        "import sys, torch.distributed as dist\n"
        "original = dist.init_process_group\n"
        "import verl\n"
        "from verl.plugin.platform import PlatformRegistry, get_platform\n"
        "assert 'siri_verl.cpu.platform' in sys.modules, 'the plugin was not loaded: the check would be vacuous'\n"
        "import siri_verl.cpu.platform as p\n"
        "print(p.ACTIVE, 'cpu' in PlatformRegistry.registered_names(), dist.init_process_group is original,\n"
        "      get_platform().device_name)\n"
    )
    active, registered, same_init, device = run_fresh(code).split()
    assert (active, registered, same_init) == ("False", "False", "True")
    assert device != "cpu"  # verl's own detection result (its 'nvidia' fallback on this CPU host)


@pytest.mark.slow
@pytest.mark.subprocess
def test_with_the_env_var_verl_runs_gloo_on_cpu():
    code = (
        "import verl, torch, torch.distributed as dist\n"
        "from verl.utils.device import get_device_name, get_nccl_backend, get_torch_device, get_device_id\n"
        "dev = get_torch_device()\n"
        "state = dev.get_rng_state(); dev.manual_seed(3); a = torch.rand(1); dev.set_rng_state(state)\n"
        "free, total = dev.mem_get_info(); dev.empty_cache(); dev.synchronize()\n"
        "assert 0 < free <= total and dev.is_available() and dev.device_count() == 1\n"
        "dist.init_process_group(backend='cpu:gloo,cpu:gloo', init_method='tcp://127.0.0.1:0', rank=0, world_size=1)\n"
        "t = torch.ones(2); dist.all_reduce(t)\n"
        "print(get_device_name(), get_nccl_backend(), get_device_id(), dist.get_backend(), int(t.sum()))\n"
    )
    assert run_fresh(code, VERL_PLATFORM="cpu").split() == ["cpu", "gloo", "cpu", "gloo", "2"]


def test_backend_string_dedupe():
    assert _dedupe_backend("cpu:gloo,cpu:gloo") == "gloo"
    assert _dedupe_backend("cpu:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl"
    assert _dedupe_backend("nccl") == "nccl"
    assert _dedupe_backend(None) is None


def test_launch_preset_puts_flags_first_and_lets_the_caller_win():
    user = ["--config-path", "/r", "--config-name", "x", "actor_rollout_ref.rollout.agent.num_workers=2",
            "trainer.n_gpus_per_node=2"]
    args = cpu_overrides(user)
    assert args[:4] == ["--config-path", "/r", "--config-name", "x"]
    assert args[-2:] == user[-2:]
    keys = [override_key(a) for a in args[4:]]
    assert len(keys) == len(set(keys)), "a key appears twice"
    assert "++ray_kwargs.ray_init.num_gpus=2" in args  # logical GPUs follow the FSDP world size
    assert len(args) == 4 + len(CPU_OVERRIDES)  # two preset keys replaced by the caller's two


def test_launch_env_keeps_caller_values():
    env = cpu_env({"WANDB_MODE": "online"})
    assert env["VERL_PLATFORM"] == "cpu" and env["WANDB_MODE"] == "online"


@pytest.mark.subprocess
def test_launch_print_shows_the_composed_command():
    out = subprocess.run(
        [sys.executable, "-m", "siri_verl.cpu.launch", "--print", "--", "--config-name", "x",
         "trainer.total_training_steps=2"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "export VERL_PLATFORM=cpu" in out.stdout
    last_line = out.stdout.strip().splitlines()[-1]
    assert last_line.endswith("actor_rollout_ref.rollout.name=hf trainer.total_training_steps=2")


@pytest.mark.parametrize("override", CPU_OVERRIDES)
def test_every_preset_override_composes_with_the_tiny_recipe(override, tiny_recipe_config):
    key = override_key(override)
    value = override.split("=", 1)[1]
    node = tiny_recipe_config
    for part in key.split("."):
        node = node[part]
    assert str(node) == value or (key.endswith("num_gpus") and int(node) == 1)


@pytest.fixture(scope="module")
def tiny_recipe_config():
    from siri_verl.recipe_config import compose_recipe

    recipe = REPO / "recipes" / "siri_tiny_cpu.yaml"
    required = ["data.train_files=t", "data.val_files=v", "actor_rollout_ref.model.path=m"]
    return compose_recipe(recipe, cpu_overrides(required))
