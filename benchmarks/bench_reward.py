"""Reward-grader benchmark: SIRI's grader vs math-verify called directly vs verl's math_dapo and prime_math.

Builds long R1-style responses from the benchmark answers in ../shared/data (AIME24/25, AMC23, MATH500,
Minerva, OlympiadBench), in five labelled categories:

    correct      final \\boxed{gold} after </think>, the gold verbatim or in an          label 1
                 equivalent notation (\\dfrac, spacing, p/q, n.0)
    wrong        final \\boxed{perturbed gold} after </think>                         label 0
    unboxed      "the final answer is gold." after </think>, no box                   label 0 (no extractable answer)
    truncated    cut at the cap inside the thinking (no </think>; a boxed guess of    label 0 (paper: no answer
                 the gold appears mid-thinking)                                               within the cap)
    adversarial  pathological final box (power towers, 600 nested braces, 6K-char       label 0
                 sums, factorials of huge numbers, unbalanced braces)

and prints, per scorer and category, responses/s and agreement with the labels, all measured in this run.
Every (scorer, category) cell runs in its own child process: a response taking longer than ``--hang-s``
kills the cell and marks it HUNG; a cell that runs out of ``--budget-s`` is marked "cut" and its
throughput is over the responses it finished. Ours is measured sequentially (one call at a time, one verifier
process: same CPU as the others) and as ``score_batch`` with ``--workers`` processes.

    python benchmarks/bench_reward.py            # ~1600 responses, ~15 minutes on a busy 2-core machine
    python benchmarks/bench_reward.py --quick    # ~160 responses, about a minute
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CATEGORIES = ("correct", "wrong", "unboxed", "truncated", "adversarial")
LABELS = {"correct": 1, "wrong": 0, "unboxed": 0, "truncated": 0, "adversarial": 0}
ADVERSARIAL_ANSWERS = [
    "9^{9^{9^{9}}}",
    "(10^{10})!",
    "{" * 600 + "1" + "}" * 600,
    "+".join(["1"] * 3000),
    "\\sqrt{" * 200 + "2" + "}" * 200,
    "2^{2^{2^{2^{2^{2}}}}}",
    "\\frac{1}{\\frac{1}{\\frac{1}{" + "x}" * 3 + "}}",
    "x^{x^{x^{x^{x^{x}}}}}-\\sum_{k=1}^{10^{9}} k^{k}",
]


# ------------------------------------------------------------------------------------------- data
def load_golds(data_dir: Path) -> list[str]:
    from siri_verl.data.prepare import prepare_rows, read_local_rows
    from siri_verl.data.sources import DATASETS, EVAL_SETS

    golds = []
    for name in EVAL_SETS:
        spec = DATASETS[name]
        rows = read_local_rows(data_dir / spec.local_file)
        golds += [r["reward_model"]["ground_truth"] for r in prepare_rows(spec, rows, progress=False).records]
    return golds


def perturb(gold: str, shift: int = 1) -> str:
    """A wrong answer: the first digit bumped by ``shift`` (1-9), or "+shift" when there is no digit."""
    match = re.search(r"\d", gold)
    if match:
        return gold[: match.start()] + str((int(match.group()) + shift) % 10) + gold[match.end() :]
    return f"{gold}+{shift}"


_INTEGER_FRACTION = re.compile(r"^(-?)\\frac\{(\d+)\}\{(\d+)\}$")


def equivalent_form(gold: str, variant: int) -> str:
    """The gold as a model might write it: verbatim, ``\\dfrac``, spaced, or another notation of the same
    value (``p/q`` for an integer fraction, ``n.0`` for an integer)."""
    variant %= 4
    if variant == 1:
        return gold.replace("\\frac", "\\dfrac")
    if variant == 2:
        return re.sub(r"([,+=])", r"\1 ", gold)
    if variant == 3:
        fraction = _INTEGER_FRACTION.match(gold)
        if fraction:
            return f"{fraction.group(1)}{fraction.group(2)}/{fraction.group(3)}"
        if re.fullmatch(r"-?\d+", gold):
            return gold + ".0"
    return gold


def thinking(rng: random.Random, n_chars: int, decoy: str | None) -> str:
    """R1-style thinking text with inline math, about ``n_chars`` long."""
    parts, size = ["Okay, let me try to figure this out. "], 0
    while size < n_chars:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        sentence = rng.choice(
            [
                f"Let me compute $a_{{{a}}} = {a}k + {b}$, which gives ${a * 3 + b}$. ",
                f"Wait, maybe I should double-check: $\\frac{{{a}}}{{{b}}} \\approx {a / b:.3f}$. ",
                f"Hmm, so the sum is ${a} + {b} = {a + b}$, right? ",
                f"Alternatively, consider $x^2 - {a}x + {b} = 0$; the discriminant is ${a * a - 4 * b}$. ",
                "But wait, that can't be right. Let me go back and re-read the problem. ",
                f"So $\\sqrt{{{a * a}}} = {a}$ and then multiplying by ${b}$ gives ${a * b}$. ",
            ]
        )
        parts.append(sentence)
        size += len(sentence)
        if decoy is not None and rng.random() < 0.01:
            parts.append(f"So maybe the answer is $\\boxed{{{decoy}}}$? Let me verify that. ")
            decoy = None
    return "".join(parts)


def build_cases(
    golds: list[str], per_category: int, n_adversarial: int, max_chars: int, seed: int, group_size: int = 1
) -> dict:
    """Labelled responses per category; consecutive runs of ``group_size`` share a gold (a GRPO group)."""
    rng = random.Random(seed)
    cases = {category: [] for category in CATEGORIES}
    for category in CATEGORIES:
        count = n_adversarial if category == "adversarial" else per_category
        for index in range(count):
            if index % group_size == 0:
                gold = rng.choice(golds)
            think = thinking(rng, rng.randint(max_chars // 8, max_chars), decoy=gold if rng.random() < 0.3 else None)
            if category == "correct":
                tail = f"</think>\n\nTherefore, the final answer is $\\boxed{{{equivalent_form(gold, index)}}}$."
            elif category == "wrong":
                # rollouts of one prompt get different wrong answers
                tail = f"</think>\n\nTherefore, the final answer is $\\boxed{{{perturb(gold, 1 + index % 9)}}}$."
            elif category == "unboxed":
                tail = f"</think>\n\nTherefore, the final answer is ${gold}$."
            elif category == "truncated":
                think = think[: len(think) // 2] + f" so maybe $\\boxed{{{gold}}}$, but let me check the case where"
                tail = ""
            else:
                tail = f"</think>\n\nThe final answer is $\\boxed{{{ADVERSARIAL_ANSWERS[index % len(ADVERSARIAL_ANSWERS)]}}}$."
            cases[category].append((think + tail, gold))
    return cases


# ---------------------------------------------------------------------------------------- scorers
def _ours_sequential(timeout_s):
    from siri_verl.reward import compute_score

    return lambda response, gold: compute_score("bench", response, gold, timeout_s=timeout_s, verify_workers=1)["score"] > 0


def _math_verify_direct(timeout_s):
    from math_verify import parse, verify

    def score(response, gold):  # the usual direct use: parse gold and the whole response, then verify
        return bool(verify(parse("$" + gold + "$"), parse(response)))

    return score


def _math_dapo(timeout_s):
    from verl.utils.reward_score import math_dapo

    return lambda response, gold: bool(math_dapo.compute_score(response, gold)["acc"])


def _prime_math(timeout_s):
    from verl.utils.reward_score import prime_math

    return lambda response, gold: bool(prime_math.compute_score(response, gold)[0])


SEQUENTIAL_SCORERS = {
    "ours (sequential)": _ours_sequential,
    "math-verify direct": _math_verify_direct,
    "verl math_dapo": _math_dapo,
    "verl prime_math": _prime_math,
}
OURS_BATCH = "ours (score_batch)"


def _run_cell(scorer_name: str, items: list, timeout_s: float, workers: int, conn) -> None:
    """Child process: warm up, then score ``items`` sending (index, verdict) as each finishes."""
    logging.disable(logging.CRITICAL)
    # needs math-verify (no fast path), so every scorer's lazy start-up happens before the clock starts
    warm_response, warm_gold = "x</think>\\boxed{\\sqrt{4}}", "2"
    if scorer_name == OURS_BATCH:
        from siri_verl.reward import score_batch

        # distinct golds, so every worker process starts (score_batch groups responses by gold)
        squares = range(2, 2 + workers)
        score_batch([f"x</think>\\boxed{{\\sqrt{{{n * n}}}}}" for n in squares], [str(n) for n in squares],
                    max_workers=workers, timeout_s=timeout_s)
        start = time.perf_counter()
        results = score_batch([r for r, _ in items], [g for _, g in items], max_workers=workers, timeout_s=timeout_s)
        elapsed = time.perf_counter() - start
        for index, result in enumerate(results):
            conn.send((index, result["score"] > 0, elapsed))
    else:
        scorer = SEQUENTIAL_SCORERS[scorer_name](timeout_s)
        scorer(warm_response, warm_gold)
        start = time.perf_counter()
        for index, (response, gold) in enumerate(items):
            try:
                verdict = bool(scorer(response, gold))
            except Exception:  # a baseline raising on model output counts as "not correct"
                verdict = False
            conn.send((index, verdict, time.perf_counter() - start))
    conn.send(None)
    conn.close()


def measure(scorer_name: str, items: list, timeout_s: float, workers: int, hang_s: float, budget_s: float) -> dict:
    """Run one cell in a forked child. ``hung``: one response took longer than ``hang_s`` (or the child
    died); ``cut``: the cell's ``budget_s`` ran out first (throughput is then over the responses done)."""
    context = mp.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # not a daemon: prime_math starts its own processes for its timeouts
    process = context.Process(target=_run_cell, args=(scorer_name, items, timeout_s, workers, sender))
    process.start()
    sender.close()
    verdicts, elapsed, hung, cut = {}, 0.0, False, False
    # score_batch reports only at the end: its whole batch must fit in the budget instead
    per_message_s = budget_s if scorer_name == OURS_BATCH else hang_s
    cell_deadline = time.monotonic() + budget_s
    while True:
        wait_s = min(per_message_s, cell_deadline - time.monotonic())
        if wait_s <= 0 or not receiver.poll(wait_s):
            cut = time.monotonic() >= cell_deadline
            hung = not cut
            break
        try:
            message = receiver.recv()
        except EOFError:  # the child died
            hung = True
            break
        if message is None:
            break
        index, verdict, elapsed = message
        verdicts[index] = verdict
    if process.is_alive():
        process.kill()
    process.join()
    return {"done": len(verdicts), "total": len(items), "elapsed_s": elapsed, "hung": hung, "cut": cut,
            "verdicts": verdicts}


def agreement(cell: dict, label: int) -> float:
    if not cell["verdicts"]:
        return float("nan")
    return sum(int(v) == label for v in cell["verdicts"].values()) / len(cell["verdicts"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="directory laid out like ../shared/data")
    parser.add_argument("--quick", action="store_true", help="small run (~160 responses, about a minute)")
    parser.add_argument("--per-category", type=int, default=None, help="responses per category (default 400; quick 40)")
    parser.add_argument("--adversarial", type=int, default=None, help="adversarial responses (default 16; quick 3)")
    parser.add_argument("--max-chars", type=int, default=None, help="longest thinking, in characters (default 40000; quick 12000)")
    parser.add_argument("--timeout-s", type=float, default=None, help="ours: per-answer hard limit in seconds (default 5; quick 2)")
    parser.add_argument("--workers", type=int, default=2, help="ours (score_batch): verifier processes")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="wall-clock budget per scorer x category cell; when it runs out the cell is reported "
                        "'cut' with throughput over the responses done (default 600; quick 10)")
    parser.add_argument("--hang-s", type=float, default=None,
                        help="one response taking longer than this is a hang: the cell is killed and reported "
                        "HUNG (default 2 x timeout + 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling answers and filler text")
    parser.add_argument("--group-size", type=int, default=4,
                        help="responses per gold in a row, as in a GRPO group of rollouts of one prompt")
    parser.add_argument("--repeats", type=int, default=None,
                        help="run every cell (except adversarial) this many times in fresh processes and keep the "
                        "fastest, to damp noise from other load on the machine (default 3; quick 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    quick = args.quick
    per_category = args.per_category or (40 if quick else 400)
    n_adversarial = args.adversarial or (3 if quick else 16)
    max_chars = args.max_chars or (12000 if quick else 40000)
    timeout_s = args.timeout_s or (2.0 if quick else 5.0)
    budget_s = args.budget_s or (10.0 if quick else 600.0)
    hang_s = args.hang_s or 2 * timeout_s + 5
    if not args.data_dir.is_dir():
        print(f"error: --data-dir {args.data_dir} not found (expected the ../shared/data layout)", file=sys.stderr)
        return 2

    # Import every scorer once here: the per-cell child processes are forked and inherit the imports.
    import math_verify  # noqa: F401
    from verl.utils.reward_score import math_dapo, prime_math  # noqa: F401

    import siri_verl.reward  # noqa: F401

    golds = load_golds(args.data_dir)
    repeats = args.repeats or (1 if quick else 3)
    cases = build_cases(golds, per_category, n_adversarial, max_chars, args.seed, args.group_size)
    total = sum(map(len, cases.values()))
    mean_chars = sum(len(r) for items in cases.values() for r, _ in items) / total
    print(f"{total} responses from {len(golds)} benchmark answers; mean length {mean_chars:,.0f} chars; "
          f"groups of {args.group_size}; best of {repeats}; "
          f"ours: timeout {timeout_s}s, score_batch workers {args.workers}; hang limit {hang_s}s per response, "
          f"budget {budget_s}s per cell\n")

    scorer_names = [*SEQUENTIAL_SCORERS, OURS_BATCH]
    results: dict[str, dict[str, dict]] = {name: {} for name in scorer_names}
    header = f"{'scorer':<20}" + "".join(f"{c:>22}" for c in CATEGORIES)
    print(header + "\n" + " " * 20 + "".join(f"{'resp/s  agree':>22}" for _ in CATEGORIES))
    print("-" * len(header))
    for name in scorer_names:
        row = f"{name:<20}"
        for category in CATEGORIES:
            # adversarial is about bounded time, not throughput: one run
            cell_repeats = 1 if category == "adversarial" else repeats
            runs = [measure(name, cases[category], timeout_s, args.workers, hang_s, budget_s)
                    for _ in range(cell_repeats)]
            # fastest complete run; any hang anywhere is reported
            cell = min(runs, key=lambda run: (run["hung"] or run["cut"], run["elapsed_s"] / max(run["done"], 1)))
            cell["hung"] = any(run["hung"] for run in runs)
            results[name][category] = cell
            rate = cell["done"] / cell["elapsed_s"] if cell["elapsed_s"] > 0 else float("nan")
            flag = "HUNG " if cell["hung"] else ("cut " if cell["cut"] else "")
            row += f"{flag + f'{rate:,.1f}':>14}{agreement(cell, LABELS[category]):>8.3f}"
        print(row, flush=True)

    def boxed_rate(name: str) -> tuple[float, float]:
        cells = [results[name][c] for c in ("correct", "wrong")]
        done = sum(c["done"] for c in cells)
        seconds = sum(c["elapsed_s"] for c in cells)
        agree = sum(agreement(c, LABELS[k]) * c["done"] for c, k in zip(cells, ("correct", "wrong"))) / max(done, 1)
        return done / seconds if seconds else float("nan"), agree

    print("\nboxed correct+wrong (the common case):")
    base_rate, base_agree = boxed_rate("math-verify direct")
    summary = {}
    for name in scorer_names:
        rate, agree = boxed_rate(name)
        summary[name] = {"boxed_resp_per_s": rate, "boxed_agreement": agree,
                         "hung_cells": [c for c in CATEGORIES if results[name][c]["hung"]],
                         "cut_cells": [c for c in CATEGORIES if results[name][c]["cut"]]}
        print(f"  {name:<20} {rate:>10,.1f} resp/s  {rate / base_rate:>6.2f}x math-verify direct   agreement {agree:.3f}"
              f"   hung cells: {summary[name]['hung_cells'] or 'none'}")
    ours_rate, ours_agree = boxed_rate("ours (sequential)")
    target_met = ours_rate >= 2 * base_rate and ours_agree >= base_agree and not summary["ours (sequential)"]["hung_cells"]
    print(f"\ntarget (ours sequential >= 2x math-verify direct on boxed correct+wrong, agreement not lower, "
          f"no hangs): {'MET' if target_met else 'NOT MET'}")

    if args.json:
        payload = {
            "settings": {"quick": quick, "per_category": per_category, "adversarial": n_adversarial,
                         "max_chars": max_chars, "timeout_s": timeout_s, "workers": args.workers,
                         "budget_s": budget_s, "hang_s": hang_s, "seed": args.seed, "responses": total,
                         "group_size": args.group_size, "repeats": repeats},
            "cells": {name: {c: {k: v for k, v in cell.items() if k != "verdicts"} |
                             {"agreement": agreement(cell, LABELS[c])} for c, cell in cells.items()}
                      for name, cells in results.items()},
            "boxed_correct_wrong": summary,
            "target_met": target_met,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
