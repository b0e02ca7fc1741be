"""``siri-verl prepare-data`` (also ``python data_prep/prepare.py``): training and evaluation sets as verl parquet.

    prepare.py NAME --output FILE.parquet [--input PATH]      one dataset (hub when --input is omitted)
    prepare.py all --input-dir DIR --output-dir DIR           the local training subset (as
                                                              deepscaler_subset.parquet) and every evaluation set,
                                                              plus decontamination_report.json
Each output gets ``<file>.provenance.json``; an existing output recorded from another source is not replaced
without ``--overwrite`` (siri_verl.data.provenance).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from siri_verl.data.sources import DATASETS, EVAL_SETS, TRAIN_SETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", choices=[*DATASETS, "all"], help="dataset to prepare, or 'all' (needs --input-dir/--output-dir)"
    )
    parser.add_argument("--output", help="output parquet file (single dataset)")
    parser.add_argument(
        "--input",
        help="local .json/.jsonl/.parquet file in the ../shared/data formats; without it the pinned hub "
        "revision is loaded with `datasets`",
    )
    parser.add_argument(
        "--input-dir", help="'all': directory laid out like ../shared/data (e.g. aime24/test.jsonl)"
    )
    parser.add_argument(
        "--output-dir",
        help="'all': directory for NAME.parquet files (the local training subset as deepscaler_subset.parquet, "
        "never deepscaler.parquet), each with NAME.parquet.provenance.json, and the report",
    )
    parser.add_argument(
        "--revision", help="hub commit to load instead of the pinned one (single dataset without --input)"
    )
    parser.add_argument(
        "--prompt-template",
        default=None,
        help="user-message template containing {problem}; default is DeepScaleR's "
        "\"{problem} Let's think step by step and output the final answer within \\boxed{}.\"",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="drop rows without a usable problem/answer (counted in the summary) instead of failing",
    )
    parser.add_argument(
        "--no-dedup", action="store_true", help="keep rows whose normalised problem text repeats an earlier row"
    )
    parser.add_argument(
        "--drop-contaminated",
        action="store_true",
        help="remove training rows whose problem appears in an evaluation set (always reported)",
    )
    parser.add_argument(
        "--decontaminate-against",
        nargs="*",
        default=(),
        metavar="NAME=PARQUET",
        help="single training set: prepared evaluation parquets to check it against, e.g. aime24=out/aime24.parquet",
    )
    parser.add_argument(
        "--report", help="decontamination report path (default: next to the output, decontamination_report.json)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--no-answer-check",
        action="store_true",
        help="skip parsing every ground truth as the reward will (the summary then names no rows whose answers "
        "can only be string-matched)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output even when its .provenance.json does not record the same dataset and "
        "source (by default such a file is left alone and the command fails)",
    )


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from siri_verl.data.prepare import (
        DEEPSCALER_PROMPT_TEMPLATE,
        DataPrepError,
        decontamination_report,
        drop_contaminated,
        format_summary,
        load_hub_rows,
        prepare_rows,
        read_local_rows,
        read_prepared_parquet,
        write_parquet,
    )
    from siri_verl.data import provenance
    from siri_verl.data.sources import get_spec

    command = provenance.command_line(getattr(args, "_argv", None))
    template = args.prompt_template or DEEPSCALER_PROMPT_TEMPLATE
    options = dict(
        prompt_template=template,
        skip_invalid=args.skip_invalid,
        deduplicate=not args.no_dedup,
        progress=not args.no_progress,
        check_answers=not args.no_answer_check,
    )
    try:
        if args.name == "all":
            if not args.input_dir or not args.output_dir:
                return _fail("'all' needs --input-dir DIR and --output-dir DIR")
            if args.input or args.output or args.revision:
                return _fail("'all' takes --input-dir/--output-dir, not --input/--output/--revision")
            input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
            missing = [str(input_dir / DATASETS[n].local_file) for n in DATASETS
                       if not (input_dir / DATASETS[n].local_file).is_file()]
            if missing:  # fail before any work
                return _fail(f"missing input file(s) under --input-dir: {missing}")
            outputs = {name: output_dir / provenance.all_output_name(DATASETS[name]) for name in DATASETS}
            sources = {name: provenance.local_source(input_dir / DATASETS[name].local_file, 0) for name in DATASETS}
            for name in DATASETS:  # never replace a file data prep did not write from the same source
                provenance.check_overwrite(outputs[name], name, sources[name], args.overwrite)
            prepared = {
                name: prepare_rows(get_spec(name), read_local_rows(input_dir / DATASETS[name].local_file), **options)
                for name in (*EVAL_SETS, *TRAIN_SETS)
            }
            eval_sets = [prepared[name] for name in EVAL_SETS]
            reports = {}
            for name in TRAIN_SETS:
                reports[name] = decontamination_report(prepared[name], eval_sets)
                if args.drop_contaminated:
                    drop_contaminated(prepared[name], reports[name])
            for name, dataset in prepared.items():
                path = write_parquet(dataset, outputs[name])
                provenance.write_provenance(
                    path, name, {**sources[name], "rows": dataset.rows_in}, len(dataset.records), command=command,
                    options={**options, "drop_contaminated": args.drop_contaminated}, summary=dataset.summary())
                print(f"wrote {path} ({len(dataset.records)} rows; provenance in {provenance.provenance_path(path).name})")
            report_path = Path(args.report) if args.report else output_dir / "decontamination_report.json"
            report_path.write_text(json.dumps(reports if len(reports) > 1 else reports[TRAIN_SETS[0]], indent=2))
            for name, report in reports.items():
                print(f"decontamination ({name} vs {', '.join(EVAL_SETS)}): "
                      f"{report['contaminated_train_rows']} training rows match {report['per_eval_set']}"
                      f"{' -- dropped' if args.drop_contaminated else ' -- kept (use --drop-contaminated)'}; "
                      f"report: {report_path}")
            print(format_summary([dataset.summary() for dataset in prepared.values()]))
            return 0

        if not args.output:
            return _fail(f"{args.name} needs --output FILE.parquet")
        spec = get_spec(args.name)
        against = []
        for item in args.decontaminate_against:
            eval_name, sep, path = item.partition("=")
            if not sep or eval_name not in DATASETS:
                return _fail(f"--decontaminate-against expects NAME=PARQUET with NAME in {sorted(DATASETS)}, got {item!r}")
            against.append(read_prepared_parquet(path, get_spec(eval_name)))
        source = (provenance.local_source(args.input, 0) if args.input
                  else provenance.hub_source(spec, args.revision, 0))
        provenance.check_overwrite(args.output, args.name, source, args.overwrite)  # before the (hub) load
        rows = read_local_rows(args.input) if args.input else load_hub_rows(spec, args.revision)
        dataset = prepare_rows(spec, rows, **options)
        if against:
            report = decontamination_report(dataset, against)
            if args.drop_contaminated:
                drop_contaminated(dataset, report)
            report_path = Path(args.report) if args.report else Path(args.output).with_name("decontamination_report.json")
            report_path.parent.mkdir(parents=True, exist_ok=True)
            report_path.write_text(json.dumps(report, indent=2))
            print(f"decontamination: {report['contaminated_train_rows']} rows match {report['per_eval_set']}; "
                  f"report: {report_path}")
        path = write_parquet(dataset, args.output)
        provenance.write_provenance(
            path, args.name, {**source, "rows": len(rows)}, len(dataset.records), command=command,
            options={**options, "drop_contaminated": args.drop_contaminated}, summary=dataset.summary())
        print(f"wrote {path} ({len(dataset.records)} rows; provenance in {provenance.provenance_path(path).name})")
        print(format_summary([dataset.summary()]))
        return 0
    except DataPrepError as exc:
        return _fail(str(exc))


def main(argv: list[str] | None = None) -> int:
    """``python data_prep/prepare.py``: the same command with its own parser (prog ``prepare.py``)."""
    parser = argparse.ArgumentParser(prog="prepare.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)  # recorded in each output's provenance
    return run(args)
