"""Compose a recipe's full config (verl's ppo_trainer + siri_trainer + the recipe + overrides) without Ray.

A recipe YAML is a hydra primary config: it lists ``pkg://siri_verl.config`` and ``pkg://verl.trainer.config``
in ``hydra.searchpath`` and has ``defaults: [siri_trainer, _self_]``. ``compose_recipe`` composes it as
``python -m siri_verl.main --config-path DIR --config-name NAME <overrides>`` would, but points the search
path at the same two folders through ``file://`` paths found with ``importlib.util.find_spec``: resolving
``pkg://verl...`` would ``import verl`` (and torch, ~8 s), which a schedule preview or a config check does
not need.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{package} is not installed; install requirements-cpu.txt first")
    return Path(spec.origin).parent


def config_search_path() -> list[str]:
    """The folders a recipe's defaults are found in: siri_verl's configs, then verl's."""
    return [
        f"file://{_package_dir('siri_verl') / 'config'}",
        f"file://{_package_dir('verl') / 'trainer' / 'config'}",
    ]


def compose_recipe(recipe_yaml: str | Path, overrides: Sequence[str] = ()):
    """Return the composed ``DictConfig`` of ``recipe_yaml`` with hydra ``overrides`` applied."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    path = Path(recipe_yaml).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"recipe {recipe_yaml} does not exist")
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"recipe {recipe_yaml} is not a YAML file (.yaml/.yml)")
    search_path = "hydra.searchpath=[" + ",".join(config_search_path()) + "]"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name=path.stem, overrides=[search_path, *overrides])
