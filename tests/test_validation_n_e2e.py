"""``algorithm.siri.validation_n`` in verl's real loop on CPU: two validation sources get different numbers of
samples per prompt (verl's per-row ``__rollout_n__``), seen in verl's own validation metrics and in the rollout
server's request log. One training step of the tiny recipe after ``val_before_train`` (about 2 minutes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.cpu.launch import run_bounded
from siri_verl.cpu.tiny import DATA_SOURCE

from repo_paths import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess, pytest.mark.timeout(900)]

OTHER = "siri_tiny_other"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("siri_val_n") / "tiny"
    assets = out / "assets"
    subprocess.run([sys.executable, "-m", "siri_verl.cpu.tiny", "--out", str(assets), "--family", "r1"], check=True,
                   capture_output=True, timeout=600)
    val = pd.read_parquet(assets / "val.parquet")
    other = val.head(5).assign(data_source=OTHER)
    other.to_parquet(out / "val_other.parquet")
    env = {**os.environ, "OUT": str(out), "ENTRY": "siri_verl.main", "PYTHON": sys.executable, "TINY_FAMILY": "r1"}
    log = out.parent / "train.log"
    overrides = [f"data.val_files=[{assets / 'val.parquet'},{out / 'val_other.parquet'}]",
                 f"algorithm.siri.validation_n={{{DATA_SOURCE}: 3, {OTHER}: 1}}",
                 "actor_rollout_ref.rollout.val_kwargs.n=2", "trainer.total_training_steps=1",
                 "trainer.val_before_train=true", "trainer.test_freq=-1",
                 "algorithm.siri.phase_checkpoints.enable=false", "trainer.save_freq=-1"]
    returncode = run_bounded(["bash", str(REPO / "recipes" / "siri_tiny_cpu.sh"), *overrides], env, 600, log)
    assert returncode == 0, log.read_text()[-5000:]
    return {"val_rows": len(val), "other_rows": len(other), "metrics": read_jsonl(out / "metrics.jsonl"),
            "requests": read_jsonl(out / "rollout_requests.jsonl")}


def test_each_source_is_validated_with_its_own_n(run):
    val_metrics = {k: v for record in run["metrics"] for k, v in record["data"].items() if k.startswith("val-core/")}
    assert f"val-core/{DATA_SOURCE}/acc/mean@3" in val_metrics, sorted(val_metrics)
    assert f"val-core/{OTHER}/acc/mean@1" in val_metrics, sorted(val_metrics)
    assert not any("mean@2" in key for key in val_metrics)  # val_kwargs.n=2 applies to no listed source


def test_the_rollout_served_exactly_that_many_validation_requests(run):
    training = 8 * 8  # one step: 8 prompts x rollout.n=8
    validation = run["val_rows"] * 3 + run["other_rows"] * 1
    assert len(run["requests"]) == training + validation
