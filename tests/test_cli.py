"""``siri-verl``: subcommand modules are imported only for the subcommand that runs; a closed pipe is no error."""

import subprocess
import sys

import pytest

from siri_verl.cli import SUBCOMMANDS

PROBE = r"""
import contextlib, io, json, sys
from siri_verl.cli import SUBCOMMANDS, main
argv = sys.argv[1:]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted(name for name, (module, _) in SUBCOMMANDS.items() if module in sys.modules)))
"""


def imported_for(*argv: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return __import__("json").loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.subprocess
def test_help_lists_every_subcommand_and_imports_none():
    assert imported_for("--help") == []
    usage = subprocess.run([sys.executable, "-m", "siri_verl.cli", "--help"], capture_output=True, text=True,
                           timeout=120).stdout
    assert all(name in usage for name in SUBCOMMANDS)


@pytest.mark.subprocess
def test_a_subcommand_imports_only_its_own_module():
    assert imported_for("schedule", "--kind", "constant", "--max", "8", "--steps", "2") == ["schedule"]


def test_every_subcommand_module_has_the_command_interface():
    import importlib

    for module_name, _ in SUBCOMMANDS.values():
        module = importlib.import_module(module_name)
        assert module_name.startswith("siri_verl.commands.")
        assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.subprocess
def test_output_into_a_closed_pipe_ends_quietly():
    """`siri-verl schedule ... | head -1`: the reader stops after one line; the command must not print a
    BrokenPipeError traceback (it exits 141, as a program killed by SIGPIPE, or 0 if it finished first)."""
    command = (f"{sys.executable} -m siri_verl.cli schedule --kind cosine --min 8192 --max 16384 --period 640 "
               "--steps 20000 --every 1 | head -1; echo \"status=${PIPESTATUS[0]}\" >&2")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["step", "cap", "phase", "iter", "checkpoint"]
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] in ("status=141", "status=0"), result.stderr
