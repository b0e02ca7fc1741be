"""The evaluation protocol: every setting that changes the numbers, with the paper's defaults.

Defaults reproduce SIRI's Table 1 protocol (docs/paper.md §7): temperature 0.6, top_p 0.95 ([inferred],
the usual R1-Distill setting), max 16384 new tokens, 64 samples per problem, fixed seeds. Each field
carries its help text in ``metadata["help"]``; ``add_protocol_arguments`` turns them into CLI flags, so the
``siri-verl eval --help`` text and this file cannot drift apart.

Each sample gets its own seed, a pure function of (``seed``, benchmark, problem id, sample index)
(``sample_seed``), so any sample can be regenerated alone, resumed runs draw exactly the samples an
uninterrupted run would, and the seed is written next to every response.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from siri_verl.reward.extraction import THINK_MODES as REWARD_THINK_MODES

ENGINES = ("vllm", "transformers")
DTYPES = ("bfloat16", "float16", "float32")
THINK_MODES = tuple(REWARD_THINK_MODES)


def _field(default: Any, help_text: str, *, resume: bool = True):
    """A protocol field with its CLI help; ``resume`` = it must equal the stored run's to resume."""
    return field(default=default, metadata={"help": help_text, "must_match_to_resume": resume})


class ProtocolError(ValueError):
    """A protocol field has an invalid value; the message names the field and the fix."""


@dataclass
class EvalProtocol:
    """How responses are sampled and scored. Fields marked ``must_match_to_resume`` must equal the stored run's."""

    temperature: float = _field(0.6, "Sampling temperature (paper: 0.6).")
    top_p: float = _field(0.95, "Nucleus sampling top-p (paper: unstated; 0.95 is the R1-Distill usual).")
    top_k: int = _field(-1, "Top-k sampling; -1 disables it (paper: unstated).")
    max_new_tokens: int = _field(16384, "Max generated tokens per response, thinking + answer (paper: 16384).")
    num_samples: int = _field(
        64, "Samples per problem; pass@1 is avg@num_samples (paper: 64). Raising it on a finished run draws only "
        "the new samples.", resume=False)
    seed: int = _field(0, "Base seed; each sample's seed is derived from it, the benchmark, problem id and index.")
    dtype: str = _field("bfloat16", f"Model weights/compute dtype, one of {DTYPES}.")
    chat_template: str = _field(
        "model", "'model' = the tokenizer's own chat template, 'none' = the user message as plain text, or a path "
        "to a Jinja template file.")
    engine: str = _field(
        "vllm", f"Generation engine, one of {ENGINES}: vllm (GPU) or transformers (CPU, siri_verl.generation).")
    tensor_parallel_size: int = _field(1, "vLLM tensor-parallel GPUs per model replica.")
    data_parallel_size: int = _field(
        0, "vLLM model replicas, one process each; 0 = all visible GPUs // tensor_parallel_size. Samples are "
        "independent of it (per-sample seeds).", resume=False)
    think_mode: str = _field(
        "require", "Where the graded answer is searched (siri_verl.reward): 'require' = the last \\boxed{} after "
        "</think> (DeepScaleR/SIRI), 'optional', or 'ignore' (models without think tags).")
    pass_k: tuple[int, ...] = _field(
        (), "k values for pass@k in the summary; empty = powers of two up to num_samples.", resume=False)
    maj_k: tuple[int, ...] = _field((), "k values for maj@k in the summary; empty = (num_samples,).", resume=False)

    def __post_init__(self) -> None:
        self.pass_k = tuple(int(k) for k in self.pass_k)
        self.maj_k = tuple(int(k) for k in self.maj_k)
        self.validate()

    def validate(self) -> None:
        """Raise ``ProtocolError`` naming the first invalid field and how to fix it."""
        if not self.temperature >= 0:
            raise ProtocolError(f"temperature={self.temperature}: must be >= 0 (0 = greedy)")
        if not 0 < self.top_p <= 1:
            raise ProtocolError(f"top_p={self.top_p}: must be in (0, 1]; use 1.0 to disable nucleus sampling")
        if self.top_k == 0 or self.top_k < -1:
            raise ProtocolError(f"top_k={self.top_k}: must be -1 (disabled) or a positive integer")
        if self.max_new_tokens < 1:
            raise ProtocolError(f"max_new_tokens={self.max_new_tokens}: must be >= 1 (paper: 16384)")
        if self.num_samples < 1:
            raise ProtocolError(f"num_samples={self.num_samples}: must be >= 1 (paper: 64)")
        if self.dtype not in DTYPES:
            raise ProtocolError(f"dtype={self.dtype!r}: must be one of {DTYPES}")
        if self.engine not in ENGINES:
            raise ProtocolError(f"engine={self.engine!r}: must be one of {ENGINES}")
        if self.tensor_parallel_size < 1:
            raise ProtocolError(f"tensor_parallel_size={self.tensor_parallel_size}: must be >= 1")
        if self.data_parallel_size < 0:
            raise ProtocolError(f"data_parallel_size={self.data_parallel_size}: must be >= 0 (0 = all GPUs)")
        if self.think_mode not in THINK_MODES:
            raise ProtocolError(f"think_mode={self.think_mode!r}: must be one of {THINK_MODES}")
        for name in ("pass_k", "maj_k"):
            for k in getattr(self, name):
                if not 1 <= k <= self.num_samples:
                    raise ProtocolError(f"{name} contains {k}: every k must be in [1, num_samples={self.num_samples}]")

    @property
    def pass_k_values(self) -> tuple[int, ...]:
        """The pass@k values to report (defaults: 1, 2, 4, ... up to num_samples)."""
        if self.pass_k:
            return self.pass_k
        values, k = [], 1
        while k <= self.num_samples:
            values.append(k)
            k *= 2
        return tuple(values)

    @property
    def maj_k_values(self) -> tuple[int, ...]:
        """The maj@k values to report (default: num_samples)."""
        return self.maj_k or (self.num_samples,)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["pass_k"] = list(self.pass_k_values)
        data["maj_k"] = list(self.maj_k_values)
        return data

    def resume_fields(self) -> dict[str, Any]:
        """The fields that must be equal for two runs to share samples and scores (checked on resume)."""
        fields = dataclasses.fields(self)
        return {f.name: getattr(self, f.name) for f in fields if f.metadata["must_match_to_resume"]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalProtocol:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ProtocolError(f"unknown protocol field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**data)


SEED_SCHEME = "sha256(f'{seed}\\x1f{benchmark}\\x1f{problem_id}\\x1f{sample_index}')[:4] & 0x7fffffff"


def sample_seed(base_seed: int, benchmark: str, problem_id: str, sample_index: int) -> int:
    """The seed of one sample: a stable 31-bit hash of (base seed, benchmark, problem id, sample index)."""
    digest = hashlib.sha256(f"{base_seed}\x1f{benchmark}\x1f{problem_id}\x1f{sample_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 1,8,64; got {text!r}") from error


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per protocol field (``max_new_tokens`` -> ``--max-new-tokens``), help from the field."""
    group = parser.add_argument_group("protocol (defaults = the SIRI paper's Table 1 protocol)")
    for f in dataclasses.fields(EvalProtocol):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.name in ("pass_k", "maj_k"):
            group.add_argument(flag, type=_int_list, default=default, help=f.metadata["help"] + " Comma-separated.")
        elif f.name == "engine":
            group.add_argument(flag, choices=ENGINES, default=default, help=f.metadata["help"])
        elif f.name in ("dtype", "think_mode"):
            group.add_argument(flag, choices=DTYPES if f.name == "dtype" else THINK_MODES, default=default,
                               help=f.metadata["help"])
        else:
            group.add_argument(flag, type=type(default), default=default,
                               help=f"{f.metadata['help']} (default: {default})")


def protocol_from_args(args: argparse.Namespace) -> EvalProtocol:
    return EvalProtocol(**{f.name: getattr(args, f.name) for f in dataclasses.fields(EvalProtocol)})
