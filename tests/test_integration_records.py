"""Pure pieces of the integration: per-step metrics, checkpoint records, the resume guard, phase links."""

from __future__ import annotations

import json
import shutil

import pytest

from siri_verl.integration.run_record import (
    ResumeConfigError,
    check_resume,
    hf_export_command,
    read_manifest,
    record_phase_checkpoint,
    record_phase_validation,
    resume_folder,
    write_run_record,
)
from siri_verl.config import SiriConfig
from siri_verl.integration.step_metrics import RolloutFacts, step_metrics
from siri_verl.response_record import MissingResponseRecordError, ResponseRecord

SCHEDULE = {"kind": "cosine", "min_length": 16, "max_length": 48, "period": 4, "num_cycles": 2}


def sample(cap, truncated, length, acc=None):
    fields = ResponseRecord(cap, truncated, length).to_fields()
    if acc is not None:
        fields["reward_extra_info"] = {"acc": acc}
    return fields


def test_step_metrics_against_each_responses_cap():
    facts = RolloutFacts.from_samples(
        [sample(16, True, 16, acc=False), sample(16, False, 9, acc=True), sample(16, False, 12), sample(16, True, 16)],
        scores=[0.0, 1.0, 0.0, 1.0],  # the last is truncated yet scored: it counts only in the score
    )
    metrics = step_metrics(16, "compression", 1, 48, facts)
    assert metrics["siri/cap"] == 16 and metrics["siri/phase"] == -1 and metrics["siri/iteration"] == 1
    assert metrics["siri/truncation_rate"] == 0.5
    assert metrics["siri/response_length/mean"] == pytest.approx(53 / 4)
    assert metrics["siri/response_length/max"] == 16 and metrics["siri/response_length/max_over_cap"] == 1.0
    assert metrics["siri/cap_violations"] == 0
    assert metrics["siri/acc_finished"] == 0.5 and metrics["siri/num_finished"] == 2  # acc from reward, else score
    assert metrics["siri/rollout_tokens"] == 53 and metrics["siri/rollout_token_budget"] == 64
    assert metrics["siri/rollout_token_budget_vs_constant_max"] == pytest.approx(16 / 48)


def test_step_metrics_flag_a_cap_violation_and_omit_acc_without_finished():
    facts = RolloutFacts.from_samples([sample(16, True, 17)], scores=[0.0])
    metrics = step_metrics(16, "expansion", 2, 48, facts)
    assert metrics["siri/cap_violations"] == 1 and metrics["siri/response_length/max_over_cap"] > 1
    assert "siri/acc_finished" not in metrics and metrics["siri/phase"] == 1


def test_missing_siri_fields_name_the_fix():
    with pytest.raises(MissingResponseRecordError, match="response 1 .*default_agent_loop=siri_single_turn"):
        RolloutFacts.from_samples([sample(16, False, 3), {"turn_scores": []}], scores=[0.0, 0.0])


def test_response_record_round_trip_and_truncation_rule():
    eos = {2}
    assert ResponseRecord.decide([5, 6, 7, 8], cap=4, stop_token_ids=eos).truncated
    assert not ResponseRecord.decide([5, 6, 7, 2], cap=4, stop_token_ids=eos).truncated  # EOS at the cap: finished
    assert not ResponseRecord.decide([5, 6], cap=4, stop_token_ids=eos).truncated  # stopped early
    record = ResponseRecord.decide([5, 6, 7, 8, 9], cap=4, stop_token_ids=eos)  # over the cap counts as truncated
    assert record == ResponseRecord(cap=4, truncated=True, response_length=5)
    fields = {"turn_scores": [], **record.to_fields()}  # verl keeps its own keys beside ours
    assert ResponseRecord.from_fields(fields) == record
    facts = RolloutFacts.concat([RolloutFacts.from_samples([fields], [1.0]), RolloutFacts.from_samples([sample(8, False, 3)], [0.0])])
    assert facts.caps == (4, 8) and facts.truncated == (True, False) and facts.lengths == (5, 3)
    assert facts.correct == (True, False)


def test_resume_guard(tmp_path):
    config = {"algorithm": {"siri": {"schedule": SCHEDULE}}}
    write_run_record(tmp_path / "global_step_3", step=3, config=config, versions={"verl": "0.9.1"})
    assert "matches" in check_resume(tmp_path / "global_step_3", SiriConfig.from_mapping({"schedule": SCHEDULE}))
    # A default written out on one side only is no change.
    written_out = SiriConfig.from_mapping({"schedule": {**SCHEDULE, "warmup_steps": 0, "multiple_of": None}})
    assert "matches" in check_resume(tmp_path / "global_step_3", written_out)
    changed = {"schedule": {**SCHEDULE, "min_length": 8}}
    with pytest.raises(ResumeConfigError, match=r"min_length: 16 -> 8.*allow_schedule_change=true"):
        check_resume(tmp_path / "global_step_3", SiriConfig.from_mapping(changed))
    allowed = SiriConfig.from_mapping({**changed, "resume": {"allow_schedule_change": True}})
    assert "resuming because" in check_resume(tmp_path / "global_step_3", allowed)
    assert "no siri_run.json" in check_resume(tmp_path / "elsewhere", SiriConfig.from_mapping(changed))


def test_resume_folder_follows_verl(tmp_path):
    assert resume_folder({"resume_mode": "disable", "default_local_dir": str(tmp_path)}) is None
    assert resume_folder({"resume_mode": "auto", "default_local_dir": str(tmp_path)}) is None
    (tmp_path / "global_step_7").mkdir()
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("7")
    assert resume_folder({"resume_mode": "auto", "default_local_dir": str(tmp_path)}) == str(tmp_path / "global_step_7")
    path = str(tmp_path / "x" / "global_step_2")
    assert resume_folder({"resume_mode": "resume_path", "resume_from_path": path}) == path


def test_phase_checkpoint_survives_rotation_without_extra_disk(tmp_path):
    step_folder = tmp_path / "global_step_2"
    (step_folder / "actor").mkdir(parents=True)
    (step_folder / "actor" / "model.pt").write_bytes(b"weights" * 1000)
    (step_folder / "data.pt").write_bytes(b"loader")
    target = record_phase_checkpoint(tmp_path, step_folder, name="siri_low_iter1", step=2, kind="low",
                                     iteration=1, cap=16)
    linked = target / "actor" / "model.pt"
    assert linked.stat().st_ino == (step_folder / "actor" / "model.pt").stat().st_ino  # a hard link
    shutil.rmtree(step_folder / "actor")  # what verl's max_actor_ckpt_to_keep rotation does
    assert linked.read_bytes() == b"weights" * 1000
    record_phase_validation(tmp_path, "siri_low_iter1", {"val-core/aime24/acc/mean@32": 0.25})
    entry = read_manifest(tmp_path)["siri_low_iter1"]
    assert (entry["step"], entry["cap"], entry["stored_as"]) == (2, 16, "hardlink")
    assert entry["val_metrics"] == {"val-core/aime24/acc/mean@32": 0.25}
    assert json.loads((tmp_path / "siri_phase_checkpoints" / "manifest.json").read_text()) == read_manifest(tmp_path)


def test_hf_export_command_uses_verls_model_merger(tmp_path):
    command = hf_export_command(tmp_path / "siri_low_iter3" / "global_step_1600", tmp_path / "hf", python="py")
    assert command[:5] == ["py", "-m", "verl.model_merger", "merge", "--backend"]
    assert command[command.index("--local_dir") + 1].endswith("global_step_1600/actor")
