"""The reward trusts only whole parses: near-miss wrong answers (which a fragment parse would accept) score 0,
the notations a grader is expected to know score 1, hopeless answers are refused before any worker, and data
prep names the ground truths that can only be string-matched. Runs the real math-verify worker processes."""

from __future__ import annotations

import pytest

from siri_verl.reward import GOLD_STATUSES, RewardOptions, check_ground_truths, compute_score, score_batch
from siri_verl.reward import verifier


def respond(answer: str) -> str:
    return f"Let me check the decoy \\boxed{{0}} first.\n</think>\nThe answer is $\\boxed{{{answer}}}$."


def grade(cases):
    results = score_batch([respond(pred) for _, pred in cases], [gold for gold, _ in cases])
    return [(gold, pred, r["score"], r["reason"]) for (gold, pred), r in zip(cases, results)]


# Wrong answers that differ from the gold only where a fragment parse looks away: math-verify called directly
# accepts many of these (it parses `1 - \frac{1}{\mathrm{e}}` as 1, `x = 2, x = \pm 3` as 3, `204_5` as 204,
# `15\mbox{ cm}^2` as 15, `N=n` as n = n, `6m` as 6).
NEAR_MISSES = [
    ("1 - \\frac{1}{\\mathrm{e}}", "1"),
    ("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}"),
    ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{2}{\\mathrm{e}}"),
    ("3+\\frac{2}{\\mathrm{e}}", "3"),
    ("\\frac{\\mathrm{e}}{2}", "\\frac{\\mathrm{e}}{3}"),
    ("\\frac{\\mathrm{e}}{2}", "2"),
    ("\\sqrt{\\mathrm{e}}", "\\sqrt{2}"),
    ("\\operatorname{e}", "1"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac{1}{2}"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{5}"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac12, \\frac{-1+\\sqrt{13}}{4}"),
    ("x = 2, x = \\pm 3", "3"),
    ("x = 2, x = \\pm 3", "2, 3"),
    ("\\pm 3", "3"),
    ("15\\mbox{ cm}^2", "15\\mbox{ cm}^3"),
    ("864 \\mbox{ inches}^2", "864 \\mbox{ inches}^3"),
    ("204_5", "204_6"),
    ("4210_{5}", "4210_{6}"),
    ("N=n", "N=n+1"),
    ("6m", "6"),
    ("\\frac{37}{4} m", "\\frac{37}{4}"),
    ("\\frac{1}{m} t", "\\frac{1}{m}"),
    ("\\{x \\mid 2 < x < 3\\}", "\\{x \\mid 2 < x < 4\\}"),
    ("\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}", "\\frac{1}{3} E_{1}+\\frac{2}{3} E_{3}"),
    ("\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{2}}", "\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{3}}"),
    ("0.\\overline{3}", "0"),
    ("0.\\overline{3}", "0.3"),
    ("\\frac{1}{23}", "\\frac 123"),
    ("\\sqrt{23}", "\\sqrt 23"),
    ("\\varnothing", "\\{0\\}"),
    ("0.5\\%", "0.6\\%"),
    ("4", "\\text{5 inches}"),
]

# The same golds answered right, in other notations: each scores 1.
WHOLE_ANSWERS = [
    ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{e}"),
    ("1 - \\frac{1}{\\mathrm{e}}", "\\frac{e-1}{e}"),
    ("3+\\frac{2}{\\mathrm{e}}", "3+2e^{-1}"),
    ("\\frac{\\mathrm{e}}{2}", "\\frac{e}{2}"),
    ("\\sqrt{\\mathrm{e}}", "e^{1/2}"),
    ("\\operatorname{e}", "e"),
    ("2\\mathrm{i}", "2i"),
    ("\\mathrm{\\pi}", "\\pi"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac12, \\frac{-1+\\sqrt{13}}{4}, \\frac{-1-\\sqrt{13}}{4}"),
    ("x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac{-1-\\sqrt{13}}{4}, 0.5, \\frac{-1+\\sqrt{13}}{4}"),
    ("x = 2, x = \\pm 3", "2, 3, -3"),
    ("x = 2, x = \\pm 3", "2, \\pm 3"),
    ("15\\mbox{ cm}^2", "15"),
    ("15\\mbox{ cm}^2", "15\\text{ cm}^{2}"),
    ("204_5", "204_{5}"),
    ("204_5", "204"),
    ("6m", "6 m"),
    # repeating decimals, either side
    ("0.\\overline{3}", "\\frac13"),
    ("\\frac{1}{3}", "0.\\overline{3}"),
    ("\\frac16", "0.1\\overline{6}"),
    ("\\frac{4}{11}", "0.\\overline{36}"),
    # the empty set
    ("\\varnothing", "\\emptyset"),
    ("\\emptyset", "\\{\\}"),
    ("∅", "\\varnothing"),
    # a number with its unit in \text{}
    ("4", "\\text{4 inches}"),
    ("4\\text{ inches}", "\\text{4 inches}"),
    # percent forms
    ("0.5\\%", "\\frac{1}{2}\\%"),
    ("\\frac{1}{2}\\%", "0.5\\%"),
    ("50\\%", "50"),
    # TeX's argument rule
    ("\\frac{1}{2}3", "\\frac 123"),
    ("\\sqrt{2}3", "\\sqrt 23"),
    ("\\frac{1}{2}", "\\frac 12"),
]


def test_near_miss_wrong_answers_score_zero():
    accepted = [case for case in grade(NEAR_MISSES) if case[2] != 0.0]
    assert not accepted


def test_whole_answers_in_other_notations_score_one():
    rejected = [case for case in grade(WHOLE_ANSWERS) if case[2] != 1.0]
    assert not rejected


def test_reasons_say_why_no_symbolic_match_was_tried():
    reasons = {(gold, pred): reason for gold, pred, _, reason in grade([
        ("N=n", "N=n+1"),
        ("6m", "6"),
        ("\\{x \\mid 2 < x < 3\\}", "(2,3)"),
        ("5", "6m"),
        ("5", "???"),
        ("15\\mbox{ cm}^2", "15\\mbox{ cm}^3"),
        ("5", "9^{9^{9^{9}}}"),
    ])}
    assert reasons == {
        ("N=n", "N=n+1"): "partial_parse_ground_truth",
        ("6m", "6"): "partial_parse_ground_truth",
        ("\\{x \\mid 2 < x < 3\\}", "(2,3)"): "unparsable_ground_truth",
        ("5", "6m"): "partial_parse_answer",
        ("5", "???"): "unparsable_answer",
        ("15\\mbox{ cm}^2", "15\\mbox{ cm}^3"): "wrong_unit",
        ("5", "9^{9^{9^{9}}}"): "hopeless_answer",
    }
    # a gold that parses only in part still matches itself, as a normalised string
    assert compute_score("x", respond("N = n"), "N=n")["score"] == 1.0


def test_hopeless_answers_are_refused_before_any_worker():
    # a pool key nobody else uses: the refusal must not start one
    options = {"timeout_s": 4.321}
    key = lambda: [k for k in verifier._shared_pools if k[2] == 4.321]  # noqa: E731
    for answer in ["9^{9^{9^{9}}}", "(10^{10})!", "{" * 600 + "1" + "}" * 600, "2^{2^{2^{2^{2^{2}}}}}", "10^{100000}"]:
        result = compute_score("x", respond(answer), "5", **options)
        assert (result["score"], result["reason"], result["has_answer"]) == (0.0, "hopeless_answer", True)
    assert not key()


def test_default_limit_is_at_most_five_seconds():
    assert RewardOptions().timeout_s <= 5


def test_check_ground_truths_names_the_golds_only_string_matched():
    golds = ["\\frac{1}{2}", "N=n", "\\{x \\mid 2 < x < 3\\}", "6m", "1 - \\frac{1}{\\mathrm{e}}", "204_5", "9^{9^{9^{9}}}"]
    statuses = check_ground_truths(golds)
    assert statuses == ["", "partial_parse", "unparsable", "partial_parse", "", "", "hopeless"]
    assert set(statuses) - {""} <= set(GOLD_STATUSES)


def test_data_prep_summary_reports_golds_only_string_matched():
    from siri_verl.data.prepare import format_summary, prepare_rows
    from siri_verl.data.sources import DATASETS

    rows = [
        {"problem": "p0", "answer": "\\frac{1}{2}"},
        {"problem": "p1", "answer": "N=n"},
        {"problem": "p2", "answer": "$6m$"},
        {"problem": "p3", "answer": "1 - \\frac{1}{\\mathrm{e}}"},
    ]
    dataset = prepare_rows(DATASETS["math500"], rows, progress=False)
    summary = dataset.summary()
    assert summary["string_match_only"] == 2
    assert [(r["index"], r["ground_truth"], r["status"]) for r in summary["string_match_only_rows"]] == [
        (1, "N=n", "partial_parse"),
        (2, "6m", "partial_parse"),
    ]
    text = format_summary([summary])
    assert "math500: 2 ground truth(s) only string-matched: row 1 'N=n' (partial_parse); row 2 '6m'" in text
    unchecked = prepare_rows(DATASETS["math500"], rows, progress=False, check_answers=False).summary()
    assert unchecked["string_match_only"] == 0


def test_partial_reason_checks_the_parse_against_the_answer():
    import sympy

    from siri_verl.reward._verify_worker import partial_reason

    x, m, n = sympy.symbols("x m n")
    assert partial_reason("x^2+1", x**2 + 1, "x^2+1") == ""
    assert partial_reason("6m", sympy.Integer(6), "6m")  # the variable m was dropped
    assert partial_reason("N=n", sympy.Eq(n, n, evaluate=False), "N=n")  # case folded
    assert partial_reason("15^{2}", sympy.Integer(15), "15")  # the normaliser dropped the exponent
    assert partial_reason("e^{t}/3", sympy.exp(sympy.Symbol("t")) / 3, "e^{t}/3") == ""
    assert partial_reason("\\frac{d x}{d t}", sympy.Derivative(x, sympy.Symbol("t")), "\\frac{dx}{dt}") == ""


@pytest.mark.parametrize("gold, pred", [("\\frac{1}{2}", "0.5"), ("x^2+1", "1+x^2")])
def test_single_equivalences_still_hold(gold, pred):
    assert compute_score("x", respond(pred), gold)["score"] == 1.0
