"""math-verify worker: ``python -m siri_verl.reward._verify_worker MEMORY_LIMIT_MB CPU_BUDGET_S``.

Reads one JSON request per line on stdin (``{"gold": str, "pred": str}``, both already rewritten by
``siri_verl.reward.notation.prepare_answer``) and writes one JSON reply per line on stdout (``{"equal": bool,
"error": str}``, error "" on success). Answers are compared symbolically only when both parses are whole
(``parse_whole``); ``"pred": null`` asks only how the gold parses. It is started and, when an
answer takes too long, killed by ``siri_verl.reward.verifier.VerifierPool`` -- the hard time limit lives
in the parent, so it works from threads and Ray workers where math-verify's ``signal.alarm`` cannot.

The first line written is ``{"ready": true}`` once the heavy imports and a few warm-up parses are done,
so start-up never counts against an answer's limit. The process exits on EOF (its parent closed the pipe or died), and a
comparison that uses more than CPU_BUDGET_S CPU seconds ends the process (RLIMIT_CPU), so a hung
comparison cannot outlive the trainer for long.
"""

from __future__ import annotations

import cmath
import json
import logging
import re
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


# A plain arithmetic string that math-verify's plain-expression reader may parse when its LaTeX reader
# cannot (``-1./3``, ``2*x+1``); it is trusted only when that reader consumed all of it.
_PLAIN = re.compile(r"[0-9A-Za-z+\-*/^().\s]+")


def expression_names(expr) -> set[str]:
    """Lowercased names a parsed expression keeps: free symbols, undefined functions, ``e``/``i`` when
    Euler's number / the imaginary unit occur, ``d`` when a derivative or integral does."""
    from sympy import E, Derivative, I, Integral, exp
    from sympy.core.function import AppliedUndef

    names = {str(symbol).lower() for symbol in getattr(expr, "free_symbols", ())}
    atoms = expr.atoms(AppliedUndef, Derivative, Integral, exp) if hasattr(expr, "atoms") else set()
    for atom in atoms:
        if isinstance(atom, AppliedUndef):
            names.add(type(atom).__name__.lower())
        elif isinstance(atom, (Derivative, Integral)):
            names.add("d")
            names |= {str(variable).lower() for variable in atom.variables}
    if hasattr(expr, "has"):
        if expr.has(E) or any(isinstance(atom, exp) for atom in atoms):
            names.add("e")
        if expr.has(I):
            names.add("i")
    return names


def partial_reason(text: str, expr, source: str) -> str:
    """Why the parse ``expr`` (made from ``source``, math-verify's normalised copy of ``text``) does not
    account for the whole answer ``text``, or "" when it does. See docs/reward.md, "Whole parses"."""
    from siri_verl.reward.notation import answer_identifiers, exponent_counts, lost_by_parse

    lost = lost_by_parse(text)
    if lost:
        return lost
    kept = exponent_counts(source)
    if any(kept.get(number, 0) < count for number, count in exponent_counts(text).items()):
        return "the normaliser dropped an exponent"
    names = expression_names(expr)
    for name in answer_identifiers(text):
        lowered = name.lower()
        if lowered not in names and not any(lowered in kept_name for kept_name in names):
            return f"the variable {name} is missing from the parse"
    return ""


def parse_whole(text: str) -> tuple[list, str]:
    """(math-verify's parse of a prepared answer, status): status "" when the parse is whole, else
    "partial_parse" or "unparsable". Only the LaTeX reader on the whole answer is used; the plain-expression
    reader only for plain strings it reads to the end. No box re-parse: it kept fragments."""
    from math_verify import parse
    from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig
    from sympy import Basic, MatrixBase

    parsed = parse("$" + text + "$", extraction_config=[LatexExtractionConfig()], parsing_timeout=None)
    expr = next((item for item in parsed if isinstance(item, (Basic, MatrixBase))), None)
    if expr is None and _PLAIN.fullmatch(text):
        plain = parse(text, extraction_config=[ExprExtractionConfig()], parsing_timeout=None)
        if len(plain) == 2 and "".join(str(plain[1]).split()) == "".join(text.split()):
            parsed, expr = plain, plain[0]
    if expr is None:
        return parsed, "unparsable"
    source = next((item for item in parsed if isinstance(item, str)), text)
    return parsed, "partial_parse" if partial_reason(text, expr, source) else ""


# Comparisons run once at start-up: fractions, roots, Greek letters, subscripts, functions, sets,
# intervals, equations, matrices.
_WARM_UP = (
    ("\\frac{\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}}{2}", "\\sqrt{\\pi G \\rho_{0}} r_{0}"),
    ("e^{-x^{2}} \\sin(\\omega t)+\\log_{2} 8", "\\cos x"),
    ("\\{1, 2\\}", "(1, 3] \\cup [4, \\infty)"),
    ("y=2 x+1", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
)


def main(argv: list[str]) -> int:
    memory_limit_mb = int(argv[0]) if argv else 0
    cpu_budget_s = int(argv[1]) if len(argv) > 1 else 60
    _limit_memory(memory_limit_mb)

    from math_verify import verify

    # Timeouts are enforced by the parent (hard kill); disable math-verify's signal-based ones and the
    # warning it prints about that.
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    from sympy import Basic, MatrixBase

    # The first parses in a process build the LaTeX grammar and import parts of sympy (about 1.5 s, several
    # seconds on a busy machine): do that before announcing readiness, so it never counts against an answer.
    for gold, pred in _WARM_UP:
        try:
            gold_parse, _ = parse_whole(gold)
            pred_parse, _ = parse_whole(pred)
            verify(gold_parse, pred_parse, timeout_seconds=None)
            clearly_different(gold_parse[0], pred_parse[0])
        except Exception:  # a warm-up only: never keep the worker from starting
            pass

    # Golds repeat across a GRPO group's rollouts, and so do common (wrong) answers.
    parse_cached = lru_cache(maxsize=16384)(parse_whole)

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        _allow_cpu_seconds(cpu_budget_s)
        try:
            request = json.loads(line)
            gold, gold_status = parse_cached(request["gold"])
            if request.get("pred") is None:  # data prep: how the gold parses
                reply = {"equal": False, "error": gold_status}
            elif gold_status:
                reply = {"equal": False, "error": f"{gold_status}_ground_truth"}
            else:
                pred, pred_status = parse_cached(request["pred"])
                if pred_status:
                    reply = {"equal": False, "error": f"{pred_status}_answer"}
                else:
                    gold_expr = next(item for item in gold if isinstance(item, (Basic, MatrixBase)))
                    pred_expr = next(item for item in pred if isinstance(item, (Basic, MatrixBase)))
                    try:
                        decided_unequal = clearly_different(gold_expr, pred_expr)
                    except Exception:  # evaluation failed: leave it to math-verify
                        decided_unequal = False
                    equal = not decided_unequal and bool(verify(gold, pred, timeout_seconds=None))
                    reply = {"equal": equal, "error": ""}
        except MemoryError:
            reply = {"equal": False, "error": "memory_limit"}
        except Exception as exc:  # never let model output kill the worker
            reply = {"equal": False, "error": f"verifier_error: {type(exc).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
