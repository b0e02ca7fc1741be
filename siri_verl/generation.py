"""Token-in, token-out sampling with a KV cache, for CPU rollouts and CPU evaluation.

Pure torch + transformers (no Ray, no verl): the ``hf`` rollout backend of verl (``siri_verl.cpu.rollout``) and
the evaluation harness's CPU engine both call :func:`generate`, so the tests of either exercise one code path.

Semantics follow vLLM, which verl's trainer compares against:

* ``temperature == 0`` is greedy decoding; top-k (``-1``/``0`` = off) and top-p (nucleus) filter the
  temperature-scaled distribution before sampling;
* the response stops after the first EOS or ``stop_token_ids`` token (that token is included, as vLLM
  includes EOS in ``token_ids``), or when ``max_tokens`` tokens were generated;
* ``logprobs_mode="processed_logprobs"`` (verl's default) records ``log_softmax(logits / temperature)`` of each
  sampled token, which is what verl's actor recomputes; ``"raw_logprobs"`` records ``log_softmax(logits)``.
  Neither applies top-k/top-p to the recorded log-prob. At temperature 0 both use temperature 1.

This is for tests and small experiments on CPU, one sequence at a time; GPU runs keep vLLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Optional

import torch

LOGPROBS_MODES = ("processed_logprobs", "raw_logprobs")
GREEDY_TEMPERATURE = 1e-5  # temperatures at or below this decode greedily, as in vLLM


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one response."""

    max_tokens: int
    """Most response tokens to generate (the rollout length cap); at least 1."""
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p (1.0 = off)."""
    top_k: int = -1
    """Keep only the top_k most likely tokens (-1 or 0 = off)."""
    stop_token_ids: tuple[int, ...] = field(default_factory=tuple)
    """Extra token ids that end the response like EOS (included in the output)."""
    seed: Optional[int] = None
    """Seed of a private torch.Generator for this request (None = the caller's generator or torch's global RNG)."""
    logprobs_mode: str = "processed_logprobs"
    """processed_logprobs: log_softmax(logits / temperature) of the sampled token (verl's default);
    raw_logprobs: log_softmax(logits)."""

    def __post_init__(self) -> None:
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be an int >= 1, got {self.max_tokens!r}")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0 (0 = greedy), got {self.temperature!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.top_k, int) or self.top_k < -1:
            raise ValueError(f"SamplingParams.top_k must be an int >= -1 (-1 or 0 = off), got {self.top_k!r}")
        if self.logprobs_mode not in LOGPROBS_MODES:
            raise ValueError(
                f"SamplingParams.logprobs_mode={self.logprobs_mode!r} is not supported; use one of {LOGPROBS_MODES} "
                "(the *_logits modes of vLLM return logits, which verl would compare against log-probs)"
            )
        object.__setattr__(self, "stop_token_ids", tuple(int(t) for t in self.stop_token_ids))

    @property
    def greedy(self) -> bool:
        return self.temperature <= GREEDY_TEMPERATURE


@dataclass
class Generation:
    """One sampled response (prompt not included)."""

    token_ids: list[int]
    """Response token ids, including the EOS/stop token when one was sampled."""
    logprobs: list[float]
    """logprobs[i] is the log-probability of token_ids[i] under SamplingParams.logprobs_mode."""
    finish_reason: Literal["stop", "length"]
    """stop: ended on an EOS or stop token; length: reached max_tokens without one."""


def _filter_top_k_top_p(scaled_logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Mask (to -inf) the tokens outside top-k and outside the top-p nucleus; 1-D logits."""
    logits = scaled_logits
    if top_k > 0 and top_k < logits.shape[-1]:
        kth_value = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth_value, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True)
        sorted_probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens ranked above it already reach top_p (the first token always stays)
        drop_sorted = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(0, sorted_idx, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next_token(
    logits: torch.Tensor, params: SamplingParams, generator: Optional[torch.Generator] = None
) -> tuple[int, float]:
    """Pick the next token from 1-D float logits; return (token id, its log-prob under params.logprobs_mode)."""
    logits = logits.float()
    if params.greedy:
        token = int(torch.argmax(logits))
        return token, float(torch.log_softmax(logits, dim=-1)[token])
    scaled = logits / params.temperature
    filtered = _filter_top_k_top_p(scaled, params.top_k, params.top_p)
    probs = torch.softmax(filtered, dim=-1)
    token = int(torch.multinomial(probs, 1, generator=generator))
    logprob_source = scaled if params.logprobs_mode == "processed_logprobs" else logits
    return token, float(torch.log_softmax(logprob_source, dim=-1)[token])


@torch.inference_mode()
def generate(
    model: torch.nn.Module,
    prompt_ids: list[int],
    params: SamplingParams,
    eos_token_ids: Iterable[int],
    generator: Optional[torch.Generator] = None,
) -> Generation:
    """Sample one response to ``prompt_ids`` with a KV-cached decode loop.

    Args:
        model: a transformers causal LM (``model(input_ids, past_key_values=..., use_cache=True)``) in eval mode.
        prompt_ids: the prompt's token ids (at least one).
        params: sampling parameters; ``params.max_tokens`` bounds the response length.
        eos_token_ids: ids that end the response (e.g. ``generation_config.eos_token_id``); may be empty.
        generator: RNG for sampling; ignored when ``params.seed`` is set (a fresh generator seeded with it is used).
    """
    if len(prompt_ids) == 0:
        raise ValueError("generate() needs at least one prompt token (prompt_ids is empty)")
    stop_ids = set(int(t) for t in eos_token_ids) | set(params.stop_token_ids)
    if params.seed is not None:
        generator = torch.Generator().manual_seed(params.seed)
    device = next(model.parameters()).device

    input_ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)
    output = model(input_ids=input_ids, use_cache=True)
    token_ids: list[int] = []
    logprobs: list[float] = []
    while True:
        token, logprob = sample_next_token(output.logits[0, -1], params, generator)
        token_ids.append(token)
        logprobs.append(logprob)
        if token in stop_ids:
            return Generation(token_ids, logprobs, "stop")
        if len(token_ids) >= params.max_tokens:
            return Generation(token_ids, logprobs, "length")
        next_input = torch.tensor([[token]], dtype=torch.long, device=device)
        output = model(input_ids=next_input, past_key_values=output.past_key_values, use_cache=True)
