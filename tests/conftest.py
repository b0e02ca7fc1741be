"""Test-session environment shared by every test file.

The paper recipes log to wandb (``trainer.logger: [console, wandb]``) and the preflight refuses that without
W&B credentials (``siri_verl.preflight._check_wandb``). Tests must not depend on the developer's W&B login,
nor ever reach wandb's servers, so every test runs with ``WANDB_MODE=offline`` (inherited by the subprocesses
tests start); ``tests/test_preflight_issue9.py`` removes it to test the check itself.

``tiny``: a folder with an untrained tiny model of the paper's family (R1-Distill-Qwen tokens and template) and
verl-schema train/val parquet files, built once per session for the preflight, recipe and rollout tests.
``math_input_dir``: the ``../shared/data`` layout that ``prepare.py all --input-dir`` reads, filled from
tests/fixtures/math. The paths test modules need at import time (``REPO``, ``SHARED_DATA``) are in
tests/repo_paths.py (``from repo_paths import REPO``): pytest cannot import a conftest as a module.

Markers (registered in pyproject.toml): ``slow`` for a test of about a second or more on 2 cores, ``subprocess`` for
one that starts a Python or bash process (the reward's verifier pool, started on first use by whichever test scores
first, does not count). Every ``e2e``, ``network`` and ``vllm`` test is marked ``slow`` here as well, so
``python -m pytest -m "not slow"`` is the quick day-to-day run (README).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MATH_FIXTURES = Path(__file__).parent / "fixtures" / "math"

IMPLIES_SLOW = ("e2e", "network", "vllm")
"""Markers whose tests take minutes by definition: each such test is also marked ``slow``."""

SHARED_DATA_LAYOUT = {  # path under ../shared/data -> the hand-written fixture that stands in for it
    "aime24/test.jsonl": "aime_like.jsonl",
    "aime25/train.jsonl": "int_answers.jsonl",
    "amc23/test.jsonl": "float_answers.jsonl",
    "math500/test.jsonl": "aime_like.jsonl",
    "minerva_math_canonical/train.jsonl": "boxed_in_solution.jsonl",
    "olympiadbench/test.jsonl": "list_answers.jsonl",
    "deepscaler_subset/deepscaler.json": "deepscaler_like.json",
}


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in IMPLIES_SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _wandb_offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """model/ (real tokenizer + tiny Qwen2), train.parquet (256 rows), val.parquet (16 rows), built locally."""
    from siri_verl.cpu.tiny import build_random_tiny, make_problems, write_parquet

    root = tmp_path_factory.mktemp("tiny")
    tokenizer, model = build_random_tiny()
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    write_parquet(make_problems(256, seed=0), root / "train.parquet", "train")
    write_parquet(make_problems(16, seed=1), root / "val.parquet", "test")
    return root


@pytest.fixture
def math_input_dir(tmp_path):
    """A folder in the ``../shared/data`` layout (``SHARED_DATA_LAYOUT``), for ``prepare.py all --input-dir``."""
    root = tmp_path / "in"
    for target, source in SHARED_DATA_LAYOUT.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(MATH_FIXTURES / source, root / target)
    return root
