"""Data prep on hand-written fixtures (tests/fixtures/math): formats, normalisation, invalid rows, dedup,
decontamination, the CLI, and loading the output with verl's RLHFDataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.data import InvalidAnswerError, get_spec, normalize_ground_truth
from siri_verl.commands.prepare_data import main as prepare_main
from siri_verl.data.prepare import (
    DEEPSCALER_PROMPT_TEMPLATE,
    DataPrepError,
    decontamination_report,
    drop_contaminated,
    load_hub_rows,
    prepare_rows,
    problem_key,
    read_local_rows,
)

from repo_paths import REPO

FIXTURES = Path(__file__).parent / "fixtures" / "math"


@pytest.mark.parametrize(
    "stored, expected",
    [
        ("204", "204"),
        (70, "70"),
        (27.0, "27"),
        (1.5, "1.5"),
        ("$\\frac{1}{2 n+2}$", "\\frac{1}{2 n+2}"),
        (["$2$"], "2"),
        (["$(1,8,19), (2,7,13)$", "$(4,5,7)$"], "(1,8,19), (2,7,13), (4,5,7)"),
        ("['9.6\\n']", "9.6"),
        ("[1, 3]", "[1, 3]"),  # an interval, not a list
        ("\\boxed{\\sqrt{2}}", "\\sqrt{2}"),
        ("\\boxed{1} or \\boxed{2}", "\\boxed{1} or \\boxed{2}"),  # not one box: kept as is
        ("4.5e33", "4.5\\times10^{33}"),
        ("x+$ $y", "x+ y"),
    ],
)
def test_normalize_ground_truth(stored, expected):
    assert normalize_ground_truth(stored) == expected


@pytest.mark.parametrize("stored", [None, "", "   ", [], float("nan"), True, {"a": 1}])
def test_unusable_ground_truths_raise(stored):
    with pytest.raises(InvalidAnswerError):
        normalize_ground_truth(stored)


@pytest.mark.slow
def test_records_have_exactly_the_rlhf_columns():
    prepared = prepare_rows(get_spec("olympiadbench"), read_local_rows(FIXTURES / "list_answers.jsonl"), progress=False)
    record = prepared.records[1]
    assert list(record) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert record["data_source"] == "olympiadbench"
    assert record["ability"] == "math"
    assert record["reward_model"] == {"style": "rule", "ground_truth": "\\frac{1}{2 n+2}"}
    # context is prepended; DeepScaleR's instruction is appended
    assert record["prompt"] == [
        {
            "role": "user",
            "content": "Let $n$ be a positive integer.\n\nFind the smallest value in terms of $n$. "
            "Let's think step by step and output the final answer within \\boxed{}.",
        }
    ]
    assert record["extra_info"]["split"] == "test"
    assert record["extra_info"]["original_id"] == "1607"
    assert [r["extra_info"]["index"] for r in prepared.records] == [0, 1, 2]


def test_answers_taken_from_the_boxed_solution_when_no_answer_field():
    prepared = prepare_rows(get_spec("minerva"), read_local_rows(FIXTURES / "boxed_in_solution.jsonl"), progress=False)
    assert [r["reward_model"]["ground_truth"] for r in prepared.records] == ["1.6", "4.5\\times10^{33}"]


def test_prompt_template_is_configurable_and_checked():
    rows = read_local_rows(FIXTURES / "int_answers.jsonl")
    prepared = prepare_rows(get_spec("aime25"), rows, prompt_template="Q: {problem}\nA:", progress=False)
    assert prepared.records[1]["prompt"][0]["content"] == "Q: Compute $3 \\cdot 4$.\nA:"
    with pytest.raises(DataPrepError, match="must contain '\\{problem\\}'"):
        prepare_rows(get_spec("aime25"), rows, prompt_template="no placeholder", progress=False)
    assert DEEPSCALER_PROMPT_TEMPLATE.endswith("output the final answer within \\boxed{}.")


def test_invalid_rows_fail_listing_indices_or_are_skipped_and_counted():
    rows = read_local_rows(FIXTURES / "invalid_rows.jsonl")
    with pytest.raises(DataPrepError, match=r"3 row\(s\).*row 1: .*row 2: .*row 3: no problem text.*--skip-invalid"):
        prepare_rows(get_spec("math500"), rows, progress=False)
    prepared = prepare_rows(get_spec("math500"), rows, skip_invalid=True, progress=False)
    assert [r["extra_info"]["original_id"] for r in prepared.records] == ["0", "4"]
    assert prepared.summary()["invalid_skipped"] == 3


def test_deduplication_uses_normalised_problem_text():
    prepared = prepare_rows(get_spec("deepscaler"), read_local_rows(FIXTURES / "deepscaler_like.json"), progress=False)
    assert prepared.duplicates_dropped == 1  # rows 0 and 2 differ only in spacing
    assert len(prepared.records) == 4
    assert problem_key("Find  $x$ .") == problem_key("find $x$")
    kept = prepare_rows(
        get_spec("deepscaler"), read_local_rows(FIXTURES / "deepscaler_like.json"), deduplicate=False, progress=False
    )
    assert len(kept.records) == 5


def test_decontamination_reports_and_optionally_drops_overlap():
    train = prepare_rows(get_spec("deepscaler"), read_local_rows(FIXTURES / "deepscaler_like.json"), progress=False)
    aime = prepare_rows(get_spec("aime24"), read_local_rows(FIXTURES / "aime_like.jsonl"), progress=False)
    amc = prepare_rows(get_spec("amc23"), read_local_rows(FIXTURES / "float_answers.jsonl"), progress=False)
    report = decontamination_report(train, [aime, amc])
    assert report["contaminated_train_rows"] == 1
    assert report["per_eval_set"] == {"aime24": 1, "amc23": 0}
    assert report["matches"][0]["matches"] == [{"eval_set": "aime24", "eval_index": 0}]
    drop_contaminated(train, report)
    assert len(train.records) == 3
    assert all("walk" not in r["extra_info"]["problem"] for r in train.records)
    assert [r["extra_info"]["index"] for r in train.records] == [0, 1, 2]


def test_cli_all_writes_every_parquet_and_the_report(tmp_path, math_input_dir, capsys):
    out = tmp_path / "out"
    code = prepare_main(
        ["all", "--input-dir", str(math_input_dir), "--output-dir", str(out), "--drop-contaminated", "--no-progress"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for name in ("aime24", "aime25", "amc23", "math500", "minerva", "olympiadbench"):
        assert (out / f"{name}.parquet").is_file()
        assert name in printed  # summary table
    assert not (out / "deepscaler.parquet").exists()  # the local subset has its own name (tests/test_data_provenance.py)
    report = json.loads((out / "decontamination_report.json").read_text())
    # the walk problem is in the aime24 and math500 fixtures
    assert report["per_eval_set"]["aime24"] == 1 and report["per_eval_set"]["math500"] == 1
    assert len(pd.read_parquet(out / "deepscaler_subset.parquet")) == 3  # 5 - 1 duplicate - 1 contaminated
    assert "dropped" in printed


def test_cli_single_dataset_and_errors(tmp_path, capsys):
    out = tmp_path / "amc.parquet"
    assert prepare_main(["amc23", "--input", str(FIXTURES / "float_answers.jsonl"), "--output", str(out), "--no-progress"]) == 0
    frame = pd.read_parquet(out)
    assert [rm["ground_truth"] for rm in frame["reward_model"]] == ["27", "1.5"]
    assert prepare_main(["all", "--input-dir", str(tmp_path / "missing"), "--output-dir", str(tmp_path)]) == 2
    assert "missing input file(s)" in capsys.readouterr().err
    assert prepare_main(["math500", "--input", str(FIXTURES / "invalid_rows.jsonl"),
                         "--output", str(tmp_path / "math500.parquet")]) == 2
    assert "--skip-invalid" in capsys.readouterr().err


@pytest.mark.subprocess
@pytest.mark.slow
def test_hub_loader_without_pinned_revision_or_offline_fails_clearly():
    with pytest.raises(DataPrepError, match="no verified hub revision.*--revision"):
        load_hub_rows(get_spec("aime24"))
    # Offline (no hub on this machine): a clear message pointing at --input, not a traceback.
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    completed = subprocess.run(
        [sys.executable, str(REPO / "data_prep" / "prepare.py"), "deepscaler", "--output", "/dev/null"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "could not load agentica-org/DeepScaleR-Preview-Dataset" in completed.stderr
    assert "--input FILE" in completed.stderr


def test_output_loads_in_verl_rlhf_dataset(tmp_path):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    from verl import DataProto

    out = tmp_path / "olympiadbench.parquet"
    assert prepare_main(["olympiadbench", "--input", str(FIXTURES / "list_answers.jsonl"), "--output", str(out), "--no-progress"]) == 0
    config = OmegaConf.create(
        {"prompt_key": "prompt", "max_prompt_length": 512, "filter_overlong_prompts": False, "return_raw_chat": True,
         "cache_dir": str(tmp_path / "cache")}
    )
    dataset = RLHFDataset(data_files=str(out), tokenizer=None, config=config)
    assert len(dataset) == 3
    item = dataset[2]
    assert item["raw_prompt"][0]["role"] == "user"
    assert item["reward_model"]["ground_truth"] == "(1,8,19), (2,7,13), (4,5,7)"
    assert item["index"] == 2
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(3)]))
    assert list(batch.non_tensor_batch["data_source"]) == ["olympiadbench"] * 3
