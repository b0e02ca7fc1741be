"""``siri-verl`` command line: one subcommand per module of ``siri_verl.commands``, imported only when it runs.

Each subcommand module provides ``add_arguments(parser)`` and ``run(args) -> int`` and imports its heavy
dependencies (torch, Ray, verl, matplotlib) inside ``run``, so building the parser stays cheap and
``siri-verl schedule`` never imports Ray or verl. To add a subcommand, add a module to ``siri_verl/commands/``
and one line to ``SUBCOMMANDS``.

Output piped into a command that stops reading (``siri-verl schedule ... | head -3``) ends the command
quietly with exit status 141 (128 + SIGPIPE, what a shell reports for a program killed by the pipe), not with
a ``BrokenPipeError`` traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

# name -> (module implementing it, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "schedule": ("siri_verl.commands.schedule",
                 "preview a rollout-length schedule of a recipe (.sh or .yaml) or flags: table, csv/json, plot"),
    "check": ("siri_verl.commands.check", "preflight a recipe (.sh or .yaml) + overrides without starting Ray"),
    "eval": ("siri_verl.commands.eval", "evaluate a model on prepared benchmarks (paper protocol; resumable)"),
    "prepare-data": ("siri_verl.commands.prepare_data",
                     "prepare training/eval sets as verl parquet (same as data_prep/prepare.py)"),
    "report": ("siri_verl.commands.report",
               "Table 1 (markdown/CSV, ΔCRAcc) beside the paper's rows; Pareto/training plots"),
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
    try:
        args = build_parser(command).parse_args(argv)  # --help writes to stdout too
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here for output still in the buffer
    except BrokenPipeError:
        # The reader went away. Python would try to flush stdout again at exit and print a second error, so
        # point stdout at devnull first (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
