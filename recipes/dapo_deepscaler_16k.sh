#!/usr/bin/env bash
# Baseline DAPO-DeepScaleR-16K (the paper's own baseline, §5): DeepScaleR's 8K-then-16K curriculum in one run,
# 8192 through step 320, 16384 from step 321 (a piecewise schedule), DAPO clip-higher, no KL, 1920 steps
# ("similar training time" as SIRI). Everything else as recipes/siri_1.5b.sh. No phase checkpoints
# (not periodic); trainer.save_freq checkpoints only.
#
#   bash recipes/dapo_deepscaler_16k.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/dapo_deepscaler_16k.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
EXPERIMENT="${EXPERIMENT:-dapo_deepscaler_16k}" \
  exec bash "$RECIPES_DIR/siri_1.5b.sh" \
  algorithm.siri.schedule.kind=piecewise \
  "algorithm.siri.schedule.knots=[[1,8192],[321,16384]]" \
  algorithm.siri.schedule.interpolation=hold \
  algorithm.siri.schedule.num_cycles=null \
  algorithm.siri.schedule.total_steps=1920 \
  "$@"
