"""The ``hf`` rollout backend for verl 0.9.1: generation with transformers on CPU, for tests and small runs.

verl's only rollouts are vLLM / SGLang / TRT-LLM servers, none of which runs on these CPU machines (a CPU vLLM
cannot take in-place weight updates). This backend speaks the same server protocol the agent loop uses, so verl's
real trainers (V1 and legacy) run unchanged with ``actor_rollout_ref.rollout.name=hf``:

* :class:`HFRolloutServer` -- a Ray actor holding its own copy of the HF model; ``generate`` is token-in/token-out
  through :func:`siri_verl.generation.generate` (the evaluation harness's CPU engine calls the same function);
* :class:`HFReplica` -- the ``RolloutReplica`` the trainer creates; launches one server per replica;
* :class:`HFServerAdapter` -- the ``BaseRollout`` inside each FSDP worker; pushes the actor's weights to the
  server through the Ray object store on verl's weight-update path (``ActorRolloutRefWorker.update_weights``).

Registered at import as ``("hf", "async")`` in ``verl.workers.rollout.base._ROLLOUT_REGISTRY`` and as ``"hf"`` in
``RolloutReplicaRegistry``; ``siri_verl.plugin`` imports this module in every verl process. Registration is all
it does at import (no model is loaded, nothing changes for other backends). Supported: text-only, hybrid mode,
full or merged-LoRA weights. Multimodal input, LoRA adapters without merge, ``delta_flush`` weights and the
standalone/colocated modes fail with an error that says what to change. GPU recipes keep vLLM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Generator, Optional

import ray

from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.replica import RolloutMode, RolloutReplica, RolloutReplicaRegistry, TokenOutput

logger = logging.getLogger(__name__)

BACKEND_NAME = "hf"
THREADS_ENV_VAR = "SIRI_HF_ROLLOUT_THREADS"
"""torch threads of each rollout server (default 1, so the server and the FSDP worker share 2 cores)."""
REQUEST_LOG_ENV_VAR = "SIRI_HF_ROLLOUT_LOG"
"""If set, a JSONL file the server appends one line to per request (see :meth:`HFRolloutServer.generate`)."""
WEIGHT_CHUNK_BYTES = 256 * 2**20  # tensors per Ray call when pushing weights
SAMPLING_KEYS = frozenset(
    {"temperature", "top_p", "top_k", "repetition_penalty", "logprobs", "max_tokens", "max_new_tokens",
     "stop_token_ids", "seed"}
)
"""sampling_params keys the server understands (verl's agent loops send a subset); any other key is an error."""


def server_actor_name(replica_rank: int, name_suffix: str = "") -> str:
    """The Ray actor name of a replica's server; the adapter finds the server by it."""
    return f"hf_server_{replica_rank}_0{name_suffix}"


class HFRolloutServer:
    """Token-in/token-out generation server for one replica (wrapped with ``ray.remote`` by :class:`HFReplica`)."""

    def __init__(self, config, model_config, replica_rank: int = 0) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from verl.utils.config import omega_conf_to_dataclass
        from verl.workers.config import RolloutConfig

        self.config = omega_conf_to_dataclass(config, RolloutConfig)
        self.model_config = omega_conf_to_dataclass(model_config)
        _check_supported(self.config, self.model_config)
        self.replica_rank = replica_rank
        torch.set_num_threads(int(os.environ.get(THREADS_ENV_VAR, "1")))
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_config.local_path, dtype=torch.float32, attn_implementation="sdpa"
        ).eval()
        self.eos_token_ids = _eos_token_ids(self.model, self.model_config)
        self.max_model_len = self.config.max_model_len or self.model.config.max_position_embeddings
        self.global_steps: Optional[int] = None
        self.weights_fingerprint = _fingerprint(self.model)
        self._lock = asyncio.Lock()
        self._admission_open = asyncio.Event()
        self._admission_open.set()
        self._reject_while_paused = False
        self._loaded_names: set[str] = set()
        self._request_log = os.environ.get(REQUEST_LOG_ENV_VAR)

    async def ready(self) -> dict:
        """Cheap call the replica awaits so construction errors surface at launch."""
        return {"eos_token_ids": self.eos_token_ids, "max_model_len": self.max_model_len}

    # -- generation ---------------------------------------------------------------------------------------------
    def max_tokens_for(self, prompt_len: int, sampling_params: dict) -> int:
        """The response cap for one request, as vLLMHttpServer.generate computes it (verl 0.9.1).

        An explicit ``max_tokens`` / ``max_new_tokens`` wins; otherwise the configured response length, bounded by
        the prompt+response budget. Then clamped to [1, max_model_len - prompt_len].
        """
        room = self.max_model_len - prompt_len
        if room < 1:
            raise ValueError(
                f"prompt of {prompt_len} tokens leaves no room to generate within max_model_len={self.max_model_len}; "
                "shorten the prompt (data.max_prompt_length) or raise actor_rollout_ref.rollout.max_model_len"
            )
        if "max_tokens" in sampling_params:
            requested = sampling_params["max_tokens"]
        elif "max_new_tokens" in sampling_params:
            requested = sampling_params["max_new_tokens"]
        else:
            requested = min(
                self.config.response_length, self.config.prompt_length + self.config.response_length - prompt_len
            )
        return max(1, min(int(requested), room))

    def sampling_params_for(self, prompt_len: int, sampling_params: dict):
        from siri_verl.generation import SamplingParams

        unknown = sorted(set(sampling_params) - SAMPLING_KEYS)
        if unknown:
            raise ValueError(
                f"hf rollout does not implement sampling_params {unknown}; it supports {sorted(SAMPLING_KEYS)}"
            )
        penalty = sampling_params.get("repetition_penalty")
        if penalty not in (None, 1.0):
            raise ValueError(f"hf rollout does not implement repetition_penalty={penalty} (only 1.0, verl's default)")
        return SamplingParams(
            max_tokens=self.max_tokens_for(prompt_len, sampling_params),
            temperature=float(sampling_params.get("temperature", 1.0)),
            top_p=float(sampling_params.get("top_p", 1.0)),
            top_k=int(sampling_params.get("top_k", -1) or -1),
            stop_token_ids=tuple(sampling_params.get("stop_token_ids") or ()),
            seed=sampling_params.get("seed"),
            logprobs_mode=self.config.logprobs_mode or "processed_logprobs",
        )

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: Optional[list[Any]] = None,
        video_data: Optional[list[Any]] = None,
        audio_data: Optional[list[Any]] = None,
        mm_processor_kwargs: Optional[dict[str, Any]] = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> TokenOutput:
        """Sample one response (verl's server protocol: token ids in, ``TokenOutput`` out).

        With ``$SIRI_HF_ROLLOUT_LOG`` set, appends ``{weights_version, weights_fingerprint, request_id,
        prompt_tokens, max_tokens, temperature, response_tokens, finish_reason, generate_seconds,
        generate_cpu_seconds, token_ids}`` for each request, measured here (not through the trainer's timers).
        ``weights_fingerprint`` is the sum of |w| after the last sync; ``generate_cpu_seconds`` is the decode
        thread's CPU time, which other processes on the same cores disturb far less than the wall time.
        """

        if image_data is not None or video_data is not None or audio_data is not None:
            raise NotImplementedError(
                "the hf CPU rollout is text-only: request carried image/video/audio data; "
                "use a text dataset or actor_rollout_ref.rollout.name=vllm on GPU"
            )
        prompt_ids = [int(t) for t in prompt_ids]
        params = self.sampling_params_for(len(prompt_ids), dict(sampling_params))
        if not self._admission_open.is_set():
            if self._reject_while_paused:
                return TokenOutput(token_ids=[], log_probs=None, stop_reason="aborted",
                                   extra_fields={"global_steps": self.global_steps})
            await self._admission_open.wait()
        async with self._lock:
            start = time.perf_counter()
            out, cpu_seconds = await asyncio.to_thread(_generate_timed, self.model, prompt_ids, params,
                                                       self.eos_token_ids)
            seconds = time.perf_counter() - start
        if self._request_log:
            record = {"weights_version": self.global_steps, "weights_fingerprint": self.weights_fingerprint,
                      "request_id": request_id, "prompt_tokens": len(prompt_ids),
                      "max_tokens": params.max_tokens, "temperature": params.temperature,
                      "response_tokens": len(out.token_ids), "finish_reason": out.finish_reason,
                      "generate_seconds": seconds, "generate_cpu_seconds": cpu_seconds, "token_ids": out.token_ids}
            with open(self._request_log, "a") as f:
                f.write(json.dumps(record) + "\n")
        return TokenOutput(
            token_ids=out.token_ids,
            log_probs=out.logprobs if sampling_params.get("logprobs", True) else None,
            stop_reason="completed",  # vLLM reports both "stop" and "length" as completed
            num_preempted=0,
            extra_fields={"global_steps": self.global_steps, "finish_reason": out.finish_reason,
                          "max_tokens": params.max_tokens},
        )

    # -- weights ------------------------------------------------------------------------------------------------
    async def load_weights(self, named_tensors: list[tuple[str, Any]]) -> int:
        """Copy (name, tensor) pairs into the model in place; unknown names are an error. Returns how many loaded."""
        async with self._lock:
            state = self.model.state_dict()
            unknown = [name for name, _ in named_tensors if name not in state]
            if unknown:
                raise KeyError(
                    f"hf rollout: {len(unknown)} weight names from the actor do not exist in the rollout model "
                    f"(first: {unknown[:5]}); the actor and rollout must load the same architecture"
                )
            for name, tensor in named_tensors:
                target = state[name]
                if tuple(target.shape) != tuple(tensor.shape):
                    raise ValueError(f"hf rollout: weight {name} has shape {tuple(tensor.shape)}, "
                                     f"rollout model expects {tuple(target.shape)}")
                target.copy_(tensor.to(target.dtype))
                self._loaded_names.add(name)
        return len(named_tensors)

    async def finish_weight_update(self, global_steps: Optional[int]) -> dict:
        """End of one sync: every model tensor must have been loaded; then record the weight version."""
        missing = sorted(set(self.model.state_dict()) - self._loaded_names)
        self._loaded_names = set()
        if missing:
            raise RuntimeError(f"hf rollout: weight sync at step {global_steps} missed {len(missing)} tensors "
                               f"(first: {missing[:5]}); the rollout would generate with stale weights")
        self.weights_fingerprint = _fingerprint(self.model)
        await self.set_global_steps(global_steps)
        return {"global_steps": global_steps, "weights_fingerprint": self.weights_fingerprint}

    async def set_global_steps(self, global_steps: Optional[int]) -> None:
        self.global_steps = global_steps

    # -- lifecycle (no GPU memory to free on CPU) ---------------------------------------------------------------
    async def wake_up(self, tags: Optional[list[str]] = None) -> None:
        pass

    async def sleep(self) -> None:
        pass

    async def clear_kv_cache(self) -> None:
        pass

    async def release_kv_cache(self) -> None:
        pass

    async def resume_kv_cache(self) -> None:
        pass

    async def start_profile(self, **kwargs) -> None:
        pass

    async def stop_profile(self) -> None:
        pass

    async def abort_all_requests(self, reset_prefix_cache: bool = True, reject_request: bool = False) -> dict:
        """Pause admissions (requests in flight finish: a CPU decode cannot be interrupted mid-token)."""
        self._admission_open.clear()
        self._reject_while_paused = reject_request
        return {"aborted_count": 0, "request_ids": []}

    async def resume_generation(self) -> None:
        self._reject_while_paused = False
        self._admission_open.set()

    async def abort_request(self, request_id: str, reset_prefix_cache: bool = True) -> dict:
        return {"aborted": False, "request_id": request_id}


def _fingerprint(model) -> float:
    """Sum of |w| over the model's tensors in float64: changes whenever a weight sync changed any weight."""
    import torch

    with torch.no_grad():
        return float(sum(t.double().abs().sum() for t in model.state_dict().values()))


def _generate_timed(model, prompt_ids, params, eos_token_ids):
    """siri_verl.generation.generate plus the CPU time of this thread (torch runs it here with 1 intra-op thread)."""
    from siri_verl.generation import generate

    start = time.thread_time()
    out = generate(model, prompt_ids, params, eos_token_ids)
    return out, time.thread_time() - start


class HFReplica(RolloutReplica):
    """One ``hf`` server per replica, placed on the node of the replica's first FSDP worker (hybrid mode only)."""

    async def init_colocated(self, resource_pool):
        raise NotImplementedError(_unsupported_mode("colocated"))

    async def init_standalone(self):
        raise NotImplementedError(_unsupported_mode("standalone"))

    async def launch_servers(self):
        if self.rollout_mode != RolloutMode.HYBRID:
            raise NotImplementedError(_unsupported_mode(str(self.rollout_mode)))
        node_id = await self.workers[0].__ray_call__.remote(lambda worker: ray.get_runtime_context().get_node_id())
        name = server_actor_name(self.replica_rank, self.name_suffix)
        server = (
            ray.remote(HFRolloutServer)
            .options(
                name=name,
                num_cpus=0,
                max_concurrency=self.max_concurrency,
                scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node_id, soft=False),
            )
            .remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        )
        await server.ready.remote()
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"{BACKEND_NAME}://{name}"


class HFServerAdapter(rollout_base.BaseRollout):
    """The rollout side inside each FSDP worker: forwards the actor's weights to the replica's server."""

    def __init__(self, config, model_config, device_mesh, replica_rank: int = -1, **kwargs):
        super().__init__(config, model_config, device_mesh)
        _check_supported(self.config, self.model_config)
        rank = int(os.environ.get("RANK", "0"))
        world = (self.config.tensor_model_parallel_size * self.config.data_parallel_size
                 * self.config.pipeline_model_parallel_size)
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.rollout_rank = rank % world
        self._server = None

    def _server_handle(self):
        if self._server is None:  # the adapter is built before HFReplica.launch_servers runs
            self._server = ray.get_actor(server_actor_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]):
        pass

    async def release(self):
        pass

    async def update_weights(
        self, weights: Generator[tuple[str, Any], None, None], wire_format: str = "named_tensors", **kwargs
    ):
        if wire_format != "named_tensors":
            raise NotImplementedError(
                f"hf rollout takes full named tensors, not wire_format={wire_format!r}; "
                "use actor_rollout_ref.rollout.checkpoint_engine.backend=naive"
            )
        if kwargs.get("peft_config") is not None:
            raise NotImplementedError(_LORA_MESSAGE)
        is_sender = self.rollout_rank == 0
        server = self._server_handle() if is_sender else None
        chunk, chunk_bytes = [], 0
        for name, tensor in weights:  # every rank drains: FSDP gathers each tensor collectively
            if not is_sender:
                continue
            cpu_tensor = tensor.detach().to("cpu", copy=True)
            chunk.append((name, cpu_tensor))
            chunk_bytes += cpu_tensor.numel() * cpu_tensor.element_size()
            if chunk_bytes >= WEIGHT_CHUNK_BYTES:
                await server.load_weights.remote(chunk)
                chunk, chunk_bytes = [], 0
        if is_sender:
            if chunk:
                await server.load_weights.remote(chunk)
            await server.finish_weight_update.remote(kwargs.get("global_steps"))


_LORA_MESSAGE = (
    "hf rollout cannot serve LoRA adapters separately; set actor_rollout_ref.model.lora.merge=True "
    "(the actor then syncs merged full weights) or use vllm on GPU"
)


def _unsupported_mode(mode: str) -> str:
    return (f"hf rollout supports only the hybrid mode (rollout next to the FSDP actor), not {mode}; "
            "drop the standalone/colocated rollout or reward-model settings, or use vllm on GPU")


def _check_supported(rollout_config, model_config) -> None:
    lora_rank = getattr(model_config, "lora_rank", 0) or 0
    lora = getattr(model_config, "lora", None) or {}
    if lora_rank > 0 and not lora.get("merge", False):
        raise NotImplementedError(_LORA_MESSAGE)
    if rollout_config.logprobs_mode not in (None, "processed_logprobs", "raw_logprobs"):
        raise ValueError(
            f"actor_rollout_ref.rollout.logprobs_mode={rollout_config.logprobs_mode!r} is not supported by the hf "
            "rollout; use processed_logprobs (default) or raw_logprobs"
        )


def _eos_token_ids(model, model_config) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = model.config.eos_token_id
    if eos is None:
        raise ValueError(f"model at {model_config.local_path} defines no eos_token_id (generation_config.json or "
                         "config.json); the rollout could never stop before the cap")
    return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]


def register() -> None:
    """Add the backend to verl's two rollout registries (idempotent)."""
    rollout_base._ROLLOUT_REGISTRY[(BACKEND_NAME, "async")] = f"{__name__}.HFServerAdapter"
    RolloutReplicaRegistry.register(BACKEND_NAME, lambda: HFReplica)


register()
