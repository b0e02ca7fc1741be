"""``SiriConfig`` is the single source of ``algorithm.siri``: the YAML, the docs table and every recipe agree with it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from siri_verl.config import SiriConfig, SiriConfigError, reference_markdown
from siri_verl.errors import ConfigKeyError
from siri_verl.recipe_config import compose_recipe
from siri_verl.schedule import ScheduleConfigError

from repo_paths import REPO

BASE_YAML = REPO / "siri_verl" / "config" / "siri_trainer.yaml"


def _leaf_keys(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix}
    return set().union(*(_leaf_keys(v, f"{prefix}.{k}" if prefix else k) for k, v in tree.items()))


def test_yaml_carries_exactly_the_dataclass_defaults():
    composed = OmegaConf.to_container(compose_recipe(BASE_YAML).algorithm.siri, resolve=True)
    assert composed == SiriConfig().to_dict()


def test_every_field_has_help():
    rows = [line for line in reference_markdown().splitlines()[2:]]
    assert len(rows) == len(_leaf_keys(SiriConfig().to_dict()))
    assert all(line.rstrip(" |").split("|")[-1].strip() for line in rows), "a field without help text"


@pytest.mark.subprocess
def test_docs_table_is_generated_from_the_dataclass():
    docs = (REPO / "docs/config.md").read_text()
    start = docs.index("\n", docs.index("<!-- BEGIN generated")) + 1
    table = docs[start:docs.index("<!-- END generated")]
    assert table == reference_markdown(), "docs/config.md is stale: paste the output of python -m siri_verl.config"
    printed = subprocess.run([sys.executable, "-m", "siri_verl.config"], capture_output=True, text=True, check=True)
    assert printed.stdout == reference_markdown()


@pytest.mark.parametrize("block, key, hint", [
    ({"schedul": {}}, "algorithm.siri.schedul", "did you mean algorithm.siri.schedule?"),
    ({"schedule": {"peroid": 480}}, "algorithm.siri.schedule.peroid", "did you mean algorithm.siri.schedule.period?"),
    ({"soft_overlong": {"buffer": 0.1}}, "algorithm.siri.soft_overlong.buffer", "buffer_fraction"),
    ({"phase_checkpoints": {"enabled": False}}, "algorithm.siri.phase_checkpoints.enabled", "did you mean"),
    ({"resume": {"allow": True}}, "algorithm.siri.resume.allow", "allow_schedule_change"),
])
def test_unknown_keys_are_refused_at_every_level_with_the_key_as_attribute(block, key, hint):
    with pytest.raises(ConfigKeyError) as error:
        SiriConfig.from_mapping(block)
    assert error.value.key == key
    assert "unknown key" in str(error.value) and hint in str(error.value)


@pytest.mark.parametrize("block, key, error_type", [
    ({"truncation": "drop"}, "algorithm.siri.truncation", SiriConfigError),
    ({"schedule": {"period": 1}}, "algorithm.siri.schedule.period", ScheduleConfigError),
    ({"soft_overlong": {"buffer_fraction": 1.5}}, "algorithm.siri.soft_overlong.buffer_fraction", SiriConfigError),
    ({"soft_overlong": {"penalty_factor": -1}}, "algorithm.siri.soft_overlong.penalty_factor", SiriConfigError),
    ({"phase_checkpoints": {"enable": "yes"}}, "algorithm.siri.phase_checkpoints.enable", SiriConfigError),
    ({"validation_max_tokens": 0}, "algorithm.siri.validation_max_tokens", SiriConfigError),
    ({"validation_n": {"aime24": 0}}, "algorithm.siri.validation_n.aime24", SiriConfigError),
])
def test_bad_values_raise_naming_their_key(block, key, error_type):
    with pytest.raises(error_type) as error:
        SiriConfig.from_mapping(block)
    assert error.value.key == key and str(error.value).startswith(key)


def test_check_reports_every_problem_and_cross_field_rules():
    _, errors = SiriConfig.check({"truncation": "drop", "schedule": {"peroid": 3}, "resume": {"allow": 1}})
    assert sorted(e.key for e in errors) == ["algorithm.siri.resume.allow", "algorithm.siri.schedule.peroid",
                                            "algorithm.siri.truncation"]
    # soft: a buffer as wide as the schedule min penalises every response
    soft = {"truncation": "soft", "schedule": {"min_length": 4, "max_length": 8, "period": 4},
            "soft_overlong": {"buffer_fraction": 0.9}}
    with pytest.raises(SiriConfigError, match="every response would be penalised") as error:
        SiriConfig.from_mapping(soft)
    assert error.value.key == "algorithm.siri.soft_overlong.buffer_fraction"
    with pytest.raises(SiriConfigError, match="data.max_response_length=64"):
        SiriConfig.from_mapping({"schedule": {"max_length": 64, "min_length": 32, "period": 4},
                                 "validation_max_tokens": 128}, max_response_length=64)


def test_values_are_typed_and_round_trip():
    config = SiriConfig.from_mapping({"soft_overlong": {"penalty_factor": 1}, "validation_n": {"aime24": 32},
                                      "schedule": {"kind": "piecewise", "knots": [[0, 8], [5, 16]], "total_steps": 9}})
    assert config.soft_overlong.penalty_factor == 1.0 and isinstance(config.soft_overlong.penalty_factor, float)
    assert config.schedule.knots == ((0, 8), (5, 16)) and config.length_schedule().cap(6) == 16
    assert SiriConfig.from_mapping(config.to_dict()) == config
    assert dataclasses.is_dataclass(config) and config.phase_checkpoints.enable is True


TRAINING_RECIPES = sorted(
    [p for p in (REPO / "recipes").glob("*.sh")  # the .sh that launch training (as tests/test_recipes.py selects them)
     if "siri_launch --config-path" in p.read_text() or 'exec bash "$RECIPES_DIR/siri_' in p.read_text()]
    + [p for p in (REPO / "recipes").glob("*.yaml") if "siri_trainer" in p.read_text()])


@pytest.mark.parametrize("recipe", TRAINING_RECIPES, ids=lambda p: p.name)
@pytest.mark.slow
def test_every_recipe_shows_the_agent_loop_and_every_siri_key_that_runs(recipe):
    """What ``--cfg job`` prints is what runs: the SIRI loop, and every SIRI key with a value SiriConfig accepts."""
    from siri_verl.recipe_config import compose_target

    config = compose_target(str(recipe))
    assert config.actor_rollout_ref.rollout.agent.default_agent_loop == "siri_single_turn"
    siri = OmegaConf.to_container(config.algorithm.siri, resolve=True)
    assert "validation_n" in siri  # a mapping of data sources, not of settings
    siri["validation_n"] = None
    assert _leaf_keys(siri) == _leaf_keys(SiriConfig().to_dict())
    SiriConfig.from_run_config(config)
