#!/usr/bin/env bash
# Baseline: constant 16384-token cap for 1920 steps (plain GRPO + DAPO clip-higher, no KL, no length schedule).
# Everything else as recipes/siri_1.5b.sh.
#
#   bash recipes/constant_16k.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/constant_16k.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
EXPERIMENT="${EXPERIMENT:-constant_16k}" \
  exec bash "$RECIPES_DIR/siri_1.5b.sh" \
  algorithm.siri.schedule.kind=constant \
  algorithm.siri.schedule.num_cycles=null \
  algorithm.siri.schedule.total_steps=1920 \
  "$@"
