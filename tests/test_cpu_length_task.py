"""siri_verl.cpu.length_task: the two styles reach the same rewarded answer, their lengths straddle the caps the
recipe uses (with the tokenizer verl loads), the warm-up mix and the folder are what the recipe expects."""

import json

import pandas as pd
import pytest

from siri_verl.cpu import length_task as lt
from siri_verl.cpu.tiny import DATA_SOURCE, build_model, save_and_reload, tokenizer_for
from siri_verl.reward import compute_score


@pytest.fixture(scope="module")
def terms():
    return lt.make_questions(128, seed=0)


@pytest.fixture(scope="module")
def tokenizer(terms, tmp_path_factory):
    """The tokenizer as verl loads it from the saved folder (R1 family)."""
    mix = lt.warmup_mix(terms)
    trained = tokenizer_for(mix)
    return save_and_reload(build_model(trained), trained, tmp_path_factory.mktemp("length_model"))


def test_questions_are_deterministic_sums(terms):
    assert lt.make_questions(128, seed=0) == terms and lt.make_questions(128, seed=1) != terms
    assert {len(t) for t in terms} == {2, 3}
    for style in lt.STYLES:
        for t, p in zip(terms, lt.make_problems(terms, style)):
            assert int(p.answer) == sum(t) and p.num_terms == len(t)
            assert p.question == "What is " + " + ".join(map(str, t)) + "?"


def test_both_styles_are_rewarded_and_told_apart(terms):
    concise, verbose = lt.make_problems(terms, "concise"), lt.make_problems(terms, "verbose")
    for c, v in zip(concise, verbose):
        assert c.question == v.question and c.answer == v.answer
        for p in (c, v):  # the real reward accepts both, and the thinking is closed before the boxed answer
            assert compute_score(DATA_SOURCE, p.solution, p.answer)["score"] == 1.0
        assert lt.style_of(c.solution) == "concise" and lt.style_of(v.solution) == "verbose"
        assert lt.steps_text([int(x) for x in c.question[8:-1].split(" + ")])[0] in v.solution  # same arithmetic


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown style 'terse'"):
        lt.thinking([1, 2], "terse")


def test_lengths_straddle_the_min_cap_and_fit_the_max(terms, tokenizer):
    def length(p):
        return len(tokenizer.encode(p.solution, add_special_tokens=False)) + 1  # + EOS

    concise = [length(p) for p in lt.make_problems(terms, "concise")]
    verbose = [length(p) for p in lt.make_problems(terms, "verbose")]
    assert max(concise) <= lt.MIN_CAP < min(verbose)  # the min cap cuts exactly the verbose answers
    assert max(verbose) <= lt.MAX_CAP  # the max cap cuts nothing


def test_warmup_mix_has_every_question_in_both_styles(terms):
    mix = lt.warmup_mix(terms)
    assert len(mix) == 2 * len(terms)
    by_question = {}
    for p in mix:
        by_question.setdefault(p.question, set()).add(lt.style_of(p.solution))
    assert all(styles == set(lt.STYLES) for styles in by_question.values())


def test_build_writes_the_folder_the_recipe_reads(tmp_path):
    assets = lt.build_length_assets(tmp_path, num_train=16, num_val=4, warmup_steps=3, eval_caps=(lt.MIN_CAP,))
    recorded = json.loads((tmp_path / "assets.json").read_text())
    assert recorded["build_args"]["task"] == "length" and recorded["build_args"]["family"] == "r1"
    [row] = recorded["eval_at_caps"]
    assert row["max_tokens"] == lt.MIN_CAP and set(row) >= {"acc", "stop_rate", "mean_length", "styles"}
    styles = row["styles"]
    assert sum(styles[f"{s}_{e}"] for s in lt.STYLES for e in ("stop", "length")) == 4
    assert styles["verbose_stop"] == 0  # no verbose answer fits the min cap
    train = pd.read_parquet(assets.train_parquet)
    assert len(train) == 16 and set(train["data_source"]) == {DATA_SOURCE}
    assert train["reward_model"][0]["ground_truth"] == str(sum(lt.make_questions(16, 0)[0]))
    assert (tmp_path / "model" / "config.json").exists()


def test_cli_refuses_a_folder_built_with_other_arguments(tmp_path, capsys):
    (tmp_path / "assets.json").write_text(json.dumps({"build_args": {"task": "sums", "family": "r1"}}))
    assert lt.main(["--out", str(tmp_path)]) == 2
    assert "pass --force" in capsys.readouterr().err
