"""The runnable examples in examples/ run and print what their docstrings promise."""

import subprocess
import sys

import pytest

from repo_paths import REPO


@pytest.mark.subprocess
def test_schedule_api_example():
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "schedule_api.py")],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert "step  240: cap  9392, compression, iteration 1" in result.stdout
    assert "siri_low_iter3   at step 1600 (cap 8192)" in result.stdout
    assert "constant 16K cap: 0.750" in result.stdout
