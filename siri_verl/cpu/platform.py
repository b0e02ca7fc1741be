"""A CPU platform for verl 0.9.1, for tests and small experiments (the GPU recipes do not use it).

verl has no CPU platform: device detection falls back to ``nvidia``, so the FSDP actor asks for CUDA and NCCL.
This module registers a platform named ``cpu`` with verl's ``PlatformRegistry`` (gloo backend, a stand-in
``device_module`` for ``torch.cuda``, Ray resource ``GPU`` so Ray's *logical* GPUs schedule the workers) and makes
``torch.distributed.init_process_group`` accept the backend string verl builds on CPU (``cpu:gloo,cpu:gloo``, a
duplicate that torch rejects).

It is imported in every verl process through ``siri_verl.plugin`` (the ``verl.plugins`` entry point) but does
**nothing unless ``VERL_PLATFORM=cpu``** is set: on a GPU machine verl's platform detection and
``torch.distributed`` stay untouched. ``siri_verl.cpu.launch`` sets that variable together with the other CPU
settings (see ``docs/cpu.md``).
"""

from __future__ import annotations

import functools
import os
import types
from contextlib import contextmanager
from typing import Any, Optional

PLATFORM_NAME = "cpu"
PLATFORM_ENV_VAR = "VERL_PLATFORM"


def cpu_platform_requested() -> bool:
    """True when this process was asked to run verl on CPU (``VERL_PLATFORM=cpu``)."""
    return os.environ.get(PLATFORM_ENV_VAR, "").strip().lower() == PLATFORM_NAME


class _CPUDeviceModule(types.ModuleType):
    """Stands in for ``torch.cuda`` where verl calls ``get_torch_device().<fn>``.

    Forwards what ``torch.cpu`` has, maps RNG state to torch's global CPU RNG, reports host memory for
    ``mem_get_info``, and answers every other CUDA-only call (``empty_cache``, memory statistics, IPC, ...)
    with a no-op returning 0.
    """

    def __init__(self) -> None:
        super().__init__("siri_verl_cpu_device")
        import torch

        self._torch = torch

    def __getattr__(self, name: str) -> Any:
        torch = self._torch
        overrides = {
            "get_rng_state": torch.get_rng_state,
            "set_rng_state": torch.set_rng_state,
            "manual_seed": torch.manual_seed,
            "manual_seed_all": torch.manual_seed,
            "mem_get_info": _host_mem_get_info,
            "get_device_name": lambda *args, **kwargs: "cpu",
            "is_available": lambda: True,
            "device_count": lambda: 1,
            "current_device": lambda: "cpu",
        }
        if name in overrides:
            return overrides[name]
        if name.startswith("__"):
            raise AttributeError(name)
        if hasattr(torch.cpu, name):
            return getattr(torch.cpu, name)
        return lambda *args, **kwargs: 0


def _host_mem_get_info(*args, **kwargs) -> tuple[int, int]:
    import psutil

    memory = psutil.virtual_memory()
    return memory.available, memory.total


def _dedupe_backend(backend: Optional[str]) -> Optional[str]:
    """``cpu:gloo,cpu:gloo`` -> ``gloo``; other strings lose repeated comma-separated entries only."""
    if not backend or "," not in backend:
        return backend
    entries = list(dict.fromkeys(part.strip() for part in backend.split(",") if part.strip()))
    if all(entry in ("gloo", "cpu:gloo") for entry in entries):
        return "gloo"
    return ",".join(entries)


def _patch_init_process_group() -> None:
    import torch.distributed as dist

    original = dist.init_process_group
    if getattr(original, "_siri_cpu_patched", False):
        return

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        if "backend" in kwargs:
            kwargs["backend"] = _dedupe_backend(kwargs["backend"])
        elif args:
            args = (_dedupe_backend(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group._siri_cpu_patched = True
    dist.init_process_group = init_process_group


def _register_platform() -> None:
    from verl.plugin.platform import PlatformBase, PlatformRegistry

    @PlatformRegistry.register(platform=PLATFORM_NAME)
    class PlatformCPU(PlatformBase):
        """verl platform for CPU-only hosts: gloo collectives, Ray logical GPUs, no IPC, no profiler."""

        _device_module = _CPUDeviceModule()

        @property
        def device_name(self) -> str:
            return "cpu"

        @property
        def vendor_name(self) -> str:
            return "cpu"

        @property
        def device_module(self) -> types.ModuleType:
            return self._device_module

        def is_available(self) -> bool:
            return True

        def is_platform_available(self, use_smi_check: bool = False) -> bool:
            # Only an explicit VERL_PLATFORM=cpu selects it; never win auto-detection.
            return cpu_platform_requested()

        def current_device(self) -> str:  # verl uses it as a .to(device=...) target
            return "cpu"

        def device_count(self) -> int:
            return 1

        def set_device(self, device_index) -> None:
            pass

        def synchronize(self, device_index=None) -> None:
            pass

        def manual_seed(self, seed: int) -> None:
            import torch

            torch.manual_seed(seed)

        def manual_seed_all(self, seed: int) -> None:
            self.manual_seed(seed)

        def set_allocator_settings(self, settings: str) -> None:
            pass

        def empty_cache(self) -> None:
            pass

        def get_device_capability(self, device_index: int = 0):
            return None, None

        def communication_backend_name(self) -> str:
            return "gloo"

        def visible_devices_envvar(self) -> str:
            return "CUDA_VISIBLE_DEVICES"

        @contextmanager
        def nvtx_range(self, msg: str):
            yield

        def profiler_start(self) -> None:
            pass

        def profiler_stop(self) -> None:
            pass

        def ray_resource_name(self) -> str:
            # verl hard-codes the Ray resource keys GPU/NPU: Ray is started with logical num_gpus on CPU hosts.
            return "GPU"

        def ray_noset_envvars(self) -> list[str]:
            return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

        def is_ipc_supported(self) -> bool:
            return False

        def cudart(self):
            return None


def activate_if_requested() -> bool:
    """Register the CPU platform and the gloo backend fix when ``VERL_PLATFORM=cpu``; returns whether it did."""
    if not cpu_platform_requested():
        return False
    _register_platform()
    _patch_init_process_group()
    return True


ACTIVE = activate_if_requested()
"""Whether this process runs verl on the CPU platform (decided once, at import)."""
