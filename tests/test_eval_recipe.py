"""recipes/eval_paper_checkpoints.sh, run for real on CPU: tiny local models stand in for the released
checkpoints (already present, so nothing is downloaded) and `--engine transformers` overrides vLLM."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siri_verl.cpu import tiny

from repo_paths import REPO


@pytest.mark.slow
@pytest.mark.subprocess
def test_calibration_recipe_runs_eval_and_report(tmp_path):
    problems = tiny.make_problems(2, seed=3)
    tokenizer = tiny.build_tokenizer([p.solution for p in problems] + [tiny.CHATML_TEMPLATE])
    models = tmp_path / "models"
    tiny.build_model(tokenizer).save_pretrained(models / "DeepSeek-R1-Distill-Qwen-1.5B")
    tokenizer.save_pretrained(models / "DeepSeek-R1-Distill-Qwen-1.5B")
    shutil.copytree(models / "DeepSeek-R1-Distill-Qwen-1.5B", models / "SIRI-1.5B-low")
    data = tmp_path / "data"
    data.mkdir()
    for bench in ("aime24", "aime25", "amc23", "math500"):
        tiny.write_parquet(problems, data / f"{bench}.parquet", "test")
    results = tmp_path / "results"
    env = dict(os.environ, DATA_DIR=str(data), MODELS_DIR=str(models), RESULTS_DIR=str(results),
               MODELS="Original SIRI-low", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    completed = subprocess.run(
        ["bash", str(REPO / "recipes" / "eval_paper_checkpoints.sh"), "--engine", "transformers", "--dtype",
         "float32", "--num-samples", "2", "--max-new-tokens", "6", "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    table = (results / "table1.md").read_text()
    assert "| SIRI-low |" in table and "| Original |" in table and "SIRI-high (paper 1.5B)" in table
    assert "ΔCRAcc base of our rows: Original." in table
    assert (results / "pareto_aime24.png").is_file() and (results / "pareto_aime24.svg").is_file()
    header = (results / "table1.csv").read_text().splitlines()[0]
    assert "amc_acc" in header and "math500_len" in header
    for name in ("Original", "SIRI-low"):
        assert sorted(p.name for p in (results / name).iterdir()) == ["aime24", "aime25", "amc", "math500"]
