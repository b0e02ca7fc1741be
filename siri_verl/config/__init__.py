"""``algorithm.siri``: every SIRI setting -- its key, default, validation and help -- in one dataclass tree.

This module is the single source of the SIRI keys. ``siri_trainer.yaml`` (in this package, so that
``pkg://siri_verl.config`` resolves when installed) carries only their values, a test fails when the two
disagree, and the reference table in docs/config.md is generated from the field help here
(``python -m siri_verl.config``). Every reader of ``algorithm.siri`` -- the preflight, the trainer, the
advantage estimator, the agent loop -- builds a :class:`SiriConfig` with :meth:`SiriConfig.from_mapping`,
which rejects unknown keys and raises a :class:`~siri_verl.errors.ConfigKeyError` (:class:`SiriConfigError`, or
the schedule's ``ScheduleConfigError``) carrying the full dotted key as ``error.key``.

Pure Python (no torch, Ray or verl), like the schedule.

``algorithm.siri`` lives under ``algorithm`` because verl hands advantage estimators only ``config.algorithm``
and never converts it to a dataclass, so extra keys survive there.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Mapping

from siri_verl.errors import ConfigKeyError, unknown_key_problem
from siri_verl.schedule import LengthSchedule, ScheduleConfig, schedule_config_from_mapping

PREFIX = "algorithm.siri"
TRUNCATION_POLICIES = ("paper", "zero", "mask", "exclude_from_baseline", "soft")


class SiriConfigError(ConfigKeyError):
    """An ``algorithm.siri`` setting is invalid; ``key`` is its full dotted key."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class SoftOverlongConfig:
    """``algorithm.siri.soft_overlong``: DAPO's soft overlong punishment, against each response's own cap."""

    buffer_fraction: float = field(default=0.2, metadata=_help(
        "truncation=soft only: the overlong buffer as a fraction of the response's cap, in (0, 1) "
        "(DAPO: 4096 of 20480 = 0.2)."))
    penalty_factor: float = field(default=1.0, metadata=_help(
        "truncation=soft only: the penalty reached at the cap, >= 0 (DAPO: 1.0)."))

    def buffer_tokens(self, cap: int) -> int:
        """The overlong buffer in tokens for a response capped at ``cap`` (at least 1)."""
        return max(1, int(round(self.buffer_fraction * cap)))


@dataclass(frozen=True)
class PhaseCheckpointsConfig:
    """``algorithm.siri.phase_checkpoints``: checkpoints at the schedule's low/high steps."""

    enable: bool = field(default=True, metadata=_help(
        "Save a checkpoint at every schedule low/high step whatever trainer.save_freq is, kept as "
        "{default_local_dir}/siri_phase_checkpoints/siri_{low,high}_iter{k}/ (safe from max_actor_ckpt_to_keep)."))
    validate: bool = field(default=True, metadata=_help(
        "Also validate there (skipped when trainer.test_freq validates that step anyway)."))


@dataclass(frozen=True)
class ResumeConfig:
    """``algorithm.siri.resume``: the resume guard."""

    allow_schedule_change: bool = field(default=False, metadata=_help(
        "Resume even when algorithm.siri.schedule differs from the one stored in the checkpoint's siri_run.json."))


@dataclass(frozen=True)
class SiriConfig:
    """Every SIRI setting of a run, as written under ``algorithm.siri``."""

    schedule: ScheduleConfig = field(default_factory=ScheduleConfig, metadata=_help(
        "The rollout length cap L(t), a pure function of verl's 1-based global_steps (siri_verl/schedule.py)."))
    truncation: str = field(default="paper", metadata=_help(
        "What happens to a response that reached its step's cap without EOS (siri_verl/integration/truncation.py): "
        "paper (graded as it stands and kept in its group; identical to verl GRPO), zero (truncated responses score "
        "0), mask (they leave the loss, denominator included; needs actor.loss_agg_mode token-mean or token-sum), "
        "exclude_from_baseline (group mean over finished responses only), soft (DAPO's soft overlong punishment "
        "against each response's own cap). Every policy but paper needs algorithm.adv_estimator=siri_grpo."))
    soft_overlong: SoftOverlongConfig = field(default_factory=SoftOverlongConfig, metadata=_help(
        "Settings of truncation=soft."))
    validation_max_tokens: int | None = field(default=None, metadata=_help(
        "Max tokens of a validation response (null = data.max_response_length, the schedule's max_length)."))
    validation_n: Mapping[str, int] | None = field(default=None, metadata=_help(
        "Samples per validation prompt by data_source, e.g. {aime24: 32, math500: 4}; sources not listed (and "
        "null) use actor_rollout_ref.rollout.val_kwargs.n. Sent as verl's per-row __rollout_n__ "
        "(siri_verl/integration/validation.py)."))
    phase_checkpoints: PhaseCheckpointsConfig = field(default_factory=PhaseCheckpointsConfig, metadata=_help(
        "Checkpoints at the schedule's low (end of compression) and high (end of cycle) steps."))
    resume: ResumeConfig = field(default_factory=ResumeConfig, metadata=_help("The resume guard."))

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, block: Mapping[str, Any] | Any | None,
                     max_response_length: int | None = None) -> "SiriConfig":
        """The validated config of an ``algorithm.siri`` block (a mapping or an omegaconf node); missing keys
        take their defaults. ``max_response_length`` is ``data.max_response_length`` when known: a schedule
        max or validation cap above it is refused. Raises the first problem :meth:`check` finds."""
        config, errors = cls.check(block, max_response_length)
        if errors:
            raise errors[0]
        return config

    @classmethod
    def from_run_config(cls, run_config) -> "SiriConfig":
        """From a whole composed run config (``config.algorithm.siri`` and ``config.data.max_response_length``)."""
        return cls.from_mapping(run_config.algorithm.get("siri"), run_config.data.get("max_response_length"))

    @classmethod
    def check(cls, block: Mapping[str, Any] | Any | None,
              max_response_length: int | None = None) -> tuple["SiriConfig | None", list[ConfigKeyError]]:
        """Every problem of an ``algorithm.siri`` block (unknown keys at every level, then each section's values),
        and the config when there is none."""
        block = _plain(block)
        if block is None:
            block = {}
        if not isinstance(block, Mapping):
            return None, [SiriConfigError(PREFIX, "must be a mapping of SIRI settings", block)]
        errors = _unknown_keys(cls, block, PREFIX)
        values = {}
        for spec in fields(cls):
            if any(error.key.startswith(f"{PREFIX}.{spec.name}.") for error in errors):
                continue  # its unknown key is the problem to report
            raw = block.get(spec.name, _default(spec))
            try:
                values[spec.name] = _build_field(spec, raw, max_response_length)
            except ConfigKeyError as error:  # SiriConfigError, or the schedule's ScheduleConfigError
                errors.append(error)
        if errors:
            return None, errors
        config = cls(**values)
        try:
            config._check_together(max_response_length)
        except SiriConfigError as error:
            return None, [error]
        return config, []

    def _check_together(self, max_response_length: int | None) -> None:
        if self.truncation == "soft":
            minimum = self.schedule.min_length or self.schedule.max_length
            buffer = self.soft_overlong.buffer_tokens(minimum)
            if buffer >= minimum:
                raise SiriConfigError(f"{PREFIX}.soft_overlong.buffer_fraction", (
                    f"gives a {buffer}-token buffer at the schedule min {minimum}: every response would be "
                    "penalised (verl PR #2107); lower it"), self.soft_overlong.buffer_fraction)
        upper = max_response_length or self.schedule.max_length
        cap = self.validation_max_tokens
        if cap is not None and cap > upper:
            raise SiriConfigError(f"{PREFIX}.validation_max_tokens",
                                  f"must be <= data.max_response_length={upper} (the rollout buffer), or null", cap)

    # -- reading ----------------------------------------------------------------------------------
    def length_schedule(self) -> LengthSchedule:
        return LengthSchedule(self.schedule)

    def to_dict(self) -> dict[str, Any]:
        """Plain containers in the YAML's shape (knots as lists), e.g. for ``siri_run.json``."""
        result = asdict(self)
        if result["schedule"]["knots"] is not None:
            result["schedule"]["knots"] = [list(knot) for knot in result["schedule"]["knots"]]
        if result["validation_n"] is not None:
            result["validation_n"] = dict(result["validation_n"])
        return result


# ---------------------------------------------------------------------------------------------
# Building and validating each field


def _plain(value: Any) -> Any:
    """omegaconf nodes -> plain containers (without importing omegaconf when not needed)."""
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def _default(spec) -> Any:
    if spec.default is not MISSING:
        return spec.default
    return spec.default_factory()


def _unknown_keys(cls, block: Mapping[str, Any], prefix: str) -> list[ConfigKeyError]:
    """Unknown keys of ``block`` and of its nested sections (the schedule checks its own)."""
    known = [spec.name for spec in fields(cls)]
    errors = [SiriConfigError(f"{prefix}.{key}", unknown_key_problem(key, known, prefix))
              for key in block if key not in known]
    if cls is SiriConfig:
        for name, section in _SECTIONS.items():
            if isinstance(block.get(name), Mapping):
                errors += _unknown_keys(section, block[name], f"{prefix}.{name}")
    return errors


def _build_field(spec, raw: Any, max_response_length: int | None) -> Any:
    key = f"{PREFIX}.{spec.name}"
    if spec.name == "schedule":
        if isinstance(raw, ScheduleConfig):
            raw = asdict(raw)
        return schedule_config_from_mapping(raw, max_response_length)
    if spec.name in _SECTIONS:
        return _build_section(_SECTIONS[spec.name], raw, key)
    if spec.name == "validation_n":
        return _validation_n(raw, key)
    _check_value(SiriConfig, spec.name, raw, key)
    return raw


def _build_section(cls, raw: Any, key: str):
    if isinstance(raw, cls):
        raw = asdict(raw)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SiriConfigError(key, "must be a mapping", raw)
    values = {spec.name: raw.get(spec.name, _default(spec)) for spec in fields(cls)}
    for name, value in values.items():
        _check_value(cls, name, value, f"{key}.{name}")
    if cls is SoftOverlongConfig:  # YAML may write 1 for 1.0
        values = {name: float(value) for name, value in values.items()}
    return cls(**values)


def _check_value(cls, name: str, value: Any, key: str) -> None:
    """Raise naming ``key`` when ``_VALUE_CHECKS`` finds a problem with ``value`` (every plain field has a check)."""
    problem = _VALUE_CHECKS[(cls, name)](value)
    if problem:
        raise SiriConfigError(key, problem, value)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _must_be_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


_VALUE_CHECKS = {
    (SiriConfig, "truncation"): lambda v: None if v in TRUNCATION_POLICIES else (
        f"unknown truncation policy; choose one of {', '.join(TRUNCATION_POLICIES)}"),
    (SiriConfig, "validation_max_tokens"): lambda v: None if v is None or (
        not isinstance(v, bool) and isinstance(v, int) and v >= 1) else "must be an integer >= 1 (tokens) or null",
    (SoftOverlongConfig, "buffer_fraction"): lambda v: None if _is_number(v) and 0.0 < v < 1.0 else (
        "must be a number in (0, 1); the buffer is this fraction of the current cap (0.2 = DAPO's 4096 of 20480)"),
    (SoftOverlongConfig, "penalty_factor"): lambda v: None if _is_number(v) and v >= 0 else (
        "must be a number >= 0 (DAPO: 1.0)"),
    (PhaseCheckpointsConfig, "enable"): _must_be_bool,
    (PhaseCheckpointsConfig, "validate"): _must_be_bool,
    (ResumeConfig, "allow_schedule_change"): _must_be_bool,
}
_SECTIONS = {"soft_overlong": SoftOverlongConfig, "phase_checkpoints": PhaseCheckpointsConfig, "resume": ResumeConfig}


def _validation_n(raw: Any, key: str) -> Mapping[str, int] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SiriConfigError(key, "must be a mapping from data_source to samples per prompt, e.g. "
                                   "{aime24: 32, math500: 4}, or null", raw)
    for source, n in raw.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SiriConfigError(f"{key}.{source}", "must be an integer >= 1", n)
    return {str(source): n for source, n in raw.items()}


# ---------------------------------------------------------------------------------------------
# The reference table (docs/config.md)


def reference_rows(cls=SiriConfig, prefix: str = PREFIX) -> list[tuple[str, str, str]]:
    """(key, default as YAML, help) for every leaf setting, in declaration order."""
    rows = []
    for spec in fields(cls):
        key = f"{prefix}.{spec.name}"
        nested = {"schedule": ScheduleConfig, **_SECTIONS}.get(spec.name) if cls is SiriConfig else None
        if nested is not None:
            rows += reference_rows(nested, key)
        else:
            rows.append((key, _yaml_value(_default(spec)), spec.metadata.get("help", "")))
    return rows


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def reference_markdown() -> str:
    """The markdown table of every ``algorithm.siri`` key (docs/config.md holds this output)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, text in reference_rows():
        cell = text.replace("|", r"\|")
        lines.append(f"| `{key}` | `{default}` | {cell} |")
    return "\n".join(lines) + "\n"
