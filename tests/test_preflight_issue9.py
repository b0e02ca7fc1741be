"""Preflight checks added for issue 9: mask x loss_agg_mode, SGLang's length headroom, per-benchmark
validation n, and wandb credentials. Each composes the real paper recipe; nothing starts Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.preflight import check_config
from siri_verl.recipe_config import compose_target

from repo_paths import REPO

RECIPE = REPO / "recipes" / "siri_1.5b.yaml"
PATHS = ["actor_rollout_ref.model.path=/nonexistent/model", "data.train_files=/nonexistent/train.parquet",
         "data.val_files=[/nonexistent/val.parquet]", "trainer.default_local_dir=/nonexistent/ckpt"]


def check(*overrides, check_data=False):
    return check_config(compose_target(str(RECIPE), [*PATHS, *overrides]), check_data=check_data, check_model=False)


def findings(report, key, kind="errors"):
    return [f.message for f in getattr(report, kind) if f.key == key]


# -- 4. mask needs a loss_agg_mode whose denominator follows the masks ----------------------------------------

@pytest.mark.parametrize("mode", ["seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"])
@pytest.mark.slow
def test_mask_with_a_seq_mean_mode_is_refused_naming_both_keys(mode):
    report = check("algorithm.siri.truncation=mask", f"actor_rollout_ref.actor.loss_agg_mode={mode}")
    (message,) = findings(report, "algorithm.siri.truncation")
    assert f"actor_rollout_ref.actor.loss_agg_mode={mode}" in message and "shrinks" in message
    assert "loss_agg_mode=token-mean" in message


@pytest.mark.slow
def test_the_paper_recipe_with_mask_is_refused_until_token_mean():
    assert findings(check("algorithm.siri.truncation=mask"), "algorithm.siri.truncation")  # seq-mean-token-mean
    for mode in ("token-mean", "token-sum"):
        report = check("algorithm.siri.truncation=mask", f"actor_rollout_ref.actor.loss_agg_mode={mode}")
        assert report.ok, report.format()
    for policy in ("paper", "zero", "exclude_from_baseline", "soft"):
        assert check(f"algorithm.siri.truncation={policy}").ok


# -- 5. SGLang stops one token earlier than vLLM ------------------------------------------------------------

@pytest.mark.slow
def test_sglang_needs_one_token_more_than_prompt_plus_max():
    report = check("actor_rollout_ref.rollout.name=sglang", "actor_rollout_ref.rollout.max_model_len=17408")
    (message,) = findings(report, "actor_rollout_ref.rollout.max_model_len")
    assert "max_model_len - prompt - 1" in message and ">= 17409" in message
    assert check("actor_rollout_ref.rollout.name=sglang", "actor_rollout_ref.rollout.max_model_len=17409").ok
    assert check("actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.max_model_len=17408").ok
    assert check("actor_rollout_ref.rollout.name=sglang").ok  # the recipe ships 17409


def test_verl_sglang_server_still_clamps_one_below_vllm():
    """Fails when verl changes either server's headroom rule (then the check above must change too)."""
    import verl

    rollout = Path(verl.__file__).parent / "workers" / "rollout"  # read as text: sglang/vllm need not be installed
    sglang = (rollout / "sglang_rollout" / "async_sglang_server.py").read_text()
    vllm = (rollout / "vllm_rollout" / "vllm_async_server.py").read_text()
    assert "max_possible_tokens = self.config.max_model_len - len(prompt_ids) - 1\n" in sglang
    assert "max_possible_tokens = self.config.max_model_len - len(prompt_ids)\n" in vllm


# -- 6. validation n per benchmark ---------------------------------------------------------------------------

def benchmark_files(folder: Path) -> list[Path]:
    """The paper's four validation sets at their real sizes (30, 30, 40, 500 rows)."""
    files = []
    for source, rows in (("aime24", 30), ("aime25", 30), ("amc23", 40), ("math500", 500)):
        frame = pd.DataFrame([{"data_source": source, "prompt": [{"role": "user", "content": f"q{i}"}],
                               "ability": "math", "reward_model": {"ground_truth": "1"}, "extra_info": {"index": i}}
                              for i in range(rows)])
        files.append(folder / f"{source}.parquet")
        frame.to_parquet(files[-1])
    return files


@pytest.mark.slow
def test_validation_n_arithmetic_on_the_papers_benchmark_sizes(tmp_path):
    files = benchmark_files(tmp_path)
    val = f"data.val_files=[{','.join(map(str, files))}]"
    report = check_config(compose_target(str(RECIPE), [*PATHS, val]), check_data=True, check_model=False)
    assert "validation: 600 prompts -> 5200 responses per validation" in report.format()
    report = check_config(compose_target(str(RECIPE), [*PATHS, val, "algorithm.siri.validation_n=null"]),
                          check_data=True, check_model=False)
    assert "validation: 600 prompts -> 19200 responses per validation" in report.format()


@pytest.mark.slow
def test_validation_n_problems_name_the_key(tmp_path):
    report = check("algorithm.siri.validation_n={math500: 0}")
    assert any("integer >= 1" in m for m in findings(report, "algorithm.siri.validation_n.math500"))
    report = check("algorithm.siri.validation_n=4")
    assert findings(report, "algorithm.siri.validation_n")
    files = benchmark_files(tmp_path)
    report = check_config(compose_target(str(RECIPE), [
        *PATHS, f"data.val_files=[{','.join(map(str, files))}]", "+algorithm.siri.validation_n.math_500=4"]),
        check_data=True, check_model=False)
    (message,) = findings(report, "algorithm.siri.validation_n.math_500", "warnings")
    assert "changes nothing" in message and "math500" in message


# -- 7. wandb without credentials -------------------------------------------------------------------------------

@pytest.fixture
def no_wandb_credentials(monkeypatch, tmp_path):
    for variable in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    return tmp_path


@pytest.mark.slow
def test_wandb_logger_without_credentials_names_the_key_and_both_ways_out(no_wandb_credentials):
    report = check()
    (message,) = findings(report, "trainer.logger")
    assert "WANDB_API_KEY" in message and "trainer.logger=[console]" in message and "WANDB_MODE=offline" in message
    assert check("trainer.logger=[console]").ok


@pytest.mark.slow
def test_wandb_credentials_found_where_wandb_looks(no_wandb_credentials, monkeypatch):
    (no_wandb_credentials / "netrc").write_text("machine example.org\n  login user\n  password x\n")
    assert findings(check(), "trainer.logger")  # an entry for another host does not count
    (no_wandb_credentials / "netrc").write_text("machine api.wandb.ai\n  login user\n  password x\n")
    assert check().ok
    (no_wandb_credentials / "netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert check().ok
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert check().ok


@pytest.mark.slow
@pytest.mark.subprocess
def test_cli_refuses_the_paper_recipe_without_wandb_credentials(no_wandb_credentials):
    env = {**os.environ, "DATA_DIR": str(no_wandb_credentials), "CKPT_DIR": str(no_wandb_credentials / "ckpt")}
    command = [sys.executable, "-m", "siri_verl.cli", "check", "--no-data", "--no-model",
               str(REPO / "recipes" / "siri_1.5b.sh")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "ERROR   trainer.logger" in result.stdout, result.stdout + result.stderr
    ok = subprocess.run([*command, "trainer.logger=[console]"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
