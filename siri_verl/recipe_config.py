"""Compose what a recipe would run (verl's ppo_trainer + siri_trainer + the recipe + overrides) without Ray.

The one place recipes are composed: ``siri-verl check``, ``siri-verl schedule`` and the tests all call
:func:`compose_target`, so a ``.sh`` recipe and a ``.yaml`` recipe can be previewed and checked alike.

A recipe ``.sh`` ends with ``siri_launch <args> "$@"`` from ``recipes/_launch.sh``; run with
``SIRI_PRINT_LAUNCH_ARGS=1`` it prints that ``python -m siri_verl.main`` argument list (NUL-separated) instead
of training, and :func:`compose_launch` composes the config those arguments name.

A recipe YAML is a hydra primary config: it lists ``pkg://siri_verl.config`` and ``pkg://verl.trainer.config``
in ``hydra.searchpath`` and has ``defaults: [siri_trainer, _self_]``. ``compose_recipe`` composes it as
``python -m siri_verl.main --config-path DIR --config-name NAME <overrides>`` would, but points the search
path at the same two folders through ``file://`` paths found with ``importlib.util.find_spec``: resolving
``pkg://verl...`` would ``import verl`` (and torch, ~8 s), which a schedule preview or a config check does
not need.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Sequence

PRINT_ARGS_ENV = "SIRI_PRINT_LAUNCH_ARGS"


class RecipeCompositionError(ValueError):
    """A recipe and its overrides do not compose; the message says why in one line (or, for a recipe script
    that failed, the line and the script's own error output)."""


class RecipeLaunchError(RecipeCompositionError):
    """A recipe ``.sh`` failed, or printed no launch arguments, before any config was composed."""


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


def recipe_launch_args(script: str | os.PathLike, extra: Sequence[str] = (), timeout: float = 60.0) -> list[str]:
    """The argument list ``script`` would pass to ``python -m siri_verl.main`` (with ``extra`` appended
    as the script's own arguments), obtained by running it with ``SIRI_PRINT_LAUNCH_ARGS=1``."""
    env = {**os.environ, PRINT_ARGS_ENV: "1"}
    result = subprocess.run(["bash", str(script), *extra], env=env, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise RecipeLaunchError(f"{script} failed before launching (exit {result.returncode}):\n"
                                f"{result.stderr.decode(errors='replace')}")
    output = result.stdout.decode()
    if "\0" not in output:
        raise RecipeLaunchError(f"{script} printed no launch arguments; a recipe must end with "
                                "`siri_launch <args> \"$@\"` from recipes/_launch.sh")
    return [arg for arg in output.split("\0") if arg]


def split_launch_args(args: Sequence[str]) -> tuple[Path | None, str | None, list[str]]:
    """(config dir, config name, overrides) from a ``siri_verl.main`` argument list; hydra's own
    flags such as ``--cfg job`` are dropped."""
    config_path = config_name = None
    overrides: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in ("--config-path", "-cp"):
            config_path = Path(next(it))
        elif arg in ("--config-name", "-cn"):
            config_name = next(it)
        elif arg.startswith("--config-path="):
            config_path = Path(arg.split("=", 1)[1])
        elif arg.startswith("--config-name="):
            config_name = arg.split("=", 1)[1]
        elif arg in ("--cfg", "-c", "--package", "-p"):
            next(it, None)
        elif arg.startswith("-"):
            continue
        else:
            overrides.append(arg)
    return config_path, config_name, overrides


def compose_launch(args: Sequence[str]):
    """Compose the config ``python -m siri_verl.main <args>`` would run, without Ray or verl imports."""
    config_path, config_name, overrides = split_launch_args(args)
    if config_name is None:
        config_path, config_name = Path(str(resources.files("siri_verl") / "config")), "siri_trainer"
    return compose_recipe(Path(config_path or ".") / f"{config_name}.yaml", overrides)


def compose_target(target: str, overrides: Sequence[str] = ()):
    """Compose a recipe ``.sh`` (as it would run, with ``overrides`` as its arguments) or ``.yaml``."""
    if target.endswith(".sh"):
        return compose_launch(recipe_launch_args(target, overrides))
    return compose_launch(["--config-path", str(Path(target).resolve().parent),
                           "--config-name", Path(target).stem, *overrides])


def compose_for_command(target: str, overrides: Sequence[str] = ()):
    """:func:`compose_target` for the ``siri-verl`` commands: every failure is a :class:`RecipeCompositionError`
    whose message is one line (:func:`composition_error_message`), never hydra's stack."""
    try:
        return compose_target(target, overrides)
    except RecipeCompositionError:
        raise
    except Exception as error:  # hydra/omegaconf composition errors, a missing recipe file
        raise RecipeCompositionError(composition_error_message(error, target)) from None


def composition_error_message(error: Exception, recipe: str) -> str:
    """One line for a config that does not compose: the override hydra refused and the closest existing keys."""
    import difflib

    from omegaconf import OmegaConf

    text = " ".join(str(error).split())
    match = re.search(r"Could not override '([^']+)'", text)
    if match is None:
        return f"{recipe}: the config does not compose: {type(error).__name__}: {text}"
    key = match.group(1)
    try:
        known = _flat_keys(OmegaConf.to_container(compose_target(recipe), resolve=False))
    except Exception:  # the recipe alone does not compose either: say what hydra said
        known = []
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.8)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; prefix it with + to add a new key"
    return f"{key}: not a key of {recipe}'s config{hint}"


def _flat_keys(tree, prefix: str = "") -> list[str]:
    if not isinstance(tree, dict):
        return [prefix] if prefix else []
    keys = [prefix] if prefix else []
    for name, value in tree.items():
        keys += _flat_keys(value, f"{prefix}.{name}" if prefix else str(name))
    return keys
