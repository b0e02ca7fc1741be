"""Test-session environment shared by every test file.

The paper recipes log to wandb (``trainer.logger: [console, wandb]``) and the preflight refuses that without
W&B credentials (``siri_verl.preflight._check_wandb``). Tests must not depend on the developer's W&B login,
nor ever reach wandb's servers, so every test runs with ``WANDB_MODE=offline`` (inherited by the subprocesses
tests start); ``tests/test_preflight_issue9.py`` removes it to test the check itself.

``tiny``: a folder with an untrained tiny model of the paper's family (R1-Distill-Qwen tokens and template) and
verl-schema train/val parquet files, built once per session for the preflight and recipe tests.
"""

from __future__ import annotations

import pytest


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
