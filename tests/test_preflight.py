"""Preflight: a good config passes; each broken variant fails naming its key; nothing starts Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from siri_verl.preflight import PreflightError, check_config
from siri_verl.recipe_config import compose_target

from repo_paths import REPO, SHARED_DATA

RECIPE = REPO / "recipes" / "siri_1.5b.yaml"


def tiny_overrides(tiny: Path, ckpt: Path) -> list[str]:
    """The paper recipe shrunk to the tiny assets: schedule 16<->48, T=4, 2 cycles (8 steps)."""
    return [
        f"actor_rollout_ref.model.path={tiny / 'model'}",
        f"data.train_files={tiny / 'train.parquet'}",
        f"data.val_files=[{tiny / 'val.parquet'}]",
        f"trainer.default_local_dir={ckpt}",
        "data.max_prompt_length=64",
        "algorithm.siri.schedule.min_length=16",
        "algorithm.siri.schedule.max_length=48",
        "algorithm.siri.schedule.period=4",
        "algorithm.siri.schedule.num_cycles=2",
        "trainer.total_training_steps=8",
        "actor_rollout_ref.rollout.max_model_len=112",
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=224",
        "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=224",
    ]


def compose(tiny, tmp_path, *extra):
    return compose_target(str(RECIPE), [*tiny_overrides(tiny, tmp_path / "ckpt"), *extra])


def error_keys(report) -> list[str]:
    return [f.key for f in report.errors]


def test_good_config_passes_with_model_and_data_checks(tiny, tmp_path):
    report = check_config(compose(tiny, tmp_path))
    assert report.ok, report.format()
    text = report.format()
    assert "tokenizer: eos_token_id=" in text
    assert "max_position_embeddings 512 >= 112" in text
    assert "data.train_files: 1 file(s), 256 rows" in text
    assert "dropped (data.filter_overlong_prompts=true)" in text
    assert "siri_low_iter1, siri_high_iter1, siri_low_iter2, siri_high_iter2" in text
    assert not report.skipped


@pytest.mark.parametrize(
    "overrides, key, words",
    [
        (["algorithm.siri.schedule.min_length=64"], "algorithm.siri.schedule.min_length", "max_length=48"),
        (["data.max_response_length=32"], "algorithm.siri.schedule.max_length", "data.max_response_length=32"),
        (["algorithm.siri.soft_overlong.buffer_fraction=2"], "algorithm.siri.soft_overlong.buffer_fraction", "(0, 1)"),
        (["actor_rollout_ref.rollout.max_model_len=100"], "actor_rollout_ref.rollout.max_model_len", "112"),
        (["actor_rollout_ref.actor.use_dynamic_bsz=true", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=100"],
         "actor_rollout_ref.actor.ppo_max_token_len_per_gpu", ">= 112"),
        (["actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=64"],
         "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu", ">= 112"),
        (["+reward.reward_kwargs.overlong_buffer_cfg.enable=true", "+reward.reward_kwargs.overlong_buffer_cfg.len=16"],
         "reward.reward_kwargs.overlong_buffer_cfg.len", "schedule min 16"),
        (["data.train_batch_size=100"], "actor_rollout_ref.actor.ppo_mini_batch_size", "divide"),
        (["trainer.n_gpus_per_node=3"], "data.train_batch_size", "3 GPUs"),
        (["algorithm.siri.truncation=drop"], "algorithm.siri.truncation", "unknown truncation policy"),
        (["algorithm.adv_estimator=grpo", "algorithm.siri.truncation=mask"], "algorithm.adv_estimator",
         "siri_grpo"),
        (["reward_model.reward_manager=dapo"], "reward_model.reward_manager", "reward.reward_manager.name"),
        (["custom_reward_function.path=/x/reward.py"], "custom_reward_function.path",
         "reward.custom_reward_function.path"),
        (["trainer.total_training_steps=null"], "trainer.total_training_steps", "8 steps"),
        (["trainer.total_epochs=1", "data.train_batch_size=128"], "trainer.total_epochs", "total_epochs=4"),
        (["trainer.v1.trainer_mode=colocate_async"], "trainer.v1.trainer_mode", "sync"),
        (["trainer.use_v1=false"], "trainer.use_v1", "V1"),
        (["data.max_prompt_length=16", "data.filter_overlong_prompts=false"], "data.max_prompt_length",
         "data.filter_overlong_prompts=true"),
        (["+algorithm.siri.truncaton=mask"], "algorithm.siri.truncaton", "unknown key"),
        (["+algorithm.siri.phase_checkpoints.keep=true"], "algorithm.siri.phase_checkpoints.keep", "unknown key"),
        (["actor_rollout_ref.rollout.agent.default_agent_loop=tool_agent"],
         "actor_rollout_ref.rollout.agent.default_agent_loop", "siri_single_turn"),
        (["+actor_rollout_ref.model.override_config.max_position_embeddings=100"], "actor_rollout_ref.model.path",
         "max_position_embeddings=100 < 112"),
    ],
)
@pytest.mark.slow
def test_each_broken_variant_names_its_key(tiny, tmp_path, overrides, key, words):
    report = check_config(compose(tiny, tmp_path, *overrides))
    matching = [f for f in report.errors if f.key == key]
    assert matching, f"expected an error on {key}; got:\n{report.format()}"
    assert any(words in f.message for f in matching), report.format()


@pytest.mark.slow
def test_prompt_lengths_checked_when_not_filtered(tiny, tmp_path):
    assert check_config(compose(tiny, tmp_path, "data.filter_overlong_prompts=false")).ok  # tiny prompts < 64
    report = check_config(compose(tiny, tmp_path, "data.max_prompt_length=16", "data.filter_overlong_prompts=false",
                                  "data.truncation=left"))
    assert report.ok and any(f.key == "data.max_prompt_length" and "cuts them silently" in f.message
                             for f in report.warnings), report.format()


@pytest.mark.slow
def test_missing_and_malformed_data(tiny, tmp_path):
    report = check_config(compose(tiny, tmp_path, f"data.train_files={tmp_path / 'nope.parquet'}"))
    assert "data.train_files" in error_keys(report)
    assert "does not exist" in report.format()

    bad = tmp_path / "bad.parquet"
    pd.DataFrame([{"data_source": "x", "question": "1+1?", "reward_model": {"ground_truth": "2"}}]).to_parquet(bad)
    report = check_config(compose(tiny, tmp_path, f"data.val_files=[{bad}]"))
    assert any(f.key == "data.val_files" and "lacks column(s) prompt" in f.message for f in report.errors)

    flat = tmp_path / "flat_prompt.parquet"
    pd.DataFrame([{"data_source": "x", "prompt": "1+1?", "reward_model": {"ground_truth": "2"}}]).to_parquet(flat)
    report = check_config(compose(tiny, tmp_path, f"data.val_files=[{flat}]"))
    assert any("chat messages" in f.message for f in report.errors if f.key == "data.val_files")


@pytest.mark.slow
def test_skipped_checks_are_listed(tiny, tmp_path):
    report = check_config(compose(tiny, tmp_path, "actor_rollout_ref.model.path=org/not-downloaded"))
    assert report.ok, report.format()
    assert any("model checks" in s and "neither a local folder nor in the Hugging Face cache" in s for s in report.skipped)
    report = check_config(compose(tiny, tmp_path), check_data=False, check_model=False)
    assert len(report.skipped) == 2


@pytest.mark.slow
def test_resume_with_changed_schedule_is_refused(tiny, tmp_path):
    from siri_verl.integration.run_record import write_run_record

    config = compose(tiny, tmp_path)
    ckpt = Path(config.trainer.default_local_dir)
    write_run_record(ckpt / "global_step_4", step=4, config=OmegaConf.to_container(config, resolve=True),
                     versions={"siri_verl": "test", "verl": "0.9.1"})
    (ckpt / "latest_checkpointed_iteration.txt").write_text("4")
    assert check_config(config).ok  # same schedule: resumes

    changed = compose(tiny, tmp_path, "algorithm.siri.schedule.period=8", "algorithm.siri.schedule.num_cycles=1")
    report = check_config(changed)
    assert any(f.key == "algorithm.siri.schedule" and "period: 4 -> 8" in f.message for f in report.errors), \
        report.format()
    allowed = compose(tiny, tmp_path, "algorithm.siri.schedule.period=8", "algorithm.siri.schedule.num_cycles=1",
                      "algorithm.siri.resume.allow_schedule_change=true")
    assert check_config(allowed).ok


def test_entry_point_refuses_before_ray(tiny, tmp_path):
    import ray

    from siri_verl.main import run

    config = compose(tiny, tmp_path, "algorithm.siri.schedule.min_length=64")
    with pytest.raises(PreflightError, match="min_length"):
        run(config)
    assert not ray.is_initialized()


@pytest.mark.slow
@pytest.mark.subprocess
def test_check_cli_on_recipe_script(tiny, tmp_path):
    """`siri-verl check recipes/siri_1.5b.sh <overrides>` composes what the script runs."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "CKPT_DIR": str(tmp_path / "ckpt"),
           "MODEL_PATH": str(tiny / "model")}
    (tmp_path / "data").mkdir()
    for name in ("deepscaler", "aime24", "aime25", "amc23", "math500"):
        source = tiny / ("train.parquet" if name == "deepscaler" else "val.parquet")
        os.link(source, tmp_path / "data" / f"{name}.parquet")
    shrink = [o for o in tiny_overrides(tiny, tmp_path / "ckpt") if not o.startswith(("data.", "actor_rollout_ref.model",
                                                                                      "trainer.default"))]
    shrink.append("data.max_prompt_length=64")
    command = [sys.executable, "-m", "siri_verl.cli", "check", str(REPO / "recipes" / "siri_1.5b.sh")]
    good = subprocess.run([*command, *shrink], env=env, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "0 error(s)" in good.stdout and "data.val_files: 4 file(s)" in good.stdout
    bad = subprocess.run([*command, *shrink, "algorithm.siri.truncation=clip"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1
    assert "ERROR   algorithm.siri.truncation" in bad.stdout


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
@pytest.mark.slow
@pytest.mark.subprocess
def test_check_passes_on_prepared_shared_data(tmp_path):
    """The data-prep output passes the schema checks. `all` writes the 777-row DeepScaleR subset as
    deepscaler_subset.parquet, so the paper recipe's deepscaler.parquet is missing (the error says how to get the
    40K set); pointed at the subset, the check warns that it is far smaller than the paper's 40,315 rows instead of
    advising hundreds of epochs."""
    data = tmp_path / "data"
    prepared = subprocess.run([sys.executable, str(REPO / "data_prep" / "prepare.py"), "all", "--input-dir",
                               str(SHARED_DATA), "--output-dir", str(data)], capture_output=True, text=True, timeout=300)
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    env = {**os.environ, "DATA_DIR": str(data), "CKPT_DIR": str(tmp_path / "ckpt")}
    command = [sys.executable, "-m", "siri_verl.cli", "check", str(REPO / "recipes" / "siri_1.5b.sh")]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "deepscaler.parquet does not exist" in missing.stdout
    assert "set DATA_DIR" in missing.stdout and "prepare.py deepscaler --output" in missing.stdout
    subset_file = f"data.train_files={data / 'deepscaler_subset.parquet'}"
    subset = subprocess.run([*command, subset_file], env=env, capture_output=True, text=True, timeout=120)
    assert subset.returncode == 1 and "ERROR   trainer.total_epochs" in subset.stdout
    assert "trainer.total_epochs=320" not in subset.stdout
    assert "WARNING data.train_files" in subset.stdout and "has 777 rows" in subset.stdout
    ok = subprocess.run([*command, subset_file, "trainer.total_epochs=320"], env=env, capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stdout
    assert "WARNING data.train_files" in ok.stdout  # still far smaller than the paper's set
    assert "data.train_files: 1 file(s)" in ok.stdout and "data.val_files: 4 file(s), 600 rows" in ok.stdout


def test_agent_loop_rendering_names_the_builder_of_the_r1_model(tiny, tmp_path):
    """The tiny model is R1-Distill-Qwen-like (model_type qwen2, no <|im_end|>): the check builds what
    siri_single_turn builds -- verl's DeepSeek builder -- and renders a prompt."""
    report = check_config(compose(tiny, tmp_path))
    assert "agent-loop prompt rendering: DeepSeekContinuousTokenBuilder for model_type='qwen2'" in report.format()


def test_agent_loop_rendering_failure_names_the_model_path(tiny, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    broken = tmp_path / "broken_model"
    shutil.copytree(tiny / "model", broken)
    tokenizer = AutoTokenizer.from_pretrained(broken)
    tokenizer.chat_template = "{{ raise_exception('this template renders nothing') }}"
    tokenizer.save_pretrained(broken)
    report = check_config(compose(tiny, tmp_path, f"actor_rollout_ref.model.path={broken}"))
    finding = next(f for f in report.errors if "agent loop cannot render" in f.message)
    assert finding.key == "actor_rollout_ref.model.path" and "this template renders nothing" in finding.message


@pytest.mark.subprocess
@pytest.mark.slow
def test_misspelt_key_is_one_line_with_the_closest_key():
    result = subprocess.run([sys.executable, "-m", "siri_verl.cli", "check", str(REPO / "recipes" / "siri_1.5b.sh"), "algorithm.siri.schedul.kind=cosine"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("siri-verl check: algorithm.siri.schedul.kind: not a key")
    assert "did you mean algorithm.siri.schedule.kind" in lines[0]


@pytest.mark.slow
def test_single_response_groups_are_refused_for_grpo(tiny, tmp_path):
    report = check_config(compose(tiny, tmp_path, "actor_rollout_ref.rollout.n=1"))
    finding = next(f for f in report.errors if f.key == "actor_rollout_ref.rollout.n")
    assert "every advantage is 0" in finding.message
