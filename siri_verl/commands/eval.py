"""``siri-verl eval``: sample a model on prepared benchmark parquets under a pinned protocol.

Example (the paper's protocol on 8 GPUs, one vLLM replica per GPU)::

    siri-verl eval --model checkpoints/siri/global_step_1600 --name SIRI-low \\
        --benchmark aime24=data/prepared/aime24.parquet --benchmark math500=data/prepared/math500.parquet \\
        --output-dir results/siri_low

Writes ``<output-dir>/<benchmark>/samples.jsonl`` incrementally and ``summary.json`` at the end; rerun the
same command to resume an interrupted evaluation. ``siri-verl report`` turns summaries into Table 1.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from siri_verl.eval.protocol import add_protocol_arguments

    parser.add_argument("--model", required=True,
                        help="Local Hugging Face model folder, or a verl checkpoint (global_step_N/ or "
                             "global_step_N/actor/), merged on the fly with verl's model merger. No hub ids.")
    parser.add_argument("--benchmark", action="append", required=True, metavar="[NAME=]PATH",
                        help="A prepared benchmark parquet (data_prep/prepare.py); repeatable. NAME is the Table 1 "
                             "column (aime24, aime25, amc, math500); default: the file stem, or its folder for "
                             "test/train.parquet.")
    parser.add_argument("--output-dir", required=True,
                        help="Where samples and summaries go (one folder per model); reused to resume.")
    parser.add_argument("--name", default=None,
                        help="Row label in reports (default: the model folder, or <run>/global_step_N).")
    parser.add_argument("--limit-problems", type=int, default=None,
                        help="Evaluate only the first N problems of each benchmark (smoke tests; recorded).")
    parser.add_argument("--overwrite", action="store_true",
                        help="Discard existing samples in --output-dir instead of resuming.")
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bars.")
    parser.add_argument("--gpu-memory-utilization", type=float, default=None,
                        help="vLLM only: fraction of each GPU's memory vLLM may use (default 0.9). On vLLM's CPU "
                             "platform it is the fraction of host memory vLLM reserves (default 0.3), and the KV "
                             "cache is VLLM_CPU_KVCACHE_SPACE GiB (default 1 when unset).")
    parser.add_argument("--chunk-size", type=int, default=1024,
                        help="vLLM only: requests per generate call (per replica); each finished chunk is saved "
                             "before the next starts. Larger = fewer waits on the longest response of a chunk, "
                             "smaller = less to regenerate after an interruption.")
    add_protocol_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from siri_verl.eval.engines import make_engine
    from siri_verl.eval.harness import BenchmarkSpec, EvalInputError, EvalRun
    from siri_verl.eval.protocol import ProtocolError, protocol_from_args

    try:
        protocol = protocol_from_args(args)
        if args.limit_problems is not None and args.limit_problems < 1:
            raise EvalInputError(f"--limit-problems {args.limit_problems}: must be >= 1")
        if args.chunk_size < 1 or (args.gpu_memory_utilization is not None
                                   and not 0 < args.gpu_memory_utilization <= 1):
            raise EvalInputError(f"--chunk-size {args.chunk_size} must be >= 1 and --gpu-memory-utilization "
                                 f"{args.gpu_memory_utilization} in (0, 1]")
        engine_kwargs = ({"gpu_memory_utilization": args.gpu_memory_utilization, "chunk_size": args.chunk_size}
                         if protocol.engine == "vllm" else {})
        evaluation = EvalRun(
            model=args.model,
            benchmarks=[BenchmarkSpec.parse(text) for text in args.benchmark],
            output_dir=args.output_dir,
            protocol=protocol,
            name=args.name,
            limit_problems=args.limit_problems,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            engine_factory=lambda path, proto: make_engine(path, proto, **engine_kwargs),
        )
        summaries = evaluation.run()
    except (EvalInputError, ProtocolError, ValueError, ImportError) as error:  # bad input, GPU layout, no vLLM
        print(f"siri-verl eval: error: {error}", file=sys.stderr)
        return 2
    import json

    for path in summaries:
        summary = json.loads(path.read_text())
        m = summary["metrics"]
        stderr = m["pass@1"]["stderr"]
        error_bar = f" ± {100 * stderr:.1f}" if stderr is not None else ""
        print(f"{summary['benchmark']}: pass@1 {100 * m['pass@1']['mean']:.1f}{error_bar} "
              f"(avg@{m['num_samples_per_problem']}, {m['num_problems']} problems), "
              f"mean tokens {m['mean_tokens']:.0f}, "
              f"truncated {100 * m['truncation_rate']:.1f}% -> {path}")
    return 0
