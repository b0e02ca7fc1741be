"""``siri-verl schedule``: preview the rollout-length cap L(t) of a recipe, or of a schedule given by flags.

    siri-verl schedule recipes/siri_1.5b.yaml --plot schedule.png
    siri-verl schedule recipes/siri_1.5b_stair.sh algorithm.siri.schedule.period=480
    siri-verl schedule --kind cosine --min 8192 --max 16384 --period 640 --steps 1920 --format csv

A recipe (``.sh`` as it would launch, or ``.yaml``) is composed by ``siri_verl.recipe_config``, as
``siri-verl check`` composes it. The schedule flags are generated from ``siri_verl.schedule.ScheduleConfig``:
one ``--<field-name>`` per field (plus the field's ``metadata["cli_aliases"]``, e.g. ``--min``), with the
field's help; a field added there appears here.

Output columns: ``step,cap,phase,iteration`` for steps 1..steps (0..steps with ``--from 0``). The table
format shows every ``--every`` steps, every checkpoint step and, around every step where the cap jumps (stair,
piecewise knots), that step and the one before it; csv and json show every step. A summary
(mean cap, rollout-token budget vs a constant cap at max, checkpoint steps) goes to stdout with the table
and to stderr with csv/json, so their stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
import typing
from dataclasses import asdict
from pathlib import Path

from siri_verl.config import SiriConfig
from siri_verl.schedule import (
    CONFIG_PREFIX,
    LengthSchedule,
    ScheduleConfig,
    ScheduleConfigError,
    schedule_from_config,
)

FORMATS = ("table", "csv", "json")


class UsageError(ValueError):
    """The command line mixes or misses its inputs (a recipe and flags, overrides without a recipe ...)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recipe", nargs="?",
        help="recipe (.sh as it would launch, or .yaml) whose algorithm.siri.schedule to preview (or use the flags)",
    )
    parser.add_argument(
        "overrides", nargs="*", help="hydra overrides applied to the recipe, e.g. algorithm.siri.schedule.period=480"
    )
    flags = parser.add_argument_group(
        "schedule from flags (instead of a recipe; the fields of algorithm.siri.schedule, docs/config.md)")
    for config_field in dataclasses.fields(ScheduleConfig):
        add_field_flag(flags, config_field)
    output = parser.add_argument_group("output")
    output.add_argument(
        "--steps", type=int, help="last step shown; with flags also the run length (default: the schedule's total)"
    )
    output.add_argument(
        "--from", type=int, choices=(0, 1), default=1, dest="first_step", help="first step shown (0 = before training)"
    )
    output.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json")
    output.add_argument(
        "--every", type=int, help="table only: show every N-th step (default: period/8, or 1 for short runs)"
    )
    output.add_argument("--output", type=Path, help="also write the table/csv/json to this file")
    output.add_argument("--plot", type=Path, help="draw the cap over steps to this PNG (or SVG/PDF) file")


def _parse_knots(text: str) -> list[list[int]]:
    """``--knots 1:8192,321:16384`` -> ``[[1, 8192], [321, 16384]]``."""
    try:
        return [[int(part) for part in knot.split(":")] for knot in text.split(",") if knot.strip()]
    except ValueError as error:
        raise ScheduleConfigError(
            f"{CONFIG_PREFIX}.knots", f"--knots={text!r}: expected STEP:CAP,STEP:CAP,... ({error})") from None


# ScheduleConfig fields that are not a plain int/float/str: the flag's metavar, and the parser of its text
# (applied after argparse, so a bad value is reported like any other schedule error)
FIELD_PARSERS = {"knots": ("STEP:CAP,...", _parse_knots)}
FIELD_TYPES = typing.get_type_hints(ScheduleConfig)


def _is_optional(config_field: dataclasses.Field) -> bool:
    return type(None) in typing.get_args(FIELD_TYPES[config_field.name])


def add_field_flag(group, config_field: dataclasses.Field) -> None:
    """One flag for a ``ScheduleConfig`` field: ``--<name with dashes>`` plus ``metadata["cli_aliases"]``,
    help = ``metadata["help"]``. The flag defaults to None, so only flags given on the command line are used."""
    hint = FIELD_TYPES[config_field.name]
    if config_field.name in FIELD_PARSERS:
        value_type, metavar = str, FIELD_PARSERS[config_field.name][0]
    else:
        value_type = next(arg for arg in (*typing.get_args(hint), hint) if arg is not type(None))
        if value_type not in (int, float, str):
            raise TypeError(f"ScheduleConfig.{config_field.name}: no flag parser for {hint}; add one to FIELD_PARSERS")
        metavar = None
    if config_field.name == "kind":  # the one flag without which the flags describe no schedule
        default = " (required without a recipe)"
    else:
        default = "" if _is_optional(config_field) else f" (default: {config_field.default})"
    group.add_argument(
        f"--{config_field.name.replace('_', '-')}", *config_field.metadata.get("cli_aliases", ()),
        dest=config_field.name, type=value_type, metavar=metavar, choices=config_field.metadata.get("choices"),
        help=config_field.metadata["help"] + default,
    )


def schedule_block_from_flags(args: argparse.Namespace) -> dict:
    """The ``algorithm.siri.schedule`` block the flags describe. A flag not given is null for a field that may be
    null (validation then says what is missing) and the field's default otherwise; without ``--total-steps`` or
    ``--cycles`` the run is ``--steps`` long."""
    block = {}
    for config_field in dataclasses.fields(ScheduleConfig):
        value = getattr(args, config_field.name)
        if value is None and not _is_optional(config_field):
            value = config_field.default
        elif value is not None and config_field.name in FIELD_PARSERS:
            value = FIELD_PARSERS[config_field.name][1](value)
        block[config_field.name] = value
    if block["total_steps"] is None and block["num_cycles"] is None:
        block["total_steps"] = args.steps
    return block


def schedule_from_args(args: argparse.Namespace) -> LengthSchedule:
    used_flags = [f.name for f in dataclasses.fields(ScheduleConfig) if getattr(args, f.name) is not None]
    if args.recipe:
        if used_flags:
            raise UsageError(
                f"give either a recipe or schedule flags, not both (got {args.recipe} and "
                f"--{used_flags[0].replace('_', '-')}); change a recipe's schedule with overrides such as "
                f"{CONFIG_PREFIX}.period=480",
            )
        from siri_verl.recipe_config import compose_for_command

        config = compose_for_command(args.recipe, args.overrides)
        if config.get("algorithm", {}).get("siri") is None:
            raise ScheduleConfigError(
                "algorithm.siri", f"{args.recipe} has no algorithm.siri block; does it inherit siri_trainer?")
        return SiriConfig.from_run_config(config).length_schedule()  # the whole block checked, as the trainer does
    if args.overrides:
        raise UsageError(f"overrides {args.overrides} need a recipe (.sh or .yaml) as the first argument")
    if args.kind is None:
        raise UsageError("give a recipe (.sh or .yaml) or --kind (with --min/--max/--period/--steps)")
    return schedule_from_config({"schedule": schedule_block_from_flags(args)})


MAX_JUMPS_SHOWN = 64  # a schedule whose cap changes at more steps than this (cosine) changes smoothly


def change_steps(schedule: LengthSchedule, rows: list[dict]) -> set[int]:
    """Steps the table always shows so that no change of the cap is hidden between two sampled rows: for a
    piecewise schedule every knot and the step before it; for any schedule whose cap jumps at a few steps
    (stair, piecewise hold, constant with warm-up ...) each step where the cap changes and the step before it."""
    steps = {row["step"] for row in rows}
    shown: set[int] = set()
    if schedule.config.kind == "piecewise":
        for knot_step, _ in schedule.config.knots:
            shown.update({knot_step - 1, knot_step})
    jumps = [b["step"] for a, b in zip(rows, rows[1:]) if a["cap"] != b["cap"]]
    if len(jumps) <= MAX_JUMPS_SHOWN:
        for step in jumps:
            shown.update({step - 1, step})
    return shown & steps


def render(schedule: LengthSchedule, rows: list[dict], fmt: str, every: int) -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["step", "cap", "phase", "iteration"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    checkpoints = {c.step: c.name for c in schedule.checkpoint_steps()}
    changes = change_steps(schedule, rows)
    lines = [f"{'step':>6}  {'cap':>6}  {'phase':<12}  {'iter':>4}  checkpoint"]
    for row in rows:
        if (row["step"] % every == 0 or row["step"] in checkpoints or row["step"] in changes
                or row is rows[0] or row is rows[-1]):
            lines.append(
                f"{row['step']:>6}  {row['cap']:>6}  {row['phase']:<12}  {row['iteration']:>4}  "
                f"{checkpoints.get(row['step'], '')}".rstrip()
            )
    return "\n".join(lines) + "\n"


def summary(schedule: LengthSchedule, first_step: int, last_step: int) -> str:
    budget = schedule.budget(max(first_step, 1), last_step)
    checkpoints = ", ".join(f"{c.name}@{c.step}" for c in schedule.checkpoint_steps() if c.step <= last_step)
    return (
        f"schedule: {schedule.describe()}; steps 1..{last_step}; mean cap {budget['mean_cap']:.1f} tokens; "
        f"rollout-token budget {budget['budget_vs_constant_max']:.4f} x a constant cap at {schedule.max_length}\n"
        f"checkpoints: {checkpoints or ('none within these steps' if schedule.is_periodic else 'none (not periodic)')}"
    )


def plot(schedule: LengthSchedule, rows: list[dict], path: Path, title: str) -> None:
    """Cap over steps, compression/expansion shaded, low/high checkpoint steps marked."""
    from siri_verl.plots import _pyplot, phase_spans

    plt = _pyplot()
    steps = [row["step"] for row in rows]
    caps = [row["cap"] for row in rows]
    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(steps, caps, color="tab:blue", linewidth=1.6, label="max rollout length L(t)")
    shade = {"compression": ("tab:orange", 0.12), "expansion": ("tab:green", 0.10)}
    labelled = set()
    for phase, start, end in phase_spans(schedule, steps[0], steps[-1]):
        if phase in shade:
            color, alpha = shade[phase]
            axes.axvspan(start - 0.5, end + 0.5, color=color, alpha=alpha, linewidth=0,
                         label=None if phase in labelled else phase)
            labelled.add(phase)
    markers = {"low": ("tab:red", "--"), "high": ("tab:purple", ":")}
    for checkpoint in schedule.checkpoint_steps():
        if steps[0] <= checkpoint.step <= steps[-1]:
            color, style = markers[checkpoint.kind]
            axes.axvline(checkpoint.step, color=color, linestyle=style, linewidth=1.0)
            axes.annotate(
                checkpoint.name, (checkpoint.step, schedule.cap(checkpoint.step)), textcoords="offset points",
                xytext=(2, 6 if checkpoint.kind == "low" else -12), fontsize=7, color=color,
            )
    axes.set_xlabel("training step (verl global_steps)")
    axes.set_ylabel("max rollout length (tokens)")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    try:
        schedule = schedule_from_args(args)
    except (ValueError, FileNotFoundError) as error:  # ConfigKeyError, UsageError, RecipeCompositionError
        print(f"siri-verl schedule: error: {error}", file=sys.stderr)
        return 2
    last_step = args.steps or schedule.total_steps
    rows = [asdict(point) for point in schedule.points(args.first_step, last_step)]
    period = schedule.config.period if schedule.is_periodic else max(1, last_step // 16)
    every = args.every or max(1, period // 8)
    text = render(schedule, rows, args.format, every)
    sys.stdout.write(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    info = summary(schedule, args.first_step, last_step)
    command = "siri-verl schedule " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "siri-verl schedule"
    if args.plot:
        plot(schedule, rows, args.plot, f"{schedule.describe()}\n{command}")
        info += f"\nplot: {args.plot}"
    if args.output:
        info += f"\n{args.format}: {args.output}"
    print(info, file=sys.stdout if args.format == "table" else sys.stderr)
    return 0
