"""Fail when the verl 0.9.1 code siri_verl's integration relies on or mirrors changes upstream.

Each entry names the upstream function, the siri_verl code that depends on it and what to re-check. When
a hash changes after a verl upgrade, re-read the function, adapt the dependent code, then update the hash.
"""

from __future__ import annotations

import hashlib
import inspect

import pytest

from verl.trainer.main_ppo import TaskRunnerV1
from verl.trainer.ppo import core_algos, ray_trainer
from verl.trainer.ppo.v1 import trainer_base, trainer_sync, utils as v1_utils

UPSTREAM = {
    # SiriTaskRunner swaps TRAINER_REGISTRY["sync"] before calling this run(); it must still build the
    # trainer with get_trainer_cls(config.trainer.v1.trainer_mode).
    "TaskRunnerV1.run": (TaskRunnerV1.__ray_actor_class__.run, "26be986901db888b"),
    "get_trainer_cls": (trainer_base.get_trainer_cls, "a5b3ce304945430a"),
    # SiriPPOTrainer hooks: fit() must save before on_step_end(), validate after it, then call
    # _compute_metrics(batch, metrics, ...) with the dict it logs.
    "PPOTrainer.fit": (trainer_base.PPOTrainer.fit, "7d83a81c2e62979f"),
    "PPOTrainerSync.on_step_end": (trainer_sync.PPOTrainerSync.on_step_end, "a759d37bd53da9f5"),
    # _compute_advantage: the estimator is called inside it, rows in batch.keys order; it writes
    # advantages back through response_to_nested.
    "PPOTrainer._compute_advantage": (trainer_base.PPOTrainer._compute_advantage, "2a4a2aa4a475b228"),
    "compute_advantage_for_multi_trajectories": (v1_utils.compute_advantage_for_multi_trajectories, "d973cc8aec79bc3d"),
    "compute_advantage": (ray_trainer.compute_advantage, "314695381c755264"),
    # _next_train_batch: siri_cap is attached to its result like global_steps.
    "PPOTrainer._next_train_batch": (trainer_base.PPOTrainer._next_train_batch, "0a5487478c0e7010"),
    # run_record.resume_folder mirrors the folder choice at the top of _load_checkpoint;
    # the phase checkpoint link runs after _save_checkpoint wrote global_step_N.
    "PPOTrainer._load_checkpoint": (trainer_base.PPOTrainer._load_checkpoint, "bb446d77c48ac6cc"),
    "PPOTrainer._save_checkpoint": (trainer_base.PPOTrainer._save_checkpoint, "8c2435b577e54f19"),
}


def source_hash(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", list(UPSTREAM))
def test_upstream_source_unchanged(name):
    function, expected = UPSTREAM[name]
    assert source_hash(function) == expected, (
        f"verl's {name} changed (verl upgrade?): re-check the siri_verl code noted in tests/test_integration_upstream.py"
    )


def test_grpo_mirror_source_unchanged():
    # the numerics are pinned by tests/test_estimator.py; these are the lines grpo_normalise mirrors
    source = inspect.getsource(core_algos.compute_grpo_outcome_advantage)
    for line in ("id2mean[idx] = torch.tensor(0.0)", "id2std[idx] = torch.tensor(1.0)",
                 "id2std[idx] = torch.std(scores_tensor)",
                 "scores[i] = (scores[i] - id2mean[index[i]]) / (id2std[index[i]] + epsilon)"):
        assert line in source, f"verl's GRPO no longer contains {line!r}; re-check truncation.grpo_normalise"


def test_siri_task_runner_installs_the_trainer():
    from siri_verl.integration.task_runner import SiriTaskRunner, install_siri_trainer
    from siri_verl.integration.trainer import SiriPPOTrainer

    saved = trainer_base.TRAINER_REGISTRY["sync"]
    try:
        install_siri_trainer()
        assert trainer_base.get_trainer_cls("sync") is SiriPPOTrainer
        assert issubclass(SiriPPOTrainer, trainer_sync.PPOTrainerSync)
        assert issubclass(SiriTaskRunner, TaskRunnerV1.__ray_actor_class__)
    finally:
        trainer_base.TRAINER_REGISTRY["sync"] = saved
