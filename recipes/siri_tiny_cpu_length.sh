#!/usr/bin/env bash
# SIRI's length compression on a laptop: the tiny length task (siri_verl.cpu.length_task: every answer can be
# written concisely, 14-24 tokens, or verbosely, 32-43 tokens) trained twice from the same warmed-up model -- SIRI's
# cosine cap 24<->48 (period 6, 3 cycles, 18 steps) and a constant 48-token cap -- then a plot and a table of mean
# response length, truncation rate and accuracy at the max cap per step for both (docs/cpu.md). About 10 minutes
# on 2 cores. Each run is recipes/siri_tiny_cpu.sh with TINY_TASK=length and the overrides below.
#
#   recipes/siri_tiny_cpu_length.sh [hydra overrides for both runs...]
#
# Environment:
#   OUT     output folder (default outputs/siri_tiny_cpu_length). It receives
#             assets/               the length task's tokenizer, warmed-up model, parquet, assets.json (reused)
#             cosine/, constant/    one recipes/siri_tiny_cpu.sh output folder per run (metrics.jsonl,
#                                   rollout_requests.jsonl, recipe.log, assets -> ../assets)
#             length_compression.{png,csv,md}   the plot and the per-step table (python -m siri_verl.cpu.length_report)
#   RUNS    which runs to (re)do, default "cosine constant"; the report uses whatever runs exist in $OUT
#   PYTHON  interpreter (default: .venv/bin/python of this repository if present, else python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${OUT:-outputs/siri_tiny_cpu_length}" && cd "${OUT:-outputs/siri_tiny_cpu_length}" && pwd)"
RUNS="${RUNS:-cosine constant}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON TINY_TASK=length

STEPS=18
# The experiment; SIRI's run uses these, the constant run adds its own schedule on top.
COMMON=(
  algorithm.siri.schedule.kind=cosine
  algorithm.siri.schedule.min_length=24      # every concise answer fits, every verbose one is cut
  algorithm.siri.schedule.max_length=48      # every answer fits (also data.max_response_length)
  algorithm.siri.schedule.period=6           # caps 42, 30, 24 (compression) | 30, 42, 48 (expansion)
  algorithm.siri.schedule.num_cycles=3
  trainer.total_training_steps=$STEPS
  algorithm.siri.phase_checkpoints.enable=false   # lengths only; saving costs seconds per phase step
  actor_rollout_ref.actor.optim.lr=5e-4      # lets the style choice move within a 3-step compression phase
  trainer.val_before_train=true
  trainer.test_freq=2                        # greedy validation at the max cap (48) at step 0 and every 2 steps
  trainer.project_name=siri_tiny_cpu_length
)
CONSTANT=(
  algorithm.siri.schedule.kind=constant
  algorithm.siri.schedule.num_cycles=null
  algorithm.siri.schedule.total_steps=$STEPS
)

"$PYTHON" -m siri_verl.cpu.length_task --out "$OUT/assets"
for run in $RUNS; do
  case "$run" in
    cosine) overrides=("${COMMON[@]}" trainer.experiment_name=cosine_24_48) ;;
    constant) overrides=("${COMMON[@]}" "${CONSTANT[@]}" trainer.experiment_name=constant_48) ;;
    *) echo "[siri_tiny_cpu_length] error: RUNS may list cosine and constant, not '$run'" >&2; exit 2 ;;
  esac
  mkdir -p "$OUT/$run"
  [[ -e "$OUT/$run/assets" ]] || ln -s ../assets "$OUT/$run/assets"
  echo "[siri_tiny_cpu_length] run $run -> $OUT/$run (log: $OUT/$run/recipe.log)"
  OUT="$OUT/$run" bash "$REPO/recipes/siri_tiny_cpu.sh" "${overrides[@]}" "$@" > "$OUT/$run/recipe.log" 2>&1 || {
    status=$?; tail -n 30 "$OUT/$run/recipe.log" >&2
    echo "[siri_tiny_cpu_length] run $run failed (exit $status; log: $OUT/$run/recipe.log)" >&2; exit "$status"; }
done

"$PYTHON" -m siri_verl.cpu.length_report "$OUT"
