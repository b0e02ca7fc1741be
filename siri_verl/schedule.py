"""SIRI's rollout-length schedules: the max rollout length L(t) as a pure function of the training step.

Pure Python (no torch, Ray or verl), so the CLI, the trainer, tests and plots all compute the same caps.

``t`` is verl's 1-based ``global_steps`` and goes into the formulas unchanged, so a run resumed from
``global_step_N`` continues the identical cap sequence with no saved state. Step 0 (before the first
update, e.g. ``val_before_train``) is defined too and gives L_max, as in the paper's L(0).

Kinds (docs/paper.md §3; T = ``period``, Lmin/Lmax = ``min_length``/``max_length``):

* ``cosine``: L(t) = (Lmax+Lmin)/2 + (Lmax-Lmin)/2 * cos(2*pi*t/T). The released SIRI models use it.
* ``stair``: a square wave; the first half of each cycle at Lmin, the second half at Lmax
  (steps (k-1)T+1 .. (k-1)T+floor(T/2) at Lmin, then up to kT at Lmax; an odd T gives Lmax the extra step).
* ``stair_cosine``: phi = 2*pi*(t mod T)/T; hold Lmax, cosine descent over phi in [pi/4, 3pi/4),
  hold Lmin over [3pi/4, 5pi/4), cosine ascent over [5pi/4, 7pi/4), hold Lmax.
* ``constant``: Lmax at every step (the baselines).
* ``piecewise``: a list of (step, cap) knots, held or linearly interpolated between knots; expresses
  DeepScaleR's 8K->16K->24K and ThinkPrune's 4K->3K->2K curricula.

Rounding: the formula's value is rounded to the nearest integer (halves up), then down to a multiple of
``multiple_of`` when set. Step 240 of cosine 8192<->16384, T=640 gives 9392.

Cycles and checkpoints (cycle k = 1, 2, ...): the cycle covers steps (k-1)T+1 .. kT; any integer
T >= 2 works for every periodic kind. The formula's minimum ends at the fraction f of the cycle (f = 1/2
for cosine and stair, 5/8 for stair_cosine); the cycle's "low" checkpoint is that point rounded down to a
whole step, (k-1)T + floor(f*T). It always has the cycle's lowest cap: exactly Lmin whenever a whole
step reaches the minimum (every T for stair, even T for cosine, every T but 3 for stair_cosine);
otherwise (odd T for cosine, T = 3 for stair_cosine) the minimum falls between two steps of equal cap
and the low checkpoint is the earlier of them. The paper's periods (multiples of 8) give exactly T/2 and
5T/8. The cycle's "high" checkpoint is its end, kT, at Lmax. A step is in the ``compression``
phase from the cycle's start through its low step, and in ``expansion`` after it through the cycle's end.
SIRI-low (paper) = ``siri_low_iter3`` (step 1600), SIRI-high = ``siri_high_iter3`` (step 1920).

Adding a kind: write a ``_cap_<kind>(cfg, t) -> float`` function, add it to ``_CAP_FUNCTIONS`` and,
if it is periodic, its low-step fraction of the period to ``_LOW_STEP_FRACTION``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from siri_verl.errors import ConfigKeyError, unknown_key_problem

KINDS = ("constant", "stair", "cosine", "stair_cosine", "piecewise")
INTERPOLATIONS = ("hold", "linear")
CONFIG_PREFIX = "algorithm.siri.schedule"


class ScheduleConfigError(ConfigKeyError):
    """A schedule setting is invalid; ``key`` is its full config key, the message also says the value and the fix."""


@dataclass(frozen=True)
class ScheduleConfig:
    """The rollout-length schedule, as written under ``algorithm.siri.schedule`` in a recipe."""

    kind: str = field(
        default="cosine",
        metadata={"help": "One of constant, stair, cosine, stair_cosine, piecewise.", "choices": KINDS},
    )
    min_length: int | None = field(
        default=8192,
        metadata={
            "help": "L_min, the cap at the bottom of each compression phase (tokens).",
            "cli_aliases": ("--min",),
        },
    )
    max_length: int | None = field(
        default=16384,
        metadata={
            "help": "L_max, the cap at the start and end of each cycle, and the buffer width "
            "(data.max_response_length). For piecewise, defaults to the largest knot cap.",
            "cli_aliases": ("--max",),
        },
    )
    period: int | None = field(
        default=640,
        metadata={"help": "T, steps per compression+expansion cycle (periodic kinds; any integer >= 2)."},
    )
    num_cycles: int | None = field(
        default=3,
        metadata={
            "help": "Cycles to train; total steps = warmup_steps + num_cycles * period.",
            "cli_aliases": ("--cycles",),
        },
    )
    total_steps: int | None = field(
        default=None,
        metadata={"help": "Total training steps; used when num_cycles is null (required then)."},
    )
    warmup_steps: int = field(
        default=0,
        metadata={
            "help": "Steps held at max_length before the first cycle (0 = the paper).",
            "cli_aliases": ("--warmup",),
        },
    )
    multiple_of: int | None = field(
        default=None,
        metadata={"help": "Round every cap down to a multiple of this (null = nearest integer)."},
    )
    knots: tuple[tuple[int, int], ...] | None = field(
        default=None,
        metadata={"help": "piecewise only: ((step, cap), ...) with strictly increasing steps."},
    )
    interpolation: str = field(
        default="hold",
        metadata={"help": "piecewise only: 'hold' (step function) or 'linear' between knots.",
                  "choices": INTERPOLATIONS},
    )


@dataclass(frozen=True)
class SchedulePoint:
    """What the schedule says about one training step."""

    step: int
    cap: int
    phase: str
    iteration: int


@dataclass(frozen=True)
class CheckpointStep:
    """A phase checkpoint: the end of a compression (``low``) or of a whole cycle (``high``)."""

    step: int
    kind: str
    iteration: int

    @property
    def name(self) -> str:
        """Stable name, e.g. ``siri_low_iter3`` (the paper's SIRI-low) or ``siri_high_iter3``."""
        return f"siri_{self.kind}_iter{self.iteration}"


# ---------------------------------------------------------------------------------------------
# Cap formulas. Each gets the validated config and the step counted from the first cycle's start
# (t minus warm-up) and returns the unrounded cap.


def _mid_and_amplitude(cfg: ScheduleConfig) -> tuple[float, float]:
    return (cfg.max_length + cfg.min_length) / 2.0, (cfg.max_length - cfg.min_length) / 2.0


def _cap_constant(cfg: ScheduleConfig, t: int) -> float:
    return float(cfg.max_length)


def _cap_cosine(cfg: ScheduleConfig, t: int) -> float:
    mid, amplitude = _mid_and_amplitude(cfg)
    return mid + amplitude * math.cos(2.0 * math.pi * t / cfg.period)


def _cap_stair(cfg: ScheduleConfig, t: int) -> float:
    position = (t - 1) % cfg.period + 1  # 1..T within the cycle; step 0 is the end of "cycle 0"
    return float(cfg.min_length if position <= cfg.period // 2 else cfg.max_length)


def _cap_stair_cosine(cfg: ScheduleConfig, t: int) -> float:
    mid, amplitude = _mid_and_amplitude(cfg)
    phi = 2.0 * math.pi * (t % cfg.period) / cfg.period
    if phi < math.pi / 4 or phi >= 7 * math.pi / 4:
        return float(cfg.max_length)
    if phi < 3 * math.pi / 4:
        return mid + amplitude * math.cos(2.0 * (phi - math.pi / 4))
    if phi < 5 * math.pi / 4:
        return float(cfg.min_length)
    return mid + amplitude * math.cos(2.0 * (phi - 3 * math.pi / 4))


def _cap_piecewise(cfg: ScheduleConfig, t: int) -> float:
    knots = cfg.knots
    if t <= knots[0][0]:
        return float(knots[0][1])
    for (step_a, cap_a), (step_b, cap_b) in zip(knots, knots[1:]):
        if t < step_b:
            if cfg.interpolation == "hold":
                return float(cap_a)
            return cap_a + (cap_b - cap_a) * (t - step_a) / (step_b - step_a)
    return float(knots[-1][1])


_CAP_FUNCTIONS: dict[str, Callable[[ScheduleConfig, int], float]] = {
    "constant": _cap_constant,
    "cosine": _cap_cosine,
    "stair": _cap_stair,
    "stair_cosine": _cap_stair_cosine,
    "piecewise": _cap_piecewise,
}

# Periodic kinds: where the formula's minimum ends, as a fraction f of the period. The low
# (end-of-compression) checkpoint is the step floor(f * period) of each cycle.
_LOW_STEP_FRACTION: dict[str, tuple[int, int]] = {
    "cosine": (1, 2),
    "stair": (1, 2),
    "stair_cosine": (5, 8),
}


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


class LengthSchedule:
    """The max rollout length L(t) for every training step, plus its phases and checkpoint steps."""

    def __init__(self, config: ScheduleConfig):
        self.config = validate(config)

    # -- per-step queries ---------------------------------------------------------------------
    def cap(self, step: int) -> int:
        """The max rollout length (tokens) for verl global step ``step`` (1-based; 0 allowed)."""
        cfg = self.config
        if step < 0:
            raise ValueError(f"step must be >= 0 (verl's global_steps is 1-based), got {step}")
        if step <= cfg.warmup_steps and cfg.kind not in ("constant", "piecewise"):
            value = float(cfg.max_length)
        else:
            t = step if cfg.kind == "piecewise" else step - cfg.warmup_steps
            value = _CAP_FUNCTIONS[cfg.kind](cfg, t)
        cap = _round_half_up(value)
        if cfg.multiple_of:
            cap -= cap % cfg.multiple_of
        return cap

    def iteration(self, step: int) -> int:
        """The 1-based cycle that ``step`` belongs to (1 for non-periodic kinds and warm-up)."""
        if not self.is_periodic:
            return 1
        t = step - self.config.warmup_steps
        return max(1, math.ceil(t / self.config.period))

    def phase(self, step: int) -> str:
        """``compression`` (cycle start through its low step), ``expansion`` (after it), ``warmup``
        (held at max before the first cycle), or for non-periodic kinds ``constant`` where the cap has
        not changed yet and otherwise the direction of the last change."""
        cfg = self.config
        if self.is_periodic:
            if step <= cfg.warmup_steps and cfg.warmup_steps > 0:
                return "warmup"
            t = step - cfg.warmup_steps
            position = t - (self.iteration(step) - 1) * cfg.period
            return "compression" if position <= self._low_offset else "expansion"
        direction = "constant"
        if cfg.kind == "piecewise":
            # The direction of the last knot-to-knot change that has started by this step.
            for (step_a, cap_a), (step_b, cap_b) in zip(cfg.knots, cfg.knots[1:]):
                started = step >= step_b if cfg.interpolation == "hold" else step > step_a
                if started and cap_b != cap_a:
                    direction = "compression" if cap_b < cap_a else "expansion"
        return direction

    def point(self, step: int) -> SchedulePoint:
        return SchedulePoint(step, self.cap(step), self.phase(step), self.iteration(step))

    def points(self, first_step: int = 1, last_step: int | None = None) -> list[SchedulePoint]:
        """Every step from ``first_step`` through ``last_step`` (default: the run's last step)."""
        last_step = self.total_steps if last_step is None else last_step
        return [self.point(step) for step in range(first_step, last_step + 1)]

    # -- whole-run facts ----------------------------------------------------------------------
    @property
    def is_periodic(self) -> bool:
        return self.config.kind in _LOW_STEP_FRACTION

    @property
    def _low_offset(self) -> int:
        numerator, denominator = _LOW_STEP_FRACTION[self.config.kind]
        return self.config.period * numerator // denominator

    @property
    def total_steps(self) -> int:
        cfg = self.config
        if cfg.num_cycles is not None and self.is_periodic:
            return cfg.warmup_steps + cfg.num_cycles * cfg.period
        return cfg.total_steps

    @property
    def max_length(self) -> int:
        return self.config.max_length

    @property
    def min_length(self) -> int:
        return self.config.min_length

    def checkpoint_steps(self) -> list[CheckpointStep]:
        """The low/high phase checkpoints within the run, in step order (none for non-periodic kinds)."""
        if not self.is_periodic:
            return []
        cfg, result = self.config, []
        iteration = 1
        while True:
            start = cfg.warmup_steps + (iteration - 1) * cfg.period
            low, high = start + self._low_offset, start + cfg.period
            if low > self.total_steps:
                break
            result.append(CheckpointStep(low, "low", iteration))
            if high <= self.total_steps:
                result.append(CheckpointStep(high, "high", iteration))
            iteration += 1
        return result

    def checkpoint_at(self, step: int) -> CheckpointStep | None:
        """The phase checkpoint that falls on ``step``, if any."""
        for checkpoint in self.checkpoint_steps():
            if checkpoint.step == step:
                return checkpoint
        return None

    def budget(self, first_step: int = 1, last_step: int | None = None) -> dict[str, float]:
        """Mean cap over the steps, and the rollout-token budget relative to a constant cap at
        ``max_length`` (0.75 for cosine 8K<->16K over whole cycles)."""
        caps = [p.cap for p in self.points(first_step, last_step)]
        mean_cap = sum(caps) / len(caps)
        return {"mean_cap": mean_cap, "budget_vs_constant_max": mean_cap / self.max_length}

    def describe(self) -> str:
        cfg = self.config
        if cfg.kind == "constant":
            return f"constant {cfg.max_length}"
        if cfg.kind == "piecewise":
            knots = ", ".join(f"{s}:{c}" for s, c in cfg.knots)
            return f"piecewise ({cfg.interpolation}) [{knots}]"
        warmup = f", warm-up {cfg.warmup_steps}" if cfg.warmup_steps else ""
        return f"{cfg.kind} {cfg.min_length}<->{cfg.max_length}, T={cfg.period}{warmup}"


# ---------------------------------------------------------------------------------------------
# Validation and loading from a recipe


def _fail(key: str, value: Any, problem: str) -> ScheduleConfigError:
    return ScheduleConfigError(f"{CONFIG_PREFIX}.{key}", problem, value)


def _require_int(cfg: ScheduleConfig, key: str, minimum: int, why: str = "") -> None:
    value = getattr(cfg, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, value, f"must be an integer >= {minimum}{why}")
    if value < minimum:
        raise _fail(key, value, f"must be >= {minimum}{why}")


def validate(cfg: ScheduleConfig, max_response_length: int | None = None) -> ScheduleConfig:
    """Check every setting and fill derived defaults; raise ``ScheduleConfigError`` naming the key."""
    if cfg.kind not in KINDS:
        raise _fail("kind", cfg.kind, f"unknown schedule kind; choose one of {', '.join(KINDS)}")
    _require_int(cfg, "warmup_steps", 0)
    for key in ("multiple_of", "total_steps"):
        if getattr(cfg, key) is not None:
            _require_int(cfg, key, 1)

    if cfg.kind == "piecewise":
        cfg = _validate_knots(cfg)
    else:
        _require_int(cfg, "max_length", 1)
    if cfg.kind in _LOW_STEP_FRACTION:
        _require_int(cfg, "min_length", 1)
        if cfg.min_length > cfg.max_length:
            raise _fail(
                "min_length",
                cfg.min_length,
                f"is above max_length={cfg.max_length}; set min_length <= max_length",
            )
        _require_int(
            cfg, "period", 2,
            " (a cycle needs a compression step and an expansion step; for a fixed cap use kind: constant)",
        )
    if cfg.multiple_of:
        for key in ("min_length", "max_length"):
            value = getattr(cfg, key)
            if key == "min_length" and cfg.kind not in _LOW_STEP_FRACTION:
                continue
            if value % cfg.multiple_of:
                raise _fail(
                    "multiple_of",
                    cfg.multiple_of,
                    f"{key}={value} is not a multiple of it, so the cap could never reach {key}",
                )
    if cfg.kind in _LOW_STEP_FRACTION and cfg.num_cycles is not None:
        _require_int(cfg, "num_cycles", 1)
        if cfg.total_steps is not None:
            raise _fail(
                "total_steps",
                cfg.total_steps,
                f"conflicts with num_cycles={cfg.num_cycles}; set one of them and the other to null",
            )
    elif cfg.total_steps is None:
        raise _fail(
            "total_steps",
            None,
            "is required when num_cycles is null or the kind is not periodic (constant, piecewise)",
        )
    if cfg.interpolation not in INTERPOLATIONS:
        raise _fail("interpolation", cfg.interpolation, f"choose one of {', '.join(INTERPOLATIONS)}")
    if max_response_length is not None and cfg.max_length > max_response_length:
        raise _fail(
            "max_length",
            cfg.max_length,
            f"is above data.max_response_length={max_response_length}; responses would be cut at "
            f"{max_response_length} whatever the schedule says. Set data.max_response_length to the "
            "schedule's max_length",
        )
    return cfg


def _validate_knots(cfg: ScheduleConfig) -> ScheduleConfig:
    knots = cfg.knots
    if not knots:
        raise _fail("knots", knots, "piecewise needs a non-empty list of [step, cap] pairs")
    parsed: list[tuple[int, int]] = []
    for index, knot in enumerate(knots):
        if not isinstance(knot, Sequence) or isinstance(knot, str) or len(knot) != 2:
            raise _fail("knots", knots, f"entry {index} ({knot!r}) is not a [step, cap] pair")
        step, cap = knot
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (step, cap)):
            raise _fail("knots", knots, f"entry {index} ({knot!r}) must hold two integers")
        if step < 0 or cap < 1:
            raise _fail("knots", knots, f"entry {index} ({knot!r}) needs step >= 0 and cap >= 1")
        if parsed and step <= parsed[-1][0]:
            raise _fail(
                "knots",
                knots,
                f"steps must be strictly increasing; entry {index} has step {step} after "
                f"step {parsed[-1][0]}",
            )
        parsed.append((step, cap))
    largest = max(cap for _, cap in parsed)
    max_length = cfg.max_length if cfg.max_length is not None else largest
    if largest > max_length:
        raise _fail(
            "max_length", max_length, f"is below the largest knot cap {largest}; raise max_length"
        )
    return ScheduleConfig(
        **{**asdict(cfg), "knots": tuple(parsed), "max_length": max_length,
           "min_length": min(cap for _, cap in parsed)}
    )


def _plain(value: Any) -> Any:
    """DictConfig/ListConfig -> plain containers (without importing omegaconf when not needed)."""
    if hasattr(value, "_content") or type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def schedule_config_from_mapping(block: Mapping[str, Any] | Any,
                                 max_response_length: int | None = None) -> ScheduleConfig:
    """The validated ``ScheduleConfig`` of an ``algorithm.siri.schedule`` mapping (missing keys take their
    defaults, unknown keys are refused). ``max_response_length`` is ``data.max_response_length``: when given,
    a schedule max above it is refused, since the rollout buffer could not hold it."""
    block = _plain(block)
    if not isinstance(block, Mapping):
        raise ScheduleConfigError(CONFIG_PREFIX, "must be a mapping", block)
    known = [f for f in ScheduleConfig.__dataclass_fields__]
    for key in block:
        if key not in known:
            raise ScheduleConfigError(f"{CONFIG_PREFIX}.{key}", unknown_key_problem(key, known, CONFIG_PREFIX))
    values = dict(block)
    if values.get("knots") is not None:
        values["knots"] = tuple(tuple(k) if isinstance(k, (list, tuple)) else k for k in values["knots"])
    return validate(ScheduleConfig(**values), max_response_length)


def schedule_from_config(
    siri_config: Mapping[str, Any] | Any, max_response_length: int | None = None
) -> LengthSchedule:
    """The schedule of an ``algorithm.siri`` block (or directly of its ``schedule`` block), validated as
    :func:`schedule_config_from_mapping` does. The whole ``algorithm.siri`` block is read by
    ``siri_verl.config.SiriConfig``; this is for tools that need only the caps (plots, reports)."""
    siri_config = _plain(siri_config) or {}
    block = siri_config.get("schedule", siri_config) if isinstance(siri_config, Mapping) else siri_config
    return LengthSchedule(schedule_config_from_mapping(block, max_response_length))
