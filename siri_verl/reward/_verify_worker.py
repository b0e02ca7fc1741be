"""math-verify worker: ``python -m siri_verl.reward._verify_worker MEMORY_LIMIT_MB CPU_BUDGET_S``.

Reads one JSON request per line on stdin (``{"gold": str, "pred": str}``) and writes one JSON reply per
line on stdout (``{"equal": bool, "error": str}``, error "" on success). It is started and, when an
answer takes too long, killed by ``siri_verl.reward.verifier.VerifierPool`` -- the hard time limit lives
in the parent, so it works from threads and Ray workers where math-verify's ``signal.alarm`` cannot.

The first line written is ``{"ready": true}`` once the heavy imports are done, so import time never
counts against an answer's limit. The process exits on EOF (its parent closed the pipe or died), and a
comparison that uses more than CPU_BUDGET_S CPU seconds ends the process (RLIMIT_CPU), so a hung
comparison cannot outlive the trainer for long.
"""

from __future__ import annotations

import cmath
import json
import logging
import sys
from functools import lru_cache


def _limit_memory(memory_limit_mb: int) -> None:
    import resource

    if memory_limit_mb > 0:  # a pathological power tower raises MemoryError instead of eating the host
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _allow_cpu_seconds(budget_s: int) -> None:
    """Let the next comparison use at most ``budget_s`` more CPU seconds, then SIGXCPU ends the process.

    The parent kills a worker at its wall-clock limit; this is the backstop that also ends a worker
    orphaned while stuck in sympy's C code (its parent died), where no Python-level check can run.
    """
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + budget_s if hard == resource.RLIM_INFINITY else min(used + budget_s, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# Values substituted for free symbols when probing two expressions numerically (fixed: reproducible).
_PROBE_VALUES = ((0.5772, 1.3247, 0.7071, 1.618, 0.9159), (1.2021, 0.6931, 1.4142, 0.8862, 1.0986))


def clearly_different(gold, pred) -> bool:
    """True when two parsed scalar expressions take clearly different values (relative difference
    > 1e-5) at every probe point -- then math-verify would also call them unequal, and its symbolic
    simplification is skipped. False means "not decided here" (sets, relations, different symbols,
    non-finite values, or values that agree somewhere)."""
    from sympy import Expr

    if not (isinstance(gold, Expr) and isinstance(pred, Expr)):
        return False
    symbols = sorted(gold.free_symbols, key=str)
    if set(symbols) != pred.free_symbols or len(symbols) > len(_PROBE_VALUES[0]):
        return False
    for probe in _PROBE_VALUES if symbols else ((),):
        subs = dict(zip(symbols, probe))
        a, b = complex(gold.evalf(30, subs=subs)), complex(pred.evalf(30, subs=subs))
        if not all(map(cmath.isfinite, (a, b))):
            return False
        if abs(a - b) <= 1e-5 * max(abs(a), abs(b)):
            return False
    return True


def main(argv: list[str]) -> int:
    memory_limit_mb = int(argv[0]) if argv else 0
    cpu_budget_s = int(argv[1]) if len(argv) > 1 else 60
    _limit_memory(memory_limit_mb)

    from math_verify import parse, verify

    # Timeouts are enforced by the parent (hard kill); disable math-verify's signal-based ones and the
    # warning it prints about that.
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    from sympy import Basic, MatrixBase

    def parse_answer(answer: str) -> list:
        """math-verify's parse of one extracted answer: as inline math first (it reads ``10\\%`` and
        ``245 yd.`` there but not inside ``\\boxed{}``), as a box when that yields no sympy object."""
        parsed = parse("$" + answer + "$", parsing_timeout=None)
        if parsed and isinstance(parsed[0], (Basic, MatrixBase)):
            return parsed
        return parse("\\boxed{" + answer + "}", parsing_timeout=None) or parsed

    # Golds repeat across a GRPO group's rollouts, and so do common (wrong) answers.
    parse_cached = lru_cache(maxsize=16384)(parse_answer)

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        _allow_cpu_seconds(cpu_budget_s)
        try:
            request = json.loads(line)
            gold = parse_cached(request["gold"])
            pred = parse_cached(request["pred"])
            gold_expr = next((item for item in gold if isinstance(item, (Basic, MatrixBase))), None)
            pred_expr = next((item for item in pred if isinstance(item, (Basic, MatrixBase))), None)
            try:
                decided_unequal = clearly_different(gold_expr, pred_expr)
            except Exception:  # evaluation failed: leave it to math-verify
                decided_unequal = False
            equal = not decided_unequal and bool(gold and pred and verify(gold, pred, timeout_seconds=None))
            # Unequal and one side never became a sympy object: say so (math-verify then only
            # compared strings).
            error = ""
            if not equal and not any(isinstance(item, (Basic, MatrixBase)) for item in gold):
                error = "unparsable_ground_truth"
            elif not equal and not any(isinstance(item, (Basic, MatrixBase)) for item in pred):
                error = "unparsable_answer"
            reply = {"equal": equal, "error": error}
        except MemoryError:
            reply = {"equal": False, "error": "memory_limit"}
        except Exception as exc:  # never let model output kill the worker
            reply = {"equal": False, "error": f"verifier_error: {type(exc).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
