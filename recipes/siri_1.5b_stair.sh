#!/usr/bin/env bash
# SIRI-1.5B with the stair scheduler (the paper's §5.3 ablation): a square wave, the first half of each
# 640-step cycle at 8192, the second half at 16384. Everything else as recipes/siri_1.5b.sh.
#
#   bash recipes/siri_1.5b_stair.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/siri_1.5b_stair.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
EXPERIMENT="${EXPERIMENT:-siri_1.5b_stair}" \
  exec bash "$RECIPES_DIR/siri_1.5b.sh" algorithm.siri.schedule.kind=stair "$@"
