#!/usr/bin/env bash
# GPU smoke test, a few minutes on one node: the real SIRI loop (vLLM, FSDP, per-request caps, truncation,
# phase checkpoints) on DeepSeek-R1-Distill-Qwen-1.5B with short caps, 8 steps: cosine 2048<->1024, T=4, 2 cycles.
# Run it before committing to 1920 steps and check docs/gpu.md "What to expect": siri/cap follows
# 1536, 1024, 1536, 2048, ..., siri/response_length/max_over_cap <= 1, phase checkpoints siri_low_iter1 (step 2)
# ... siri_high_iter2 (step 8) under $CKPT_DIR/siri_smoke_gpu/siri_phase_checkpoints.
#
#   bash recipes/siri_smoke_gpu.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/siri_smoke_gpu.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
GPUS_PER_NODE="${GPUS_PER_NODE:-1}"
EXPERIMENT="${EXPERIMENT:-siri_smoke_gpu}"
export GPUS_PER_NODE EXPERIMENT
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
exec bash "$RECIPES_DIR/siri_1.5b.sh" \
  algorithm.siri.schedule.min_length=1024 \
  algorithm.siri.schedule.max_length=2048 \
  algorithm.siri.schedule.period=4 \
  algorithm.siri.schedule.num_cycles=2 \
  trainer.total_training_steps=8 \
  trainer.total_epochs=1 \
  data.train_batch_size=16 \
  data.train_max_samples=256 \
  data.val_max_samples=8 \
  actor_rollout_ref.actor.ppo_mini_batch_size=8 \
  actor_rollout_ref.rollout.n=4 \
  actor_rollout_ref.rollout.max_model_len=3072 \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.5 \
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=6144 \
  actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=6144 \
  actor_rollout_ref.rollout.val_kwargs.n=1 \
  algorithm.siri.validation_n=null \
  trainer.test_freq=-1 \
  trainer.save_freq=-1 \
  trainer.val_before_train=false \
  "trainer.logger=[console]" \
  "$@"
