#!/usr/bin/env bash
# Install the GPU training stack for siri_verl into a virtual environment, in the order that works.
#
#   bash recipes/install_gpu.sh [options] [VENV_DIR]          (VENV_DIR defaults to ./.venv; created if missing)
#
# Options:
#   --dry-run               resolve every pin of the GPU stack together with pip's resolver in a throwaway venv;
#                           install and build nothing, skip the GPU checks; exit 1 on a conflict. Runs on a CPU machine.
#   --megatron              also the Megatron stack (requirements-megatron*.txt; needs Python 3.12, see docs/gpu.md)
#   --flash-attn-wheel W    install flash-attn from this prebuilt wheel (file or URL) instead of building it;
#                           its name must match torch 2.11, CUDA 13, this Python and the C++11 ABI (checked)
#   --constraint FILE       extra pip constraints for every step (repeatable; also SIRI_INSTALL_CONSTRAINTS="f1 f2")
#   --python PY             interpreter for a new venv and for --dry-run [$PYTHON or python3]
#
# Order, and why (the flash-attn trap: verl[fsdp] pins flash-attn==2.8.3, which PyPI ships only as a source
# archive whose setup.py imports torch, so `pip install -r requirements.txt` in a fresh venv stops there):
#   0. checks: Python version; nvidia-smi present and driver >= R580 (PyPI's torch 2.11.0 is a CUDA 13.0
#      build); for a flash-attn source build, nvcc from a CUDA 13 toolkit. Nothing is installed if one fails.
#   1. torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0 (verl 0.9.1's vllm/fsdp extras pin these)
#   2. flash-attn==2.8.3: the wheel given with --flash-attn-wheel, else `--no-build-isolation` (its setup.py first
#      tries the project's prebuilt wheel for this torch/CUDA/Python and builds from source when there is none)
#   3. the rest: -r requirements.txt (flash-attn and torch are then already satisfied, so nothing is built in isolation)
#   4. siri_verl itself (editable)          5. a check: versions + `siri_grpo` and `siri_single_turn` registered
# Re-running is safe: an existing venv is reused, satisfied pins are left alone, a working flash-attn is kept.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- pins that must agree with verl 0.9.1's extras (the dry-run fails if they drift) -------------------------
TORCH_PINS=(torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0)
FLASH_ATTN_PIN="flash-attn==2.8.3"
TE_TORCH_PIN_FILE="$REPO/requirements-megatron.txt"     # transformer-engine-torch: a torch-built sdist too
TORCH_CUDA_MAJOR=13          # torch 2.11.0 on PyPI depends on cuda-toolkit==13.0.2 / nvidia-*-cu13
MIN_DRIVER_MAJOR=580         # CUDA 13.0 needs driver >= 580.65.06 on Linux x86_64 (CUDA 13.0 release notes)
PY_MIN=3.10; PY_MAX_EXCL=3.13   # verl 0.9.1: Requires-Python >=3.10,<3.13
MEGATRON_PY=3.12                # megatron-bridge >= 0.4 and megatron-core >= 0.17: Requires-Python >=3.12 (<3.13)
PIP_FOR_DRY_RUN="pip>=25.3"     # 25.3: --dry-run no longer downloads whole wheels when metadata is available

DRY_RUN=0; MEGATRON=0; FA_WHEEL=""; VENV=""; CONSTRAINTS=()
PY="${PYTHON:-python3}"
for f in ${SIRI_INSTALL_CONSTRAINTS:-}; do CONSTRAINTS+=("$f"); done
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --megatron) MEGATRON=1 ;;
    --flash-attn-wheel) FA_WHEEL="${2:?--flash-attn-wheel needs a file or URL}"; shift ;;
    --constraint) CONSTRAINTS+=("${2:?--constraint needs a file}"); shift ;;
    --python) PY="${2:?--python needs an interpreter}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install_gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [[ -z "$VENV" ]] || { echo "install_gpu.sh: only one VENV_DIR, got '$VENV' and '$1'" >&2; exit 2; }; VENV="$1" ;;
  esac
  shift
done
VENV="${VENV:-$REPO/.venv}"

die() { echo "install_gpu.sh: $*" >&2; exit 1; }
step() { echo; echo "== [install_gpu] $*"; }

C_ARGS=()
for f in "${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"}"; do
  [[ -f "$f" ]] || die "constraint file '$f' not found (from --constraint / SIRI_INSTALL_CONSTRAINTS)"
  C_ARGS+=(-c "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done
REQ_ARGS=(-r "$REPO/requirements.txt")
NODEPS_REQ=""
if [[ $MEGATRON -eq 1 ]]; then
  REQ_ARGS+=(-r "$REPO/requirements-megatron.txt")
  NODEPS_REQ="$REPO/requirements-megatron-nodeps.txt"
fi
# sdists whose build imports torch: resolved from a metadata-only stand-in in --dry-run, built
# with --no-build-isolation (after torch) in a real install.
TORCH_BUILT=("$FLASH_ATTN_PIN")
if [[ $MEGATRON -eq 1 ]]; then
  te_pin="$(grep -E '^transformer-engine-torch==' "$TE_TORCH_PIN_FILE" | sed 's/[[:space:]]*#.*//')" \
    || die "requirements-megatron.txt has no 'transformer-engine-torch==X' line"
  TORCH_BUILT+=("$te_pin")
fi

# ---- 0. checks that need nothing installed ----------------------------------------------------------------------
"$PY" -c 'pass' >/dev/null 2>&1 || die "Python interpreter '$PY' not found or does not run (set --python or PYTHON)"
PY_VER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PY" - "$PY_VER" "$PY_MIN" "$PY_MAX_EXCL" "$MEGATRON" "$MEGATRON_PY" <<'EOF' || exit 1
import sys
ver, lo, hi, megatron, mpy = sys.argv[1:]
t = lambda s: tuple(int(x) for x in s.split("."))
if not (t(lo) <= t(ver) < t(hi)):
    sys.exit(f"install_gpu.sh: Python {ver} is not supported: verl 0.9.1 requires >={lo},<{hi}. "
             f"Pass --python /path/to/python3.12 (or 3.10/3.11).")
if megatron == "1" and ver != mpy:
    sys.exit(f"install_gpu.sh: --megatron needs Python {mpy} (megatron-bridge and megatron-core >= 0.17 require "
             f">=3.12,<3.13; verl 0.9.1 requires <3.13); this is {ver}. Pass --python /path/to/python{mpy}.")
EOF

# A metadata-only wheel for each torch-built sdist: METADATA is the sdist's own PKG-INFO (its Requires-Dist /
# Requires-Python as published), downloaded from the index and checked against the index's sha256.
make_metadata_stubs() {  # $1 = output dir, rest = name==version
  "$PY" - "$@" <<'EOF'
import base64, hashlib, io, json, os, re, sys, tarfile, urllib.parse, urllib.request, zipfile
out, pins = sys.argv[1], sys.argv[2:]
index = (os.environ.get("PIP_INDEX_URL") or os.environ.get("SIRI_PIP_INDEX") or "https://pypi.org/simple").rstrip("/")
for pin in pins:
    name, version = pin.split("==")
    norm = re.sub(r"[-_.]+", "-", name).lower()
    req = urllib.request.Request(f"{index}/{norm}/", headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body, ctype = resp.read().decode(), resp.headers.get("Content-Type", "")
    if "json" in ctype:
        files = json.loads(body)["files"]
    else:  # PEP 503 HTML page (mirrors without the JSON API)
        files = [{"filename": name, "url": urllib.parse.urljoin(f"{index}/{norm}/", href.split("#")[0]),
                  "hashes": dict([href.split("#", 1)[1].split("=", 1)]) if "#" in href else {}}
                 for href, name in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', body)]
    want = {f"{norm.replace('-', '_')}-{version}.tar.gz", f"{norm}-{version}.tar.gz"}
    sdist = [f for f in files if f["filename"].lower() in want]
    if not sdist:
        sys.exit(f"install_gpu.sh: {pin}: no source archive {sorted(want)} on {index}/{norm}/ -- the pin points at "
                 f"a release that does not exist there")
    data = urllib.request.urlopen(sdist[0]["url"], timeout=300).read()
    if sdist[0]["hashes"].get("sha256", hashlib.sha256(data).hexdigest()) != hashlib.sha256(data).hexdigest():
        sys.exit(f"install_gpu.sh: {pin}: sha256 of {sdist[0]['filename']} does not match the index")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = min((m for m in tar.getmembers() if m.name.endswith("/PKG-INFO")), key=lambda m: m.name.count("/"))
        pkg_info = tar.extractfile(member).read().decode()
    header = pkg_info.split("\n\n", 1)[0]
    keep = [l for l in header.splitlines() if l.split(":", 1)[0] in
            ("Name", "Version", "Requires-Python", "Requires-Dist", "Provides-Extra")]
    meta = "Metadata-Version: 2.1\n" + "\n".join(keep) + "\n"
    dist = f"{norm.replace('-', '_')}-{version}"
    files_out = {f"{dist}.dist-info/METADATA": meta,
                 f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: siri_verl install_gpu.sh\n"
                                            "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b'=').decode()},"
                     f"{len(c.encode())}\n" for p, c in files_out.items()) + f"{dist}.dist-info/RECORD,,\n"
    files_out[f"{dist}.dist-info/RECORD"] = record
    with zipfile.ZipFile(os.path.join(out, f"{dist}-py3-none-any.whl"), "w") as z:
        for p, c in files_out.items():
            z.writestr(p, c)
    deps = [l.split(":", 1)[1].strip() for l in keep if l.startswith("Requires-Dist")]
    print(f"   {pin}: metadata stand-in from {sdist[0]['filename']} (Requires-Dist: {', '.join(deps) or 'none'})")
EOF
}

# ---- --dry-run ----------------------------------------------------------------------------------------------------
if [[ $DRY_RUN -eq 1 ]]; then
  T0=$(date +%s)
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/siri_install_dry.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  step "dry-run: throwaway venv with $("$PY" --version) in $WORK (nothing is installed in $VENV)"
  "$PY" -m venv "$WORK/venv"
  "$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$PIP_FOR_DRY_RUN"
  mkdir -p "$WORK/stubs"
  step "dry-run: torch-built sdists, resolved from their published metadata without building (needs torch to build)"
  SIRI_PIP_INDEX="$("$WORK/venv/bin/python" -m pip config get global.index-url 2>/dev/null || true)" \
    make_metadata_stubs "$WORK/stubs" "${TORCH_BUILT[@]}"
  ONLY_BIN="$(printf '%s\n' "${TORCH_BUILT[@]}" | sed 's/==.*//' | paste -sd, -)"
  shown=("${TORCH_PINS[@]}" "${TORCH_BUILT[@]}"); for a in "${REQ_ARGS[@]}" "${C_ARGS[@]+"${C_ARGS[@]}"}"; do
    case "$a" in -r|-c) ;; *) shown+=("$(basename "$a")") ;; esac; done
  step "dry-run: resolving ${shown[*]}"
  # fast-deps: where the index serves no PEP 658 metadata, read each wheel's METADATA with HTTP range requests
  # instead of downloading whole wheels (torch + CUDA libraries alone are ~3.6 GB).
  set +e
  ( cd "$REPO" && "$WORK/venv/bin/python" -m pip install --dry-run --ignore-installed --disable-pip-version-check \
      --use-feature=fast-deps --progress-bar off --no-cache-dir --report "$WORK/report.json" \
      --find-links "$WORK/stubs" --only-binary "$ONLY_BIN" \
      "${TORCH_PINS[@]}" "${TORCH_BUILT[@]}" "${REQ_ARGS[@]}" "${C_ARGS[@]+"${C_ARGS[@]}"}" ) 2>&1 | tee "$WORK/pip.log" \
    | grep -v -E "^(Collecting|Processing|  Obtaining|  Downloading .*\.metadata|WARNING: Location .* is ignored)"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -ne 0 ]]; then
    echo >&2
    echo "install_gpu.sh --dry-run: FAILED (pip exit $rc): the GPU stack's pins do not resolve together." >&2
    echo "  pip's resolver output above names the conflicting requirements; fix the pin in requirements*.txt" >&2
    echo "  or recipes/install_gpu.sh (TORCH_PINS / FLASH_ATTN_PIN) before a user meets it." >&2
    exit 1
  fi
  if [[ -n "$NODEPS_REQ" ]]; then
    step "dry-run: $(basename "$NODEPS_REQ") (installed with --no-deps; see the file for why)"
    ( cd "$REPO" && "$WORK/venv/bin/python" -m pip install --dry-run --ignore-installed --no-deps --disable-pip-version-check \
        --use-feature=fast-deps --progress-bar off --no-cache-dir -r "$NODEPS_REQ" 2>&1 | grep -E "^(Would install|ERROR)" ) \
      || die "--dry-run: $(basename "$NODEPS_REQ") does not resolve for Python $PY_VER (output above)"
  fi
  "$WORK/venv/bin/python" - "$WORK/report.json" "$WORK/pip.log" "$(( $(date +%s) - T0 ))" <<'EOF'
import json, re, sys
report, log, secs = json.load(open(sys.argv[1])), open(sys.argv[2]).read(), sys.argv[3]
got = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"] for i in report["install"]}
keys = ["torch", "vllm", "verl", "transformers", "flash-attn", "flashinfer-python", "ray", "megatron-core",
        "transformer-engine", "transformer-engine-torch", "siri-verl"]
print("\n== [install_gpu] dry-run OK: %d packages resolve together in %ss" % (len(got), secs))
print("   " + "  ".join(f"{k} {got[k]}" for k in keys if k in got))
big = [(f, s) for f, s in re.findall(r"Downloading (\S+\.(?:whl|tar\.gz)) \(([\d.]+ [kMG]B)\)", log) if s.endswith(("MB", "GB"))
       and float(s.split()[0]) * (1000 if s.endswith("GB") else 1) > 50]
if big:
    print("   WARNING: whole archives were downloaded to read their metadata: "
          + ", ".join(f"{f} ({s})" for f, s in big) + " -- the index serves neither PEP 658 metadata nor ranges")
EOF
  exit 0
fi

# ---- real install: checks first ----------------------------------------------------------------------------------
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: this installs the CUDA stack and needs an NVIDIA GPU \
host with its driver. (On a CPU machine use requirements-cpu.txt, or check the pins with --dry-run.)"
DRIVER="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 | tr -d ' ')" \
  || die "nvidia-smi failed to report the driver version (is the driver loaded?)"
[[ "${DRIVER%%.*}" =~ ^[0-9]+$ ]] || die "could not parse the driver version from nvidia-smi: '$DRIVER'"
if (( ${DRIVER%%.*} < MIN_DRIVER_MAJOR )); then
  die "NVIDIA driver $DRIVER is too old: verl 0.9.1 pins torch 2.11.0, whose PyPI wheel is a CUDA $TORCH_CUDA_MAJOR.0 \
build and needs driver >= $MIN_DRIVER_MAJOR (R$MIN_DRIVER_MAJOR). Upgrade the driver, or use verl's published \
container image for 0.9.1 (docs/gpu.md, 'Older drivers')."
fi
CC="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
echo "== [install_gpu] driver $DRIVER (>= $MIN_DRIVER_MAJOR), GPU compute capability ${CC:-?}, Python $PY_VER"

VPY="$VENV/bin/python"
fa_ok() {  # flash-attn 2.8.3 installed and its CUDA extension loads against the installed torch
  [[ -x "$VPY" ]] && "$VPY" - "${FLASH_ATTN_PIN#*==}" <<'EOF' >/dev/null 2>&1
import sys, importlib.metadata as m
assert m.version("flash-attn") == sys.argv[1]
import torch, flash_attn_2_cuda  # noqa: F401
EOF
}
need_build() {  # $1 = import check; true when the torch-built package is missing
  [[ -x "$VPY" ]] && "$VPY" -c "$1" >/dev/null 2>&1 && return 1 || return 0
}
NEED_FA_BUILD=0; NEED_TE_BUILD=0
if [[ -z "$FA_WHEEL" ]] && ! fa_ok; then NEED_FA_BUILD=1; fi
if [[ $MEGATRON -eq 1 ]] && need_build "import torch, transformer_engine.pytorch"; then NEED_TE_BUILD=1; fi
if (( NEED_FA_BUILD + NEED_TE_BUILD > 0 )); then
  NVCC="$(command -v nvcc || true)"; [[ -n "$NVCC" ]] || NVCC="${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"
  WHAT="$( (( NEED_FA_BUILD )) && printf 'flash-attn '; (( NEED_TE_BUILD )) && printf 'transformer-engine-torch'; true)"
  [[ -x "$NVCC" ]] || die "building ${WHAT% } needs nvcc from a CUDA \
$TORCH_CUDA_MAJOR.x toolkit (not found on PATH or in \$CUDA_HOME/bin). Install the CUDA $TORCH_CUDA_MAJOR toolkit and set CUDA_HOME, \
or pass --flash-attn-wheel with a prebuilt wheel for torch 2.11 + CUDA 13 + cp${PY_VER/./} (docs/gpu.md)."
  NVCC_MAJOR="$("$NVCC" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')"
  [[ "$NVCC_MAJOR" == "$TORCH_CUDA_MAJOR" ]] || die "$NVCC is CUDA $NVCC_MAJOR; torch 2.11.0 from PyPI is CUDA \
$TORCH_CUDA_MAJOR and torch's extension builder refuses a different major. Point CUDA_HOME at a CUDA $TORCH_CUDA_MAJOR toolkit."
  export CUDA_HOME="${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}"
fi
if [[ -n "$FA_WHEEL" ]]; then
  fa_name="$(basename "${FA_WHEEL%%\?*}")"; fa_name="${fa_name//%2B/+}"
  [[ "$fa_name" == flash_attn-${FLASH_ATTN_PIN#*==}+cu${TORCH_CUDA_MAJOR}*torch2.11cxx11abiTRUE-cp${PY_VER/./}-cp${PY_VER/./}-linux_x86_64.whl ]] \
    || die "--flash-attn-wheel $fa_name does not match flash-attn ${FLASH_ATTN_PIN#*==} + CUDA $TORCH_CUDA_MAJOR + torch 2.11 + \
C++11 ABI + cp${PY_VER/./} (expected flash_attn-${FLASH_ATTN_PIN#*==}+cu${TORCH_CUDA_MAJOR}…torch2.11cxx11abiTRUE-cp${PY_VER/./}-cp${PY_VER/./}-linux_x86_64.whl)"
fi

# ---- install ------------------------------------------------------------------------------------------------------
PIP=("$VPY" -m pip install --disable-pip-version-check)
if [[ ! -x "$VPY" ]]; then
  step "creating $VENV with $("$PY" --version)"
  "$PY" -m venv "$VENV"
else
  VENV_PY_VER="$("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [[ "$VENV_PY_VER" == "$PY_VER" ]] || die "$VENV exists with Python $VENV_PY_VER, but the checks above were for \
$PY_VER: pass --python $VPY, or choose another VENV_DIR"
  step "reusing $VENV (Python $VENV_PY_VER)"
fi
"${PIP[@]}" --quiet --upgrade pip
# build tools for the --no-build-isolation builds (flash-attn's setup.py uses packaging, psutil, ninja; einops at run time)
"${PIP[@]}" --quiet "setuptools>=77,<81" wheel packaging psutil ninja einops "${C_ARGS[@]+"${C_ARGS[@]}"}"

step "1/5 torch: ${TORCH_PINS[*]} (CUDA $TORCH_CUDA_MAJOR build from PyPI)"
"${PIP[@]}" "${TORCH_PINS[@]}" "${C_ARGS[@]+"${C_ARGS[@]}"}"

step "2/5 $FLASH_ATTN_PIN"
if [[ -n "$FA_WHEEL" ]]; then
  "${PIP[@]}" --no-deps "$FA_WHEEL"
elif [[ $NEED_FA_BUILD -eq 0 ]]; then
  echo "   already installed and its CUDA extension loads: kept"
else
  export FLASH_ATTN_CUDA_ARCHS="${FLASH_ATTN_CUDA_ARCHS:-${CC:-80;90;100;120}}"
  echo "   --no-build-isolation; flash-attn's setup.py first looks for its own prebuilt wheel for torch 2.11/CUDA"
  echo "   $TORCH_CUDA_MAJOR/cp${PY_VER/./}, else compiles for FLASH_ATTN_CUDA_ARCHS=$FLASH_ATTN_CUDA_ARCHS with MAX_JOBS=${MAX_JOBS:-auto}"
  echo "   (a source build takes minutes on many cores and can take hours on few; see docs/gpu.md)"
  fa_t0=$(date +%s)
  "${PIP[@]}" --no-build-isolation --no-deps "$FLASH_ATTN_PIN"
  echo "   flash-attn installed in $(( $(date +%s) - fa_t0 )) s"
fi
fa_ok || die "flash-attn is installed but 'import flash_attn_2_cuda' fails against torch 2.11: the wheel/build does not \
match this torch/CUDA/Python (see the error with: $VPY -c 'import flash_attn_2_cuda')"
if [[ $MEGATRON -eq 1 ]]; then
  if [[ $NEED_TE_BUILD -eq 1 ]]; then
    step "2b $te_pin (--no-build-isolation, like flash-attn) and its transformer-engine-cu13 core"
    te_ver="${te_pin#*==}"
    "${PIP[@]}" "transformer-engine-cu13==$te_ver" "transformer-engine==$te_ver" --no-deps "${C_ARGS[@]+"${C_ARGS[@]}"}"
    NVTE_FRAMEWORK=pytorch "${PIP[@]}" --no-build-isolation --no-deps "$te_pin"
  else
    echo "   transformer_engine.pytorch already imports: kept"
  fi
fi

step "3/5 the rest: $(printf '%s ' "${REQ_ARGS[@]}" | sed "s#-r $REPO/##g")"
( cd "$REPO" && "${PIP[@]}" "${REQ_ARGS[@]}" "${TORCH_PINS[@]}" "$FLASH_ATTN_PIN" "${C_ARGS[@]+"${C_ARGS[@]}"}" )
if [[ -n "$NODEPS_REQ" ]]; then
  echo "   $(basename "$NODEPS_REQ") with --no-deps (its declared pins conflict with vLLM 0.24; see the file)"
  ( cd "$REPO" && "${PIP[@]}" --no-deps -r "$NODEPS_REQ" )
fi

step "4/5 siri_verl (editable)"
"${PIP[@]}" --no-deps -e "$REPO"

step "5/5 check"
"$VPY" - "$REPO" "$MEGATRON" <<'EOF'
import importlib.metadata as md, pathlib, sys
repo, megatron = pathlib.Path(sys.argv[1]), sys.argv[2] == "1"
import torch
print(f"   torch {torch.__version__} (CUDA {torch.version.cuda}), GPUs visible: {torch.cuda.device_count()}")
assert torch.version.cuda and torch.version.cuda.startswith("13."), f"torch is not the CUDA 13 build: {torch.version.cuda}"
for dist in ["vllm", "flash-attn", "verl", "transformers"] + (["megatron-core", "megatron-bridge", "transformer-engine"] if megatron else []):
    print(f"   {dist} {md.version(dist)}")
import flash_attn_2_cuda  # noqa: F401  -- the compiled extension, not just the Python package
import verl  # loads siri_verl's plugin (verl.plugins entry point), which registers both names
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
assert "siri_grpo" in ADV_ESTIMATOR_REGISTRY, "siri_grpo is not in verl's advantage-estimator registry"
print("   siri_grpo: registered in verl's ADV_ESTIMATOR_REGISTRY")
from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
if "siri_single_turn" in _agent_loop_registry:
    print("   siri_single_turn: registered in verl's agent-loop registry")
else:
    yaml_path = repo / "siri_verl" / "config" / "agent_loops.yaml"
    assert yaml_path.is_file() and "siri_single_turn" in yaml_path.read_text(), \
        "siri_single_turn is neither in verl's agent-loop registry nor in siri_verl/config/agent_loops.yaml"
    print(f"   siri_single_turn: declared in {yaml_path.relative_to(repo)} (loaded by verl at trainer start)")
if megatron:
    from megatron.bridge import AutoBridge  # noqa: F401  -- what verl's default Megatron path imports
    import transformer_engine.pytorch  # noqa: F401  -- the layer specs it builds
    print("   megatron.bridge.AutoBridge and transformer_engine.pytorch import")
print("== [install_gpu] done")
EOF
