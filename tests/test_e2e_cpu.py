"""End to end on CPU: recipes/siri_tiny_cpu.sh runs the SIRI loop with verl's real trainer.

``python -m siri_verl.main`` (verl's V1 trainer + SIRI hooks), FSDP2 actor on gloo, the hf rollout, the real
reward (siri_verl.reward), the tiny model of the paper's family (DeepSeek-R1-Distill-Qwen's tokens, chat template
and EOS on a qwen2 model, so verl's agent loop takes the token-builder path a GPU run of the paper's model takes), 8 steps of a cosine cap between 16 and 48 tokens (period 4), then a resume from the
mid-phase checkpoint of step 3. Marker ``e2e``: about 2 minutes per run on 2 quiet cores (two runs).

The tiny model is warmed up so that the reward is sometimes 1: gradients are nonzero, so "the rollout generated
with the updated weights" is a real check. Independent evidence comes from the rollout server's request log
(what was actually generated, at which cap, with which weight version), checked against the trainer's metrics.
"""

import os
import sys
from pathlib import Path

import pytest

from siri_verl.cpu.launch import run_bounded
from siri_verl.cpu.report import read_metrics, read_request_log, rollout_cost_per_step

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "siri_tiny_cpu.sh"
STEPS = 8
RESPONSES_PER_STEP = 64  # 8 prompts x n=8
TRAIN_TEMPERATURE = 1.0  # validation requests sample greedily
RESUME_FROM_STEP = 3  # inside the expansion phase of cycle 1 (caps 32, 16 | 32, 48)
RESUMED_LAST_STEP = 5

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def run_recipe(out: Path, *overrides: str) -> None:
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    log = out / "recipe.log"
    returncode = run_bounded(["bash", str(RECIPE), *overrides], env, timeout_s=600, log_path=log)
    assert returncode == 0, f"recipe failed (log: {log}):\n{log.read_text()[-4000:]}"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("siri_tiny_cpu")
    run_recipe(out, f"trainer.save_freq={RESUME_FROM_STEP}", f"trainer.rollout_data_dir={out / 'rollouts'}")
    return out


@pytest.fixture(scope="module")
def resumed_run(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("siri_tiny_cpu_resumed")
    (out / "assets").symlink_to(tiny_run / "assets", target_is_directory=True)
    run_recipe(out, "trainer.resume_mode=resume_path",
               f"trainer.resume_from_path={tiny_run / 'checkpoints' / f'global_step_{RESUME_FROM_STEP}'}",
               f"trainer.total_training_steps={RESUMED_LAST_STEP}")
    return out


@pytest.fixture(scope="module")
def metrics(tiny_run):
    return read_metrics(tiny_run / "metrics.jsonl")


@pytest.fixture(scope="module")
def served(tiny_run):
    """Per training step, what the rollout server generated (training requests only)."""
    return rollout_cost_per_step(read_request_log(tiny_run / "rollout_requests.jsonl"), TRAIN_TEMPERATURE)


@pytest.fixture(scope="module")
def schedule(tiny_run):
    from siri_verl.recipe_config import compose_recipe
    from siri_verl.schedule import schedule_from_config

    required = ["data.train_files=t", "data.val_files=v", "actor_rollout_ref.model.path=m"]
    config = compose_recipe(REPO / "recipes" / "siri_tiny_cpu.yaml", required)
    return schedule_from_config(config.algorithm.siri, config.data.max_response_length)


def test_run_used_the_r1_distill_family(tiny_run):
    from transformers import AutoTokenizer

    from siri_verl.cpu.tiny import R1_EOS

    tokenizer = AutoTokenizer.from_pretrained(tiny_run / "assets" / "model")
    assert tokenizer.eos_token == R1_EOS and "<|im_end|>" not in tokenizer.get_vocab()


def test_every_step_is_logged(metrics):
    assert [row["step"] for row in metrics] == list(range(1, STEPS + 1))


def test_actor_learns_and_rewards_vary(metrics):
    assert max(row["actor/grad_norm"] for row in metrics) > 0
    assert any(row["critic/score/max"] > row["critic/score/min"] for row in metrics), "reward constant in every step"


def test_rollout_generates_with_the_updated_weights(metrics, served):
    # verl compares the rollout's log-probs with the actor's recomputation on the current weights; with the
    # weight sync skipped this rises to ~1e-2 from step 2 on (docs/cpu.md)
    for row in metrics:
        assert row["training/rollout_probs_diff_max"] < 1e-3, row["step"]
    # one weight version per step, in order: step t generated with the weights synced after step t-1
    assert [row["step"] for row in served] == list(range(1, STEPS + 1))
    assert all(row["requests"] == RESPONSES_PER_STEP for row in served)


def test_every_actor_update_reached_the_rollout(tiny_run, metrics):
    fingerprints = {}  # weight version -> the server's sum of |w| after that sync
    for r in read_request_log(tiny_run / "rollout_requests.jsonl"):
        fingerprints.setdefault(r["weights_version"], set()).add(r["weights_fingerprint"])
    assert all(len(f) == 1 for f in fingerprints.values())  # one weight state per version
    updated = [row["step"] for row in metrics if row["actor/grad_norm"] > 0]
    assert updated
    for step in updated:  # the update of step t changed the weights the rollout used at step t+1
        if step in fingerprints:
            assert fingerprints[step] != fingerprints[step - 1], step


def test_cap_follows_the_schedule_at_every_step(metrics, served, schedule):
    caps = [schedule.cap(t) for t in range(1, STEPS + 1)]
    assert len(set(caps)) == 3  # 16, 32, 48: the check below could fail
    assert [row["siri/cap"] for row in metrics] == caps
    for row, cap in zip(served, caps):
        assert row["max_tokens"] == [cap], row["step"]  # every request of the step was sent this cap
        assert row["max_response_tokens"] <= cap, row["step"]
    for row, cap in zip(metrics, caps):
        assert row["siri/response_length/max"] <= cap and row["siri/cap_violations"] == 0


def test_truncation_flags_are_reached_cap_without_eos(metrics, served):
    # the server's own count: responses that hit max_tokens without sampling EOS
    for row, server_row in zip(metrics, served):
        assert round(row["siri/truncation_rate"] * RESPONSES_PER_STEP) == server_row["truncated"], row["step"]
    assert sum(r["truncated"] for r in served) > 0  # the cap bit at some step


def test_truncated_samples_are_graded_as_they_stand(tiny_run):
    """truncation policy ``paper``: a clipped response is scored by the reward on its clipped text."""
    import json

    from transformers import AutoTokenizer

    from siri_verl.reward import compute_score

    tokenizer = AutoTokenizer.from_pretrained(tiny_run / "assets" / "model")
    finish = {}  # (step, decoded text) -> finish reason, from the server
    for r in read_request_log(tiny_run / "rollout_requests.jsonl"):
        if r["temperature"] == TRAIN_TEMPERATURE:
            finish[(r["weights_version"] + 1, tokenizer.decode(r["token_ids"], skip_special_tokens=True))] = \
                r["finish_reason"]
    truncated = 0
    for step in range(1, STEPS + 1):
        dumped = [json.loads(line) for line in (tiny_run / "rollouts" / f"{step}.jsonl").read_text().splitlines()]
        assert len(dumped) == RESPONSES_PER_STEP
        for sample in dumped:
            reason = finish[(step, sample["output"])]
            if reason == "length":
                truncated += 1
                assert sample["score"] == compute_score("siri_tiny_math", sample["output"], sample["gts"])["score"]
    assert truncated > 0


def test_phase_checkpoints_exist(tiny_run, schedule):
    import json

    root = tiny_run / "checkpoints" / "siri_phase_checkpoints"
    manifest = json.loads((root / "manifest.json").read_text())
    expected = {c.name: c.step for c in schedule.checkpoint_steps() if c.step <= STEPS}
    assert expected == {"siri_low_iter1": 2, "siri_high_iter1": 4, "siri_low_iter2": 6, "siri_high_iter2": 8}
    assert {name: entry["step"] for name, entry in manifest.items()} == expected
    for name, step in expected.items():
        assert (root / name / f"global_step_{step}" / "actor").is_dir()


def test_resume_from_a_mid_phase_checkpoint_continues_with_the_same_caps(resumed_run, metrics, schedule):
    resumed = read_metrics(resumed_run / "metrics.jsonl")
    steps = list(range(RESUME_FROM_STEP + 1, RESUMED_LAST_STEP + 1))
    assert [row["step"] for row in resumed] == steps
    first = {row["step"]: row["siri/cap"] for row in metrics}
    assert [row["siri/cap"] for row in resumed] == [first[t] for t in steps] == [schedule.cap(t) for t in steps]
    served = rollout_cost_per_step(read_request_log(resumed_run / "rollout_requests.jsonl"), TRAIN_TEMPERATURE)
    assert [row["step"] for row in served] == steps  # the rollout got the checkpoint's weights as version 3
    assert [row["max_tokens"] for row in served] == [[schedule.cap(t)] for t in steps]
