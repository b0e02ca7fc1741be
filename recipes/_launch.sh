# Sourced by every GPU recipe in this folder. Defines the environment-overridable paths and
# `siri_launch <args>`, which runs `python -m siri_verl.main <args>`.
#
# With SIRI_PRINT_LAUNCH_ARGS=1, `siri_launch` prints its argument list (NUL-separated) instead of
# training; `siri-verl check recipes/<name>.sh [overrides...]` uses this to compose exactly the config the
# recipe would run. Keep recipes free of side effects before `siri_launch`.
#
# Environment (defaults in brackets):
#   MODEL_PATH      model folder or Hugging Face id      [deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B]
#   DATA_DIR        prepared parquet files (python data_prep/prepare.py all --input-dir DIR --output-dir "$DATA_DIR")  [$HOME/data/siri]
#   CKPT_DIR        checkpoint root; each recipe writes into "$CKPT_DIR/<experiment>"          [$HOME/ckpt/siri]
#   NNODES          nodes in the Ray cluster                                                    [1]
#   GPUS_PER_NODE   GPUs per node                                                               [8]
#   PYTHON          interpreter             [.venv/bin/python of this repository if it exists, else python3]
#
# When this repository has a .venv, its bin folder is also put first on PATH, so `siri-verl` and `hf` in the
# recipes resolve to the project's venv in a shell that never activated it.

RECIPES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SIRI_VENV_BIN="$(dirname "$RECIPES_DIR")/.venv/bin"
if [[ -x "$SIRI_VENV_BIN/python" ]]; then
  PYTHON="${PYTHON:-$SIRI_VENV_BIN/python}"
  case ":$PATH:" in *":$SIRI_VENV_BIN:"*) ;; *) PATH="$SIRI_VENV_BIN:$PATH"; export PATH ;; esac
fi
DATA_DIR="${DATA_DIR:-$HOME/data/siri}"
CKPT_DIR="${CKPT_DIR:-$HOME/ckpt/siri}"
NNODES="${NNODES:-1}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"

siri_launch() {
  if [[ -n "${SIRI_PRINT_LAUNCH_ARGS:-}" ]]; then
    printf '%s\0' "$@"
    return 0
  fi
  exec "${PYTHON:-python3}" -m siri_verl.main "$@"
}
