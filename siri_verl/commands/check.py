"""``siri-verl check <recipe.sh | recipe.yaml> [hydra overrides...]``: compose what the recipe would run
(``siri_verl.recipe_config``) and report every preflight problem (``siri_verl.preflight``) without starting Ray.

Exit 0 when the config passes, 1 when a check fails, 2 when the recipe and overrides do not compose (one line
naming the override, e.g. a misspelt key and the closest existing one).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="a recipe .sh (composed exactly as it would launch) or a recipe .yaml")
    parser.add_argument("overrides", nargs="*",
                        help="hydra overrides appended to the recipe's own, e.g. algorithm.siri.truncation=mask")
    parser.add_argument("--no-data", action="store_true", help="skip the data file checks")
    parser.add_argument("--no-model", action="store_true", help="skip the model config / tokenizer checks")
    parser.add_argument("--print-config", action="store_true", help="also print the composed config (YAML)")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from siri_verl.preflight import check_config
    from siri_verl.recipe_config import RecipeCompositionError, compose_for_command

    try:
        config = compose_for_command(args.recipe, args.overrides)
    except RecipeCompositionError as error:
        print(f"siri-verl check: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(OmegaConf.to_yaml(config))
    report = check_config(config, check_data=not args.no_data, check_model=not args.no_model)
    print(report.format())
    return 0 if report.ok else 1
