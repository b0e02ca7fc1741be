"""Evaluation metric maths on constructed cases: avg@n + standard errors, pass@k, maj@k, tokens, ΔCRAcc."""

import itertools
import math

import numpy as np
import pytest

from siri_verl.eval import metrics


def test_avg_at_n_mean_and_both_standard_errors():
    # 3 problems x 4 samples: per-problem accuracies 1.0, 0.5, 0.0
    scores = [[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]]
    estimate = metrics.avg_at_n(scores)
    assert estimate.mean == pytest.approx(0.5)
    # across problems: std([1, .5, 0], ddof=1) / sqrt(3) = 0.5 / sqrt(3)
    assert estimate.stderr == pytest.approx(0.5 / math.sqrt(3))
    # sampling: only problem 2 varies; s^2 = 4/3 * .25 = 1/3; var(mean_2) = 1/12; se = sqrt(1/12) / 3
    assert estimate.sampling_stderr == pytest.approx(math.sqrt(1 / 12) / 3)
    assert estimate.num_problems == 3


def test_avg_at_n_weights_problems_equally_with_unequal_sample_counts():
    estimate = metrics.avg_at_n([[1, 1], [0, 0, 0, 1]])
    assert estimate.mean == pytest.approx((1.0 + 0.25) / 2)


def test_avg_at_n_single_problem_or_sample_gives_nan_not_a_crash():
    assert math.isnan(metrics.avg_at_n([[1, 0, 1]]).stderr)
    assert math.isnan(metrics.avg_at_n([[1], [0]]).sampling_stderr)


@pytest.mark.parametrize("bad", [[], [[1, 0], []]])
def test_avg_at_n_rejects_empty_input(bad):
    with pytest.raises(ValueError, match="no (problems|samples)"):
        metrics.avg_at_n(bad)


def brute_force_pass_at_k(n, c, k):
    """Fraction of k-subsets of n samples (c correct) that contain a correct one."""
    samples = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("n, c, k", [(5, 0, 1), (5, 2, 1), (5, 2, 2), (6, 3, 4), (8, 1, 8), (7, 6, 3), (4, 4, 2)])
def test_pass_at_k_matches_subset_enumeration(n, c, k):
    assert metrics.pass_at_k_single(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k))


def test_pass_at_1_equals_avg_at_n_and_is_averaged_over_problems():
    scores = [[1, 0, 0, 0], [1, 1, 0, 0]]
    assert metrics.pass_at_k(scores, 1) == pytest.approx(metrics.avg_at_n(scores).mean)
    expected = (brute_force_pass_at_k(4, 1, 2) + brute_force_pass_at_k(4, 2, 2)) / 2
    assert metrics.pass_at_k(scores, 2) == pytest.approx(expected)


def test_pass_at_k_large_n_is_stable():
    value = metrics.pass_at_k_single(1024, 3, 512)
    assert value == pytest.approx(1 - math.comb(1021, 512) / math.comb(1024, 512))


@pytest.mark.parametrize("n, c, k", [(4, 1, 0), (4, 1, 5), (4, 5, 2)])
def test_pass_at_k_rejects_impossible_arguments(n, c, k):
    with pytest.raises(ValueError, match="pass@k"):
        metrics.pass_at_k_single(n, c, k)


def test_majority_vote_correct_class_wins_by_count():
    # two correct (any spelling), one wrong answer repeated once
    assert metrics.majority_vote_is_correct(["1/2", "0.5", "3"], [1, 1, 0])
    # wrong answer "3" appears 3 times (spelled with spaces / \left) vs 2 correct
    assert not metrics.majority_vote_is_correct(["3", " 3 ", "\\left3", "1/2", "0.5"], [0, 0, 0, 1, 1])


def test_majority_vote_groups_equivalent_wrong_answers_and_ignores_missing():
    # \dfrac and \frac normalise to the same wrong answer; None and "" do not vote
    answers = ["\\dfrac{1}{3}", "\\frac{1}{3}", None, "", "2"]
    assert not metrics.majority_vote_is_correct(answers, [0, 0, 0, 0, 1])
    assert metrics.majority_vote_is_correct([None, None, "2"], [0, 0, 1])
    assert not metrics.majority_vote_is_correct([None, ""], [0, 0])


def test_majority_vote_tie_goes_to_the_class_voted_first():
    assert not metrics.majority_vote_is_correct(["7", "5"], [0, 1])
    assert metrics.majority_vote_is_correct(["5", "7"], [1, 0])


def test_maj_at_k_uses_disjoint_groups_then_averages_problems():
    answers = [["a", "a", "b", "x"], ["b", "b", "b", "b"]]
    scores = [[0, 0, 1, 1], [1, 1, 1, 1]]
    # problem 1, k=2: groups [a,a] (wrong) and [b,x] (both correct -> correct) -> 0.5; problem 2 -> 1
    assert metrics.maj_at_k(answers, scores, 2) == pytest.approx(0.75)
    # k=4: problem 1 has 2 correct vs 2 "a" -> tie, "a" voted first -> wrong
    assert metrics.maj_at_k(answers, scores, 4) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        metrics.maj_at_k(answers, scores, 5)


def test_token_stats_over_all_correct_incorrect_and_truncation():
    stats = metrics.token_stats([10, 20, 30, 100], [1, 0, 1, 0], [False, False, False, True])
    assert stats.mean_tokens == pytest.approx(40)
    assert stats.mean_tokens_correct == pytest.approx(20)
    assert stats.mean_tokens_incorrect == pytest.approx(60)
    assert stats.truncation_rate == pytest.approx(0.25)
    none_correct = metrics.token_stats([5, 7], [0, 0], [False, False])
    assert none_correct.mean_tokens_correct is None and none_correct.mean_tokens_incorrect == 6


def test_delta_cr_acc_definition_and_missing_benchmarks():
    base_acc, base_len = {"a": 20.0, "b": 50.0}, {"a": 1000.0, "b": 500.0}
    # a: (30/20 - 1) / (500/1000) = 1.0; b: accuracy fell -> 0; mean 0.5
    assert metrics.delta_cr_acc({"a": 30.0, "b": 40.0}, {"a": 500.0, "b": 250.0}, base_acc, base_len) == pytest.approx(0.5)
    # benchmarks missing from either row are skipped (the paper's dagger rows report 2 of 4)
    assert metrics.delta_cr_acc({"a": 30.0, "c": 1.0}, {"a": 500.0, "c": 1.0}, base_acc, base_len) == pytest.approx(1.0)
    assert metrics.delta_cr_acc({"c": 1.0}, {"c": 1.0}, base_acc, base_len) is None
    with pytest.raises(ValueError, match="base accuracy"):
        metrics.delta_cr_acc({"a": 1.0}, {"a": 1.0}, {"a": 0.0}, {"a": 1.0})


def test_avg_at_n_agrees_with_numpy_on_random_case():
    rng = np.random.default_rng(0)
    scores = (rng.random((30, 64)) < rng.random((30, 1))).astype(float)
    estimate = metrics.avg_at_n(scores.tolist())
    per_problem = scores.mean(axis=1)
    assert estimate.mean == pytest.approx(per_problem.mean())
    assert estimate.stderr == pytest.approx(per_problem.std(ddof=1) / np.sqrt(30))
