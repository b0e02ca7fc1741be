"""recipes/siri_tiny_cpu.sh: a run that fails (here: refused by the preflight, before Ray starts) leaves the previous
run's metrics.jsonl and rollout_requests.jsonl untouched; and the documented override pair for a non-paper
truncation policy passes the preflight. Builds the tiny assets (~15-25 s, no Ray, no trainer step)."""

from __future__ import annotations

import os
import sys

import pytest

from siri_verl.cpu.launch import run_bounded

from repo_paths import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess, pytest.mark.timeout(900)]


def test_a_refused_run_keeps_the_previous_logs(tmp_path):
    out = tmp_path / "tiny"
    out.mkdir()
    previous = {"metrics.jsonl": '{"step": 1, "data": {"siri/cap": 32}}\n',
                "rollout_requests.jsonl": '{"request_id": "previous-run"}\n'}
    for name, text in previous.items():
        (out / name).write_text(text)
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    log = tmp_path / "refused.log"
    # algorithm.siri.truncation=zero without algorithm.adv_estimator=siri_grpo: the preflight refuses it
    code = run_bounded(["bash", str(REPO / "recipes" / "siri_tiny_cpu.sh"), "algorithm.siri.truncation=zero"],
                       env, 600, log)
    text = log.read_text()
    assert code != 0, text[-3000:]
    assert "algorithm.adv_estimator" in text and "siri_grpo" in text
    assert "earlier results" in text and "untouched" in text
    for name, content in previous.items():
        assert (out / name).read_text() == content, name
    assert not list(out.glob("*.partial"))

    # the documented command (docs/cpu.md) states both overrides; its config passes the preflight
    from siri_verl.preflight import check_config
    from siri_verl.recipe_config import compose_target

    config = compose_target(str(REPO / "recipes" / "siri_tiny_cpu.yaml"),
                            ["algorithm.adv_estimator=siri_grpo", "algorithm.siri.truncation=zero",
                             f"data.train_files={out / 'assets' / 'train.parquet'}",
                             f"data.val_files={out / 'assets' / 'val.parquet'}",
                             f"actor_rollout_ref.model.path={out / 'assets' / 'model'}"])
    report = check_config(config)
    assert report.ok, report.format()
