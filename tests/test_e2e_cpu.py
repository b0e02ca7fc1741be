"""End to end on CPU: recipes/siri_tiny_cpu.sh runs the SIRI loop with verl's real trainer.

``python -m siri_verl.main`` (verl's V1 trainer + SIRI hooks), FSDP2 actor on gloo, the hf rollout, the real
reward (siri_verl.reward), 8 steps of a cosine cap between 16 and 48 tokens (period 4). Two training runs, each
with settings the other cannot have (about 2 to 3 minutes each on 2 quiet cores), and two resumes:

- ``paper_run``: the paper's tokenizer family (DeepSeek-R1-Distill-Qwen's tokens, chat template and EOS on a qwen2
  model, so verl's agent loop takes the token-builder path a GPU run of the paper's model takes), the ``grpo``
  estimator with the default ``paper`` truncation policy, a checkpoint every 3 steps, the rollouts dumped.
  ``resumed_run`` continues it from the mid-phase checkpoint of step 3 to step 5.
- ``mask_run``: the second family (ChatML, Qwen-Instruct-like: verl's own Qwen token builder), the ``siri_grpo``
  estimator with the ``mask`` policy, phase validation off, ``max_actor_ckpt_to_keep=1`` (the named phase
  checkpoints must survive the rotation). A resume of it with a changed schedule must be refused before Ray starts.

What both runs must show is asserted on both (tests parametrized by ``run``): every step logged with the
schedule's cap, phase and cycle; no response over its cap, in the trainer's metrics and in the rollout server's
own request log; the truncation flag equal to the server's length stops; the named phase checkpoints. The other
tests are about one run's settings. Marker ``e2e`` (so also ``slow``, tests/conftest.py).

The tiny model is warmed up so that the reward is sometimes 1: gradients are nonzero, so "the rollout generated
with the updated weights" is a real check. Independent evidence comes from the rollout server's request log
(what was actually generated, at which cap, with which weight version), checked against the trainer's metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from siri_verl.cpu.launch import run_bounded
from siri_verl.cpu.report import read_metrics, read_request_log, rollout_cost_per_step
from siri_verl.integration.run_record import hf_export_command

from repo_paths import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess, pytest.mark.timeout(900)]

RECIPE = REPO / "recipes" / "siri_tiny_cpu.sh"
STEPS = 8
RESPONSES_PER_STEP = 64  # 8 prompts x n=8
TRAIN_TEMPERATURE = 1.0  # validation requests sample greedily
PHASES = [-1, -1, 1, 1, -1, -1, 1, 1]  # -1 compression, +1 expansion (siri/phase)
ITERATIONS = [1, 1, 1, 1, 2, 2, 2, 2]
PHASE_CHECKPOINT_STEPS = {"siri_low_iter1": 2, "siri_high_iter1": 4, "siri_low_iter2": 6, "siri_high_iter2": 8}
RESUME_FROM_STEP = 3  # inside the expansion phase of cycle 1 (caps 32, 16 | 32, 48)
RESUMED_LAST_STEP = 5
MASK_RUN_SETTINGS = ["algorithm.siri.phase_checkpoints.validate=false", "trainer.max_actor_ckpt_to_keep=1"]


@dataclass
class TinyRun:
    """A finished run of the tiny recipe: its output folder and the two logs the recipe writes there."""

    out: Path
    metrics: list[dict]  # verl's file logger, one row per step: {"step": t, metric: value, ...}
    requests: list[dict]  # the rollout server's own record of every request, in arrival order

    @property
    def served(self) -> list[dict]:
        """Per training step, what the rollout server generated (training requests only)."""
        return rollout_cost_per_step(self.requests, TRAIN_TEMPERATURE)


def run_recipe(out: Path, log: Path, *overrides: str, family: str, timeout_s: int = 600) -> int:
    """Run recipes/siri_tiny_cpu.sh into ``out`` with the tiny model of ``family`` (``r1`` or ``chatml``), its
    output to ``log``; the exit code. run_bounded kills the whole process group on timeout, so a stuck run leaves
    no Ray processes behind."""
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "TINY_FAMILY": family}
    return run_bounded(["bash", str(RECIPE), *overrides], env, timeout_s=timeout_s, log_path=log)


def train(out: Path, *overrides: str, family: str) -> TinyRun:
    """A run that must succeed; its log is next to ``out`` (``<out>.log``)."""
    log = out.parent / f"{out.name}.log"
    returncode = run_recipe(out, log, *overrides, family=family)
    assert returncode == 0, f"recipe failed (log: {log}):\n{log.read_text()[-4000:]}"
    return TinyRun(out, read_metrics(out / "metrics.jsonl"), read_request_log(out / "rollout_requests.jsonl"))


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory) -> TinyRun:
    out = tmp_path_factory.mktemp("e2e") / "paper_run"
    return train(out, f"trainer.save_freq={RESUME_FROM_STEP}", f"trainer.rollout_data_dir={out / 'rollouts'}",
                 family="r1")


@pytest.fixture(scope="module")
def resumed_run(paper_run, tmp_path_factory) -> TinyRun:
    out = tmp_path_factory.mktemp("e2e") / "resumed_run"
    out.mkdir()
    (out / "assets").symlink_to(paper_run.out / "assets", target_is_directory=True)
    return train(out, "trainer.resume_mode=resume_path",
                 f"trainer.resume_from_path={paper_run.out / 'checkpoints' / f'global_step_{RESUME_FROM_STEP}'}",
                 f"trainer.total_training_steps={RESUMED_LAST_STEP}", family="r1")


@pytest.fixture(scope="module")
def mask_run(tmp_path_factory) -> TinyRun:
    out = tmp_path_factory.mktemp("e2e") / "mask_run"
    return train(out, *MASK_RUN_SETTINGS, "algorithm.adv_estimator=siri_grpo", "algorithm.siri.truncation=mask",
                 family="chatml")


@pytest.fixture(scope="module")
def refused_resume(mask_run) -> tuple[int, str]:
    """(exit code, log) of resuming ``mask_run`` (``resume_mode=auto``) with another period and cycle count."""
    log = mask_run.out.parent / "refused_resume.log"
    returncode = run_recipe(mask_run.out, log, *MASK_RUN_SETTINGS, "trainer.resume_mode=auto",
                            "algorithm.siri.schedule.period=8", "algorithm.siri.schedule.num_cycles=1",
                            family="chatml", timeout_s=300)
    return returncode, log.read_text()


@pytest.fixture(params=["paper_run", "mask_run"])
def run(request) -> TinyRun:
    """Each training run in turn, for the checks both must pass."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def schedule():
    """The recipe's schedule, composed from recipes/siri_tiny_cpu.yaml as the trainer composes it."""
    from siri_verl.recipe_config import compose_recipe
    from siri_verl.schedule import schedule_from_config

    required = ["data.train_files=t", "data.val_files=v", "actor_rollout_ref.model.path=m"]
    config = compose_recipe(REPO / "recipes" / "siri_tiny_cpu.yaml", required)
    return schedule_from_config(config.algorithm.siri, config.data.max_response_length)


def tokenizer_of(tiny_run: TinyRun):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_run.out / "assets" / "model")


# ---- both runs ----


def test_every_step_is_logged_with_the_schedules_cap_phase_and_cycle(run, schedule):
    caps = [schedule.cap(t) for t in range(1, STEPS + 1)]
    assert len(set(caps)) == 3  # 16, 32, 48: the checks on caps could fail
    assert [row["step"] for row in run.metrics] == list(range(1, STEPS + 1))
    assert [row["siri/cap"] for row in run.metrics] == caps
    assert [row["siri/phase"] for row in run.metrics] == PHASES
    assert [row["siri/iteration"] for row in run.metrics] == ITERATIONS


def test_no_response_exceeds_its_cap(run, schedule):
    for row in run.metrics:
        assert row["siri/cap_violations"] == 0, row["step"]
        assert row["siri/response_length/max"] <= row["siri/cap"], row["step"]
        assert row["siri/rollout_tokens"] <= row["siri/rollout_token_budget"], row["step"]
    # the server's side: one weight version per step, in order (step t generated with the weights synced after
    # step t-1), and every request of a step was sent that step's cap
    served = run.served
    assert [row["step"] for row in served] == list(range(1, STEPS + 1))
    for row in served:
        assert row["max_tokens"] == [schedule.cap(row["step"])], row["step"]
        assert row["max_response_tokens"] <= schedule.cap(row["step"]), row["step"]


def test_truncation_flags_match_the_servers_length_stops(run):
    """The agent loop's flag (cap reached without EOS) against the rollout server's own finish reason."""
    for row, server_row in zip(run.metrics, run.served, strict=True):
        assert server_row["requests"] == RESPONSES_PER_STEP == row["siri/rollout_token_budget"] / row["siri/cap"]
        assert server_row["truncated"] == round(row["siri/truncation_rate"] * RESPONSES_PER_STEP), row["step"]
        assert server_row["response_tokens"] == row["siri/rollout_tokens"], row["step"]
    assert sum(row["truncated"] for row in run.served) > 0  # the cap bit at some step


def test_phase_checkpoints_are_named_by_the_schedule(run, schedule):
    root = run.out / "checkpoints" / "siri_phase_checkpoints"
    manifest = json.loads((root / "manifest.json").read_text())
    expected = {c.name: c.step for c in schedule.checkpoint_steps() if c.step <= STEPS}
    assert expected == PHASE_CHECKPOINT_STEPS
    assert {name: entry["step"] for name, entry in manifest.items()} == expected
    for name, entry in manifest.items():
        assert (root / name / f"global_step_{entry['step']}" / "actor").is_dir(), name
        assert Path(entry["path"]).name == f"global_step_{entry['step']}"
        assert (Path(entry["path"]) / "actor" / "model_world_size_1_rank_0.pt").is_file(), name
        assert entry["cap"] == schedule.cap(entry["step"])


# ---- paper_run: the paper's family, policy `paper`, weight sync, resume ----


def test_paper_run_used_the_r1_distill_family(paper_run):
    from siri_verl.cpu.tiny import R1_EOS

    tokenizer = tokenizer_of(paper_run)
    assert tokenizer.eos_token == R1_EOS and "<|im_end|>" not in tokenizer.get_vocab()


def test_actor_learns_and_rewards_vary(paper_run):
    assert max(row["actor/grad_norm"] for row in paper_run.metrics) > 0
    assert any(row["critic/score/max"] > row["critic/score/min"] for row in paper_run.metrics), \
        "reward constant in every step"


def test_rollout_generates_with_the_updated_weights(paper_run):
    # verl compares the rollout's log-probs with the actor's recomputation on the current weights; with the
    # weight sync skipped this rises to ~1e-2 from step 2 on (docs/cpu.md)
    for row in paper_run.metrics:
        assert row["training/rollout_probs_diff_max"] < 1e-3, row["step"]


def test_every_actor_update_reached_the_rollout(paper_run):
    fingerprints = {}  # weight version -> the server's sum of |w| after that sync
    for r in paper_run.requests:
        fingerprints.setdefault(r["weights_version"], set()).add(r["weights_fingerprint"])
    assert all(len(f) == 1 for f in fingerprints.values())  # one weight state per version
    updated = [row["step"] for row in paper_run.metrics if row["actor/grad_norm"] > 0]
    assert updated
    for step in updated:  # the update of step t changed the weights the rollout used at step t+1
        if step in fingerprints:
            assert fingerprints[step] != fingerprints[step - 1], step


def test_truncated_samples_are_graded_as_they_stand(paper_run):
    """truncation policy ``paper``: a clipped response is scored by the reward on its clipped text."""
    from siri_verl.reward import compute_score

    tokenizer = tokenizer_of(paper_run)
    finish = {}  # (step, decoded text) -> finish reason, from the server
    for r in paper_run.requests:
        if r["temperature"] == TRAIN_TEMPERATURE:
            finish[(r["weights_version"] + 1, tokenizer.decode(r["token_ids"], skip_special_tokens=True))] = \
                r["finish_reason"]
    truncated = 0
    for step in range(1, STEPS + 1):
        dumped = [json.loads(line) for line in (paper_run.out / "rollouts" / f"{step}.jsonl").read_text().splitlines()]
        assert len(dumped) == RESPONSES_PER_STEP
        for sample in dumped:
            reason = finish[(step, sample["output"])]
            if reason == "length":
                truncated += 1
                assert sample["score"] == compute_score("siri_tiny_math", sample["output"], sample["gts"])["score"]
    assert truncated > 0


def test_resume_from_a_mid_phase_checkpoint_continues_with_the_same_caps(resumed_run, paper_run, schedule):
    steps = list(range(RESUME_FROM_STEP + 1, RESUMED_LAST_STEP + 1))
    assert [row["step"] for row in resumed_run.metrics] == steps
    first = {row["step"]: row["siri/cap"] for row in paper_run.metrics}
    assert [row["siri/cap"] for row in resumed_run.metrics] == [first[t] for t in steps] == \
        [schedule.cap(t) for t in steps]
    served = resumed_run.served
    assert [row["step"] for row in served] == steps  # the rollout got the checkpoint's weights as version 3
    assert [row["max_tokens"] for row in served] == [[schedule.cap(t)] for t in steps]


# ---- mask_run: the ChatML family, siri_grpo + policy `mask`, checkpoint rotation and export, refused resume ----


def test_mask_run_used_the_chatml_family(mask_run):
    assert tokenizer_of(mask_run).eos_token == "<|im_end|>"


def test_the_trough_truncates_more_than_the_peak(mask_run):
    by_step = {row["step"]: row for row in mask_run.metrics}
    assert by_step[2]["siri/truncation_rate"] > by_step[4]["siri/truncation_rate"]  # cap 16 against cap 48


def test_mask_policy_removed_truncated_responses(mask_run):
    """With one on-policy mini-batch and token-mean, pg_loss = -(sum of advantages) / (tokens in the loss),
    and verl's critic/advantages/mean averages over the response_mask in TransferQueue. They agree only
    if the actor's loss denominator left the masked responses out too."""
    masked_steps = 0
    for row in mask_run.metrics:
        responses = row["siri/rollout_token_budget"] / row["siri/cap"]
        truncated = round(row["siri/truncation_rate"] * responses)
        if 0 < truncated < responses:
            masked_steps += 1
            assert row["siri/masked_responses"] == truncated, row["step"]
            assert row["actor/pg_loss"] == pytest.approx(-row["critic/advantages/mean"], rel=1e-3, abs=1e-7), \
                row["step"]
    assert masked_steps >= 2


def test_phase_checkpoints_survive_rotation_and_export_to_hf(mask_run, tmp_path):
    root = mask_run.out / "checkpoints"
    # max_actor_ckpt_to_keep=1 rotated global_step_{2,4,6}/actor away; the named phase checkpoints survived
    for step in (2, 4, 6):
        assert not (root / f"global_step_{step}" / "actor").exists()
    assert (root / "global_step_8" / "actor").is_dir()
    record = json.loads((root / "global_step_8" / "siri_run.json").read_text())
    assert record["global_step"] == 8 and record["versions"]["verl"] == "0.9.1"
    assert record["siri"]["schedule"]["period"] == 4 and record["config"]["algorithm"]["siri"]["truncation"] == "mask"

    manifest = json.loads((root / "siri_phase_checkpoints" / "manifest.json").read_text())
    target = tmp_path / "hf"
    command = hf_export_command(manifest["siri_low_iter1"]["path"], target, python=sys.executable)
    merge = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert merge.returncode == 0, merge.stderr[-3000:]
    assert (target / "config.json").is_file() and list(target.glob("*.safetensors"))


def test_resume_with_changed_schedule_is_refused_before_ray(refused_resume):
    returncode, log = refused_resume
    assert returncode != 0
    assert "refusing to resume" in log and "period: 4 -> 8" in log
    assert "Started a local Ray instance" not in log
