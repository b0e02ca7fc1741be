"""The Ray TaskRunner that runs ``SiriPPOTrainer`` inside verl 0.9.1's V1 ``TaskRunnerV1.run``.

verl's ``TaskRunnerV1`` (``verl/trainer/main_ppo.py``) is a ``ray.remote`` class whose ``run`` builds the
trainer with ``get_trainer_cls(config.trainer.v1.trainer_mode)``. Instead of copying ``run``, this
subclass points the registry's ``"sync"`` entry at ``SiriPPOTrainer`` *inside the TaskRunner actor's
process only*, then calls verl's ``run`` unchanged. The mode name stays ``"sync"``, so every upstream
``trainer_mode == "sync"`` branch (replay buffer, TQ persistence) behaves as for ``PPOTrainerSync``.
``tests/test_integration_upstream.py`` fails when ``TaskRunnerV1.run`` changes upstream.
"""

from __future__ import annotations

import ray

from verl.trainer.main_ppo import TaskRunnerV1

UPSTREAM_TASK_RUNNER = TaskRunnerV1.__ray_actor_class__


def install_siri_trainer() -> None:
    """Make ``get_trainer_cls("sync")`` return ``SiriPPOTrainer`` in this process."""
    from verl.trainer.ppo.v1 import trainer_base

    from siri_verl.integration.trainer import SiriPPOTrainer

    trainer_base.TRAINER_REGISTRY["sync"] = SiriPPOTrainer


class SiriTaskRunner(UPSTREAM_TASK_RUNNER):
    """verl's V1 TaskRunner, training with ``SiriPPOTrainer``."""

    def run(self, config):
        install_siri_trainer()
        return super().run(config)


SiriTaskRunnerActor = ray.remote(SiriTaskRunner)
