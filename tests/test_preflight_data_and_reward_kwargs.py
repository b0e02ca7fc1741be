"""Preflight (siri-verl check): a paper recipe on a training set far smaller than DeepScaleR's 40,315 rows is
named as such (not answered with "set trainer.total_epochs=320"), a missing data file says how to set DATA_DIR,
and reward kwargs are checked against siri_verl.reward.compute_score before any worker runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siri_verl.preflight import check_config
from siri_verl.recipe_config import compose_target

from repo_paths import REPO

RECIPE = str(REPO / "recipes" / "siri_1.5b.yaml")


def write_rows(path: Path, rows: int, data_source: str) -> Path:
    frame = pd.DataFrame({
        "data_source": [data_source] * rows,
        "prompt": [[{"role": "user", "content": f"What is {i} + 1?"}] for i in range(rows)],
        "ability": ["math"] * rows,
        "reward_model": [{"style": "rule", "ground_truth": str(i + 1)} for i in range(rows)],
        "extra_info": [{"index": i} for i in range(rows)],
    })
    frame.to_parquet(path, index=False)
    return path


def check(tmp_path: Path, *overrides: str, train_rows: int = 500, data_source: str = "deepscaler"):
    train = write_rows(tmp_path / "train.parquet", train_rows, data_source)
    val = write_rows(tmp_path / "val.parquet", 8, "aime24")
    config = compose_target(RECIPE, [f"data.train_files={train}", f"data.val_files=[{val}]",
                                     f"trainer.default_local_dir={tmp_path / 'ckpt'}", *overrides])
    return check_config(config, check_model=False), train


def keys(findings) -> list[str]:
    return [f.key for f in findings]


def test_paper_recipe_on_a_small_deepscaler_set_warns_instead_of_advising_hundreds_of_epochs(tmp_path):
    report, train = check(tmp_path)
    warning = next(f for f in report.warnings if f.key == "data.train_files")
    assert str(train) in warning.message and "has 500 rows" in warning.message and "40,315" in warning.message
    assert "prepare.py deepscaler --output" in warning.message
    epochs = next(f for f in report.errors if f.key == "trainer.total_epochs")
    assert "trainer.total_epochs=" not in epochs.message and "500 rows" in epochs.message


@pytest.mark.slow
def test_other_training_sets_and_smoke_runs_keep_the_epochs_advice(tmp_path):
    report, _ = check(tmp_path, data_source="my_math")  # not the paper's training set
    assert "data.train_files" not in keys(report.warnings)
    epochs = next(f for f in report.errors if f.key == "trainer.total_epochs")
    assert "set trainer.total_epochs=" in epochs.message
    smoke, _ = check(tmp_path, "trainer.total_training_steps=8", "data.train_batch_size=16",
                     "actor_rollout_ref.actor.ppo_mini_batch_size=8")  # 128 of the 500 rows: a smoke test
    assert "data.train_files" not in keys(smoke.warnings) and "trainer.total_epochs" not in keys(smoke.errors)
    big, _ = check(tmp_path, train_rows=40315 // 2)  # large enough not to be "the subset"
    assert "data.train_files" not in keys(big.warnings)


def test_missing_training_file_names_data_dir_and_the_hub_command(tmp_path):
    val = write_rows(tmp_path / "val.parquet", 8, "aime24")
    missing = tmp_path / "nowhere" / "deepscaler.parquet"
    config = compose_target(RECIPE, [f"data.train_files={missing}", f"data.val_files=[{val}]"])
    error = next(f for f in check_config(config, check_model=False).errors if f.key == "data.train_files")
    assert f"{missing} does not exist" in error.message and "set DATA_DIR" in error.message
    assert f"prepare.py deepscaler --output {missing}" in error.message


KW = "+reward.custom_reward_function.reward_kwargs"


@pytest.mark.parametrize("override, key, fragment", [
    (f"{KW}.thinkmode=optional", "reward.custom_reward_function.reward_kwargs.thinkmode",
     "valid options: memory_limit_mb, think_mode, timeout_s, verify_workers"),
    (f"{KW}.think_mode=requir", "reward.custom_reward_function.reward_kwargs.think_mode", "'requir'"),
    (f"{KW}.timeout_s=-1", "reward.custom_reward_function.reward_kwargs.timeout_s", "positive"),
    ("+custom_reward_function.reward_kwargs.think_mode=optional", "custom_reward_function.reward_kwargs", "legacy"),
    ("reward.custom_reward_function.path=null", "reward.custom_reward_function.reward_kwargs", "path is null"),
])
@pytest.mark.slow
def test_bad_reward_kwargs_are_errors_naming_the_key(override, key, fragment):
    overrides = [override] if "path=null" not in override else [override, f"{KW}.think_mode=optional"]
    report = check_config(compose_target(RECIPE, overrides), check_data=False, check_model=False)
    matching = [f for f in report.errors if f.key == key]
    assert matching and fragment in matching[0].message, report.format()


@pytest.mark.parametrize("value", ["zero", "as_is"])
def test_the_removed_truncated_score_kwarg_names_algorithm_siri_truncation(value):
    """The old reward-side truncation policy is an error that says which setting replaced it, not merely "not an
    option"; every other bad option is still reported with its own key."""
    report = check_config(compose_target(RECIPE, [f"{KW}.truncated_score={value}", f"{KW}.thinkmode=optional"]),
                          check_data=False, check_model=False)
    removed = [f for f in report.errors if f.key == f"{KW[1:]}.truncated_score"]
    assert len(removed) == 1, report.format()
    assert "algorithm.siri.truncation" in removed[0].message and "not an option" not in removed[0].message
    assert "zero = the old truncated_score=zero" in removed[0].message
    assert f"{KW[1:]}.thinkmode" in keys(report.errors)
    assert not any("accepted by siri_verl.reward.compute_score" in p for p in report.passed)


def test_good_reward_kwargs_pass():
    config = compose_target(RECIPE, [f"{KW}.timeout_s=2.5", f"{KW}.think_mode=optional"])
    report = check_config(config, check_data=False, check_model=False)
    assert not [f for f in report.errors if "reward" in f.key], report.format()
    assert any("accepted by siri_verl.reward.compute_score" in p for p in report.passed)


@pytest.mark.slow
def test_custom_reward_function_signature_is_checked(tmp_path):
    module = tmp_path / "my_reward.py"
    module.write_text("def score(data_source, solution_str, ground_truth, extra_info=None, bonus=0.0):\n"
                      "    return 0.0\n")
    base = [f"reward.custom_reward_function.path={module}", "reward.custom_reward_function.name=score"]
    good = check_config(compose_target(RECIPE, [*base, f"{KW}.bonus=1.0"]), check_data=False, check_model=False)
    assert not [f for f in good.errors if "reward" in f.key], good.format()
    bad = check_config(compose_target(RECIPE, [*base, f"{KW}.bonsu=1.0"]), check_data=False, check_model=False)
    assert "reward.custom_reward_function.reward_kwargs.bonsu" in keys(bad.errors)
    absent = check_config(compose_target(RECIPE, [f"reward.custom_reward_function.path={tmp_path / 'nope.py'}"]),
                          check_data=False, check_model=False)
    assert "reward.custom_reward_function.path" in keys(absent.errors)
