"""recipes/install_gpu.sh: the GPU stack's pins resolve together (pip's resolver, --dry-run), and a pin made to
conflict fails the dry-run clearly. The dry-runs read package metadata from PyPI (no multi-GB downloads, nothing
built); they are marked `network` and skipped when PyPI is unreachable. The option checks need no network."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from repo_paths import REPO

SCRIPT = REPO / "recipes" / "install_gpu.sh"


def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
        return True
    except Exception:  # noqa: BLE001 -- any failure means: no PyPI here
        return False


def run(*args: str, timeout: int = 900, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON": sys.executable, **env}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=REPO)


needs_pypi = pytest.mark.skipif(not _pypi_reachable(), reason="PyPI (https://pypi.org/simple) is not reachable")


@pytest.mark.network
@needs_pypi
@pytest.mark.subprocess
def test_dry_run_resolves_the_gpu_stack_without_building_or_installing(tmp_path):
    venv = tmp_path / "never-created"
    result = run("--dry-run", str(venv))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "dry-run OK" in out
    # the versions verl 0.9.1's extras pin, resolved together with requirements.txt and siri_verl itself
    for pinned in ("torch 2.11.0", "vllm 0.24.0", "verl 0.9.1", "transformers 5.9.0", "flash-attn 2.8.3", "siri-verl"):
        assert pinned in out, pinned
    # flash-attn's sdist was never built (its build imports torch): it resolved from its published metadata
    assert "flash-attn==2.8.3: metadata stand-in from flash_attn-2.8.3.tar.gz (Requires-Dist: torch, einops)" in out
    assert "Downloading flash_attn" not in out and "Failed to build" not in out
    assert "whole archives were downloaded" not in out  # metadata only: no torch/CUDA wheels fetched
    assert not venv.exists()  # nothing installed anywhere


@pytest.mark.network
@needs_pypi
@pytest.mark.subprocess
def test_dry_run_fails_clearly_when_a_pin_conflicts(tmp_path):
    constraint = tmp_path / "conflict.txt"
    constraint.write_text("transformers==5.8.0\n")  # verl[vllm]==0.9.1 and requirements.txt pin 5.9.0
    result = run("--dry-run", "--constraint", str(constraint), timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-4000:]
    assert "the GPU stack's pins do not resolve together" in result.stderr
    assert "transformers" in out and "ResolutionImpossible" in out
    # the same through the environment variable
    env_result = run("--dry-run", timeout=600, SIRI_INSTALL_CONSTRAINTS=str(constraint))
    assert env_result.returncode == 1
    assert "the GPU stack's pins do not resolve together" in env_result.stderr


@pytest.mark.subprocess
def test_real_install_stops_before_installing_without_nvidia_smi(tmp_path):
    """On a machine without the NVIDIA driver the script stops at its checks, with the reason, creating nothing."""
    if shutil.which("nvidia-smi"):
        pytest.skip("nvidia-smi exists here: the check would pass")
    venv = tmp_path / "venv"
    result = run(str(venv), timeout=60)
    assert result.returncode == 1
    assert "nvidia-smi not found" in result.stderr and "--dry-run" in result.stderr
    assert not venv.exists()


@pytest.mark.subprocess
def test_bad_options_and_unsupported_python_are_refused_before_anything_runs(tmp_path):
    assert run("--no-such-option", timeout=60).returncode == 2
    missing = run("--dry-run", "--constraint", str(tmp_path / "missing.txt"), timeout=60)
    assert missing.returncode == 1 and "constraint file" in missing.stderr and "not found" in missing.stderr
    if sys.version_info[:2] != (3, 12):
        megatron = run("--dry-run", "--megatron", timeout=60)
        assert megatron.returncode == 1 and "--megatron needs Python 3.12" in megatron.stderr
    no_python = run("--dry-run", "--python", str(tmp_path / "python-nowhere"), timeout=60)
    assert no_python.returncode == 1 and "not found or does not run" in no_python.stderr


def test_requirement_files_keep_the_megatron_stack_apart():
    """The FSDP stack does not carry Megatron pins; the Megatron files name what verl's Megatron path imports."""
    main = (REPO / "requirements.txt").read_text()
    megatron = (REPO / "requirements-megatron.txt").read_text()
    nodeps = (REPO / "requirements-megatron-nodeps.txt").read_text()
    assert "megatron" not in "\n".join(l for l in main.splitlines() if not l.startswith("#"))
    lines = [l.split("#")[0].strip() for l in megatron.splitlines() if l.split("#")[0].strip()]
    assert any(l.startswith("megatron-core") for l in lines)
    assert "transformer-engine-torch==2.17.1" in lines  # built by install_gpu.sh; version read from this file
    assert not any(l.startswith(("megatron-bridge", "flashinfer")) for l in lines)
    assert [l for l in nodeps.splitlines() if l and not l.startswith("#")] == ["megatron-bridge==0.6.2"]



def _fake_gpu_host(tmp_path: Path, driver: str, nvcc_release: str | None = None) -> dict[str, str]:
    """Stand-ins for `nvidia-smi` (there is no GPU here) and optionally `nvcc`, answering the queries the script
    makes; any real nvcc is taken off PATH so the test does not depend on this machine's CUDA toolkit."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(parents=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\ncase \"$*\" in *driver_version*) echo ' %s';; *compute_cap*) echo ' 8.0';; esac\n" % driver)
    smi.chmod(0o755)
    if nvcc_release:
        nvcc = bin_dir / "nvcc"
        nvcc.write_text("#!/bin/sh\necho 'Cuda compilation tools, release %s, V%s.1'\n" % (nvcc_release, nvcc_release))
        nvcc.chmod(0o755)
    path = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "nvcc").exists()]
    return {"PATH": os.pathsep.join([str(bin_dir), *path]), "CUDA_HOME": str(tmp_path / "no-cuda")}


@pytest.mark.subprocess
def test_old_driver_is_refused_with_the_container_fallback(tmp_path):
    venv = tmp_path / "venv"
    result = run(str(venv), timeout=60, **_fake_gpu_host(tmp_path, "535.104.05"))
    assert result.returncode == 1
    assert "NVIDIA driver 535.104.05 is too old" in result.stderr and ">= 580" in result.stderr
    assert "container image" in result.stderr
    assert not venv.exists()


@pytest.mark.subprocess
def test_flash_attn_source_build_without_cuda13_nvcc_is_refused_before_installing(tmp_path):
    venv = tmp_path / "venv"
    result = run(str(venv), timeout=60, **_fake_gpu_host(tmp_path / "a", "580.65.06"))
    assert result.returncode == 1
    assert "building flash-attn needs nvcc from a CUDA 13.x toolkit" in result.stderr
    assert "--flash-attn-wheel" in result.stderr
    cuda12 = run(str(venv), timeout=60, **_fake_gpu_host(tmp_path / "b", "580.65.06", nvcc_release="12.8"))
    assert cuda12.returncode == 1 and "is CUDA 12; torch 2.11.0 from PyPI is CUDA 13" in cuda12.stderr
    wrong = run(str(venv), "--flash-attn-wheel", "flash_attn-2.8.3+cu12torch2.8cxx11abiFALSE-cp311-cp311-linux_x86_64.whl",
                timeout=60, **_fake_gpu_host(tmp_path / "c", "580.65.06"))
    assert wrong.returncode == 1 and "does not match flash-attn 2.8.3 + CUDA 13 + torch 2.11" in wrong.stderr
    assert not venv.exists()


@pytest.mark.subprocess
def test_existing_venv_of_another_python_is_refused_before_installing(tmp_path):
    """Re-running into an existing venv reuses it only when its Python is the one the checks were made for."""
    candidates = ["/usr/bin/python3", *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1*/bin/python3")))]
    other = next((p for p in candidates
                  if p and subprocess.run([p, "-c", "import sys; assert sys.version_info[:2] != %r; import venv"
                                           % (sys.version_info[:2],)], capture_output=True).returncode == 0), None)
    if other is None:
        pytest.skip("no second Python version here to build the mismatching venv with")
    venv = tmp_path / "venv"
    subprocess.run([other, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    before = sorted(p.name for p in (venv / "lib").iterdir())
    result = run(str(venv), timeout=60, **_fake_gpu_host(tmp_path, "580.65.06", nvcc_release="13.0"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{venv} exists with Python" in result.stderr and "--python" in result.stderr
    assert sorted(p.name for p in (venv / "lib").iterdir()) == before
    assert "1/5 torch" not in result.stdout  # stopped before installing anything
