"""Data prep + reward on the real benchmark files in ../shared/data (skipped when absent).

Prepares every dataset with ``prepare.py all`` once, then checks the row counts and, for every prepared
row, that ``... </think> The answer is \\boxed{<gold>}`` scores 1 and that the gold with its first or its
last digit changed scores 0 (a fragment parse keeps the first number and misses the last one).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.commands.prepare_data import main as prepare_main
from siri_verl.data.provenance import all_output_name
from siri_verl.data.sources import DATASETS
from siri_verl.reward import score_batch

from repo_paths import SHARED_DATA


pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,  # reads and grades the real files: seconds to a minute
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}"),
]

EXPECTED_ROWS = {
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "math500": 500,
    "minerva": 272,
    "olympiadbench": 675,
    "deepscaler": 777,  # 803 rows minus 26 repeated problems (normalised text)
}

# Golds whose perturbed copy may score 1: none. (With math-verify alone, fragment parses accepted the
# perturbation of "\hbar \omega(v+1 / 2)-...", "\frac{1}{3} E_{1}+...", "N=n" and "\{x \mid 2 < x < 3\}";
# the reward now trusts only whole parses, see docs/reward.md.) Any false positive fails the test.
ALLOWED_FALSE_POSITIVES: set[str] = set()

# Golds data prep must name as only string-matched (a sample of those math-verify parses only in part).
EXPECTED_STRING_MATCH_ONLY = {
    "minerva": {"\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{2}}", "\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}"},
    "olympiadbench": {"N=n", "6m"},
    "deepscaler": {"\\{x \\mid 2 < x < 3\\}"},
}


def perturb(gold: str, last: bool = False) -> str:
    """A different answer: bump the first (or the last) digit, or append "+1" when there is none."""
    matches = list(re.finditer(r"\d", gold))
    if matches:
        match = matches[-1] if last else matches[0]
        return gold[: match.start()] + str((int(match.group()) + 1) % 10) + gold[match.end() :]
    return gold + "+1"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, str]:
    """The output directory of ``prepare.py all`` and what it printed."""
    out = tmp_path_factory.mktemp("prepared")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = prepare_main(["all", "--input-dir", str(SHARED_DATA), "--output-dir", str(out), "--no-progress"])
    assert code == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def prepared_dir(prepared) -> Path:
    return prepared[0]


def test_local_row_counts_and_report(prepared_dir):
    for name, spec in DATASETS.items():
        assert len(pd.read_parquet(prepared_dir / all_output_name(spec))) == EXPECTED_ROWS[name], name
        assert spec.split == "train" or EXPECTED_ROWS[name] == spec.local_rows
    report = json.loads((prepared_dir / "decontamination_report.json").read_text())
    assert report["train_set"] == "deepscaler"
    assert set(report["per_eval_set"]) == {"aime24", "aime25", "amc23", "math500", "minerva", "olympiadbench"}


def test_summary_names_the_golds_that_are_only_string_matched(prepared):
    _, printed = prepared
    lines = {line.split(":", 1)[0]: line for line in printed.splitlines() if "only string-matched" in line}
    for name, expected in EXPECTED_STRING_MATCH_ONLY.items():
        assert name in lines, printed
        count = int(lines[name].split(":", 1)[1].split()[0])
        assert count >= len(expected), lines[name]
    # the per-dataset check behind the summary names these golds (and only golds it cannot parse whole)
    from siri_verl.data.prepare import prepare_rows, read_local_rows

    for name, expected in EXPECTED_STRING_MATCH_ONLY.items():
        spec = DATASETS[name]
        dataset = prepare_rows(spec, read_local_rows(SHARED_DATA / spec.local_file), progress=False)
        assert expected <= set(dataset.string_match_only), (name, dataset.string_match_only)
        summary = dataset.summary()
        assert summary["string_match_only"] == sum(
            r["reward_model"]["ground_truth"] in dataset.string_match_only for r in dataset.records
        )
        first = summary["string_match_only_rows"][0]
        assert dataset.records[first["index"]]["reward_model"]["ground_truth"] == first["ground_truth"]


@pytest.mark.timeout(600)
def test_every_gold_scores_one_and_every_perturbed_gold_scores_zero(prepared_dir):
    golds, names = [], []
    for name in DATASETS:
        for reward_model in pd.read_parquet(prepared_dir / all_output_name(DATASETS[name]))["reward_model"]:
            golds.append(reward_model["ground_truth"])
            names.append(name)
    correct = score_batch([f"Let me think.\n</think>\nThe answer is \\boxed{{{g}}}." for g in golds], golds)
    not_one = [(n, g, r["reason"]) for n, g, r in zip(names, golds, correct) if r["score"] != 1.0]
    assert not not_one
    for last in (False, True):  # a fragment parse keeps the first number and misses the last one
        wrong = [perturb(g, last) for g in golds]
        perturbed = score_batch([f"Let me think.\n</think>\nThe answer is \\boxed{{{w}}}." for w in wrong], golds)
        not_zero = {g for g, r in zip(golds, perturbed) if r["score"] != 0.0}
        assert not_zero <= ALLOWED_FALSE_POSITIVES, ("last digit" if last else "first digit", sorted(not_zero))
