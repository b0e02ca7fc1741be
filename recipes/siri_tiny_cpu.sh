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
#           The two logs are written as *.partial while the trainer runs and renamed when it succeeds; a failed
#           run leaves *.failed.jsonl instead and never deletes the previous run's logs.
#   ENTRY   trainer module (default siri_verl.main: SIRI; verl.trainer.main_ppo runs plain GRPO at the max cap)
#   TINY_FAMILY  tokenizer family of the tiny model: r1 (default; DeepSeek-R1-Distill-Qwen's tokens and chat
#           template, the paper's model) or chatml (Qwen-Instruct-like). An existing $OUT/assets of another family
#           is refused (python -m siri_verl.cpu.tiny --force rebuilds).
#   TINY_TASK  sums (default; siri_verl.cpu.tiny: sums answered in ~20 tokens) or length (siri_verl.cpu.length_task:
#           each answer written concisely or verbosely; recipes/siri_tiny_cpu_length.sh sets it and its caps)
#   PYTHON  interpreter (default: .venv/bin/python of this repository if present, else python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${OUT:-outputs/siri_tiny_cpu}" && cd "${OUT:-outputs/siri_tiny_cpu}" && pwd)"
ENTRY="${ENTRY:-siri_verl.main}"
TINY_FAMILY="${TINY_FAMILY:-r1}"
case "${TINY_TASK:-sums}" in
  sums) TINY_ASSETS_MODULE=siri_verl.cpu.tiny ;;
  length) TINY_ASSETS_MODULE=siri_verl.cpu.length_task ;;
  *) echo "[siri_tiny_cpu] error: TINY_TASK=${TINY_TASK} is not one of: sums, length" >&2; exit 2 ;;
esac
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi

"$PYTHON" -m "$TINY_ASSETS_MODULE" --out "$OUT/assets" --family "$TINY_FAMILY"

# This run writes its logs as *.jsonl.partial and renames them when the trainer exits: on success to
# metrics.jsonl / rollout_requests.jsonl, on failure (a refused preflight included) to *.failed.jsonl. A failed
# run never deletes or mixes into the previous run's metrics.jsonl / rollout_requests.jsonl.
METRICS="$OUT/metrics.jsonl"
REQUESTS="$OUT/rollout_requests.jsonl"
export VERL_FILE_LOGGER_PATH="$METRICS.partial"
export SIRI_HF_ROLLOUT_LOG="$REQUESTS.partial"
rm -f "$VERL_FILE_LOGGER_PATH" "$SIRI_HF_ROLLOUT_LOG"   # leftovers of a killed run, never a finished one

# The CPU preset (env vars + overrides) is applied by siri_verl.cpu.launch; everything below is this experiment.
status=0
"$PYTHON" -m siri_verl.cpu.launch --entry "$ENTRY" -- \
  --config-path "$REPO/recipes" --config-name siri_tiny_cpu \
  data.train_files="$OUT/assets/train.parquet" \
  data.val_files="$OUT/assets/val.parquet" \
  actor_rollout_ref.model.path="$OUT/assets/model" \
  trainer.default_local_dir="$OUT/checkpoints" \
  "$@" || status=$?

if [[ $status -ne 0 ]]; then
  for log in "$METRICS" "$REQUESTS"; do
    if [[ -s "$log.partial" ]]; then mv -f "$log.partial" "${log%.jsonl}.failed.jsonl"; else rm -f "$log.partial"; fi
  done
  echo "[siri_tiny_cpu] the trainer failed (exit $status); earlier results in $OUT are untouched" >&2
  exit "$status"
fi
for log in "$METRICS" "$REQUESTS"; do
  if [[ -e "$log.partial" ]]; then mv -f "$log.partial" "$log"; else : > "$log"; fi
done

echo "[siri_tiny_cpu] per-step metrics: $METRICS"
"$PYTHON" -m siri_verl.cpu.report "$METRICS" --requests "$REQUESTS"
