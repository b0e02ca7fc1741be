"""Test-session environment shared by every test file.

The paper recipes log to wandb (``trainer.logger: [console, wandb]``) and the preflight refuses that without
W&B credentials (``siri_verl.preflight._check_wandb``). Tests must not depend on the developer's W&B login,
nor ever reach wandb's servers, so every test runs with ``WANDB_MODE=offline`` (inherited by the subprocesses
tests start); ``tests/test_preflight_issue9.py`` removes it to test the check itself.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _wandb_offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
