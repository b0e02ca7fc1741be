#!/usr/bin/env bash
# SIRI-7B: DeepSeek-R1-Distill-Qwen-7B, 2 nodes x 8 GPUs through a Ray cluster (the paper used 16 x H100).
# Same schedule as 1.5B (cosine 16384<->8192, T=640, 3 cycles: the paper does not state 7B's separately [inferred]).
# Start the cluster first (docs/gpu.md): node 0 `ray start --head --port=6379`, node 1
# `ray start --address=<node0>:6379`, then run this script on node 0 (verl's ray.init() joins the cluster).
# CKPT_DIR must be on a filesystem both nodes share.
#
#   bash recipes/siri_7b.sh [hydra overrides...]     (--cfg job prints the composed config; siri-verl check recipes/siri_7b.sh)
#
# Status: composed and preflighted on CPU; not yet run on GPUs (docs/recipes.md).
set -euo pipefail
NNODES="${NNODES:-2}"
MODEL_PATH="${MODEL_PATH:-deepseek-ai/DeepSeek-R1-Distill-Qwen-7B}"
EXPERIMENT="${EXPERIMENT:-siri_7b_cosine}"
export NNODES MODEL_PATH EXPERIMENT
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
# 7B [choice; estimates until measured, arithmetic in docs/gpu.md §4]:
# * rollout TP=2: 8 replicas x 128 sequences; KV 28,672 B/token per GPU (half of 7B's 4 KV heads); at
#   gpu_memory_utilization=0.8 about 2.0M tokens per replica vs 128 x 17,408 = 2.23M in the worst case (0.6: 1.4M).
# * ppo_max_token_len_per_gpu=17408: one full-length sequence per training micro-batch; at 34816 the logits
#   (34,816 x 152,064 bf16 = 10.6 GB, same again for their gradient) plus checkpointed activations would leave
#   little of 80 GB beside 7.6 GB of FSDP state per GPU. Forward-only log-probs keep 34816.
exec bash "$RECIPES_DIR/siri_1.5b.sh" \
  actor_rollout_ref.rollout.tensor_model_parallel_size=2 \
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=17408 \
  actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=34816 \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.8 \
  "$@"
