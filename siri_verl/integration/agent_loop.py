"""``siri_single_turn``: verl's single-turn agent loop with SIRI's per-request length cap.

Every training request carries the step's cap as the per-sample field ``siri_cap`` (set by
``SiriPPOTrainer._next_train_batch``); this loop sends it to the rollout server as
``sampling_params["max_tokens"]``, which vLLM, SGLang and siri_verl's CPU backend honour per request,
so the engine never restarts when the cap moves. Validation requests carry no ``siri_cap`` and use
``algorithm.siri.validation_max_tokens`` (null: the schedule max, i.e. ``rollout.response_length``).

It records in ``extra_fields`` (which verl stores with the sample and merges into the reward's
``extra_info``): ``siri_cap`` (the cap this response ran under), ``siri_truncated`` (reached the cap
without a stop token; engines report a length stop as an ordinary completion, so it is decided from
the tokens) and ``siri_response_length``.

Selected by ``actor_rollout_ref.rollout.agent.default_agent_loop=siri_single_turn``; the agent-loop
workers find it through ``rollout.agent.agent_loop_config_path``, which ``siri_verl.main`` points at
the packaged ``siri_verl/config/agent_loops.yaml``.
"""

from __future__ import annotations

import functools
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

from siri_verl.integration.truncation import is_truncated

AGENT_LOOP_NAME = "siri_single_turn"
CAP_FIELD = "siri_cap"


@functools.lru_cache(maxsize=8)
def generation_config_eos_ids(model_path: str | None) -> frozenset[int]:
    """EOS ids from the model's ``generation_config.json`` (the ids vLLM stops on), when readable."""
    if not model_path:
        return frozenset()
    try:
        from transformers import GenerationConfig

        eos = GenerationConfig.from_pretrained(model_path, local_files_only=True).eos_token_id
    except (OSError, ValueError):
        return frozenset()
    if eos is None:
        return frozenset()
    return frozenset([eos] if isinstance(eos, int) else eos)


class SiriSingleTurnAgentLoop(SingleTurnAgentLoop):
    """Single-turn loop that caps each request at the sample's SIRI cap and flags truncation."""

    def _request_cap(self, sample_cap: Any) -> int:
        if sample_cap is None:
            siri = self.config.get("algorithm", {}).get("siri", {}) or {}
            cap = siri.get("validation_max_tokens", None) or self.response_length
        else:
            cap = int(sample_cap)
        if not 1 <= cap <= self.response_length:
            raise ValueError(
                f"SIRI cap {cap} is outside [1, actor_rollout_ref.rollout.response_length={self.response_length}]; "
                "set data.max_response_length to the schedule's max_length (and "
                "algorithm.siri.validation_max_tokens <= it)"
            )
        return cap

    def _stop_token_ids(self, sampling_params: dict[str, Any]) -> set[int]:
        stop = set(sampling_params.get("stop_token_ids") or ())
        eos = getattr(self.tokenizer, "eos_token_id", None)
        if eos is not None:
            stop.update([eos] if isinstance(eos, int) else eos)
        model_path = self.config.get("actor_rollout_ref", {}).get("model", {}).get("path", None)
        stop.update(generation_config_eos_ids(model_path))
        return stop

    async def run(self, sampling_params: dict[str, Any], **kwargs) -> AgentLoopOutput:
        cap = self._request_cap(kwargs.pop(CAP_FIELD, None))
        capped_params = {**sampling_params, "max_tokens": cap}
        output = await super().run(capped_params, **kwargs)
        output.extra_fields.update(
            {
                "siri_cap": cap,
                "siri_truncated": is_truncated(output.response_ids, cap, self._stop_token_ids(capped_params)),
                "siri_response_length": len(output.response_ids),
            }
        )
        return output
