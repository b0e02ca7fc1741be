"""What ``siri-verl report`` builds (its flags: ``siri_verl.commands.report``): eval summaries -> the paper's
Table 1 layout (markdown/CSV), ΔCRAcc, plots.

* Our rows come from ``summary.json`` files written by ``siri-verl eval`` (one row per model name); each
  accuracy cell is pass@1 (avg@n, %) with its standard error across problems.
* The paper's rows (``paper_table1.csv``, bundled, with citation) are shown beside ours for
  ``--paper-model`` (1.5B or 7B).
* ΔCRAcc (docs/paper.md §7.1) is the mean over the benchmarks both rows report of
  max(acc/acc0 - 1, 0) / (len/len0). Our rows use ``--base`` as the base row; the paper's rows always use
  the paper's "Original" row of the same size, as the paper does.
* ``--paper`` alone prints the paper's table with ΔCRAcc recomputed from its accuracies and lengths, and a
  ``check`` column that flags where the printed value differs from the recomputed one at the printed
  precision (1.5B SIRI-low: 0.49 vs printed 0.47; SIRI-high: 0.41 vs 0.38).
* ``--budgets 2048,4096,...`` / ``auto``: per model and benchmark, the metrics at each token budget from the one
  evaluation run on disk (``siri_verl.eval.budgets``), as a table and ``--budget-plot``; with ``--phase-manifest``
  the summaries of a training run's phase checkpoints become its evolution (table and ``--evolution`` plot).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from siri_verl.eval.protocol import EvalProtocol

TABLE1_BENCHMARKS = ("aime24", "aime25", "amc", "math500")
BENCHMARK_TITLES = {"aime24": "AIME24", "aime25": "AIME25", "amc": "AMC", "math500": "MATH500"}
# Our benchmark names -> Table 1 column. The paper does not say which AMC set it used (docs/paper.md §7),
# so both the 40-problem AMC23 and the 83-problem AMC 2022+2023 fill its "AMC" column.
COLUMN_ALIASES = {"aime2024": "aime24", "aime2025": "aime25", "amc23": "amc", "amc2023": "amc",
                  "aimo_amc": "amc", "math_500": "math500", "math-500": "math500"}
PAPER_CITATION = ("Wen, Bai, Li, Tang. SIRI: Scaling Iterative Reinforcement Learning with Interleaved "
                  "Compression. arXiv:2509.25176v1, Table 1 (avg@64, temperature 0.6, 16384 max tokens).")
PAPER_BASE_METHOD = "Original"
# The Table 1 protocol (docs/paper.md §7) = EvalProtocol's defaults; our rows evaluated otherwise are footnoted.
PAPER_PROTOCOL = {key: getattr(EvalProtocol(), key)
                  for key in ("temperature", "top_p", "max_new_tokens", "num_samples")}
DEFAULT_PAPER_MODEL = "1.5B"


class ReportError(ValueError):
    """Bad report input; the message names the file/row and the fix."""


@dataclass
class TableRow:
    """One Table-1 row: accuracy (%) and mean tokens per benchmark column."""

    source: str  # "ours" or "paper"
    model: str  # paper: "1.5B"/"7B"; ours: the model's folder
    method: str
    acc: dict[str, float] = field(default_factory=dict)
    acc_err: dict[str, float] = field(default_factory=dict)  # standard error across problems (%)
    acc_sampling_err: dict[str, float] = field(default_factory=dict)  # sampling standard error (%)
    length: dict[str, float] = field(default_factory=dict)
    step: int | None = None
    printed_delta: float | None = None
    delta: float | None = None
    base_label: str | None = None
    delta_problem: str | None = None
    deviations: set[str] = field(default_factory=set)  # how our evaluation differs from the paper's protocol
    files: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method} (paper {self.model})" if self.source == "paper" else self.method

    def check(self) -> str:
        """'ok' / 'differs' for a paper row's printed ΔCRAcc vs the recomputed one at 2 decimals."""
        if self.printed_delta is None or self.delta is None:
            return ""
        return "ok" if round(self.delta, 2) == round(self.printed_delta, 2) else "differs"


def column_of(benchmark: str) -> str:
    return COLUMN_ALIASES.get(benchmark.lower(), benchmark.lower())


# ---------------------------------------------------------------------------------------------------------------
# Loading


def _paper_records() -> list[dict[str, str]]:
    text = resources.files("siri_verl.eval").joinpath("paper_table1.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


def _number(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def load_paper_rows(model: str | None = None, source: str = "table1") -> list[TableRow]:
    """The paper's rows (``source``: "table1" or "sec5.2", the AIME24 evolution trace), optionally one size."""
    rows = []
    for record in _paper_records():
        if record["source"] != source or (model and record["model"] != model):
            continue
        row = TableRow("paper", record["model"], record["method"],
                       step=int(record["step"]) if record["step"] else None,
                       printed_delta=_number(record["printed_delta_cr_acc"]))
        for bench in TABLE1_BENCHMARKS:
            acc, length = _number(record[f"{bench}_acc"]), _number(record[f"{bench}_len"])
            if acc is not None and length is not None:
                row.acc[bench], row.length[bench] = acc, length
        rows.append(row)
    return rows


def paper_models() -> list[str]:
    return sorted({r["model"] for r in _paper_records()})


def find_summaries(paths: Sequence[str | Path]) -> list[Path]:
    """Summary files from the given files and folders (folders are searched for ``summary.json``)."""
    found = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found += sorted(path.rglob("summary.json"))
        elif path.is_file():
            found.append(path)
        else:
            raise ReportError(f"{path}: no such summary file or folder (write one with `siri-verl eval`)")
    if not found:
        raise ReportError(f"no summary.json under {list(map(str, paths))}; run `siri-verl eval` first")
    return found


def _percent(fraction: float | None) -> float:
    return math.nan if fraction is None or math.isnan(fraction) else 100.0 * fraction


def load_summary_rows(paths: Sequence[str | Path]) -> list[TableRow]:
    """One row per evaluated model name, in first-seen order; a repeated (model, benchmark) is an error."""
    rows: dict[str, TableRow] = {}
    for path in find_summaries(paths):
        try:
            summary = json.loads(Path(path).read_text())
            name = summary["model"]["name"]
            bench = column_of(summary["benchmark"])
            metrics = summary["metrics"]
            pass1, tokens = metrics["pass@1"], metrics["mean_tokens"]
            acc, stderr, sampling_stderr = pass1["mean"], pass1["stderr"], pass1.get("sampling_stderr")
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ReportError(f"{path}: not a `siri-verl eval` summary ({type(error).__name__}: {error})") from error
        row = rows.setdefault(name, TableRow("ours", str(summary["model"].get("path", "")), name))
        if bench in row.acc:
            raise ReportError(f"model {name!r} has two {bench} summaries: {row.files[bench]} and {path}; "
                              "pass one, or give the runs different --name")
        row.acc[bench] = 100.0 * acc
        row.acc_err[bench] = _percent(stderr)
        row.acc_sampling_err[bench] = _percent(sampling_stderr)
        row.length[bench] = tokens
        row.files[bench] = str(path)
        protocol = summary.get("protocol") or {}
        row.deviations |= {f"{key}={protocol[key]}" for key, value in PAPER_PROTOCOL.items()
                           if key in protocol and protocol[key] != value}
        limit = (summary.get("data") or {}).get("limit_problems")
        if limit:
            row.deviations.add(f"{bench}: first {limit} problems only")
    return list(rows.values())


# ---------------------------------------------------------------------------------------------------------------
# ΔCRAcc and the table


def fill_delta(rows: Sequence[TableRow], base: TableRow) -> None:
    from siri_verl.eval.metrics import delta_cr_acc

    for row in rows:
        row.base_label = base.label
        try:
            row.delta = delta_cr_acc(row.acc, row.length, base.acc, base.length)
        except ValueError as error:  # e.g. a base accuracy of 0: shown as n/a with the reason, not a crash
            row.delta, row.delta_problem = None, str(error)


def fill_paper_deltas(rows: Sequence[TableRow]) -> None:
    """Each paper row against the paper's Original row of its model size."""
    bases = {r.model: r for r in load_paper_rows() if r.method == PAPER_BASE_METHOD}
    for row in rows:
        fill_delta([row], bases[row.model])


def choose_base(ours: Sequence[TableRow], base: str | None, paper_model: str) -> TableRow:
    """``--base``: one of our row names, or ``paper`` / ``paper:<method>`` for a paper row of ``paper_model``;
    default: our row named original/base if any, else the paper's Original row."""
    if base is None:
        for row in ours:
            if row.method.lower() in ("original", "base"):
                return row
        base = f"paper:{PAPER_BASE_METHOD}"
    if base == "paper" or base.startswith("paper:"):
        method = base.partition(":")[2] or PAPER_BASE_METHOD
        for row in load_paper_rows(paper_model):
            if row.method.lower() == method.lower():
                return row
        raise ReportError(f"--base {base}: the paper's {paper_model} table has no row {method!r}; choose one of "
                          f"{[r.method for r in load_paper_rows(paper_model)]}")
    for row in ours:
        if row.method == base:
            return row
    raise ReportError(f"--base {base}: no evaluated model of that name; choose one of {[r.method for r in ours]} "
                      "or paper:<method>")


def table_columns(rows: Sequence[TableRow]) -> list[str]:
    extra = sorted({b for r in rows for b in r.acc} - set(TABLE1_BENCHMARKS))
    return [b for b in TABLE1_BENCHMARKS if any(b in r.acc for r in rows)] + extra


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def to_csv(rows: Sequence[TableRow], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["source", "model", "method", "step"]
    for bench in columns:
        header += [f"{bench}_acc", f"{bench}_acc_stderr", f"{bench}_acc_sampling_stderr", f"{bench}_len"]
    header += ["delta_cr_acc", "delta_cr_acc_exact", "base", "printed_delta_cr_acc", "check", "note"]
    writer.writerow(header)
    for row in rows:
        line = [row.source, row.model, row.method, "" if row.step is None else row.step]
        for bench in columns:
            line += [_fmt(row.acc.get(bench), 1), _fmt(row.acc_err.get(bench), 2),
                     _fmt(row.acc_sampling_err.get(bench), 2), _fmt(row.length.get(bench), 0)]
        line += [_fmt(row.delta, 2), _fmt(row.delta, 4), row.base_label or "", _fmt(row.printed_delta, 2), row.check(),
                 row.delta_problem or ""]
        writer.writerow(line)
    return out.getvalue()


def to_markdown(rows: Sequence[TableRow], columns: Sequence[str]) -> str:
    header = ["Method"]
    for bench in columns:
        title = BENCHMARK_TITLES.get(bench, bench)
        header += [f"{title} Acc", f"{title} Len"]
    header.append("ΔCRAcc")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.label]
        for bench in columns:
            acc = row.acc.get(bench)
            err = row.acc_err.get(bench)
            cell = _fmt(acc, 1) or "–"
            if acc is not None and err is not None and not math.isnan(err):
                cell += f" ± {err:.1f}"
            cells += [cell, _fmt(row.length.get(bench), 0) or "–"]
        delta = _fmt(row.delta, 2) or ("n/a" if row.delta_problem else "")
        if row.check() == "differs":
            delta += f" (printed {row.printed_delta:.2f} ⚠)"
        cells.append(delta)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def footnotes(rows: Sequence[TableRow]) -> list[str]:
    notes = []
    bases = sorted({r.base_label for r in rows if r.source == "ours" and r.base_label})
    if bases:
        notes.append("ΔCRAcc base of our rows: " + "; ".join(bases) + ".")
    if any(r.source == "paper" for r in rows):
        notes.append("Paper rows: ΔCRAcc recomputed against the paper's Original row of the same size. "
                     + PAPER_CITATION)
    undefined = sorted({r.delta_problem for r in rows if r.delta_problem})
    notes += [f"ΔCRAcc n/a: {problem}." for problem in undefined]
    flagged = [r for r in rows if r.check() == "differs"]
    for row in flagged:
        notes.append(f"⚠ {row.label}: recomputed ΔCRAcc {row.delta:.2f} ({row.delta:.4f}) differs from the printed "
                     f"{row.printed_delta:.2f}.")
    if any(r.source == "ours" for r in rows):
        notes.append("Our Acc = pass@1 as avg@n (%) ± standard error across problems; Len = mean tokens per response.")
    notes += [f"⚠ {r.label} was not evaluated under the paper's protocol ({PAPER_PROTOCOL}): "
              f"{', '.join(sorted(r.deviations))}." for r in rows if r.deviations]
    return notes


# ---------------------------------------------------------------------------------------------------------------
# The reports `siri-verl report` builds (its command line: siri_verl.commands.report)


def load_schedule(path: str | None):
    """The run's schedule from a run config (YAML/JSON with ``algorithm.siri``), a checkpoint's
    ``siri_run.json``, or a bare ``algorithm.siri``/``schedule`` block; None without a path."""
    if path is None:
        return None
    from omegaconf import OmegaConf

    from siri_verl.schedule import schedule_from_config

    config = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if isinstance(config, dict) and "algorithm" in config:
        config = (config.get("algorithm") or {}).get("siri")
    elif isinstance(config, dict) and "siri" in config and "global_step" in config:  # siri_run.json
        config = config["siri"]
    if not isinstance(config, dict) or not {"schedule", "kind"} & set(config):
        raise ReportError(f"--schedule-config {path}: no algorithm.siri block (pass the run's config, a "
                          "global_step_N/siri_run.json, or an algorithm.siri.schedule block)")
    return schedule_from_config(config)


def build_rows(summaries: Sequence[str | Path], paper_model: str | None = None, base: str | None = None,
               include_paper: bool = True) -> list[TableRow]:
    """Table 1's rows: ours from ``summaries`` with ΔCRAcc against ``base``, then the paper's rows of
    ``paper_model`` (default 1.5B); without summaries, the paper's rows of ``paper_model`` (default: both sizes)."""
    ours = load_summary_rows(summaries) if summaries else []
    if not ours:
        sizes = [paper_model] if paper_model else paper_models()
        rows = [row for size in sizes for row in load_paper_rows(size)]
        fill_paper_deltas(rows)
        return rows
    paper_model = paper_model or DEFAULT_PAPER_MODEL
    fill_delta(ours, choose_base(ours, base, paper_model))
    if not include_paper:
        return ours
    paper = load_paper_rows(paper_model)
    fill_paper_deltas(paper)
    return ours + paper


def table_text(rows: Sequence[TableRow], fmt: str) -> str:
    """The table as ``markdown`` (with its footnotes), ``csv`` or ``json``."""
    columns = table_columns(rows)
    if fmt == "csv":
        return to_csv(rows, columns)
    if fmt == "json":
        return json.dumps(list(csv.DictReader(io.StringIO(to_csv(rows, columns)))), indent=1) + "\n"
    return to_markdown(rows, columns) + "\n\n" + "\n".join(f"- {note}" for note in footnotes(rows)) + "\n"


def write_pareto(rows: Sequence[TableRow], benchmark: str, prefix: str, paper_model: str | None = None,
                 include_paper: bool = True) -> list[Path]:
    """The accuracy-vs-tokens plot of ``benchmark`` (PREFIX.png/.svg): our rows, the paper's rows in ``rows``,
    and, with ``include_paper``, the paper's §5.2 trace; the written paths."""
    from siri_verl.plots import ParetoPoint, pareto_plot, save_figure

    bench = column_of(benchmark)
    ours = [ParetoPoint(r.method, r.length[bench], r.acc[bench], r.acc_err.get(bench))
            for r in rows if r.source == "ours" and bench in r.acc]
    paper = [ParetoPoint(f"{r.method} ({r.model})", r.length[bench], r.acc[bench])
             for r in rows if r.source == "paper" and bench in r.acc]
    trace_rows = load_paper_rows(paper_model or DEFAULT_PAPER_MODEL, source="sec5.2") if include_paper else []
    trace = [ParetoPoint(r.method.replace("SIRI-", ""), r.length[bench], r.acc[bench])
             for r in trace_rows if bench in r.acc]
    if not ours and not paper:
        raise ReportError(f"--pareto-benchmark {benchmark}: no row has it; columns: {table_columns(rows)}")
    return save_figure(pareto_plot(ours, paper, trace, benchmark=bench), prefix, close=True)


def write_training_curves(training_log: str, prefix: str, schedule_config: str | None, keys) -> list[Path]:
    """The training curves of a run's per-step metrics JSONL (PREFIX.png/.svg), shaded by its schedule;
    ``keys`` is a ``siri_verl.plots.CurveKeys``. The written paths."""
    from siri_verl.plots import read_metrics_jsonl, save_figure, training_curves_plot

    figure = training_curves_plot(read_metrics_jsonl(training_log), load_schedule(schedule_config), keys,
                                  title=f"Training curves: {Path(training_log).name}")
    return save_figure(figure, prefix, close=True)


# ---------------------------------------------------------------------------------------------------------------
# Token budgets and a training run's evolution


@dataclass
class BudgetReport:
    """Rows of the budget table (one per model, benchmark and budget), its notes, the budgets, and the phase
    checkpoints the rows belong to (None unless a phase manifest was given)."""

    rows: list[dict]
    notes: list[str]
    budgets: list[int]
    checkpoints: list | None = None


def budget_report(summaries: Sequence[str | Path], budgets: str | None = None, phase_manifest: str | None = None,
                  tokenizer: str | None = None) -> BudgetReport:
    """Every model and benchmark of ``summaries`` at each token budget (``B1,B2,...`` or ``auto``, the default),
    re-graded from the stored samples; with ``phase_manifest``, only the evaluations of that training run's phase
    checkpoints, in step order."""
    from siri_verl.eval import budgets as B

    runs = [B.load_run(path) for path in find_summaries(summaries)]
    seen: dict[tuple[str, str], Path] = {}
    for run in runs:
        key = (run.model, column_of(run.benchmark))
        if key in seen:
            raise ReportError(f"model {run.model!r} has two {key[1]} summaries: {seen[key]} and {run.summary_path}; "
                              "pass one, or give the runs different --name")
        seen[key] = run.summary_path
    checkpoints, notes = None, []
    if phase_manifest:
        checkpoints = B.load_phase_checkpoints(phase_manifest)
        matched, others = B.match_phase_checkpoints(checkpoints, runs)
        if others:
            notes.append("not a checkpoint of this run, left out: "
                         + ", ".join(sorted({f"{r.model}/{r.benchmark}" for r in others})) + ".")
        missing = [c for c in checkpoints if not matched[c.name]]
        for c in missing:
            model = c.path if c.kind == B.START else c.path.parent
            notes.append(f"{c.name} (step {c.step}) has no evaluation; run `siri-verl eval --model {model} "
                         f"--name {c.name} ...` with the other checkpoints' protocol.")
        runs = [r for c in checkpoints for r in matched[c.name]]
        if not runs:
            raise ReportError(f"none of the summaries is an evaluation of a phase checkpoint in {phase_manifest}; "
                              "evaluate them with `siri-verl eval --model <run>/siri_phase_checkpoints/<name>`")
    budget_list = B.parse_budgets(budgets or "auto")
    if budget_list == "auto":
        budget_list = B.auto_budgets([r.cap for r in runs])
    points = B.budget_points(runs, budget_list, B.TokenizerCache(tokenizer))
    rows = [dict(B.point_row(p), benchmark=column_of(p.benchmark)) for p in points]
    if checkpoints is not None:
        owner = {id(r): c for c in checkpoints for r in matched[c.name]}
        for row, point in zip(rows, points):
            c = owner[id(point.run)]
            row.update(checkpoint=c.name, step=c.step, kind=c.kind, train_cap=c.cap)
    return BudgetReport(rows, notes + budget_notes(rows), list(budget_list), checkpoints)


def budget_notes(rows: Sequence[dict]) -> list[str]:
    notes = ["Acc = pass@1 as avg@n (%) ± standard error across problems, counting a sample correct when its "
             "answer is extractable from its first B tokens; Tokens = mean min(length, B) per response; Trunc = "
             "share of responses that did not end within B tokens. Budgets up to a run's own max_new_tokens are "
             "exact re-gradings of the stored responses' prefixes (docs/eval.md)."]
    na = sorted({(r["model"], r["benchmark"], r["budget"], r["note"]) for r in rows if r["acc"] is None})
    notes += [f"n/a {model} {bench} at {budget}: {note}." for model, bench, budget, note in na]
    return notes


def _pass_keys(rows: Sequence[dict], key: str) -> list[str]:
    return sorted({k for r in rows for k in r[key]}, key=int)


def budget_table(rows: Sequence[dict], fmt: str, notes: Sequence[str], budgets: Sequence[int]) -> str:
    """The budget rows as markdown (one table per benchmark), CSV or JSON."""
    pass_keys, maj_keys = _pass_keys(rows, "pass_at_k"), _pass_keys(rows, "maj_at_k")
    lead = [k for k in ("checkpoint", "step", "kind", "train_cap") if rows and k in rows[0]]
    if fmt == "json":
        return json.dumps({"budgets": list(budgets), "rows": list(rows), "notes": list(notes)}, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["model", "benchmark", *lead, "budget", "max_new_tokens", "acc", "acc_stderr", "acc_sampling_stderr",
                  "mean_tokens", "truncation_rate", "answer_rate", *[f"pass@{k}" for k in pass_keys],
                  *[f"maj@{k}" for k in maj_keys], "num_problems", "num_samples", "note"]
        writer.writerow(header)
        for r in rows:
            writer.writerow([r["model"], r["benchmark"], *[r[k] for k in lead], r["budget"], r["max_new_tokens"],
                             _fmt(r["acc"], 2), _fmt(r["acc_stderr"], 2), _fmt(r["acc_sampling_stderr"], 2),
                             _fmt(r["mean_tokens"], 1), _fmt(r["truncation_rate"], 2), _fmt(r["answer_rate"], 2),
                             *[_fmt(r["pass_at_k"].get(k), 2) for k in pass_keys],
                             *[_fmt(r["maj_at_k"].get(k), 2) for k in maj_keys],
                             "" if r["num_problems"] is None else r["num_problems"],
                             "" if r["num_samples"] is None else r["num_samples"], r["note"] or ""])
        return out.getvalue()
    blocks = []
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        named = [k for k in lead if k != "checkpoint"] if lead else []  # a checkpoint row is named by its checkpoint
        header = ["Checkpoint" if lead else "Model", *[k.title().replace("_", " ") for k in named], "Budget",
                  "Acc (%)", "Tokens", "Trunc (%)", *[f"pass@{k}" for k in pass_keys if k != "1"]]
        lines = [f"**{BENCHMARK_TITLES.get(bench, bench)}**", "", "| " + " | ".join(header) + " |",
                 "|" + "---|" * len(header)]
        for r in (r for r in rows if r["benchmark"] == bench):
            if r["acc"] is None:
                cells = ["n/a", "", ""] + [""] * len([k for k in pass_keys if k != "1"])
            else:
                acc = f"{r['acc']:.1f}" + (f" ± {r['acc_stderr']:.1f}" if r["acc_stderr"] is not None else "")
                cells = [acc, f"{r['mean_tokens']:.0f}", f"{r['truncation_rate']:.1f}",
                         *[_fmt(r["pass_at_k"].get(k), 1) for k in pass_keys if k != "1"]]
            name = r["checkpoint"] if lead else r["model"]
            lines.append("| " + " | ".join([name, *["" if r[k] is None else str(r[k]) for k in named],
                                            str(r["budget"]), *cells]) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"


def write_budget_plot(rows: Sequence[dict], prefix: str, paper_model: str | None = None,
                      include_paper: bool = True) -> list[Path]:
    """Accuracy vs budget, one curve per model, one panel per benchmark, with the paper's Table 1 points at its
    budget when ``include_paper`` (PREFIX.png/.svg); the written paths."""
    from siri_verl.plots import BudgetCurve, ParetoPoint, budget_plot, save_figure

    curves: dict[str, list[BudgetCurve]] = {}
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        for model in dict.fromkeys(r["model"] for r in rows if r["benchmark"] == bench):
            cells = [r for r in rows if r["benchmark"] == bench and r["model"] == model and r["acc"] is not None]
            if cells:
                curves.setdefault(bench, []).append(BudgetCurve(
                    model, tuple(r["budget"] for r in cells), tuple(r["acc"] for r in cells),
                    tuple(r["acc_stderr"] for r in cells), tuple(r["mean_tokens"] for r in cells)))
    if not curves:
        raise ReportError("--budget-plot: no budget has a value (every cell is n/a); see the notes of the table")
    paper: dict[str, list[ParetoPoint]] = {}
    if include_paper:
        for row in load_paper_rows(paper_model or DEFAULT_PAPER_MODEL):
            for bench in curves:
                if bench in row.acc:
                    paper.setdefault(bench, []).append(ParetoPoint(row.method, row.length[bench], row.acc[bench]))
    figure = budget_plot(curves, paper, paper_budget=PAPER_PROTOCOL["max_new_tokens"])
    return save_figure(figure, prefix, close=True)


def write_evolution(rows: Sequence[dict], checkpoints, phase_manifest: str, prefix: str) -> list[Path]:
    """Accuracy and mean tokens per phase checkpoint of the training run of ``phase_manifest``, one series per
    budget (PREFIX.png/.svg); ``rows`` and ``checkpoints`` are a :class:`BudgetReport`'s. The written paths."""
    from siri_verl.eval.budgets import find_manifest
    from siri_verl.plots import EvolutionSeries, evolution_plot, save_figure

    series: dict[str, list[EvolutionSeries]] = {}
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        for budget in sorted({r["budget"] for r in rows if r["benchmark"] == bench}):
            cells = sorted((r for r in rows if r["benchmark"] == bench and r["budget"] == budget
                            and r["acc"] is not None), key=lambda r: r["step"])
            if cells:
                series.setdefault(bench, []).append(EvolutionSeries(
                    budget, tuple(r["step"] for r in cells), tuple(r["acc"] for r in cells),
                    tuple(r["acc_stderr"] for r in cells), tuple(r["mean_tokens"] for r in cells)))
    if not series:
        raise ReportError("--evolution: no budget has a value (every cell is n/a); see the notes of the table")
    evaluated = {r["checkpoint"] for r in rows}
    marks = [(c.step, c.name, c.kind) for c in checkpoints if c.name in evaluated]
    run = find_manifest(phase_manifest).parent.parent  # <default_local_dir>/siri_phase_checkpoints/manifest
    figure = evolution_plot(series, marks, title=f"{run.parent.name}/{run.name}: accuracy and mean tokens within each "
                                                 "budget per phase checkpoint")
    return save_figure(figure, prefix, close=True)
