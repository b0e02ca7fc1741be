"""Step cost of the SIRI cap on CPU: the tiny recipe with the cosine schedule vs a constant max cap.

    .venv/bin/python benchmarks/bench_step_cost.py [--out DIR] [--steps 8]

Runs ``recipes/siri_tiny_cpu.sh`` twice in one invocation on the same locally built assets: once with the
recipe's cosine schedule (caps 16..48, period 4) and once with ``algorithm.siri.schedule.kind=constant`` (cap 48
every step); phase checkpoints (and their validation) are off in both, so the runs differ only in the cap.
Per step it prints the rollout tokens and the generation time **measured inside the rollout server** (its
request log, ``$SIRI_HF_ROLLOUT_LOG``; V1's ``timing_s/gen`` has a 2 s polling floor, so it is not used): the
decode thread's CPU seconds (which other jobs on the same cores disturb little) and wall seconds; also the
trainer's step wall time, and the ratios cosine / constant. It also samples the peak resident memory of each
run's whole process tree (driver, Ray, workers, rollout server).

This is a plumbing-level measurement of the cap's effect on a ~100 K-parameter model on 2 CPU cores, not a
GPU throughput claim: on GPU the cost of a step is dominated by batched decoding of long responses, which this
does not model.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from siri_verl.cpu.launch import run_bounded

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "siri_tiny_cpu.sh"
LOAD_DRIFT_TOLERANCE = 1.2  # per-token CPU cost may differ this much between the runs before we warn
DISCLAIMER = ("plumbing-level measurement of the cap's effect (tiny model, 2 CPU cores, transformers rollout); "
              "not a GPU throughput claim")


class TreeMemorySampler:
    """Peak summed RSS of a process and all its descendants, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0  # summed RSS: pages shared between processes count once per process (upper bound)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self._root, *self._root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_recipe(name: str, out_root: Path, assets: Path, entry: str, overrides: list[str], timeout_s: int) -> dict:
    """Run the recipe into out_root/name (reusing ``assets``); return its per-step records and peak memory."""
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "assets").exists():
        (out / "assets").symlink_to(assets, target_is_directory=True)
    env = {**os.environ, "OUT": str(out), "ENTRY": entry, "PYTHON": sys.executable}
    samplers: list[TreeMemorySampler] = []
    start = time.monotonic()
    try:
        returncode = run_bounded(["bash", str(RECIPE), *overrides], env, timeout_s, out / "recipe.log",
                                 on_start=lambda pid: samplers.append(TreeMemorySampler(pid)))
    except TimeoutError as exc:
        raise SystemExit(f"{name}: {exc}")
    finally:
        for sampler in samplers:
            sampler.stop()
    wall = time.monotonic() - start
    if returncode != 0:
        raise SystemExit(f"{name}: the recipe failed with exit code {returncode} (log: {out / 'recipe.log'})")

    from siri_verl.cpu.report import read_metrics, read_request_log, rollout_cost_per_step

    metrics = {row["step"]: row for row in read_metrics(out / "metrics.jsonl")}
    steps = []
    for served in rollout_cost_per_step(read_request_log(out / "rollout_requests.jsonl")):
        row = metrics.get(served["step"], {})
        steps.append({
            "step": served["step"],
            "cap": row.get("siri/cap"),
            "rollout_tokens": served["response_tokens"],
            "generate_s": served["generate_seconds"],
            "generate_cpu_s": served["generate_cpu_seconds"],
            "truncated": served["truncated"],
            "step_s": row.get("timing_s/step"),
        })
    return {"name": name, "steps": steps, "wall_s": wall, "peak_rss_gib": samplers[0].peak_bytes / 2**30}


def fmt_cap(cap) -> str:
    return "-" if cap is None else str(int(cap))


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/bench_step_cost", help="output folder (assets, two runs, JSON)")
    parser.add_argument("--steps", type=int, default=8, help="training steps per run")
    parser.add_argument("--entry", default="siri_verl.main",
                        help="trainer module; must apply the SIRI cap (verl's main_ppo would run both at one cap)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per run")
    args = parser.parse_args(argv)

    if importlib.util.find_spec(args.entry) is None:
        print(f"error: trainer module {args.entry} is not importable; the cosine/constant comparison needs the "
              "SIRI trainer (siri_verl.main), which applies the per-step cap", file=sys.stderr)
        return 2
    out_root = Path(args.out).resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    assets = out_root / "assets"
    subprocess.run([sys.executable, "-m", "siri_verl.cpu.tiny", "--out", str(assets)], check=True)

    common = [f"trainer.total_training_steps={args.steps}", "algorithm.siri.phase_checkpoints.enable=false"]
    runs = [
        run_recipe("cosine", out_root, assets, args.entry, common, args.timeout),
        run_recipe("constant", out_root, assets, args.entry,
                   [*common, "algorithm.siri.schedule.kind=constant", "algorithm.siri.schedule.num_cycles=null",
                    f"algorithm.siri.schedule.total_steps={args.steps}"], args.timeout),
    ]
    cosine, constant = runs

    print(f"\n# {DISCLAIMER}")
    print(f"{'step':>4} {'cap cos':>7} {'cap const':>9} {'tokens cos':>10} {'tokens const':>12} {'ratio':>6} "
          f"{'cpu_s cos':>9} {'cpu_s const':>11} {'ratio':>6} {'wall_s cos':>10} {'wall_s const':>12} {'ratio':>6}")
    for a, b in zip(cosine["steps"], constant["steps"]):
        print(f"{a['step']:>4} {fmt_cap(a['cap']):>7} {fmt_cap(b['cap']):>9} {a['rollout_tokens']:>10} "
              f"{b['rollout_tokens']:>12} {ratio(a['rollout_tokens'], b['rollout_tokens']):>6.2f} "
              f"{a['generate_cpu_s']:>9.3f} {b['generate_cpu_s']:>11.3f} "
              f"{ratio(a['generate_cpu_s'], b['generate_cpu_s']):>6.2f} {a['generate_s']:>10.3f} "
              f"{b['generate_s']:>12.3f} {ratio(a['generate_s'], b['generate_s']):>6.2f}")
    summary = {}
    for run in runs:
        steps = run["steps"]
        step_times = [s["step_s"] for s in steps[1:] if s["step_s"] is not None]  # step 1 includes warm start
        summary[run["name"]] = {
            "rollout_tokens": sum(s["rollout_tokens"] for s in steps),
            "generate_s": sum(s["generate_s"] for s in steps),
            "generate_cpu_s": sum(s["generate_cpu_s"] for s in steps),
            "truncated": sum(s["truncated"] for s in steps),
            "mean_step_s_after_first": sum(step_times) / len(step_times) if step_times else None,
            "wall_s": run["wall_s"],
            "peak_rss_gib": run["peak_rss_gib"],
        }
    summary["ratio_cosine_over_constant"] = {
        key: ratio(summary["cosine"][key], summary["constant"][key])
        for key in ("rollout_tokens", "generate_cpu_s", "generate_s")
    }
    per_token = [summary[name]["generate_cpu_s"] / max(1, summary[name]["rollout_tokens"])
                 for name in ("cosine", "constant")]
    summary["cpu_ms_per_token"] = {"cosine": 1e3 * per_token[0], "constant": 1e3 * per_token[1]}
    print("\ntotals:", json.dumps(summary, indent=2))
    if max(per_token) > LOAD_DRIFT_TOLERANCE * min(per_token):
        print(f"# warning: the CPU cost of one token differed {max(per_token) / min(per_token):.2f}x between the runs: "
              "the cores' load changed between them, so the time ratios mix the cap's effect with that change; "
              "the token ratio does not depend on load")
    print(f"# {DISCLAIMER}")
    (out_root / "bench_step_cost.json").write_text(json.dumps({"runs": runs, "summary": summary,
                                                               "note": DISCLAIMER}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
