"""Plots: accuracy vs mean tokens (the paper's Pareto figure), SIRI training curves, accuracy vs token budget
and a training run's evolution over its phase checkpoints.

matplotlib with the Agg backend (no display needed); every plot is written as PNG and SVG and the figure
is returned so callers and tests can inspect its series. Used by ``siri-verl report --pareto/--curves/
--budget-plot/--evolution``.

Training curves read verl's ``file`` logger output (``trainer.logger=[...,file]``): one JSON object per
line, ``{"step": <global_steps>, "data": {<metric>: <value>, ...}}`` (``verl/utils/tracking.py``,
``FileLogger.log``). The metric names are configurable (``CurveKeys``); the defaults are the names the
SIRI integration logs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siri_verl.integration.step_metrics import PHASE_CODES as _LOGGED_PHASE_CODES

PHASE_COLORS = {"compression": "#f4c7c3", "expansion": "#c6e2c3"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, out_prefix: str | Path, *, close: bool = False) -> list[Path]:
    """Write ``<prefix>.png`` and ``<prefix>.svg`` (creating the folder); returns both paths. ``close``
    releases the figure afterwards (callers that do not inspect it)."""
    prefix = Path(out_prefix)
    if prefix.suffix.lower() in (".png", ".svg"):
        prefix = prefix.with_suffix("")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".svg"):
        path = prefix.with_suffix(suffix)
        figure.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    if close:
        _pyplot().close(figure)
    return paths


# ---------------------------------------------------------------------------------------------------------------
# Pareto: accuracy vs tokens


@dataclass(frozen=True)
class ParetoPoint:
    """One model on one benchmark: accuracy (%) at mean tokens per response; ``acc_err`` = standard error (%)."""

    label: str
    tokens: float
    acc: float
    acc_err: float | None = None


def pareto_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats on both axes (fewer-or-equal tokens and higher-or-equal accuracy)."""
    def dominated(p: ParetoPoint) -> bool:
        return any(q.tokens <= p.tokens and q.acc >= p.acc and (q.tokens, q.acc) != (p.tokens, p.acc) for q in points)

    front = [p for p in points if not dominated(p)]
    return sorted(front, key=lambda p: p.tokens)


def pareto_plot(ours: Sequence[ParetoPoint], paper: Sequence[ParetoPoint] = (), trace: Sequence[ParetoPoint] = (),
                *, benchmark: str = "aime24", title: str | None = None):
    """Accuracy vs mean tokens: our runs with error bars, the paper's rows, SIRI's evolution trace and the front.

    Series (by matplotlib label): "ours (± s.e.)" (errorbar; a missing s.e. is drawn as 0), "paper Table 1"
    (scatter), "paper SIRI trace" (line with arrows between consecutive points), "Pareto front" (dashed line
    through the undominated points of all series).
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 5.0))
    if paper:
        axes.scatter([p.tokens for p in paper], [p.acc for p in paper], marker="s", color="#7f7f7f",
                     label="paper Table 1", zorder=3)
        for p in paper:
            axes.annotate(p.label, (p.tokens, p.acc), textcoords="offset points", xytext=(4, -10), fontsize=7,
                          color="#555555")
    if trace:
        axes.plot([p.tokens for p in trace], [p.acc for p in trace], "-o", color="#d62728", markersize=4,
                  label="paper SIRI trace", zorder=4)
        for a, b in zip(trace, trace[1:]):
            axes.annotate("", xy=(b.tokens, b.acc), xytext=(a.tokens, a.acc),
                          arrowprops={"arrowstyle": "->", "color": "#d62728"})
        for p in trace:
            axes.annotate(p.label, (p.tokens, p.acc), textcoords="offset points", xytext=(4, 4), fontsize=7,
                          color="#d62728")
    if ours:
        errors = [p.acc_err if p.acc_err is not None and not math.isnan(p.acc_err) else 0.0 for p in ours]
        axes.errorbar([p.tokens for p in ours], [p.acc for p in ours], yerr=errors, fmt="o", color="#1f77b4",
                      capsize=3, label="ours (± s.e.)", zorder=5)
        for p in ours:
            axes.annotate(p.label, (p.tokens, p.acc), textcoords="offset points", xytext=(4, 4), fontsize=8,
                          color="#1f77b4")
    front = pareto_front([*ours, *paper, *trace])
    if len(front) > 1:
        axes.plot([p.tokens for p in front], [p.acc for p in front], "--", color="#2ca02c", linewidth=1,
                  label="Pareto front", zorder=2)
    axes.set_xlabel("mean tokens per response")
    axes.set_ylabel(f"{benchmark} pass@1 (%)")
    axes.set_title(title or f"Accuracy vs tokens on {benchmark}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure


# ---------------------------------------------------------------------------------------------------------------
# Training curves


@dataclass(frozen=True)
class CurveKeys:
    """Metric names in the per-step log; ``val_acc_pattern`` is a regex matched against every key."""

    cap: str = "siri/cap"
    response_length: str = "response_length/mean"
    truncation_rate: str = "siri/truncation_rate"
    phase: str = "siri/phase"  # -1 compression, +1 expansion, 0 constant/warm-up (siri_verl.integration)
    val_acc_pattern: str = r"^val-core/(?P<source>.+)/acc/mean@\d+$"


def read_metrics_jsonl(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of verl's file logger: ``[(step, data), ...]`` sorted by step; errors name the bad line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                if number > 1 and not line.endswith("\n"):  # a run still writing its last line
                    break
                raise ValueError(f"{path} line {number}: not JSON ({error})") from error
            if not isinstance(record, dict) or "step" not in record or not isinstance(record.get("data"), dict):
                raise ValueError(f"{path} line {number}: expected {{'step': int, 'data': {{...}}}} "
                                 "(verl's file logger format, trainer.logger=[...,file])")
            rows.append((int(record["step"]), record["data"]))
    rows.sort(key=lambda row: row[0])
    return rows


def series(rows: Sequence[tuple[int, dict]], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one numeric metric, skipping steps where it is absent."""
    steps, values = [], []
    for step, data in rows:
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            steps.append(step)
            values.append(float(value))
    return steps, values


# The inverse of the integration's siri/phase encoding (warm-up shares code 0 with constant).
PHASE_NAMES = {code: phase for phase, code in _LOGGED_PHASE_CODES.items() if phase != "warmup"}


def _runs(step_phases) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for step, phase in step_phases:
        if spans and spans[-1][0] == phase:
            spans[-1] = (phase, spans[-1][1], step)
        else:
            spans.append((phase, step, step))
    return spans


def phase_spans(schedule, first_step: int, last_step: int) -> list[tuple[str, int, int]]:
    """Contiguous (phase, start, end) runs of ``schedule.phase`` over the steps, for shading."""
    return _runs((step, schedule.phase(step)) for step in range(first_step, last_step + 1))


def logged_phase_spans(rows: Sequence[tuple[int, dict]], key: str) -> list[tuple[str, int, int]]:
    """Phase runs from the per-step phase code the SIRI integration logs (-1/+1/0)."""
    steps, codes = series(rows, key)
    return _runs((step, PHASE_NAMES.get(code, "constant")) for step, code in zip(steps, codes))


def training_curves_plot(rows: Sequence[tuple[int, dict]], schedule=None, keys: CurveKeys = CurveKeys(),
                         *, title: str | None = None):
    """Three panels over training steps: cap and mean response length (tokens), truncation rate, validation
    accuracy per data source. Compression/expansion are shaded and low/high checkpoints marked from
    ``schedule`` (a ``siri_verl.schedule.LengthSchedule``); without one, the phases come from the logged
    ``keys.phase`` codes (shading only), and a log without them is not shaded."""
    if not rows:
        raise ValueError("training_curves_plot: the metrics log has no rows")
    plt = _pyplot()
    figure, (ax_len, ax_trunc, ax_val) = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
    steps_cap, caps = series(rows, keys.cap)
    if not steps_cap and schedule is not None:  # no logged cap: draw the schedule's
        steps_cap = [step for step, _ in rows]
        caps = [float(schedule.cap(step)) for step in steps_cap]
    if steps_cap:
        ax_len.plot(steps_cap, caps, color="black", linewidth=1.2, label="cap L(t)")
    ax_len.plot(*series(rows, keys.response_length), color="#1f77b4", label="mean response length")
    ax_len.set_ylabel("tokens")
    ax_trunc.plot(*series(rows, keys.truncation_rate), color="#d62728", label="truncation rate")
    ax_trunc.set_ylabel("truncated fraction")
    pattern = re.compile(keys.val_acc_pattern)
    val_keys = sorted({k for _, data in rows for k in data if pattern.match(k)})
    for key in val_keys:
        match = pattern.match(key)
        label = match.groupdict().get("source") or key
        ax_val.plot(*series(rows, key), "-o", markersize=3, label=f"val {label}")
    ax_val.set_ylabel("validation accuracy")
    ax_val.set_xlabel("training step")
    first, last = rows[0][0], rows[-1][0]
    spans = phase_spans(schedule, first, last) if schedule is not None else logged_phase_spans(rows, keys.phase)
    for axes in (ax_len, ax_trunc, ax_val):
        labelled = set() if axes is ax_len else set(PHASE_COLORS)  # one legend entry per phase
        for phase, start, end in spans:
            if phase in PHASE_COLORS:
                axes.axvspan(start - 0.5, end + 0.5, color=PHASE_COLORS[phase], alpha=0.35, linewidth=0,
                             label=None if phase in labelled else phase)
                labelled.add(phase)
    if schedule is not None:
        for axes in (ax_len, ax_trunc, ax_val):
            for checkpoint in schedule.checkpoint_steps():
                if first <= checkpoint.step <= last:
                    axes.axvline(checkpoint.step, color="#2ca02c" if checkpoint.kind == "low" else "#9467bd",
                                 linestyle=":", linewidth=1)
        for checkpoint in schedule.checkpoint_steps():
            if first <= checkpoint.step <= last:
                ax_len.annotate(checkpoint.name, (checkpoint.step, 1.0), xycoords=("data", "axes fraction"),
                                rotation=90, fontsize=7, va="top", ha="right")
    for axes in (ax_len, ax_trunc, ax_val):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7, loc="best")
    figure.suptitle(title or "SIRI training curves")
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------------------------------------------
# Token budgets: accuracy vs budget, and a training run's phase checkpoints at each budget


@dataclass(frozen=True)
class BudgetCurve:
    """One model on one benchmark: accuracy (%) with standard error (%) and mean tokens spent at each budget."""

    label: str
    budgets: tuple[int, ...]
    acc: tuple[float, ...]
    acc_err: tuple[float | None, ...]
    tokens: tuple[float, ...] = ()


def _errors(values: Sequence[float | None]) -> list[float]:
    return [v if v is not None and not math.isnan(v) else 0.0 for v in values]


def _budget_axis(axes, budgets: Sequence[int]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    axes.set_xscale("log", base=2)
    ticks = sorted(set(budgets))
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([f"{b // 1024}K" if b >= 1024 and b % 1024 == 0 else str(b) for b in ticks], fontsize=7)


def budget_plot(curves: dict[str, Sequence[BudgetCurve]], paper: dict[str, Sequence[ParetoPoint]] | None = None,
                *, paper_budget: int = 16384, title: str | None = None):
    """Accuracy vs token budget, one panel per benchmark (``curves`` keys), one curve per model.

    Series (by matplotlib label): the model's label (errorbar line, ± standard error; a missing s.e. is drawn as
    0), and "paper Table 1" (scatter at ``paper_budget``, the paper's evaluation cap) from ``paper`` (its points'
    ``tokens`` are ignored; they are placed at the budget they were measured at).
    """
    if not curves:
        raise ValueError("budget_plot: no curves")
    plt = _pyplot()
    benchmarks = list(curves)
    figure, axes_list = plt.subplots(1, len(benchmarks), figsize=(4.2 * len(benchmarks) + 1.5, 3.8), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = list(dict.fromkeys(c.label for cs in curves.values() for c in cs))  # one color per model
    for axes, benchmark in zip(axes_list[0], benchmarks):
        budgets: list[int] = []
        for curve in curves[benchmark]:
            color = colors[labels.index(curve.label) % len(colors)]
            axes.errorbar(list(curve.budgets), list(curve.acc), yerr=_errors(curve.acc_err), fmt="-o", markersize=4,
                          capsize=3, color=color, label=curve.label)
            budgets += curve.budgets
        points = (paper or {}).get(benchmark) or []
        if points:
            axes.scatter([paper_budget] * len(points), [p.acc for p in points], marker="s", color="#7f7f7f",
                         label="paper Table 1", zorder=3)
            for p in points:
                axes.annotate(p.label, (paper_budget, p.acc), textcoords="offset points", xytext=(5, -3), fontsize=6,
                              color="#555555")
            budgets.append(paper_budget)
        _budget_axis(axes, budgets)
        axes.set_title(benchmark)
        axes.set_xlabel("token budget B (max new tokens)")
        axes.set_ylabel("pass@1 (%) within B tokens")
        axes.grid(alpha=0.3)
    handles, names = [], []
    for axes in axes_list[0]:
        for handle, name in zip(*axes.get_legend_handles_labels()):
            if name not in names:
                handles.append(handle)
                names.append(name)
    figure.legend(handles, names, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.9))
    figure.suptitle(title or "Accuracy vs token budget (one evaluation run per model)")
    figure.tight_layout()
    return figure


@dataclass(frozen=True)
class EvolutionSeries:
    """One benchmark at one budget across a training run's checkpoints (in step order)."""

    budget: int
    steps: tuple[int, ...]
    acc: tuple[float, ...]
    acc_err: tuple[float | None, ...]
    tokens: tuple[float, ...]


def evolution_plot(series: dict[str, Sequence[EvolutionSeries]], checkpoints: Sequence[tuple[int, str, str]],
                   *, title: str | None = None):
    """A training run's evolution: per benchmark (rows), accuracy and mean tokens spent (columns) at each
    checkpoint, one line per budget (labelled "B=<budget>"). ``checkpoints`` = (step, name, kind) are marked
    with vertical lines (low: green, high: purple, other e.g. the start: grey) and name the x ticks."""
    if not series:
        raise ValueError("evolution_plot: no series")
    plt = _pyplot()
    benchmarks = list(series)
    figure, grid = plt.subplots(len(benchmarks), 2, figsize=(11, 3.2 * len(benchmarks) + 0.6), squeeze=False,
                                sharex=True)
    budgets = sorted({s.budget for ss in series.values() for s in ss})
    cmap = plt.get_cmap("viridis")
    shade = {b: cmap(0.15 + 0.7 * i / max(1, len(budgets) - 1)) for i, b in enumerate(budgets)}
    for (ax_acc, ax_tok), benchmark in zip(grid, benchmarks):
        for s in sorted(series[benchmark], key=lambda s: s.budget):
            ax_acc.errorbar(list(s.steps), list(s.acc), yerr=_errors(s.acc_err), fmt="-o", markersize=4, capsize=3,
                            color=shade[s.budget], label=f"B={s.budget}")
            ax_tok.plot(list(s.steps), list(s.tokens), "-o", markersize=4, color=shade[s.budget],
                        label=f"B={s.budget}")
        ax_acc.set_ylabel(f"{benchmark} pass@1 (%)")
        ax_tok.set_ylabel(f"{benchmark} mean tokens")
        for axes in (ax_acc, ax_tok):
            for step, _name, kind in checkpoints:
                color = {"low": "#2ca02c", "high": "#9467bd"}.get(kind, "#7f7f7f")
                axes.axvline(step, color=color, linestyle=":", linewidth=1)
            axes.grid(alpha=0.3)
    for axes in grid[-1]:
        axes.set_xticks([step for step, _, _ in checkpoints])
        axes.set_xticklabels([f"{name}\n(step {step})" for step, name, _ in checkpoints], rotation=30, ha="right",
                             fontsize=7)
        axes.set_xlabel("phase checkpoint (training step)")
    grid[0][1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    figure.suptitle(title or "Training run: accuracy and tokens at each budget per phase checkpoint")
    figure.tight_layout()
    return figure
