"""``siri-verl``: subcommand modules are imported only for the subcommand that runs."""

import subprocess
import sys

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


def test_help_lists_every_subcommand_and_imports_none():
    assert imported_for("--help") == []
    usage = subprocess.run([sys.executable, "-m", "siri_verl.cli", "--help"], capture_output=True, text=True,
                           timeout=120).stdout
    assert all(name in usage for name in SUBCOMMANDS)


def test_a_subcommand_imports_only_its_own_module():
    assert imported_for("schedule", "--kind", "constant", "--max", "8", "--steps", "2") == ["schedule"]
