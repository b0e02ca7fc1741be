"""Evaluation metric maths: avg@n with standard errors, unbiased pass@k, maj@k, token means, ΔCRAcc.

Pure Python + numpy; knows nothing of models, verl or files. Every function takes per-problem lists of
per-sample values, so the harness, the report and the tests all share the same definitions.

Definitions (docs/paper.md §7):

* **avg@n** (the paper's pass@1): mean over problems of the fraction of a problem's n samples that are
  correct.
* **standard error** of avg@n, two flavours:
  ``stderr`` -- across problems (the "clustered" standard error: std of the per-problem accuracies, ddof=1,
  divided by sqrt(#problems)); answers "how much would the score move on another draw of problems";
  ``sampling_stderr`` -- the seed noise for *these* problems: sqrt(sum_p s_p^2 / n_p) / P with the unbiased
  per-problem variance s_p^2 = n_p/(n_p-1) * a_p (1-a_p); answers "how far is our avg@64 from the
  infinite-sample value on the same benchmark", which is what matters when comparing to a paper's number.
* **pass@k**: the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k), averaged over problems.
* **maj@k**: majority vote over disjoint groups of k samples (sample order), averaged over groups then
  problems. Votes are grouped by answer equivalence: every correct sample is equivalent to the gold answer,
  so all correct samples form one class; incorrect extracted answers are grouped by their value-preserving
  normalised string (``siri_verl.reward.normalize.normalize_answer``);
  samples without an extracted answer do not vote. A group with no votes counts as wrong; a tie between
  classes is broken in favour of the class whose first vote came earliest (deterministic, no peeking at
  correctness).
* **ΔCRAcc** (SIRI Table 1): mean over the benchmarks reported for both rows of
  max(acc/acc0 - 1, 0) / (len/len0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from siri_verl.reward.normalize import normalize_answer


@dataclass(frozen=True)
class AccuracyEstimate:
    """avg@n over problems and its two standard errors (fractions in [0, 1], not percent)."""

    mean: float
    stderr: float
    sampling_stderr: float
    num_problems: int


def _check_nonempty(scores_per_problem: Sequence[Sequence[float]], what: str) -> None:
    if len(scores_per_problem) == 0:
        raise ValueError(f"{what}: no problems given")
    for index, scores in enumerate(scores_per_problem):
        if len(scores) == 0:
            raise ValueError(f"{what}: problem #{index} has no samples; every problem needs at least one")


def avg_at_n(scores_per_problem: Sequence[Sequence[float]]) -> AccuracyEstimate:
    """avg@n: mean of per-problem mean scores, with across-problem and sampling standard errors.

    Problems may have different sample counts (a partially finished run); each problem weighs the same.
    """
    _check_nonempty(scores_per_problem, "avg_at_n")
    per_problem = np.array([float(np.mean(s)) for s in scores_per_problem])
    num_problems = len(per_problem)
    stderr = float(np.std(per_problem, ddof=1) / math.sqrt(num_problems)) if num_problems > 1 else float("nan")
    variance_of_means = 0.0
    for scores, accuracy in zip(scores_per_problem, per_problem):
        n = len(scores)
        if n < 2:
            return AccuracyEstimate(float(per_problem.mean()), stderr, float("nan"), num_problems)
        unbiased_sample_variance = n / (n - 1) * accuracy * (1.0 - accuracy)
        variance_of_means += unbiased_sample_variance / n
    sampling_stderr = math.sqrt(variance_of_means) / num_problems
    return AccuracyEstimate(float(per_problem.mean()), stderr, sampling_stderr, num_problems)


def pass_at_k_single(num_samples: int, num_correct: int, k: int) -> float:
    """Unbiased pass@k for one problem: 1 - C(n-c, k) / C(n, k), computed as a stable product."""
    if not 1 <= k <= num_samples:
        raise ValueError(f"pass@k needs 1 <= k <= n; got k={k}, n={num_samples}")
    if not 0 <= num_correct <= num_samples:
        raise ValueError(f"pass@k needs 0 <= c <= n; got c={num_correct}, n={num_samples}")
    if num_samples - num_correct < k:
        return 1.0
    # C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i)
    return 1.0 - float(np.prod(1.0 - k / np.arange(num_samples - num_correct + 1, num_samples + 1)))


def pass_at_k(scores_per_problem: Sequence[Sequence[float]], k: int) -> float:
    """Mean over problems of the unbiased pass@k (a sample is correct when its score is > 0.5)."""
    _check_nonempty(scores_per_problem, "pass_at_k")
    values = [pass_at_k_single(len(s), sum(1 for x in s if x > 0.5), k) for s in scores_per_problem]
    return float(np.mean(values))


_CORRECT_CLASS = "\x00correct"


def majority_vote_is_correct(answers: Sequence[str | None], scores: Sequence[float]) -> bool:
    """One maj vote: the largest answer-equivalence class wins (ties -> the class voted first)."""
    counts: dict[str, int] = {}
    first_vote: dict[str, int] = {}
    for position, (answer, score) in enumerate(zip(answers, scores)):
        if score > 0.5:
            key = _CORRECT_CLASS
        elif answer is None or str(answer).strip() == "":
            continue
        else:
            key = normalize_answer(str(answer))
        counts[key] = counts.get(key, 0) + 1
        first_vote.setdefault(key, position)
    if not counts:
        return False
    winner = max(counts, key=lambda key: (counts[key], -first_vote[key]))
    return winner == _CORRECT_CLASS


def maj_at_k(
    answers_per_problem: Sequence[Sequence[str | None]], scores_per_problem: Sequence[Sequence[float]], k: int
) -> float:
    """maj@k: majority vote over consecutive disjoint groups of k samples, averaged over groups, then problems."""
    _check_nonempty(scores_per_problem, "maj_at_k")
    if len(answers_per_problem) != len(scores_per_problem):
        raise ValueError("maj_at_k: answers and scores must list the same problems")
    per_problem = []
    for index, (answers, scores) in enumerate(zip(answers_per_problem, scores_per_problem)):
        if len(answers) != len(scores):
            raise ValueError(f"maj_at_k: problem #{index} has {len(answers)} answers but {len(scores)} scores")
        if not 1 <= k <= len(scores):
            raise ValueError(f"maj@k needs 1 <= k <= n; got k={k}, n={len(scores)} for problem #{index}")
        groups = len(scores) // k
        votes = [majority_vote_is_correct(answers[g * k : (g + 1) * k], scores[g * k : (g + 1) * k])
                 for g in range(groups)]
        per_problem.append(float(np.mean(votes)))
    return float(np.mean(per_problem))


@dataclass(frozen=True)
class TokenStats:
    """Mean response tokens over all / correct / incorrect responses, and the truncation rate."""

    mean_tokens: float
    mean_tokens_correct: float | None
    mean_tokens_incorrect: float | None
    truncation_rate: float
    num_responses: int


def token_stats(token_counts: Sequence[int], scores: Sequence[float], truncated: Sequence[bool]) -> TokenStats:
    """Token means over all samples (the paper's "Len": truncated responses count at their capped length)."""
    if not (len(token_counts) == len(scores) == len(truncated)):
        raise ValueError("token_stats: token_counts, scores and truncated must have the same length")
    if len(token_counts) == 0:
        raise ValueError("token_stats: no responses given")
    counts = np.asarray(token_counts, dtype=float)
    correct = np.asarray(scores, dtype=float) > 0.5
    return TokenStats(
        mean_tokens=float(counts.mean()),
        mean_tokens_correct=float(counts[correct].mean()) if correct.any() else None,
        mean_tokens_incorrect=float(counts[~correct].mean()) if (~correct).any() else None,
        truncation_rate=float(np.mean(np.asarray(truncated, dtype=bool))),
        num_responses=len(token_counts),
    )


def delta_cr_acc(
    accuracy: Mapping[str, float | None],
    length: Mapping[str, float | None],
    base_accuracy: Mapping[str, float | None],
    base_length: Mapping[str, float | None],
) -> float | None:
    """ΔCRAcc of one row against a base row: mean over benchmarks present in both of max(a/a0-1, 0)/(l/l0).

    Returns None when the rows share no benchmark. Raises on a zero base accuracy or length (undefined ratio).
    """
    terms = []
    for benchmark, acc in accuracy.items():
        values = (acc, length.get(benchmark), base_accuracy.get(benchmark), base_length.get(benchmark))
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            continue
        acc, tokens, acc0, tokens0 = (float(v) for v in values)
        if acc0 <= 0 or tokens0 <= 0 or tokens <= 0:
            raise ValueError(
                f"ΔCRAcc undefined on {benchmark!r}: base accuracy {acc0}, base length {tokens0}, length {tokens} "
                "must all be > 0; choose another base row"
            )
        terms.append(max(acc / acc0 - 1.0, 0.0) / (tokens / tokens0))
    return float(np.mean(terms)) if terms else None
