"""SIRI math reward: extraction, equivalence, truncation reporting, options, time limits, batch scoring."""

from __future__ import annotations

import threading

import pytest

from siri_verl.answers import last_boxed_content
from siri_verl.errors import ConfigKeyError
from siri_verl.response_record import CAP_FIELD, TRUNCATED_FIELD, ResponseRecord
from siri_verl.reward import (
    RESULT_KEYS,
    RewardOptionError,
    RewardOptions,
    compute_score,
    extract_answer,
    score_batch,
)
from siri_verl.reward.verifier import Verdict, VerifierPool


def respond(answer: str) -> str:
    """An R1-style response: thinking (with a decoy box), then the final boxed answer."""
    return f"Okay, first guess \\boxed{{0}} is wrong, let me redo it...\n</think>\nThe answer is $\\boxed{{{answer}}}$."


# ------------------------------------------------------------------------------------------ extraction
@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{5}", "5"),
        ("a \\boxed{1} b \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\fbox{42}", "42"),
        ("\\boxed{1} then \\fbox{7}", "7"),
        ("so \\boxed 5.", "5"),
        ("\\boxed{3} and a cut \\boxed{\\frac{1}{", "3"),  # unclosed trailing box: previous closed one
        ("\\boxed{\\frac{1}{", None),
        ("no box at all", None),
        ("\\boxedx{5}", None),
    ],
)
def test_last_boxed_content(text, expected):
    assert last_boxed_content(text) == expected


def test_answer_must_follow_think_end_by_default():
    assert extract_answer("thinking \\boxed{5} no end tag").reason == "no_think_end"
    found = extract_answer("thinking \\boxed{4}</think> final \\boxed{5}")
    assert (found.answer, found.has_answer) == ("5", True)
    # A box only inside the thinking does not count.
    assert extract_answer("thinking \\boxed{5}</think> I am done.").reason == "no_boxed_answer"
    assert extract_answer("</think> \\boxed{ }").reason == "empty_answer"


def test_think_modes_for_models_without_think_tags():
    assert extract_answer("plain \\boxed{5}", "optional").answer == "5"
    assert extract_answer("x \\boxed{4}</think> \\boxed{5}", "optional").answer == "5"
    assert extract_answer("x \\boxed{5}</think> no answer", "ignore").answer == "5"
    with pytest.raises(ValueError, match="think_mode"):
        extract_answer("x", "sometimes")


# ------------------------------------------------------------------------------------------ equivalence
EQUIVALENT = [
    # (ground truth as prepared, model answer)
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\dfrac12"),
    ("\\frac{14}{3}", "\\dfrac{14}{3}"),
    ("2\\sqrt{2}", "\\sqrt{8}"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
    ("[1,3)", "[1, 3)"),
    ("(-\\infty,0)\\cup(1,\\infty)", "(-\\infty, 0) \\cup (1, \\infty)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("90^\\circ", "90"),
    ("10\\%", "10"),
    ("5\\text{ cm}", "5"),
    ("\\text{Evelyn}", "\\text{Evelyn}"),
    ("\\text{(C)}", "C"),
    ("27", "27.0"),
    ("25", "025"),
    ("1.6", "1.60"),
    ("4.5\\times10^{33}", "4.5 \\times 10^{33}"),
    ("p - q", "-q+p"),
    ("x^2+1", "1+x^2"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("1000", "1{,}000"),
]

NOT_EQUIVALENT = [
    ("\\frac{1}{2}", "0.6"),
    ("2\\sqrt{2}", "\\sqrt{6}"),
    ("(1,3]", "[1,3)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi)"),
    ("204", "205"),
    ("1000000", "1000001"),
    ("2.88\\times10^{-19}", "3.88\\times10^{-19}"),  # math-verify's 6-decimal rounding would accept this
    ("x^2+1", "x^2-1"),
    ("\\text{Evelyn}", "\\text{Bob}"),
    ("10\\%", "20"),
]


def test_equivalent_answers_score_one():
    results = score_batch([respond(pred) for _, pred in EQUIVALENT], [gold for gold, _ in EQUIVALENT])
    failures = [(case, r["reason"]) for case, r in zip(EQUIVALENT, results) if r["score"] != 1.0]
    assert not failures


def test_different_answers_score_zero():
    results = score_batch([respond(pred) for _, pred in NOT_EQUIVALENT], [gold for gold, _ in NOT_EQUIVALENT])
    failures = [(case, r["reason"]) for case, r in zip(NOT_EQUIVALENT, results) if r["score"] != 0.0]
    assert not failures
    assert all(r["reason"] == "wrong_answer" and r["has_answer"] for r in results)


def test_result_has_the_same_keys_for_every_outcome():
    outcomes = [
        compute_score("aime24", respond("204"), "204"),
        compute_score("aime24", respond("7"), "204"),
        compute_score("aime24", "cut at the cap before the end of thinking", "204"),
        compute_score("aime24", None, "204"),
        compute_score("aime24", respond("1"), ""),
    ]
    assert [tuple(r) for r in outcomes] == [RESULT_KEYS] * len(outcomes)
    assert [r["reason"] for r in outcomes] == [
        "correct",
        "wrong_answer",
        "no_think_end",
        "not_a_string",
        "bad_ground_truth",
    ]
    assert [r["score"] for r in outcomes] == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_non_string_ground_truths_are_normalised_as_a_fallback():
    assert compute_score("amc23", respond("27"), 27.0)["score"] == 1.0
    assert compute_score("aime25", respond("70"), 70)["score"] == 1.0
    assert compute_score("olympiadbench", respond("2"), ["$2$"])["score"] == 1.0


# ------------------------------------------------------------------------------------------ truncation
def test_truncation_is_reported_and_the_text_graded_as_it_stands():
    info = ResponseRecord(cap=8192, truncated=True, response_length=8192).to_fields()
    complete = compute_score("aime24", respond("204"), "204", extra_info=info)
    assert (complete["score"], complete["truncated"], complete["cap"]) == (1.0, True, 8192)
    assert complete["reason"] == "correct"  # zeroing a truncated response is algorithm.siri.truncation=zero's job
    cut = compute_score("aime24", "Let me compute 9/s + t = 4 so s = 2.5 and then \\boxed{", "204", extra_info=info)
    assert (cut["score"], cut["has_answer"], cut["reason"]) == (0.0, False, "no_think_end")
    untruncated = compute_score("aime24", respond("204"), "204", extra_info={TRUNCATED_FIELD: False, CAP_FIELD: 16384})
    assert (untruncated["truncated"], untruncated["cap"]) == (False, 16384)


def test_a_partial_or_missing_record_still_grades():
    only_flag = compute_score("aime24", respond("204"), "204", extra_info={TRUNCATED_FIELD: True})
    assert (only_flag["score"], only_flag["truncated"], only_flag["cap"]) == (1.0, True, None)
    for info in (None, {}, {"index": 3}, {CAP_FIELD: "not a number"}):
        result = compute_score("aime24", respond("204"), "204", extra_info=info)
        assert (result["score"], result["truncated"], result["cap"]) == (1.0, False, None), info


def test_the_removed_truncated_score_option_names_algorithm_siri_truncation():
    key = "reward.custom_reward_function.reward_kwargs.truncated_score"
    for value in ("zero", "as_is"):
        with pytest.raises(RewardOptionError, match="algorithm.siri.truncation") as caught:
            compute_score("x", respond("1"), "1", truncated_score=value)
        assert caught.value.key == key
        assert "zero = the old truncated_score=zero" in str(caught.value)
        assert "delete the reward kwarg" in str(caught.value)
    # also when misspelt options come with it: the migration hint comes first
    with pytest.raises(RewardOptionError, match="algorithm.siri.truncation"):
        RewardOptions.from_kwargs({"truncated_score": "zero", "think_mod": "require"})


# ------------------------------------------------------------------------------------------ options
def test_bad_options_fail_naming_the_key():
    prefix = "reward.custom_reward_function.reward_kwargs"
    with pytest.raises(ConfigKeyError, match=r"think_mode='requir': choose one of") as caught:
        compute_score("x", respond("1"), "1", think_mode="requir")
    assert caught.value.key == f"{prefix}.think_mode"
    with pytest.raises(ValueError, match="timeout_s") as caught:
        RewardOptions(timeout_s=0)
    assert caught.value.key == f"{prefix}.timeout_s"
    with pytest.raises(TypeError, match=r"truncated_scor: is not an option.*valid options: memory_limit_mb") as caught:
        compute_score("x", respond("1"), "1", truncated_scor="zero")
    assert caught.value.key == f"{prefix}.truncated_scor" and isinstance(caught.value, ConfigKeyError)
    with pytest.raises(RewardOptionError, match=r"\.think_mode=\['require'\]"):  # a list from the YAML
        RewardOptions.from_kwargs({"think_mode": ["require"]})
    # verl's reward-router kwargs are accepted and ignored
    assert compute_score("x", respond("1"), "1", reward_router_address=None)["score"] == 1.0


# ------------------------------------------------------------------------------------------ time limits
@pytest.mark.subprocess
@pytest.mark.slow
def test_comparison_over_the_limit_times_out_with_a_reason():
    # A limit no math-verify comparison can meet: the worker is killed and the answer scores 0.
    answer = "\\frac{x^{3}+\\sqrt{7}\\,x}{\\pi-\\sin(x)}"
    result = compute_score("x", respond(answer), "5", timeout_s=0.001)
    assert (result["score"], result["reason"], result["has_answer"]) == (0.0, "timeout", True)


@pytest.mark.slow
@pytest.mark.subprocess
def test_pool_replaces_a_killed_worker():
    pool = VerifierPool(size=1, timeout_s=1)
    try:
        assert pool.check("3", "3") == Verdict(True, "")  # start-up is not counted against the limit
        assert pool.num_processes == 2  # the worker and an idle spare
        (first,) = [worker.process for worker in pool._all if worker is not pool._spare]
        spare = pool._spare
        # the pool itself refuses nothing: sympy would try to build 9^(9^(9^9)); the worker is killed
        assert pool.check("5", "9^{9^{9^{9}}}") == Verdict(False, "timeout")
        assert first.poll() is not None
        # the spare took the killed worker's place and a new spare is starting
        assert pool.num_processes == 2 and spare in pool._all and pool._spare is not spare
        # the next comparison uses the replacement (generous limit: the first parse in a new process is slow)
        assert pool.check("2", "\\sqrt{4}", timeout_s=120) == Verdict(True, "")
        assert pool.num_processes == 2
    finally:
        pool.close()


@pytest.mark.slow
@pytest.mark.subprocess
def test_verifier_pool_works_from_threads_and_stays_bounded():
    pool = VerifierPool(size=2, timeout_s=30)
    verdicts = {}

    def check(index: int) -> None:
        verdicts[index] = pool.check("\\frac{1}{2}", "0.5" if index % 2 else "0.25")

    try:
        threads = [threading.Thread(target=check, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert pool.num_processes <= 3  # two workers and the spare
    finally:
        pool.close()
    assert [verdicts[i].equal for i in range(6)] == [False, True] * 3
    assert pool.num_processes == 0


def test_unparsable_answer_scores_zero_with_reason():
    result = compute_score("x", respond("???"), "5")
    assert (result["score"], result["reason"], result["pred"]) == (0.0, "unparsable_answer", "???")


# ------------------------------------------------------------------------------------------ batch
def test_score_batch_matches_compute_score_and_keeps_order():
    cases = [("204", "204"), ("\\frac{1}{2}", "0.5"), ("3", "4"), ("2\\sqrt{2}", "\\sqrt{8}")]
    solutions = [respond(pred) for _, pred in cases]
    golds = [gold for gold, _ in cases]
    infos = [{"siri_truncated": i == 1, "siri_cap": 100 + i} for i in range(len(cases))]
    batch = score_batch(solutions, golds, extra_infos=infos, max_workers=2)
    single = [compute_score("x", s, g, extra_info=e) for s, g, e in zip(solutions, golds, infos)]
    assert batch == single
    assert [r["cap"] for r in batch] == [100, 101, 102, 103]


def test_score_batch_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 solutions but 1 ground_truths"):
        score_batch(["a", "b"], ["1"])


# ------------------------------------------------------------------------------------------ cheap paths
def test_number_literals_are_decided_without_math_verify():
    from fractions import Fraction

    from siri_verl.reward.normalize import normalize_answer, numbers_verdict, numeric_value

    values = {t: numeric_value(normalize_answer(t)) for t in ["\\dfrac{14}{3}", "-\\frac{2}{3}", "7/2", "1.60", "4.5 \\times 10^{33}"]}
    assert values == {
        "\\dfrac{14}{3}": Fraction(14, 3),
        "-\\frac{2}{3}": Fraction(-2, 3),
        "7/2": Fraction(7, 2),
        "1.60": Fraction(8, 5),
        "4.5 \\times 10^{33}": Fraction(45 * 10**32),
    }
    assert numeric_value("\\frac{a}{2}") is None and numeric_value("\\frac{1}{0}") is None
    assert numbers_verdict(Fraction(1, 2), Fraction(5, 10)) is True
    assert numbers_verdict(Fraction(288, 100) * Fraction(10) ** -19, Fraction(388, 100) * Fraction(10) ** -19) is False
    assert numbers_verdict(Fraction(1, 3), Fraction(333333, 1000000)) is None  # left to math-verify


def test_numeric_probe_only_decides_clearly_different_scalars():
    import sympy

    from siri_verl.reward._verify_worker import clearly_different

    x, c = sympy.symbols("x c")
    assert clearly_different(c / x**2, c / x**3)
    assert clearly_different(sympy.Integer(20000) / sympy.pi, sympy.Integer(30000) / sympy.pi)
    assert not clearly_different(x**2 + 1, 1 + x**2)
    assert not clearly_different(sympy.sqrt(8), 2 * sympy.sqrt(2))
    assert not clearly_different(x + 1, c + 1)  # different symbols: math-verify decides
    assert not clearly_different(sympy.Interval(0, 1), sympy.Interval(0, 2))  # not scalars
    assert not clearly_different(sympy.Rational(1, 3), sympy.Float("0.333333"))  # too close to call
