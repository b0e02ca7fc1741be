#!/usr/bin/env bash
# The tiny SIRI loop on CPU (2 cores, < 10 minutes): verl's real trainer, a locally built ~100 K-parameter Qwen2,
# the transformers rollout of siri_verl.cpu. For tests, CI and newcomers; not a result. See docs/cpu.md.
#
#   recipes/siri_tiny_cpu.sh [hydra overrides...]
#
# Environment:
#   OUT     output folder (default outputs/siri_tiny_cpu). It receives
#             assets/               tokenizer + warmed-up model, train/val parquet (reused if present)
#             metrics.jsonl         one JSON line per step: {"step": t, "data": {metric: value}} (verl file logger)
#             rollout_requests.jsonl  one line per rollout request, written by the rollout server: weights
#                                   version, max_tokens (the cap), response tokens, finish reason, generation
#                                   seconds, token ids (python -m siri_verl.cpu.report sums it per step)
#             checkpoints/          trainer checkpoints
#   ENTRY   trainer module (default siri_verl.main: SIRI; verl.trainer.main_ppo runs plain GRPO at the max cap)
#   PYTHON  interpreter (default: .venv/bin/python of this repository if present, else python)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${OUT:-outputs/siri_tiny_cpu}" && cd "${OUT:-outputs/siri_tiny_cpu}" && pwd)"
ENTRY="${ENTRY:-siri_verl.main}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python; fi
fi

"$PYTHON" -m siri_verl.cpu.tiny --out "$OUT/assets"

export VERL_FILE_LOGGER_PATH="$OUT/metrics.jsonl"
export SIRI_HF_ROLLOUT_LOG="$OUT/rollout_requests.jsonl"
rm -f "$SIRI_HF_ROLLOUT_LOG"

# The CPU preset (env vars + overrides) is applied by siri_verl.cpu.launch; everything below is this experiment.
"$PYTHON" -m siri_verl.cpu.launch --entry "$ENTRY" -- \
  --config-path "$REPO/recipes" --config-name siri_tiny_cpu \
  data.train_files="$OUT/assets/train.parquet" \
  data.val_files="$OUT/assets/val.parquet" \
  actor_rollout_ref.model.path="$OUT/assets/model" \
  trainer.default_local_dir="$OUT/checkpoints" \
  "$@"

echo "[siri_tiny_cpu] per-step metrics: $VERL_FILE_LOGGER_PATH"
"$PYTHON" -m siri_verl.cpu.report "$VERL_FILE_LOGGER_PATH" --requests "$SIRI_HF_ROLLOUT_LOG"
