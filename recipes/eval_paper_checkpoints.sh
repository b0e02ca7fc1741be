#!/usr/bin/env bash
# Calibration (GPU): evaluate the base DeepSeek-R1-Distill-Qwen-1.5B and the released THU-KEG SIRI-1.5B-low/-high
# under the paper's Table 1 protocol (avg@64, temperature 0.6, top_p 0.95, 16384 new tokens) and report them
# beside the paper's rows. Matching 28.2 / 12333, 40.4 / 7093 and 43.6 / 10049 (AIME24 acc / tokens) within the
# error bars is the cheapest proof that this harness measures what the paper measured. See docs/eval.md.
#
#   bash recipes/eval_paper_checkpoints.sh            # all three models, 4 benchmarks, then the report
#   MODELS="SIRI-low" bash recipes/eval_paper_checkpoints.sh --limit-problems 5 --num-samples 4   # smoke run
#
# Extra arguments go to every `siri-verl eval` call. Rerunning resumes unfinished evaluations.
#
# Environment (defaults in brackets):
#   DATA_DIR        prepared parquets (python data_prep/prepare.py all --input-dir ... --output-dir "$DATA_DIR") [$HOME/data/siri]
#   MODELS_DIR      local model folders; missing ones are downloaded with `hf download`      [$HOME/models]
#   RESULTS_DIR     eval outputs, table and plot                                               [$HOME/results/siri_eval]
#   MODELS          which of Original SIRI-low SIRI-high to evaluate                           [all three]
#   TP              vLLM tensor-parallel size (data parallel over the remaining GPUs)          [1]
#
# Status: written for 8xA100/H100 with vLLM; not yet run on GPUs (the CPU tests run the same harness with the
# transformers engine).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"   # DATA_DIR default shared with the training recipes
MODELS_DIR="${MODELS_DIR:-$HOME/models}"
RESULTS_DIR="${RESULTS_DIR:-$HOME/results/siri_eval}"
MODELS="${MODELS:-Original SIRI-low SIRI-high}"
TP="${TP:-1}"

declare -A HUB_ID=(
  [Original]=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B
  [SIRI-low]=THU-KEG/SIRI-1.5B-low
  [SIRI-high]=THU-KEG/SIRI-1.5B-high
)

for bench in aime24 aime25 amc23 math500; do
  if [[ ! -f "$DATA_DIR/$bench.parquet" ]]; then
    echo "missing $DATA_DIR/$bench.parquet: run python data_prep/prepare.py all --input-dir <shared/data> --output-dir $DATA_DIR" >&2
    exit 2
  fi
done

for name in $MODELS; do
  hub_id="${HUB_ID[$name]:?unknown model name $name (choose from ${!HUB_ID[*]})}"
  model_dir="$MODELS_DIR/${hub_id##*/}"
  if [[ ! -f "$model_dir/config.json" ]]; then
    hf download "$hub_id" --local-dir "$model_dir"
  fi
  siri-verl eval --model "$model_dir" --name "$name" --output-dir "$RESULTS_DIR/$name" \
    --benchmark "aime24=$DATA_DIR/aime24.parquet" --benchmark "aime25=$DATA_DIR/aime25.parquet" \
    --benchmark "amc=$DATA_DIR/amc23.parquet" --benchmark "math500=$DATA_DIR/math500.parquet" \
    --engine vllm --tensor-parallel-size "$TP" "$@"
done

siri-verl report "$RESULTS_DIR" --base Original --paper-model 1.5B --output "$RESULTS_DIR/table1.md" \
  --pareto "$RESULTS_DIR/pareto_aime24"
siri-verl report "$RESULTS_DIR" --base Original --paper-model 1.5B --format csv --output "$RESULTS_DIR/table1.csv"
cat "$RESULTS_DIR/table1.md"
