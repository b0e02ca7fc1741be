"""The SIRI loop on verl's real trainer, on CPU, beyond tests/test_e2e_cpu.py (which covers the default
``paper`` policy and a mid-phase resume): the ``siri_grpo`` estimator with the ``mask`` policy in the real
loop, phase checkpoints surviving ``max_actor_ckpt_to_keep=1`` rotation, the checkpoint record, HF export,
and the refusal to resume with a changed schedule (about 3 minutes on 2 cores).

One training run of the tiny recipe (cosine 16<->48, T=4, 8 steps) with the second tokenizer family (ChatML,
Qwen-Instruct-like: verl's own Qwen token builder; test_e2e_cpu.py runs the paper's R1-Distill family), then a resume attempt with a changed
schedule that must fail before Ray starts. Phase validation is off so every request in the rollout server's
own log (``rollout_requests.jsonl``) is a training request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from siri_verl.cpu.launch import run_bounded
from siri_verl.integration.run_record import hf_export_command
from siri_verl.schedule import LengthSchedule, ScheduleConfig

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]
SCHEDULE = LengthSchedule(ScheduleConfig(kind="cosine", min_length=16, max_length=48, period=4, num_cycles=2))
COMMON = ["algorithm.siri.phase_checkpoints.validate=false", "trainer.max_actor_ckpt_to_keep=1"]


def run_recipe(out: Path, log_name: str, *overrides: str, timeout: int = 600) -> tuple[int, str]:
    """Run the tiny recipe through ``python -m siri_verl.main``; (exit code, log). The whole process group
    is killed on timeout (run_bounded), so a stuck run leaves no Ray processes behind."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OUT": str(out), "ENTRY": "siri_verl.main", "PYTHON": sys.executable,
           "TINY_FAMILY": "chatml"}
    log = out.parent / log_name
    returncode = run_bounded(["bash", str(REPO / "recipes" / "siri_tiny_cpu.sh"), *overrides], env, timeout, log)
    return returncode, log.read_text()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("siri_e2e") / "tiny"
    returncode, log = run_recipe(out, "train.log", *COMMON, "algorithm.adv_estimator=siri_grpo",
                                 "algorithm.siri.truncation=mask")
    assert returncode == 0, log[-5000:]
    metrics = {r["step"]: r["data"] for r in read_jsonl(out / "metrics.jsonl")}
    requests = read_jsonl(out / "rollout_requests.jsonl")
    refused = run_recipe(out, "refused.log", *COMMON, "trainer.resume_mode=auto", "algorithm.siri.schedule.period=8",
                         "algorithm.siri.schedule.num_cycles=1", timeout=300)
    return {"out": out, "refused": refused, "metrics": metrics, "requests": requests}


def test_run_used_the_chatml_family(runs):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(runs["out"] / "assets" / "model")
    assert tokenizer.eos_token == "<|im_end|>"


def test_logged_caps_follow_the_schedule(runs):
    logged = runs["metrics"]
    assert sorted(logged) == list(range(1, 9))
    assert [logged[t]["siri/cap"] for t in range(1, 9)] == [SCHEDULE.cap(t) for t in range(1, 9)]
    assert [logged[t]["siri/phase"] for t in range(1, 9)] == [-1, -1, 1, 1, -1, -1, 1, 1]
    assert [logged[t]["siri/iteration"] for t in range(1, 9)] == [1, 1, 1, 1, 2, 2, 2, 2]


def test_no_response_exceeds_its_cap(runs):
    for step, data in runs["metrics"].items():
        assert data["siri/cap_violations"] == 0, step
        assert data["siri/response_length/max"] <= data["siri/cap"], step
        assert data["siri/rollout_tokens"] <= data["siri/rollout_token_budget"], step


def requests_by_step(requests: list[dict]) -> dict[int, list[dict]]:
    """The rollout server's own per-request log, grouped by training step (weights version + 1)."""
    steps: dict[int, list[dict]] = {}
    for request in requests:
        steps.setdefault(request["weights_version"] + 1, []).append(request)
    return steps


def test_every_request_reached_the_server_with_its_step_cap(runs):
    steps = requests_by_step(runs["requests"])
    assert sorted(steps) == list(range(1, 9))
    for step, requests in steps.items():
        assert {r["max_tokens"] for r in requests} == {SCHEDULE.cap(step)}, step
        assert all(r["response_tokens"] <= r["max_tokens"] for r in requests), step


def test_truncation_flags_match_the_servers_length_stops(runs):
    """The agent loop's flag (cap reached without EOS) against the rollout server's own finish reason."""
    for step, requests in requests_by_step(runs["requests"]).items():
        data = runs["metrics"][step]
        assert len(requests) == data["siri/rollout_token_budget"] / data["siri/cap"]
        length_stops = sum(r["finish_reason"] == "length" for r in requests)
        assert length_stops == round(data["siri/truncation_rate"] * len(requests)), step
        assert sum(r["response_tokens"] for r in requests) == data["siri/rollout_tokens"], step
    # the trough (cap 16) truncates far more than the peak (cap 48)
    assert runs["metrics"][2]["siri/truncation_rate"] > runs["metrics"][4]["siri/truncation_rate"]


def test_mask_policy_removed_truncated_responses(runs):
    """With one on-policy mini-batch and token-mean, pg_loss = -(sum of advantages) / (tokens in the loss),
    and verl's critic/advantages/mean averages over the response_mask in TransferQueue. They agree only
    if the actor's loss denominator left the masked responses out too."""
    masked_steps = 0
    for step, data in runs["metrics"].items():
        responses = data["siri/rollout_token_budget"] / data["siri/cap"]
        truncated = round(data["siri/truncation_rate"] * responses)
        if 0 < truncated < responses:
            masked_steps += 1
            assert data["siri/masked_responses"] == truncated, step
            assert data["actor/pg_loss"] == pytest.approx(-data["critic/advantages/mean"], rel=1e-3, abs=1e-7), step
    assert masked_steps >= 2


def test_phase_checkpoints_are_named_kept_and_exportable(runs, tmp_path):
    root = runs["out"] / "checkpoints"
    manifest = json.loads((root / "siri_phase_checkpoints" / "manifest.json").read_text())
    expected = {c.name: c.step for c in SCHEDULE.checkpoint_steps()}
    assert {name: entry["step"] for name, entry in manifest.items()} == expected
    for name, entry in manifest.items():
        assert Path(entry["path"]).name == f"global_step_{entry['step']}"
        assert (Path(entry["path"]) / "actor" / "model_world_size_1_rank_0.pt").is_file(), name
        assert entry["cap"] == SCHEDULE.cap(entry["step"])
    # max_actor_ckpt_to_keep=1 rotated global_step_{2,4,6}/actor away; the named phase checkpoints survived
    for step in (2, 4, 6):
        assert not (root / f"global_step_{step}" / "actor").exists()
    assert (root / "global_step_8" / "actor").is_dir()
    record = json.loads((root / "global_step_8" / "siri_run.json").read_text())
    assert record["global_step"] == 8 and record["versions"]["verl"] == "0.9.1"
    assert record["siri"]["schedule"]["period"] == 4 and record["config"]["algorithm"]["siri"]["truncation"] == "mask"

    target = tmp_path / "hf"
    command = hf_export_command(manifest["siri_low_iter1"]["path"], target, python=sys.executable)
    merge = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert merge.returncode == 0, merge.stderr[-3000:]
    assert (target / "config.json").is_file() and list(target.glob("*.safetensors"))


def test_resume_with_changed_schedule_was_refused_before_ray(runs):
    returncode, log = runs["refused"]
    assert returncode != 0
    assert "refusing to resume" in log and "period: 4 -> 8" in log
    assert "Started a local Ray instance" not in log
