"""Read the tiny run's outputs: verl's per-step metrics JSONL and the hf rollout server's request log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

STEP_COLUMNS = [
    # (header, metric keys tried in order: SIRI's own metric first, verl's stock one as fallback)
    ("step", ("training/global_step",)),
    ("cap", ("siri/cap",)),
    ("phase", ("siri/phase",)),  # -1 compression, +1 expansion, 0 constant
    ("trunc", ("siri/truncation_rate", "response_length/clip_ratio")),
    ("score", ("critic/score/mean",)),
    ("len_mean", ("siri/response_length/mean", "response_length/mean")),
    ("len_max", ("siri/response_length/max", "response_length/max")),
    ("grad_norm", ("actor/grad_norm",)),
    ("probs_diff_max", ("training/rollout_probs_diff_max",)),
    ("step_s", ("timing_s/step",)),
]


def read_metrics(path: str | Path) -> list[dict]:
    """One dict per logged step (``{"step": int, **metrics}``), read with the plots' file-logger reader."""
    from siri_verl.plots import read_metrics_jsonl

    return [{"step": step, **data} for step, data in read_metrics_jsonl(path)]


def read_request_log(path: str | Path) -> list[dict]:
    """The hf rollout server's per-request records (``$SIRI_HF_ROLLOUT_LOG``), in arrival order."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rollout_cost_per_step(requests: list[dict], temperature: Optional[float] = None) -> list[dict]:
    """Per training step: requests, response tokens, generation wall/CPU seconds, truncated responses, caps sent.

    In verl's V1 sync trainer the rollout of step t runs on the weights synced at the end of step t-1, so a
    request with ``weights_version`` v belongs to step v + 1. Validation requests share that version; pass the
    training ``temperature`` to keep only training requests (validation samples greedily by default).
    """
    steps: dict[int, dict] = {}
    for r in requests:
        if temperature is not None and r["temperature"] != temperature:
            continue
        step = steps.setdefault(r["weights_version"] + 1, {"requests": 0, "response_tokens": 0,
                                                           "generate_seconds": 0.0, "generate_cpu_seconds": 0.0,
                                                           "truncated": 0, "max_response_tokens": 0,
                                                           "max_tokens": set()})
        step["requests"] += 1
        step["response_tokens"] += r["response_tokens"]
        step["generate_seconds"] += r["generate_seconds"]
        step["generate_cpu_seconds"] += r["generate_cpu_seconds"]
        step["truncated"] += r["finish_reason"] == "length"
        step["max_response_tokens"] = max(step["max_response_tokens"], r["response_tokens"])
        step["max_tokens"].add(r["max_tokens"])
    return [{"step": t, **{k: sorted(v) if isinstance(v, set) else v for k, v in row.items()}}
            for t, row in sorted(steps.items())]


def _cell(row: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        if key in row:
            value = row[key]
            return f"{value:.4g}" if isinstance(value, float) else str(value)
    return "-"


def format_step_table(rows: list[dict]) -> str:
    """Fixed-width table of the per-step columns in :data:`STEP_COLUMNS` ('-' where a metric is absent)."""
    headers = [header for header, _ in STEP_COLUMNS]
    body = [[_cell(row, keys) if header != "step" else str(row["step"]) for header, keys in STEP_COLUMNS]
            for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siri_verl.cpu.report", description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="metrics JSONL written by verl's file logger (VERL_FILE_LOGGER_PATH)")
    parser.add_argument("--requests", help="the rollout server's request log (SIRI_HF_ROLLOUT_LOG): adds a "
                                           "per-step table of what the server generated")
    args = parser.parse_args(argv)
    print(format_step_table(read_metrics(args.metrics)))
    # the request log is the hf rollout server's; with verl's vLLM server it is empty (metrics only)
    if args.requests and Path(args.requests).exists() and Path(args.requests).stat().st_size:
        print("\nmeasured inside the rollout server (weights version v = step v+1; validation requests included):")
        print(f"{'step':>4} {'requests':>8} {'max_tokens':>10} {'tokens':>7} {'longest':>7} {'truncated':>9} "
              f"{'gen_s':>6} {'gen_cpu_s':>9}")
        for row in rollout_cost_per_step(read_request_log(args.requests)):
            caps = ",".join(str(c) for c in row["max_tokens"])
            print(f"{row['step']:>4} {row['requests']:>8} {caps:>10} {row['response_tokens']:>7} "
                  f"{row['max_response_tokens']:>7} {row['truncated']:>9} {row['generate_seconds']:>6.2f} "
                  f"{row['generate_cpu_seconds']:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
