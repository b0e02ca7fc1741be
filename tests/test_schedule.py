"""The SIRI length schedules against the paper (docs/paper.md §3) and their validation."""

import math

import pytest

from siri_verl.schedule import (
    KINDS,
    LengthSchedule,
    ScheduleConfig,
    ScheduleConfigError,
    schedule_from_config,
)

PAPER_STEPS = [0, 80, 160, 240, 320, 400, 480, 560, 640]
# docs/paper.md §3.4: T = 640, 16384 / 8192.
PAPER_COSINE = [16384, 15184, 12288, 9392, 8192, 9392, 12288, 15184, 16384]
PAPER_STAIR_COSINE = [16384, 16384, 12288, 8192, 8192, 8192, 12288, 16384, 16384]


def make(kind="cosine", **overrides):
    values = dict(kind=kind, min_length=8192, max_length=16384, period=640, num_cycles=3)
    values.update(overrides)
    return LengthSchedule(ScheduleConfig(**values))


@pytest.mark.parametrize(
    "kind, expected", [("cosine", PAPER_COSINE), ("stair_cosine", PAPER_STAIR_COSINE)]
)
def test_paper_value_table(kind, expected):
    schedule = make(kind)
    assert [schedule.cap(t) for t in PAPER_STEPS] == expected
    # the same values in every later cycle
    for cycle in (1, 2):
        assert [schedule.cap(t + cycle * 640) for t in PAPER_STEPS] == expected


def test_cosine_is_the_rounded_formula_at_every_step():
    schedule = make("cosine")
    for t in range(0, 1921):
        exact = 12288 + 4096 * math.cos(2 * math.pi * t / 640)
        assert schedule.cap(t) == math.floor(exact + 0.5)
        assert 8192 <= schedule.cap(t) <= 16384


@pytest.mark.parametrize("kind", ["cosine", "stair", "stair_cosine"])
def test_periodicity(kind):
    schedule = make(kind, period=160, num_cycles=4)
    for t in range(0, 481):
        assert schedule.cap(t) == schedule.cap(t + 160)


def test_stair_cosine_is_continuous_at_its_piece_boundaries():
    # With a long period, neighbouring steps differ by at most the steepest cosine slope.
    schedule = make("stair_cosine", period=6400, num_cycles=1)
    steepest = 4096 * 2 * (2 * math.pi / 6400)  # amplitude * d(2*phi)/dt
    for boundary_fraction in (1 / 8, 3 / 8, 5 / 8, 7 / 8):
        boundary = int(6400 * boundary_fraction)
        for t in range(boundary - 3, boundary + 3):
            assert abs(schedule.cap(t + 1) - schedule.cap(t)) <= steepest + 1


def test_stair_is_half_min_then_half_max():
    schedule = make("stair")
    assert schedule.cap(0) == 16384  # before training: L_max, like the cosine's L(0)
    assert {schedule.cap(t) for t in range(1, 321)} == {8192}
    assert {schedule.cap(t) for t in range(321, 641)} == {16384}
    assert schedule.cap(641) == 8192


@pytest.mark.parametrize(
    "kind, lows",
    [("cosine", [320, 960, 1600]), ("stair", [320, 960, 1600]), ("stair_cosine", [400, 1040, 1680])],
)
def test_checkpoint_steps(kind, lows):
    schedule = make(kind)
    checkpoints = schedule.checkpoint_steps()
    assert [c.step for c in checkpoints if c.kind == "low"] == lows
    assert [c.step for c in checkpoints if c.kind == "high"] == [640, 1280, 1920]
    assert [c.name for c in checkpoints] == [
        "siri_low_iter1", "siri_high_iter1", "siri_low_iter2",
        "siri_high_iter2", "siri_low_iter3", "siri_high_iter3",
    ]
    for checkpoint in checkpoints:
        expected_cap = 8192 if checkpoint.kind == "low" else 16384
        assert schedule.cap(checkpoint.step) == expected_cap
        assert schedule.checkpoint_at(checkpoint.step) == checkpoint
    # the low step is the last step of the minimum: for the held minima the next step is above it;
    # the cosine's exact minimum is at T/2 (its neighbours round to 8192 too)
    for low in lows:
        if kind == "cosine":
            assert math.cos(2 * math.pi * low / 640) == pytest.approx(-1)
        else:
            assert schedule.cap(low + 1) > 8192
    # the paper's SIRI-low / SIRI-high
    if kind == "cosine":
        assert schedule.checkpoint_at(1600).name == "siri_low_iter3"
        assert schedule.checkpoint_at(1920).name == "siri_high_iter3"


def test_phase_and_iteration():
    schedule = make("cosine")
    assert schedule.point(1).phase == "compression" and schedule.point(1).iteration == 1
    assert schedule.point(320).phase == "compression"
    assert schedule.point(321).phase == "expansion"
    assert schedule.point(640).phase == "expansion" and schedule.point(640).iteration == 1
    assert schedule.point(641).phase == "compression" and schedule.point(641).iteration == 2
    assert schedule.point(1920).iteration == 3
    stair_cosine = make("stair_cosine")
    assert stair_cosine.phase(400) == "compression" and stair_cosine.phase(401) == "expansion"
    # compression phases never raise the cap, expansion phases never lower it
    for t in range(2, 1921):
        delta = schedule.cap(t) - schedule.cap(t - 1)
        if schedule.phase(t) == "compression" and schedule.phase(t - 1) == "compression":
            assert delta <= 0
        if schedule.phase(t) == "expansion" and schedule.phase(t - 1) == "expansion":
            assert delta >= 0


def test_total_steps_and_budget():
    schedule = make("cosine")
    assert schedule.total_steps == 1920
    budget = schedule.budget()
    assert budget["mean_cap"] == pytest.approx(12288, abs=0.5)
    assert budget["budget_vs_constant_max"] == pytest.approx(0.75, abs=1e-4)
    assert make("stair").budget()["budget_vs_constant_max"] == pytest.approx(0.75)
    constant = LengthSchedule(ScheduleConfig(kind="constant", max_length=16384, num_cycles=None, total_steps=100))
    assert constant.budget()["budget_vs_constant_max"] == 1.0
    assert constant.checkpoint_steps() == [] and constant.phase(50) == "constant"


def test_warmup_holds_max_then_shifts_the_cycles():
    schedule = make("cosine", warmup_steps=10, num_cycles=1)
    assert [schedule.cap(t) for t in range(0, 11)] == [16384] * 11
    assert schedule.phase(5) == "warmup"
    assert schedule.cap(10 + 320) == 8192
    assert [c.step for c in schedule.checkpoint_steps()] == [330, 650]
    assert schedule.total_steps == 650


def test_multiple_of_rounds_down():
    schedule = make("cosine", multiple_of=256)
    assert schedule.cap(240) == 9216  # 9392 rounded down to a multiple of 256
    assert all(schedule.cap(t) % 256 == 0 for t in range(0, 641))
    assert schedule.cap(0) == 16384 and schedule.cap(320) == 8192


def test_piecewise_deepscaler_and_thinkprune_curricula():
    # DeepScaleR: 8K, then 16K, then 24K (hold between knots)
    deepscaler = schedule_from_config(
        {"schedule": {"kind": "piecewise", "knots": [[1, 8192], [1001, 16384], [1501, 24576]],
                      "num_cycles": None, "total_steps": 2000, "min_length": None, "max_length": None}}
    )
    assert deepscaler.cap(1) == deepscaler.cap(1000) == 8192
    assert deepscaler.cap(1001) == deepscaler.cap(1500) == 16384
    assert deepscaler.cap(1501) == deepscaler.cap(2000) == 24576
    assert deepscaler.max_length == 24576
    assert deepscaler.phase(500) == "constant" and deepscaler.phase(1200) == "expansion"
    # ThinkPrune: 4K -> 3K -> 2K, linear between knots
    thinkprune = schedule_from_config(
        {"schedule": {"kind": "piecewise", "knots": [[0, 4096], [100, 3072], [200, 2048]],
                      "interpolation": "linear", "num_cycles": None, "total_steps": 300}}
    )
    assert thinkprune.cap(0) == 4096 and thinkprune.cap(50) == 3584
    assert thinkprune.cap(100) == 3072 and thinkprune.cap(150) == 2560 and thinkprune.cap(300) == 2048
    assert thinkprune.phase(50) == "compression"
    caps = [thinkprune.cap(t) for t in range(0, 301)]
    assert all(a >= b for a, b in zip(caps, caps[1:]))


def test_from_config_accepts_omegaconf_and_checks_response_length():
    from omegaconf import OmegaConf

    siri = OmegaConf.create({"schedule": {"kind": "cosine", "min_length": 16, "max_length": 48,
                                          "period": 4, "num_cycles": 2}})
    schedule = schedule_from_config(siri, max_response_length=48)
    assert [schedule.cap(t) for t in range(0, 9)] == [48, 32, 16, 32, 48, 32, 16, 32, 48]
    with pytest.raises(ScheduleConfigError, match=r"algorithm\.siri\.schedule\.max_length=48.*data\.max_response_length=32"):
        schedule_from_config(siri, max_response_length=32)


@pytest.mark.parametrize(
    "overrides, key, fragment",
    [
        ({"kind": "triangle"}, "kind", "unknown schedule kind"),
        ({"min_length": 20000}, "min_length", "above max_length=16384"),
        ({"period": 0}, "period", "must be >= 2"),
        ({"period": -640}, "period", "must be >= 2"),
        ({"period": 1}, "period", "must be >= 2 (a cycle needs a compression step and an expansion step"),
        ({"kind": "stair", "period": 1}, "period", "for a fixed cap use kind: constant"),
        ({"max_length": "16k"}, "max_length", "must be an integer"),
        ({"num_cycles": 0}, "num_cycles", "must be >= 1"),
        ({"num_cycles": 3, "total_steps": 100}, "total_steps", "conflicts with num_cycles"),
        ({"num_cycles": None}, "total_steps", "is required"),
        ({"warmup_steps": -1}, "warmup_steps", "must be >= 0"),
        ({"multiple_of": 1000}, "multiple_of", "not a multiple of it"),
        ({"interpolation": "cubic"}, "interpolation", "choose one of hold, linear"),
        ({"kind": "piecewise", "knots": None, "num_cycles": None, "total_steps": 10}, "knots", "non-empty"),
        ({"kind": "piecewise", "knots": [[1, 8192], [1, 16384]], "num_cycles": None, "total_steps": 10},
         "knots", "strictly increasing"),
        ({"kind": "piecewise", "knots": [[5, 8192], [2, 16384]], "num_cycles": None, "total_steps": 10},
         "knots", "strictly increasing"),
        ({"kind": "piecewise", "knots": [[1, 8192, 3]], "num_cycles": None, "total_steps": 10},
         "knots", "not a [step, cap] pair"),
        ({"kind": "piecewise", "knots": [[1, 0]], "num_cycles": None, "total_steps": 10}, "knots", "cap >= 1"),
        ({"kind": "piecewise", "knots": [[1, 32768]], "num_cycles": None, "total_steps": 10}, "max_length",
         "below the largest knot cap"),
    ],
)
def test_validation_errors_name_the_key_and_value(overrides, key, fragment):
    block = dict(kind="cosine", min_length=8192, max_length=16384, period=640, num_cycles=3)
    block.update(overrides)
    with pytest.raises(ScheduleConfigError) as error:
        schedule_from_config({"schedule": block})
    message = str(error.value)
    assert message.startswith(f"algorithm.siri.schedule.{key}=")
    assert fragment in message


def test_unknown_keys_are_refused():
    with pytest.raises(ScheduleConfigError, match="peroid: unknown key; did you mean algorithm.siri.schedule.period"):
        schedule_from_config({"schedule": {"kind": "cosine", "peroid": 640}})


def test_negative_step_is_refused():
    with pytest.raises(ValueError, match="1-based"):
        make().cap(-1)


def test_every_kind_has_a_cap_function():
    for kind in KINDS:
        extra = {"knots": ((1, 10),), "num_cycles": None, "total_steps": 5} if kind == "piecewise" else {}
        if kind == "constant":
            extra = {"num_cycles": None, "total_steps": 5}
        schedule = make(kind, **extra)
        assert schedule.cap(1) > 0


# --- any integer period (docs/schedules.md, "Cycles, phases and checkpoints") ----------------------------

PERIODIC = ("cosine", "stair", "stair_cosine")
LOW_FRACTION = {"cosine": (1, 2), "stair": (1, 2), "stair_cosine": (5, 8)}


def _reaches_min_length(kind, period):
    """Whether a whole step of the cycle lies on the formula's exact minimum."""
    if kind == "cosine":
        return period % 2 == 0
    if kind == "stair_cosine":
        return period != 3  # the held minimum [3T/8, 5T/8] holds a whole step for every other T >= 2
    return True


@pytest.mark.parametrize("kind", PERIODIC)
@pytest.mark.parametrize("lengths", [(8192, 16384, None), (16, 48, None), (1000, 1003, None), (512, 4096, 256)])
def test_every_period_from_2_to_200(kind, lengths):
    min_length, max_length, multiple_of = lengths
    for period in range(2, 201):
        schedule = make(kind, min_length=min_length, max_length=max_length, period=period, num_cycles=2,
                        multiple_of=multiple_of)
        numerator, denominator = LOW_FRACTION[kind]
        low_offset = period * numerator // denominator
        checkpoints = schedule.checkpoint_steps()
        assert [(c.step, c.kind) for c in checkpoints] == [
            (low_offset, "low"), (period, "high"), (period + low_offset, "low"), (2 * period, "high")
        ], (kind, period)
        assert schedule.total_steps == 2 * period
        caps = {t: schedule.cap(t) for t in range(0, 2 * period + 1)}
        context = f"{kind} T={period} {lengths}"
        assert all(min_length <= cap <= max_length for cap in caps.values()), context
        if multiple_of:
            assert all(cap % multiple_of == 0 for cap in caps.values()), context
        for cycle in (1, 2):
            start = (cycle - 1) * period
            cycle_caps = [caps[t] for t in range(start + 1, start + period + 1)]
            # max at the cycle boundary (the end of the last cycle = the start of this one) and at its end
            assert caps[start] == max_length and caps[start + period] == max_length, context
            # the low checkpoint has the cycle's lowest cap; it is min_length when a step reaches the minimum
            low = start + low_offset
            assert caps[low] == min(cycle_caps), context
            if _reaches_min_length(kind, period):
                assert caps[low] == min_length, context
            else:
                assert caps[low + 1] == caps[low], context  # the minimum lies between two equal steps
            # phases: compression through the low step, expansion after it; iteration = the cycle
            assert schedule.phase(start + 1) == "compression" and schedule.phase(low) == "compression"
            assert schedule.phase(low + 1) == "expansion" and schedule.phase(start + period) == "expansion"
            assert {schedule.iteration(t) for t in range(start + 1, start + period + 1)} == {cycle}
        for t in range(2, 2 * period + 1):
            if schedule.phase(t) == schedule.phase(t - 1) == "compression":
                assert caps[t] <= caps[t - 1], (context, t)
            if schedule.phase(t) == schedule.phase(t - 1) == "expansion":
                assert caps[t] >= caps[t - 1], (context, t)


@pytest.mark.parametrize("kind", PERIODIC)
def test_the_papers_periods_keep_their_checkpoints(kind):
    """The paper's periods (multiples of 8) put the low step exactly at T/2 (5T/8 for stair_cosine)."""
    numerator, denominator = LOW_FRACTION[kind]
    for period in (320, 480, 640):
        schedule = make(kind, period=period)
        lows = [c.step for c in schedule.checkpoint_steps() if c.kind == "low"]
        assert lows == [k * period + period * numerator // denominator for k in range(3)]
        assert all(period * numerator % denominator == 0 and schedule.cap(low) == 8192 for low in lows)


def test_odd_period_example_from_the_docs():
    """docs/schedules.md's worked example: T = 100 for stair_cosine and T = 7 for cosine."""
    stair_cosine = make("stair_cosine", period=100, num_cycles=1)
    assert [c.step for c in stair_cosine.checkpoint_steps()] == [62, 100]
    assert stair_cosine.cap(62) == 8192 and stair_cosine.cap(63) > 8192 and stair_cosine.cap(38) == 8192
    cosine = make("cosine", period=7, num_cycles=1)
    assert [c.step for c in cosine.checkpoint_steps()] == [3, 7]
    assert cosine.cap(3) == cosine.cap(4) == 8598
