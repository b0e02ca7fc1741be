"""Train with SIRI: ``python -m siri_verl.main [--config-path DIR --config-name RECIPE] [hydra overrides...]``.

A hydra app over ``siri_verl/config/siri_trainer.yaml`` (verl's ``ppo_trainer`` plus ``algorithm.siri``).
Before Ray starts it runs the preflight checks of ``siri-verl check`` (failing in seconds, naming the key, on a broken config), and
then hands over to verl's ``run_ppo`` with ``SiriTaskRunner`` (verl's V1 TaskRunner training
``SiriPPOTrainer``). ``--cfg job`` prints the composed config without starting anything.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from siri_verl.preflight import run_preflight


@hydra.main(config_path="config", config_name="siri_trainer", version_base=None)
def main(config: DictConfig) -> None:
    run(config)


def run(config: DictConfig) -> None:
    """Preflight, then verl's ``run_ppo`` with the SIRI TaskRunner (mirrors ``verl.trainer.main_ppo.main``)."""
    from verl.trainer.main_ppo import run_ppo
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config
    from verl.utils.device import auto_set_device

    auto_set_device(config)
    run_preflight(config)
    validate_config(config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))

    from siri_verl.integration.task_runner import SiriTaskRunnerActor

    run_ppo(config, task_runner_class=SiriTaskRunnerActor)


if __name__ == "__main__":
    main()
