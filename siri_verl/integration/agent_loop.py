"""``siri_single_turn``: verl's single-turn agent loop with SIRI's per-request length cap.

Every training request carries the step's cap as the per-sample field ``siri_cap`` (set by
``SiriPPOTrainer._next_train_batch``); this loop sends it to the rollout server as
``sampling_params["max_tokens"]``, which vLLM, SGLang and siri_verl's CPU backend honour per request,
so the engine never restarts when the cap moves. Validation requests carry no ``siri_cap`` and use
``algorithm.siri.validation_max_tokens`` (null: the schedule max, i.e. ``rollout.response_length``).

It writes each response's :class:`~siri_verl.response_record.ResponseRecord` (the cap it ran under, whether
it reached the cap without a stop token, its length) into ``extra_fields``, which verl stores with the sample
and merges into the reward's ``extra_info``.

Selected by ``actor_rollout_ref.rollout.agent.default_agent_loop: siri_single_turn`` (written in
``siri_verl/config/siri_trainer.yaml``, so ``--cfg job`` shows it). It is registered with verl's own
agent-loop ``register`` when this module is imported, which ``siri_verl.plugin`` does at ``import verl`` in
every verl process on every node: no config path is needed.

**Which Continuous Token builder.** verl 0.9.1 picks the builder that renders the prompt from the model's
``config.json`` ``model_type`` alone (``verl/utils/tokenizer/continuous_token_wiring.py``:
``_MODEL_TYPE_TO_FAMILY["qwen2"] = QWEN``), and ``QwenContinuousTokenBuilder.__init__`` requires the token
``<|im_end|>`` (``verl/utils/tokenizer/continuous_token.py``: ``require_token_id(tokenizer, "<|im_end|>")``).
DeepSeek-R1-Distill-Qwen -- the model SIRI trains -- is ``model_type: qwen2`` with DeepSeek's tokens and no
``<|im_end|>``, so every agent-loop worker would raise before the first rollout (verl issue #7637).
:func:`continuous_token_family` keeps verl's choice whenever the tokenizer has what it needs and otherwise
selects verl's own ``DeepSeekContinuousTokenBuilder`` for a tokenizer with DeepSeek's EOS and Assistant
marker (the approach of verl PR #7639), or verl's default builder for any other Qwen-typed model without
``<|im_end|>``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput, register
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop
from verl.utils.tokenizer.continuous_token_wiring import (
    ContinuousTokenModelFamily,
    create_continuous_token_builder,
    resolve_continuous_token_model_family,
)

from siri_verl.config import SiriConfig
from siri_verl.response_record import CAP_FIELD, ResponseRecord

AGENT_LOOP_NAME = "siri_single_turn"

CHATML_TURN_END = "<|im_end|>"
DEEPSEEK_EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
DEEPSEEK_ASSISTANT = "<\uff5cAssistant\uff5c>"
_QWEN_FAMILIES = frozenset({
    ContinuousTokenModelFamily.QWEN, ContinuousTokenModelFamily.QWEN25,
    ContinuousTokenModelFamily.QWEN3, ContinuousTokenModelFamily.QWEN35,
})


_WIRING_LOGGER = logging.getLogger("verl.utils.tokenizer.continuous_token_wiring")


def _drop_fallback_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("No model-specific Continuous Token builder")


def continuous_token_family(tokenizer, hf_model_type: str | None) -> str:
    """The Continuous Token family to build for this tokenizer: ``"auto"`` (verl infers it from
    ``model_type``), or ``"deepseek"`` / ``"default"`` when verl's Qwen builder would need ``<|im_end|>``
    and the tokenizer has none (R1-Distill-Qwen and other Qwen-architecture models with another template)."""
    inferred = resolve_continuous_token_model_family("auto", hf_model_type=hf_model_type)
    if inferred not in _QWEN_FAMILIES or _has_token(tokenizer, CHATML_TURN_END):
        return "auto"
    if _has_token(tokenizer, DEEPSEEK_EOS) and _has_token(tokenizer, DEEPSEEK_ASSISTANT):
        return ContinuousTokenModelFamily.DEEPSEEK.value
    return ContinuousTokenModelFamily.DEFAULT.value


def _has_token(tokenizer, token: str) -> bool:
    """One vocabulary lookup (the loop is built for every sample: no ``get_vocab()`` copy of 152K entries)."""
    token_id = tokenizer.convert_tokens_to_ids(token)
    return token_id is not None and token_id != getattr(tokenizer, "unk_token_id", None)


def build_continuous_token_builder(tokenizer, hf_model_type: str | None, **kwargs):
    """verl's ``create_continuous_token_builder`` with :func:`continuous_token_family`'s choice."""
    family = continuous_token_family(tokenizer, hf_model_type)
    return create_continuous_token_builder(tokenizer, model_family=family, hf_model_type=hf_model_type, **kwargs)


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


@register(AGENT_LOOP_NAME)
class SiriSingleTurnAgentLoop(SingleTurnAgentLoop):
    """Single-turn loop that caps each request at the sample's SIRI cap and flags truncation."""

    def __init__(self, *args, tokenizer, hf_model_type: str | None = None, **kwargs):
        family = continuous_token_family(tokenizer, hf_model_type)
        if family == "auto":
            super().__init__(*args, tokenizer=tokenizer, hf_model_type=hf_model_type, **kwargs)
            return
        # verl builds its builder from hf_model_type in AgentLoopBase.__init__: let it build the default one
        # (which always can; its "no model-specific builder" notice, logged for every sample, is dropped) and
        # replace it right after with the family's.
        _WIRING_LOGGER.addFilter(_drop_fallback_notice)
        try:
            super().__init__(*args, tokenizer=tokenizer, hf_model_type=None, **kwargs)
        finally:
            _WIRING_LOGGER.removeFilter(_drop_fallback_notice)
        self.continuous_token_builder = create_continuous_token_builder(
            self.tokenizer,
            model_family=family,
            chat_template_kwargs=self.apply_chat_template_kwargs,
            mm_processor_kwargs=self.mm_processor_kwargs,
            processor=self.processor,
        )

    def _request_cap(self, sample_cap: Any) -> int:
        if sample_cap is None:
            siri = SiriConfig.from_mapping(self.config.get("algorithm", {}).get("siri", None))
            cap = siri.validation_max_tokens or self.response_length
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
        record = ResponseRecord.decide(output.response_ids, cap, self._stop_token_ids(capped_params))
        output.extra_fields.update(record.to_fields())
        return output
