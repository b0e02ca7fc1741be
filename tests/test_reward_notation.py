"""The reward's notation rewrites and hopeless-expression refusal (``siri_verl.reward.notation``): pure string
functions, no worker process."""

from __future__ import annotations

import pytest

from siri_verl.reward.notation import (
    MAX_ANSWER_CHARS,
    PreparedAnswer,
    answer_identifiers,
    brace_arguments,
    canonical_spellings,
    expand_roots,
    hopeless_reason,
    lost_by_parse,
    prepare_answer,
    split_unit,
    units_differ,
)


# ------------------------------------------------------------------------------ TeX argument rule
@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\frac 123", "\\frac{1}{2}3"),
        ("\\frac12", "\\frac{1}{2}"),
        ("\\dfrac{1}2", "\\dfrac{1}{2}"),
        ("\\tfrac1{23}", "\\tfrac{1}{23}"),
        ("\\frac\\pi2", "\\frac{\\pi}{2}"),
        ("\\frac{\\sqrt 2}{2}", "\\frac{\\sqrt{2}}{2}"),
        ("\\sqrt 23", "\\sqrt{2}3"),
        ("\\sqrt[3] 8", "\\sqrt[3]{8}"),
        ("\\binom 52", "\\binom{5}{2}"),
        ("\\frac{12}{34}", "\\frac{12}{34}"),  # already braced: unchanged
        ("x^2+\\alpha", "x^2+\\alpha"),
        ("\\frac{1", "\\frac{1}"),  # unclosed: closed, no crash
        ("\\frac", "\\frac"),
    ],
)
def test_unbraced_arguments_are_one_token(text, expected):
    assert brace_arguments(text) == expected


# ---------------------------------------------------------------------------------- spellings
@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{e}"),
        ("\\operatorname{e}", "e"),
        ("\\mathrm{i}", "i"),
        ("2\\mathrm{ i }+1", "2i+1"),
        ("\\mathrm{d}x", "dx"),
        ("\\mathrm{\\pi}", "\\pi"),
        ("{\\rm e}^2", "e^2"),
        ("\\mathrm{cm}", "\\mathrm{cm}"),  # not a constant
        ("\\varnothing", "\\emptyset"),
        ("\\{\\}", "\\emptyset"),
        ("\\{ \\}", "\\emptyset"),
        ("∅", "\\emptyset"),
        ("\\emptyset", "\\emptyset"),
        ("0.\\overline{3}", "\\frac{1}{3}"),
        ("0.1\\overline{6}", "\\frac{1}{6}"),
        ("0.\\overline{36}", "\\frac{4}{11}"),
        ("-1.\\overline{2}", "-\\frac{11}{9}"),
        ("0.\\overline9", "\\frac{1}{1}"),
        ("11^{\\text{th}}", "11"),
        ("2^{\\text{nd}}", "2"),
    ],
)
def test_canonical_spellings(text, expected):
    assert canonical_spellings(text) == expected


# -------------------------------------------------------------------------------------- units
@pytest.mark.parametrize(
    "text, value, unit",
    [
        ("15\\mbox{ cm}^2", "15", "cm^2"),
        ("15\\text{ cm}^{2}", "15", "cm^2"),
        ("15\\mbox{ cm}^3", "15", "cm^3"),
        ("\\text{4 inches}", "4", "in"),
        ("4\\text{ inches}", "4", "in"),
        ("245 yd.", "245", "yd"),
        ("10\\%", "10", "%"),
        ("62.5%", "62.5", "%"),
        ("\\frac{1}{2}\\%", "\\frac{1}{2}", "%"),
        ("90^\\circ", "90", "°"),
        ("90^{\\circ}", "90", "°"),
        ("\\$18.90", "18.90", "$"),
        ("204_5", "204", "base 5"),
        ("4210_{5}", "4210", "base 5"),
        ("3 \\times 10^{8} \\mathrm{~m} / \\mathrm{s}", "3 \\times 10^{8}", "m/s"),
        ("\\frac{270}7\\text{ degrees}", "\\frac{270}7", "°"),
        # not units: no value before the text, or the text is not a unit
        ("\\text{Evelyn}", "\\text{Evelyn}", ""),
        ("\\text{(C)}", "\\text{(C)}", ""),
        ("x \\text{ or } y", "x \\text{ or } y", ""),
        ("x_1", "x_1", ""),
        ("4 ab", "4 ab", ""),  # a product, not a unit
        ("5", "5", ""),
    ],
)
def test_split_unit(text, value, unit):
    assert split_unit(text) == (value, unit)


def test_units_must_agree_only_when_both_answers_carry_one():
    assert units_differ(prepare_answer("15\\mbox{ cm}^2"), prepare_answer("15\\mbox{ cm}^3"))
    assert units_differ(prepare_answer("204_5"), prepare_answer("204_6"))
    assert not units_differ(prepare_answer("15\\mbox{ cm}^2"), prepare_answer("15\\text{ cm}^{2}"))
    assert not units_differ(prepare_answer("4"), prepare_answer("\\text{4 inches}"))
    assert not units_differ(prepare_answer("10\\%"), prepare_answer("10"))
    # one unit in its spellings: plurals, aliases
    assert not units_differ(prepare_answer("28\\%"), prepare_answer("28 percent"))
    assert not units_differ(prepare_answer("\\frac{270}{7}^\\circ"), prepare_answer("\\frac{270}7\\text{ degrees}"))
    assert not units_differ(prepare_answer("4\\text{ inches}"), prepare_answer("4\\text{ inch}"))
    assert not units_differ(prepare_answer("5\\text{ m/s}"), prepare_answer("5 \\text{ meters}/\\text{second}"))
    assert units_differ(prepare_answer("5\\text{ cm}"), prepare_answer("5\\text{ mm}"))


# ------------------------------------------------------------------------- equation lists and ±
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}",
            "\\frac{1}{2}, \\frac{-1 + \\sqrt{13}}{4}, \\frac{-1 - \\sqrt{13}}{4}",
        ),
        ("x = 2, x = \\pm 3", "2, 3, - 3"),
        ("\\pm 3", "3, - 3"),
        ("x = 1, x = 2", "1, 2"),
        ("1 \\mp \\sqrt{2}", "1 - \\sqrt{2}, 1 + \\sqrt{2}"),
        ("\\{1\\pm\\sqrt{5},-2\\}", "\\{1+\\sqrt{5}, 1-\\sqrt{5}, -2\\}"),
        # left alone: different variables, a single equation, two ± in one item, no list
        ("a=1, b=2", "a=1, b=2"),
        ("x=5", "x=5"),
        ("a \\pm b \\pm c", "a \\pm b \\pm c"),
        ("(1, 2)", "(1, 2)"),
    ],
)
def test_equation_lists_become_right_hand_sides_and_pm_both_roots(text, expected):
    assert expand_roots(text) == expected


def test_prepare_answer_applies_every_rewrite():
    assert prepare_answer("$x = 2, x = \\pm 3$") == PreparedAnswer("2, 3, - 3", "")
    assert prepare_answer("221,$8") == PreparedAnswer("221,8", "")
    assert prepare_answer("(-\\infty, 0) \\cup\\{1\\}.") == PreparedAnswer("(-\\infty, 0) \\cup\\{1\\}", "")
    assert prepare_answer("2, 3, or 4") == PreparedAnswer("2, 3, 4", "")
    assert prepare_answer("9 and -7") == PreparedAnswer("9, -7", "")
    assert prepare_answer("0.\\overline{3}\\%") == PreparedAnswer("\\frac{1}{3}", "%")
    assert prepare_answer("\\frac 123") == PreparedAnswer("\\frac{1}{2}3", "")


# ------------------------------------------------------------------------ what a parse may lose
def test_identifiers_and_what_a_case_folding_parser_loses():
    assert answer_identifiers("\\frac{x}{\\omega} + \\sin(t) + \\text{cm}") == ["x", "omega", "t"]
    assert lost_by_parse("N=n")
    assert lost_by_parse("I \\frac{d \\omega}{d t}+2 B \\omega=T")
    assert lost_by_parse("1011_2 + 1")
    assert lost_by_parse("x_1 + x_2") is None
    assert lost_by_parse("\\frac{1}{2}") is None


# ------------------------------------------------------------------------------------ hopeless
@pytest.mark.parametrize(
    "answer",
    [
        "9^{9^{9^{9}}}",
        "9^{9^9}",  # 370 million digits
        "2^{2^{2^{2^{2^{2}}}}}",
        "x^{x^{x^{x}}}",
        "10^{100000}",
        "(10^{10})!",
        "100000!",
        "{" * 600 + "1" + "}" * 600,
        "\\sqrt{" * 40 + "2" + "}" * 40,
        "\\left(" * 40 + "1" + "\\right)" * 40,
        "+".join(["1"] * 400),
        "\\frac{1}{2}}",  # a brace that closes nothing
        "\\frac{1}{2",
    ],
)
def test_hopeless_answers_are_refused(answer):
    assert hopeless_reason(answer)


@pytest.mark.parametrize(
    "answer",
    ["2^{10000}", "1000!", "\\frac{10!}{3!}", "e^{-x^{2}}", "2^{2^{n}}", "2^{3^{4}}", "10^{100}", "x" * MAX_ANSWER_CHARS,
     "\\left(\\frac{1}{\\sqrt{3}}, \\frac{1}{\\sqrt{3}}\\right)", "(1,2),(3,4)", "\\{1,2\\}"],
)
def test_ordinary_answers_are_not_refused(answer):
    assert hopeless_reason(answer) is None
