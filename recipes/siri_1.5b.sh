#!/usr/bin/env bash
# SIRI-1.5B, the paper's main run: DeepSeek-R1-Distill-Qwen-1.5B on DeepScaleR-40K, cosine 16384<->8192,
# T=640, 3 cycles (1920 steps), 8 GPUs, vLLM + FSDP. Every value and its source: recipes/siri_1.5b.yaml.
# SIRI-low = $CKPT_DIR/siri_1.5b_cosine/siri_phase_checkpoints/siri_low_iter3 (step 1600),
# SIRI-high = .../siri_high_iter3 (step 1920).
#
#   bash recipes/siri_1.5b.sh [hydra overrides...]      # train
#   bash recipes/siri_1.5b.sh --cfg job                 # print the composed config, start nothing
#   siri-verl check recipes/siri_1.5b.sh                # preflight the exact config
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
MODEL_PATH="${MODEL_PATH:-deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B}"
EXPERIMENT="${EXPERIMENT:-siri_1.5b_cosine}"

siri_launch --config-path "$RECIPES_DIR" --config-name siri_1.5b \
  actor_rollout_ref.model.path="$MODEL_PATH" \
  data.train_files="$DATA_DIR/deepscaler.parquet" \
  "data.val_files=[$DATA_DIR/aime24.parquet,$DATA_DIR/aime25.parquet,$DATA_DIR/amc23.parquet,$DATA_DIR/math500.parquet]" \
  trainer.nnodes="$NNODES" \
  trainer.n_gpus_per_node="$GPUS_PER_NODE" \
  trainer.experiment_name="$EXPERIMENT" \
  trainer.default_local_dir="$CKPT_DIR/$EXPERIMENT" \
  "$@"
