#!/usr/bin/env bash
# SIRI-1.5B with the stair-cosine scheduler (paper §4.3, §5.3 ablation): hold 16384 for 1/8 of the cycle,
# cosine descent, hold 8192 for 1/4, cosine ascent, hold 16384. Everything else as recipes/siri_1.5b.sh.
#
#   bash recipes/siri_1.5b_stair_cosine.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/siri_1.5b_stair_cosine.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
EXPERIMENT="${EXPERIMENT:-siri_1.5b_stair_cosine}" \
  exec bash "$RECIPES_DIR/siri_1.5b.sh" algorithm.siri.schedule.kind=stair_cosine "$@"
