#!/usr/bin/env bash
# SIRI-1.5B on verl's Megatron engine (model_engine=megatron) instead of FSDP: same schedule and
# hyperparameters as recipes/siri_1.5b.sh. TP=1 / PP=1 fits a 1.5B model on one 80 GB GPU; raise
# actor_rollout_ref.actor.megatron.tensor_model_parallel_size for 7B.
#
#   bash recipes/siri_1.5b_megatron.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/siri_1.5b_megatron.sh)
#
# Install the Megatron stack first: bash recipes/install_gpu.sh --megatron --python python3.12 (docs/gpu.md).
#
# Activation recompute: verl's `enable_gradient_checkpointing` is read only by the FSDP engine, and verl 0.9.1's
# Megatron default is `override_transformer_config.recompute_granularity: null` (no recompute), which at
# 34,816 tokens per micro-batch would not fit 80 GB [estimate]. Full recompute of every layer
# (granularity=full, method=uniform, num_layers=1) is the Megatron equivalent of FSDP's per-layer gradient
# checkpointing; the ref model inherits these keys (verl's ref/megatron_ref.yaml reads the actor's).
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
EXPERIMENT="${EXPERIMENT:-siri_1.5b_megatron}" \
  exec bash "$RECIPES_DIR/siri_1.5b.sh" \
  model_engine=megatron \
  actor_rollout_ref.actor.megatron.tensor_model_parallel_size=1 \
  actor_rollout_ref.actor.megatron.pipeline_model_parallel_size=1 \
  actor_rollout_ref.actor.megatron.override_transformer_config.recompute_granularity=full \
  actor_rollout_ref.actor.megatron.override_transformer_config.recompute_method=uniform \
  actor_rollout_ref.actor.megatron.override_transformer_config.recompute_num_layers=1 \
  "$@"
