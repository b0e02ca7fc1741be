"""Data prep + reward on the real benchmark files in ../shared/data (skipped when absent).

Prepares every dataset with ``prepare.py all`` once, then checks the row counts and, for every prepared
row, that ``... </think> The answer is \\boxed{<gold>}`` scores 1 and a perturbed gold scores 0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.data.cli import main as prepare_main
from siri_verl.data.sources import DATASETS
from siri_verl.reward import score_batch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = [
    pytest.mark.shared_data,
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

# Golds where math-verify 0.9.0 accepts the digit-perturbed answer: it parses only a fragment of these
# expressions (e.g. the trailing "2" of "\hbar\omega(v+1/2)-..."), or drops the relation's left side.
# Known limitations, documented in docs/reward.md; any *new* false positive fails the test.
KNOWN_MATH_VERIFY_FALSE_POSITIVES = {
    "\\hbar \\omega(v+1 / 2)-\\frac{E_{0}^{2} e^{2}}{2 m \\omega^{2}}",
    "\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}",
    "N=n",
    "\\{x \\mid 2 < x < 3\\}",
}


def perturb(gold: str) -> str:
    """A different answer: bump the first digit, or append "+1" when there is none."""
    match = re.search(r"\d", gold)
    if match:
        return gold[: match.start()] + str((int(match.group()) + 1) % 10) + gold[match.end() :]
    return gold + "+1"


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prepared")
    assert prepare_main(["all", "--input-dir", str(SHARED_DATA), "--output-dir", str(out), "--no-progress"]) == 0
    return out


def test_local_row_counts_and_report(prepared_dir):
    for name, spec in DATASETS.items():
        assert len(pd.read_parquet(prepared_dir / f"{name}.parquet")) == EXPECTED_ROWS[name], name
        assert spec.split == "train" or EXPECTED_ROWS[name] == spec.local_rows
    report = json.loads((prepared_dir / "decontamination_report.json").read_text())
    assert report["train_set"] == "deepscaler"
    assert set(report["per_eval_set"]) == {"aime24", "aime25", "amc23", "math500", "minerva", "olympiadbench"}


@pytest.mark.timeout(300)
def test_every_gold_scores_one_and_every_perturbed_gold_scores_zero(prepared_dir):
    golds, names = [], []
    for name in DATASETS:
        for reward_model in pd.read_parquet(prepared_dir / f"{name}.parquet")["reward_model"]:
            golds.append(reward_model["ground_truth"])
            names.append(name)
    correct = score_batch([f"Let me think.\n</think>\nThe answer is \\boxed{{{g}}}." for g in golds], golds)
    perturbed = score_batch([f"Let me think.\n</think>\nThe answer is \\boxed{{{perturb(g)}}}." for g in golds], golds)

    not_one = [(n, g, r["reason"]) for n, g, r in zip(names, golds, correct) if r["score"] != 1.0]
    assert not not_one
    not_zero = {g for g, r in zip(golds, perturbed) if r["score"] != 0.0}
    assert not_zero <= KNOWN_MATH_VERIFY_FALSE_POSITIVES, sorted(not_zero - KNOWN_MATH_VERIFY_FALSE_POSITIVES)
