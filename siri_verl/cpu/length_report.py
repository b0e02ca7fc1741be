"""Plot and table of ``recipes/siri_tiny_cpu_length.sh``: SIRI vs a constant cap on the tiny length task.

    python -m siri_verl.cpu.length_report OUT [--png PATH]

``OUT`` holds one folder per run (``cosine/``, ``constant/``), each with verl's ``metrics.jsonl`` and, from the hf
rollout server, ``rollout_requests.jsonl``. Per step and run it tabulates:

* ``cap`` -- the step's rollout cap (``siri/cap``);
* ``len`` -- mean response length of the step's rollouts (``siri/response_length/mean``, verl's
  ``response_length/mean`` as fallback), in tokens;
* ``trunc`` -- the share of rollouts that reached the cap without EOS (``siri/truncation_rate``);
* ``score`` -- mean training reward at that step's cap (``critic/score/mean``);
* ``acc@max`` -- **accuracy at the max cap**: verl's validation (``val-core/<source>/acc/mean@1``), greedy, one
  response per validation question, always sent the schedule's max cap whatever the training cap
  (``algorithm.siri.validation_max_tokens`` null). Only on steps where the recipe validates (``trainer.test_freq``,
  and step 0 with ``val_before_train``); ``-`` elsewhere;
* ``verbose`` -- share of the step's training rollouts written in the verbose style
  (``siri_verl.cpu.length_task.style_of`` on the decoded tokens of the request log; training requests are the
  ones at the training temperature, validation is greedy), when the request log and ``assets/model`` exist.

It writes ``length_compression.csv`` (one row per step, ``<run>_<column>``), ``length_compression.md`` (the same
as a markdown table plus a summary) and ``length_compression.png`` (four panels: cap and mean length, truncation
rate, accuracy at the max cap, verbose share; compression/expansion shaded from the SIRI run's logged phases).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

RUN_NAMES = ("cosine", "constant")
RUN_LABELS = {"cosine": "SIRI", "constant": "constant"}
RUN_COLORS = {"cosine": "#1f77b4", "constant": "#ff7f0e"}
COLUMNS = ("cap", "len", "trunc", "score", "acc@max", "verbose")
VAL_ACC = re.compile(r"^val-core/(?P<source>.+)/acc/mean@1$")
TRAIN_TEMPERATURE = 1.0


def _first(data: Mapping[str, Any], *keys: str) -> Optional[float]:
    for key in keys:
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _val_acc(data: Mapping[str, Any]) -> Optional[float]:
    values = [float(v) for k, v in sorted(data.items()) if VAL_ACC.match(k) and isinstance(v, (int, float))]
    return sum(values) / len(values) if values else None


def verbose_share_per_step(requests: Sequence[dict], tokenizer, temperature: float = TRAIN_TEMPERATURE) -> dict:
    """Per training step (weights version v -> step v+1), the share of training rollouts in the verbose style."""
    from siri_verl.cpu.length_task import style_of

    counts: dict[int, list[int]] = {}
    for r in requests:
        if r["temperature"] != temperature:
            continue
        text = tokenizer.decode(r["token_ids"], skip_special_tokens=True)
        row = counts.setdefault(r["weights_version"] + 1, [0, 0])
        row[0] += style_of(text) == "verbose"
        row[1] += 1
    return {step: verbose / total for step, (verbose, total) in counts.items()}


def run_rows(metrics: Sequence[tuple[int, dict]], verbose: Optional[Mapping[int, float]] = None) -> dict[int, dict]:
    """``{step: {column: value or None}}`` of one run from its ``read_metrics_jsonl`` rows."""
    rows: dict[int, dict] = {}
    for step, data in metrics:
        row = rows.setdefault(step, dict.fromkeys(COLUMNS))
        for column, value in (
            ("cap", _first(data, "siri/cap")),
            ("len", _first(data, "siri/response_length/mean", "response_length/mean")),
            ("trunc", _first(data, "siri/truncation_rate", "response_length/clip_ratio")),
            ("score", _first(data, "critic/score/mean")),
            ("acc@max", _val_acc(data)),
        ):
            if value is not None:
                row[column] = value
    for step, share in (verbose or {}).items():
        rows.setdefault(step, dict.fromkeys(COLUMNS))["verbose"] = share
    return rows


def length_table(runs: Mapping[str, Mapping[int, dict]]) -> list[dict]:
    """One dict per step over all runs: ``{"step": t, "<run>_<column>": value or None, ...}``."""
    if not runs:
        raise ValueError("length_table: no runs")
    steps = sorted({step for rows in runs.values() for step in rows})
    table = []
    for step in steps:
        line: dict[str, Any] = {"step": step}
        for name, rows in runs.items():
            for column in COLUMNS:
                line[f"{name}_{column}"] = rows.get(step, {}).get(column)
        table.append(line)
    return table


def _fmt(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if column in ("cap", "step"):
        return str(int(value))
    if column == "len":
        return f"{value:.1f}"
    return f"{value:.2f}"


def summary(runs: Mapping[str, Mapping[int, dict]], max_cap: Optional[float] = None) -> list[str]:
    """Plain sentences with the numbers docs/cpu.md quotes (means over the run's training steps)."""
    lines = []
    for name, rows in runs.items():
        train = [r for step, r in sorted(rows.items()) if step > 0 and r["len"] is not None]
        if not train:
            continue
        acc = [(step, r["acc@max"]) for step, r in sorted(rows.items()) if r["acc@max"] is not None]
        verbose = [r["verbose"] for r in train if r["verbose"] is not None]
        mean_length = sum(r["len"] for r in train) / len(train)
        text = (f"{RUN_LABELS.get(name, name)}: {len(train)} steps, mean length {mean_length:.1f} "
                f"tokens (first step {train[0]['len']:.1f}, last {train[-1]['len']:.1f}), truncation "
                f"{sum(r['trunc'] or 0 for r in train) / len(train):.2f} on average")
        if verbose:
            text += f", verbose share {verbose[0]:.2f} -> {verbose[-1]:.2f}"
        if acc:
            text += ", accuracy at the max cap " + " ".join(f"{a:.2f}@{s}" for s, a in acc)
        lines.append(text)
    return lines


def to_markdown(table: Sequence[dict], run_names: Sequence[str]) -> str:
    headers = ["step"] + [f"{RUN_LABELS.get(n, n)} {c}" for n in run_names for c in COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for line in table:
        cells = [_fmt(line["step"], "step")] + [_fmt(line[f"{n}_{c}"], c) for n in run_names for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(table: Sequence[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        for line in table:
            writer.writerow({k: "" if v is None else v for k, v in line.items()})


def length_plot(runs: Mapping[str, Mapping[int, dict]], phase_rows: Sequence[tuple[int, dict]] = (), *,
                title: Optional[str] = None):
    """Four panels over steps, one line per run: cap (dashed) and mean length, truncation rate, accuracy at the
    max cap (validation steps only), verbose share. ``phase_rows`` (the SIRI run's metrics rows) shade the
    compression/expansion phases. Series labels: ``"<run label> length"``, ``"<run label> cap"``, ...
    """
    from siri_verl.plots import PHASE_COLORS, _pyplot, logged_phase_spans

    if not runs:
        raise ValueError("length_plot: no runs")
    plt = _pyplot()
    figure, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True)
    ax_len, ax_trunc, ax_acc, ax_verbose = axes
    for name, rows in runs.items():
        label, color = RUN_LABELS.get(name, name), RUN_COLORS.get(name)

        def points(column):
            pairs = [(s, r[column]) for s, r in sorted(rows.items()) if r[column] is not None]
            return [p[0] for p in pairs], [p[1] for p in pairs]

        ax_len.plot(*points("cap"), "--", color=color, linewidth=1, label=f"{label} cap")
        ax_len.plot(*points("len"), "-o", color=color, markersize=3, label=f"{label} length")
        ax_trunc.plot(*points("trunc"), "-o", color=color, markersize=3, label=f"{label} truncation")
        ax_acc.plot(*points("acc@max"), "-o", color=color, markersize=3, label=f"{label} accuracy")
        if any(r["verbose"] is not None for r in rows.values()):
            ax_verbose.plot(*points("verbose"), "-o", color=color, markersize=3, label=f"{label} verbose share")
    ax_len.set_ylabel("tokens")
    ax_trunc.set_ylabel("truncated share")
    ax_acc.set_ylabel("accuracy at max cap\n(greedy validation)")
    ax_verbose.set_ylabel("verbose share\n(training rollouts)")
    ax_verbose.set_xlabel("training step")
    from matplotlib.ticker import MaxNLocator

    ax_verbose.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_trunc, ax_acc, ax_verbose):
        ax.set_ylim(-0.05, 1.05)
    spans = logged_phase_spans(phase_rows, "siri/phase") if phase_rows else []
    for ax in axes:
        labelled = set() if ax is ax_len else set(PHASE_COLORS)
        for phase, start, end in spans:
            if phase in PHASE_COLORS:
                ax.axvspan(start - 0.5, end + 0.5, color=PHASE_COLORS[phase], alpha=0.35, linewidth=0,
                           label=None if phase in labelled else phase)
                labelled.add(phase)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    figure.suptitle(title or "Tiny length task: SIRI's cosine cap vs a constant cap")
    figure.tight_layout()
    return figure


def load_runs(out_dir: str | Path, with_styles: bool = True) -> tuple[dict, dict]:
    """``({run: rows}, {run: metrics rows})`` for the runs of ``out_dir`` that have a metrics.jsonl."""
    from siri_verl.cpu.report import read_request_log
    from siri_verl.plots import read_metrics_jsonl

    out = Path(out_dir)
    tokenizer = None
    runs, metrics = {}, {}
    for name in RUN_NAMES:
        path = out / name / "metrics.jsonl"
        if not path.exists() or not path.stat().st_size:
            continue
        metrics[name] = read_metrics_jsonl(path)
        verbose = None
        requests = out / name / "rollout_requests.jsonl"
        model = out / "assets" / "model"
        if with_styles and requests.exists() and requests.stat().st_size and model.exists():
            if tokenizer is None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(model)
            verbose = verbose_share_per_step(read_request_log(requests), tokenizer)
        runs[name] = run_rows(metrics[name], verbose)
    if not runs:
        wanted = " or ".join(f"{name}/metrics.jsonl" for name in RUN_NAMES)
        raise FileNotFoundError(f"{out}: no {wanted} (run recipes/siri_tiny_cpu_length.sh)")
    return runs, metrics


def write_report(out_dir: str | Path, png: Optional[str | Path] = None) -> dict[str, Path]:
    """Write length_compression.{csv,md,png} into ``out_dir`` (the PNG also to ``png`` if given); returns paths."""
    out = Path(out_dir)
    runs, metrics = load_runs(out)
    table = length_table(runs)
    paths = {"csv": out / "length_compression.csv", "md": out / "length_compression.md",
             "png": out / "length_compression.png"}
    write_csv(table, paths["csv"])
    text = to_markdown(table, list(runs)) + "\n\n" + "\n".join(f"* {line}" for line in summary(runs)) + "\n"
    paths["md"].write_text(text)
    figure = length_plot(runs, metrics.get("cosine", ()))
    for target in [paths["png"], *([Path(png)] if png else [])]:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=80, bbox_inches="tight")
    from siri_verl.plots import _pyplot

    _pyplot().close(figure)
    return paths


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siri_verl.cpu.length_report", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the output folder of recipes/siri_tiny_cpu_length.sh (cosine/, constant/)")
    parser.add_argument("--png", help="also write the plot here (e.g. docs/img/tiny_length_compression.png)")
    args = parser.parse_args(argv)
    paths = write_report(args.out, args.png)
    print(paths["md"].read_text())
    print("wrote " + ", ".join(str(p) for p in paths.values()) + (f", {args.png}" if args.png else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
