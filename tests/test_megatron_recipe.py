"""The Megatron recipe recomputes activations (verl's Megatron default recomputes nothing), preflights clean on
the real tiny assets, and its checkpoints export with the Megatron layout's own command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from siri_verl.integration.run_record import hf_export_command
from siri_verl.preflight import check_config
from siri_verl.recipe_config import compose_target

from repo_paths import REPO

RECIPE = REPO / "recipes" / "siri_1.5b_megatron.sh"
RECOMPUTE = {"recompute_granularity": "full", "recompute_method": "uniform", "recompute_num_layers": 1}


@pytest.mark.subprocess
@pytest.mark.slow
def test_megatron_recipe_recomputes_every_layer_for_actor_and_ref():
    config = compose_target(str(RECIPE), [])
    actor, ref = config.actor_rollout_ref.actor, config.actor_rollout_ref.ref
    assert (actor.strategy, ref.strategy) == ("megatron", "megatron")
    for role in (actor, ref):
        overrides = role.megatron.override_transformer_config
        assert {k: overrides[k] for k in RECOMPUTE} == RECOMPUTE
    report = check_config(config, check_data=False, check_model=False)
    assert report.ok and not report.warnings, report.format()


@pytest.mark.subprocess
@pytest.mark.slow
def test_verl_default_megatron_config_recomputes_nothing():
    """Why the recipe sets the keys: without them verl 0.9.1's Megatron engine keeps every activation."""
    config = compose_target(str(RECIPE), [f"actor_rollout_ref.actor.megatron.override_transformer_config.{k}=null"
                                          for k in RECOMPUTE])
    assert config.actor_rollout_ref.actor.megatron.override_transformer_config.recompute_granularity is None
    assert config.actor_rollout_ref.ref.megatron.override_transformer_config.recompute_granularity is None


@pytest.mark.slow
@pytest.mark.subprocess
def test_check_cli_passes_on_the_megatron_recipe(tiny, tmp_path):
    """`siri-verl check recipes/siri_1.5b_megatron.sh` composes the wrapped script plus its Megatron overrides."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("deepscaler", "aime24", "aime25", "amc23", "math500"):
        os.link(tiny / ("train.parquet" if name == "deepscaler" else "val.parquet"), data / f"{name}.parquet")
    env = {**os.environ, "DATA_DIR": str(data), "CKPT_DIR": str(tmp_path / "ckpt"), "MODEL_PATH": str(tiny / "model")}
    shrink = ["data.max_prompt_length=64", "algorithm.siri.schedule.min_length=16",
              "algorithm.siri.schedule.max_length=48", "algorithm.siri.schedule.period=4",
              "algorithm.siri.schedule.num_cycles=2", "trainer.total_training_steps=8",
              "actor_rollout_ref.rollout.max_model_len=112", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=224",
              "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=224"]
    result = subprocess.run([sys.executable, "-m", "siri_verl.cli", "check", str(RECIPE), *shrink], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def _checkpoint(tmp_path: Path, layout: str) -> Path:
    step = tmp_path / layout / "siri_low_iter3" / "global_step_1600"
    actor = step / "actor"
    if layout == "fsdp":
        actor.mkdir(parents=True)
        (actor / "fsdp_config.json").write_text(json.dumps({"world_size": 1}))
        (actor / "model_world_size_1_rank_0.pt").write_bytes(b"")
    elif layout == "megatron_dist":
        (actor / "model" / "dist_ckpt").mkdir(parents=True)
    else:  # verl 0.9.1's default Megatron layout: Megatron-Bridge writes an HF folder
        hf = actor / "model" / "huggingface"
        hf.mkdir(parents=True)
        (hf / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
        (hf / "model.safetensors").write_bytes(b"weights")
    return step


def test_hf_export_command_follows_the_checkpoint_layout(tmp_path):
    fsdp = hf_export_command(_checkpoint(tmp_path, "fsdp"), tmp_path / "out", python="py")
    assert fsdp[:6] == ["py", "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
    dist = hf_export_command(_checkpoint(tmp_path, "megatron_dist"), tmp_path / "out", python="py")
    assert dist[:6] == ["py", "-m", "verl.model_merger", "merge", "--backend", "megatron"]
    assert dist[dist.index("--local_dir") + 1].endswith("global_step_1600/actor")
    # not written yet: the engine named by the caller decides
    planned = hf_export_command(tmp_path / "later" / "global_step_8", tmp_path / "out", backend="megatron", python="py")
    assert planned[5] == "megatron"
    with pytest.raises(ValueError, match="backend"):
        hf_export_command(tmp_path, tmp_path / "out", backend="deepspeed")


@pytest.mark.subprocess
def test_hf_export_of_the_default_megatron_checkpoint_copies_its_hf_folder(tmp_path):
    step = _checkpoint(tmp_path, "megatron_hf")
    target = tmp_path / "export" / "SIRI-1.5B-low"
    command = hf_export_command(step, target, python=sys.executable)
    assert "verl.model_merger" not in command  # verl's merger reads model/dist_ckpt, which this layout lacks
    subprocess.run(command, check=True, timeout=60)
    assert (target / "model.safetensors").read_bytes() == b"weights"
    assert json.loads((target / "config.json").read_text()) == {"model_type": "qwen2"}


def test_eval_uses_the_hf_weights_of_a_default_megatron_checkpoint(tmp_path):
    """verl 0.9.1's Megatron checkpoint holds Megatron-Bridge's HF folder at actor/model/huggingface; `siri-verl
    eval` evaluates it directly instead of asking for a merge."""
    from siri_verl.cpu.tiny import build_random_tiny
    from siri_verl.eval.harness import resolve_model

    step = tmp_path / "siri_phase_checkpoints" / "siri_low_iter1" / "global_step_2"
    hf_dir = step / "actor" / "model" / "huggingface"
    (step / "actor" / "model" / "dist_ckpt").mkdir(parents=True)
    _, model = build_random_tiny()
    model.save_pretrained(hf_dir)
    resolved = resolve_model(str(step.parent), tmp_path / "eval")
    assert resolved.hf_path == str(hf_dir.resolve()) and resolved.source == "hf"
