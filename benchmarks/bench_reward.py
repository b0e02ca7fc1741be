"""Reward-grader benchmark: SIRI's grader vs math-verify called directly vs verl's math_dapo and prime_math.

Builds long R1-style responses from the benchmark answers in ../shared/data (AIME24/25, AMC23, MATH500,
Minerva, OlympiadBench), in six labelled categories:

    correct      final \\boxed{gold} after </think>, the gold verbatim or in an          label 1
                 equivalent notation (\\dfrac, spacing, p/q, n.0)
    wrong        final \\boxed{perturbed gold} after </think>                         label 0
    near_miss    final \\boxed{} of a wrong answer that differs from the gold only       label 0
                 where a fragment parse looks away: the gold's last digit changed, and
                 a fixed probe set (a dropped term, root, unit exponent, base, variable)
    unboxed      "the final answer is gold." after </think>, no box                   label 0 (no extractable answer)
    truncated    cut at the cap inside the thinking (no </think>; a boxed guess of    label 0 (paper: no answer
                 the gold appears mid-thinking)                                               within the cap)
    adversarial  pathological final box (power towers, 600 nested braces, 6K-char       label 0
                 sums, factorials of huge numbers, unbalanced braces)

and prints, per scorer and category, responses/s and agreement with the labels, all measured in this run;
for near_miss also the false-positive rate, and for every sequential cell the slowest single response.
Ours runs with its default options (``timeout_s`` included) unless ``--timeout-s`` is given.
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
CATEGORIES = ("correct", "wrong", "near_miss", "unboxed", "truncated", "adversarial")
LABELS = {"correct": 1, "wrong": 0, "near_miss": 0, "unboxed": 0, "truncated": 0, "adversarial": 0}
ADVERSARIAL_ANSWERS = [
    "9^{9^{9^{9}}}",
    "(10^{10})!",
    "{" * 600 + "1" + "}" * 600,
    "+".join(["1"] * 3000),
    "\\sqrt{" * 200 + "2" + "}" * 200,
    "2^{2^{2^{2^{2^{2}}}}}",
    "\\frac{1}{\\frac{1}{\\frac{1}{" + "x}" * 3 + "}}",
    "x^{x^{x^{x^{x^{x}}}}}-\\sum_{k=1}^{10^{9}} k^{k}",
    "9^{9^9}",
    "10^{-100000}",
    "(2^{10000})^{2^{10000}}",
    "100000!",
    "\\left(" * 300 + "1" + "\\right)" * 300,
    "\\frac{1}{\\frac{1}{\\frac{1}{x}x}x}}}",
    "+".join(["x^{2}"] * 100),
    "\\sum_{k=1}^{10^{9}} k^{k}",
]
# Wrong answers a fragment parse of the gold (or of the answer) accepts: (gold, wrong answer).
NEAR_MISS_PROBES = [
    ("1 - \\frac{1}{\\mathrm{e}}", "1"),
    ("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}"),
    ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{2}{\\mathrm{e}}"),
    ("3+\\frac{2}{\\mathrm{e}}", "3"),
    ("\\frac{\\mathrm{e}}{2}", "\\frac{\\mathrm{e}}{3}"),
    ("\\sqrt{\\mathrm{e}}", "\\sqrt{2}"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac{1}{2}"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{5}"),
    ("x = 2, x = \\pm 3", "3"),
    ("x = 2, x = \\pm 3", "2, 3"),
    ("15\\mbox{ cm}^2", "15\\mbox{ cm}^3"),
    ("204_5", "204_6"),
    ("N=n", "N=n+1"),
    ("6m", "6"),
    ("\\frac{1}{m} t", "\\frac{1}{m}"),
    ("\\{x \\mid 2 < x < 3\\}", "\\{x \\mid 2 < x < 4\\}"),
    ("\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}", "\\frac{1}{3} E_{1}+\\frac{2}{3} E_{3}"),
    ("\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{2}}", "\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{3}}"),
    ("0.\\overline{3}", "0"),
    ("\\frac{1}{23}", "\\frac 123"),
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


def perturb_last(gold: str, shift: int = 1) -> str | None:
    """A near miss: the last digit bumped by ``shift`` (1-9); None when the gold has no digit."""
    matches = list(re.finditer(r"\d", gold))
    if not matches:
        return None
    match = matches[-1]
    return gold[: match.start()] + str((int(match.group()) + shift) % 10) + gold[match.end() :]


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
    with_digits = [g for g in golds if perturb_last(g) is not None]
    for category in CATEGORIES:
        count = n_adversarial if category == "adversarial" else per_category
        for index in range(count):
            if category == "near_miss":  # the probe set first, then last-digit changes of random golds
                if index < len(NEAR_MISS_PROBES):
                    gold, answer = NEAR_MISS_PROBES[index]
                else:
                    gold = rng.choice(with_digits) if index % group_size == 0 else gold
                    answer = perturb_last(gold, 1 + index % 9)
                think = thinking(rng, rng.randint(max_chars // 8, max_chars), decoy=None)
                cases[category].append((think + f"</think>\n\nSo the answer is $\\boxed{{{answer}}}$.", gold))
                continue
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
def _ours_options(timeout_s) -> dict:
    return {} if timeout_s is None else {"timeout_s": timeout_s}


def _ours_sequential(timeout_s):
    from siri_verl.reward import compute_score

    options = _ours_options(timeout_s)
    return lambda response, gold: compute_score("bench", response, gold, verify_workers=1, **options)["score"] > 0


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
        options = _ours_options(timeout_s)
        score_batch([f"x</think>\\boxed{{\\sqrt{{{n * n}}}}}" for n in squares], [str(n) for n in squares],
                    max_workers=workers, **options)
        start = time.perf_counter()
        results = score_batch([r for r, _ in items], [g for _, g in items], max_workers=workers, **options)
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
    verdicts, elapsed, hung, cut, slowest = {}, 0.0, False, False, 0.0
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
        index, verdict, now = message
        if scorer_name != OURS_BATCH:  # sequential: the time of this one response
            slowest = max(slowest, now - elapsed)
        elapsed = now
        verdicts[index] = verdict
    if process.is_alive():
        process.kill()
    process.join()
    if hung and scorer_name != OURS_BATCH:  # the response that never finished took at least hang_s
        slowest = max(slowest, hang_s)
    return {"done": len(verdicts), "total": len(items), "elapsed_s": elapsed, "hung": hung, "cut": cut,
            "slowest_s": slowest if scorer_name != OURS_BATCH else None, "verdicts": verdicts}


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
    parser.add_argument("--timeout-s", type=float, default=None,
                        help="ours: per-answer hard limit in seconds (default: the reward's own default)")
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
    from siri_verl.reward import RewardOptions

    timeout_s = args.timeout_s  # None: ours runs with its default options
    effective_timeout_s = timeout_s or RewardOptions().timeout_s
    budget_s = args.budget_s or (10.0 if quick else 600.0)
    hang_s = args.hang_s or 2 * effective_timeout_s + 5
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
          f"ours: timeout {effective_timeout_s}s{'' if timeout_s else ' (default)'}, score_batch workers {args.workers}; "
          f"hang limit {hang_s}s per response, "
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

    print("\nnear-miss wrong answers: false-positive rate (accepted / scored)")
    near_miss = {}
    for name in scorer_names:
        cell = results[name]["near_miss"]
        accepted = sum(cell["verdicts"].values())
        rate = accepted / len(cell["verdicts"]) if cell["verdicts"] else float("nan")
        near_miss[name] = {"false_positive_rate": rate, "accepted": accepted, "scored": len(cell["verdicts"])}
        print(f"  {name:<20} {rate:>7.3f}  ({accepted}/{len(cell['verdicts'])})")
    fp_target = near_miss["ours (sequential)"]["false_positive_rate"] <= near_miss["math-verify direct"]["false_positive_rate"]
    print(f"target (ours' near-miss false-positive rate <= math-verify direct's): {'MET' if fp_target else 'NOT MET'}")

    print("\nslowest single response per category, seconds (sequential scorers):")
    print(f"  {'scorer':<20}" + "".join(f"{c:>13}" for c in CATEGORIES))
    slowest = {}
    for name in SEQUENTIAL_SCORERS:
        slowest[name] = {c: results[name][c]["slowest_s"] for c in CATEGORIES}
        print(f"  {name:<20}" + "".join(f"{slowest[name][c]:>13.2f}" for c in CATEGORIES))
    ours_slowest = max(slowest["ours (sequential)"].values())
    time_target = ours_slowest <= 5.0
    print(f"target (no response of ours over 5 s, default options): {'MET' if time_target else 'NOT MET'} "
          f"(slowest {ours_slowest:.2f} s)")

    if args.json:
        payload = {
            "settings": {"quick": quick, "per_category": per_category, "adversarial": n_adversarial,
                         "max_chars": max_chars, "timeout_s": effective_timeout_s, "workers": args.workers,
                         "budget_s": budget_s, "hang_s": hang_s, "seed": args.seed, "responses": total,
                         "group_size": args.group_size, "repeats": repeats},
            "cells": {name: {c: {k: v for k, v in cell.items() if k != "verdicts"} |
                             {"agreement": agreement(cell, LABELS[c])} for c, cell in cells.items()}
                      for name, cells in results.items()},
            "boxed_correct_wrong": summary,
            "target_met": target_met,
            "near_miss": near_miss,
            "near_miss_target_met": fp_target,
            "slowest_response_s": slowest,
            "time_target_met": time_target,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
