"""``siri-verl report``: eval summaries -> the paper's Table 1 (markdown/CSV/JSON, ΔCRAcc) beside the paper's rows,
the Pareto plot, training curves, and token-budget / phase-checkpoint reports.

    siri-verl report --paper                                      the paper's Table 1, ΔCRAcc recomputed
    siri-verl report results/ --pareto plots/pareto               our rows beside the paper's, and the Pareto plot
    siri-verl report --training-log metrics.jsonl --curves plots/curves --schedule-config run.yaml
    siri-verl report results/ --budgets auto --budget-plot plots/budgets

This module reads the flags and checks how they combine; the tables and plots are built by
``siri_verl.eval.report`` (docs/eval.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from siri_verl.eval.report import paper_models

    parser.add_argument("summaries", nargs="*",
                        help="summary.json files or folders written by `siri-verl eval` (searched recursively).")
    parser.add_argument("--paper", action="store_true",
                        help="Without summaries: print the paper's Table 1 with ΔCRAcc recomputed and a check column "
                             "flagging printed values that differ. With summaries the paper's rows are shown "
                             "anyway (--no-paper hides them).")
    parser.add_argument("--paper-model", default=None, choices=paper_models(),
                        help="Which of the paper's tables (model size) to show beside our rows and to take "
                             "paper:<method> bases and the Pareto plot's paper points from. Default: 1.5B with our "
                             "rows; both sizes with --paper alone.")
    parser.add_argument("--no-paper", action="store_true",
                        help="Show only our rows (no paper rows in the table, no paper points in the Pareto plot).")
    parser.add_argument("--base", default=None,
                        help="ΔCRAcc base row for our rows: one of our model names, or paper:<method> (e.g. "
                             "paper:Original). Default: our row named original/base, else paper:Original.")
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown",
                        help="Table output format.")
    parser.add_argument("--output", default=None, help="Write the table to this file instead of stdout.")
    parser.add_argument("--pareto", default=None, metavar="PREFIX",
                        help="Also write the accuracy-vs-tokens plot to PREFIX.png and PREFIX.svg.")
    parser.add_argument("--pareto-benchmark", default="aime24",
                        help="Benchmark column of the Pareto plot (the paper's Fig. 1 uses aime24).")
    parser.add_argument("--training-log", default=None, metavar="JSONL",
                        help="Per-step metrics of a training run (verl's file logger) to plot as training curves.")
    parser.add_argument("--curves", default=None, metavar="PREFIX",
                        help="Where to write the training curves (PREFIX.png/.svg); needs --training-log.")
    parser.add_argument("--schedule-config", default=None, metavar="YAML",
                        help="The run's schedule, to shade compression/expansion and mark low/high checkpoints: its "
                             "config (YAML/JSON with algorithm.siri), a global_step_N/siri_run.json, or a schedule "
                             "block. Default: shade from the logged phase (--phase-key) without checkpoint marks.")
    budgets = parser.add_argument_group("token budgets (from the samples of one evaluation run)")
    budgets.add_argument("--budgets", default=None, metavar="B1,B2,...|auto",
                         help="Report every model and benchmark at these token budgets instead of Table 1: a budget "
                              "B re-grades the first B tokens of each stored response (exact for B up to the run's "
                              "--max-new-tokens). auto = powers of two from the largest cap/32 up to it, plus each "
                              "run's cap.")
    budgets.add_argument("--budget-plot", default=None, metavar="PREFIX",
                         help="With --budgets: accuracy vs budget, one curve per model, one panel per benchmark, the "
                              "paper's Table 1 points at 16K (PREFIX.png/.svg).")
    budgets.add_argument("--phase-manifest", default=None, metavar="PATH",
                         help="A SIRI training run's siri_phase_checkpoints/manifest.json (or that folder, or the "
                              "run's trainer.default_local_dir): the table lists its phase checkpoints in step "
                              "order, from the summaries of `siri-verl eval --model <...>/siri_phase_checkpoints/"
                              "<name>`. Budgets default to auto.")
    budgets.add_argument("--evolution", default=None, metavar="PREFIX",
                         help="With --phase-manifest: accuracy and mean tokens per checkpoint at each budget "
                              "(PREFIX.png/.svg).")
    budgets.add_argument("--tokenizer", default=None, metavar="PATH",
                         help="Tokenizer folder to decode response prefixes with, when the evaluated model's folder "
                              "(summary model.path) has moved.")
    for name, default, what in (("cap-key", "siri/cap", "the rollout cap"),
                                ("length-key", "response_length/mean", "mean response length"),
                                ("truncation-key", "siri/truncation_rate", "truncation rate"),
                                ("phase-key", "siri/phase", "the phase code (-1 compression, +1 expansion)"),
                                ("val-acc-pattern", r"^val-core/(?P<source>.+)/acc/mean@\d+$",
                                 "validation accuracy keys (regex; group 'source' names the curve)")):
        parser.add_argument(f"--{name}", default=default, help=f"Metric key of {what} in --training-log.")


def run(args: argparse.Namespace) -> int:
    from siri_verl.eval.report import ReportError

    try:
        return _budget_report(args) if args.budgets or args.phase_manifest else _table_report(args)
    except (ReportError, ValueError) as error:
        print(f"siri-verl report: error: {error}", file=sys.stderr)
        return 2


def _emit(text: str, output: str | None) -> None:
    """``text`` to ``output`` (saying so) or to stdout."""
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def _print_written(paths: list[Path]) -> None:
    for path in paths:
        print(f"wrote {path}")


def _table_report(args: argparse.Namespace) -> int:
    """Table 1 (with --pareto) and/or the training curves."""
    from siri_verl.eval import report

    for flag in ("budget_plot", "evolution", "tokenizer"):
        if getattr(args, flag):
            raise report.ReportError(f"--{flag.replace('_', '-')} needs --budgets (or --phase-manifest)")
    wants_table = bool(args.summaries) or args.paper
    if not wants_table and not args.training_log:
        raise report.ReportError(
            "nothing to report: pass summary files/folders, --paper, or --training-log with --curves")
    if args.curves and not args.training_log:
        raise report.ReportError("--curves needs --training-log (the run's per-step metrics JSONL)")
    if args.training_log and not args.curves:
        raise report.ReportError("--training-log needs --curves PREFIX (where to write the plot)")
    if args.pareto and not wants_table:
        raise report.ReportError("--pareto needs summaries or --paper")
    if wants_table:
        rows = report.build_rows(args.summaries, args.paper_model, args.base, include_paper=not args.no_paper)
        _emit(report.table_text(rows, args.format), args.output)
        if args.pareto:
            _print_written(report.write_pareto(rows, args.pareto_benchmark, args.pareto, args.paper_model,
                                               include_paper=not args.no_paper))
    if args.training_log:
        from siri_verl.plots import CurveKeys

        keys = CurveKeys(cap=args.cap_key, response_length=args.length_key, truncation_rate=args.truncation_key,
                         phase=args.phase_key, val_acc_pattern=args.val_acc_pattern)
        _print_written(report.write_training_curves(args.training_log, args.curves, args.schedule_config, keys))
    return 0


def _budget_report(args: argparse.Namespace) -> int:
    """The token-budget table (and its plot), or a training run's phase-checkpoint evolution."""
    from siri_verl.eval import report

    if args.pareto or args.training_log or args.paper:
        raise report.ReportError("--budgets/--phase-manifest make a budget table; run --pareto, --paper and "
                                 "--training-log as separate `siri-verl report` commands")
    if not args.summaries:
        raise report.ReportError("--budgets needs the summary files/folders written by `siri-verl eval`")
    if args.evolution and not args.phase_manifest:
        raise report.ReportError("--evolution needs --phase-manifest (the training run's siri_phase_checkpoints)")
    if args.budget_plot and args.phase_manifest:
        raise report.ReportError("--budget-plot and --phase-manifest are separate reports; run them as two commands")
    budgets = report.budget_report(args.summaries, args.budgets, args.phase_manifest, args.tokenizer)
    _emit(report.budget_table(budgets.rows, args.format, budgets.notes, budgets.budgets), args.output)
    if args.budget_plot:
        _print_written(report.write_budget_plot(budgets.rows, args.budget_plot, args.paper_model,
                                                include_paper=not args.no_paper))
    if args.evolution:
        _print_written(report.write_evolution(budgets.rows, budgets.checkpoints, args.phase_manifest,
                                              args.evolution))
    return 0
