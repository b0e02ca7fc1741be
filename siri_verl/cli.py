"""``siri-verl`` command line: one subcommand per module, imported only when that subcommand runs.

Each subcommand module provides ``add_arguments(parser)`` and ``run(args) -> int`` and imports its heavy
dependencies (torch, Ray, verl, matplotlib) inside ``run``, so building the parser stays cheap and
``siri-verl schedule`` never imports Ray or verl. To add a subcommand, add one line to ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module implementing it, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "schedule": ("siri_verl.schedule_cli", "preview a rollout-length schedule: table, csv/json, plot"),
    "check": ("siri_verl.preflight", "preflight a recipe (.sh or .yaml) + overrides without starting Ray"),
    "eval": ("siri_verl.eval.cli", "evaluate a model on prepared benchmarks (paper protocol; resumable)"),
    "prepare-data": ("siri_verl.data.cli", "prepare training/eval sets as verl parquet (same as data_prep/prepare.py)"),
    "report": ("siri_verl.eval.report", "Table 1 (markdown/CSV, ΔCRAcc) beside the paper's rows; Pareto/training plots"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (``siri-verl --help`` imports none of them)."""
    parser = argparse.ArgumentParser(prog="siri-verl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
