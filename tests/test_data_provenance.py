"""Data prep never replaces a training file it did not write from the same source, and records where every
parquet came from (``<file>.parquet.provenance.json``).

The README's GPU steps prepare the 40,315-row DeepScaleR set from the hub and the benchmarks with
``prepare.py all``; ``all`` used to rewrite ``deepscaler.parquet`` from the 803-row local subset, silently. Here the
"hub" file is a parquet of 40,315 rows written by the test with a hub provenance record (no hub access needed).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siri_verl.commands.prepare_data import main as prepare_main
from siri_verl.data.provenance import all_output_name, hub_source, provenance_path, write_provenance
from siri_verl.data.sources import DATASETS, get_spec

from repo_paths import REPO

FIXTURES = Path(__file__).parent / "fixtures" / "math"
HUB_ROWS = get_spec("deepscaler").hub_rows  # 40315


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_fake_hub_file(path: Path) -> tuple[str, str]:
    """A 40,315-row parquet in verl's schema with a provenance record saying it came from the hub;
    returns the sha256 of the parquet and of its provenance file."""
    spec = get_spec("deepscaler")
    frame = pd.DataFrame({
        "data_source": ["deepscaler"] * HUB_ROWS,
        "prompt": [[{"role": "user", "content": f"What is {i} + 1? Think step by step."}] for i in range(HUB_ROWS)],
        "ability": ["math"] * HUB_ROWS,
        "reward_model": [{"style": "rule", "ground_truth": str(i + 1)} for i in range(HUB_ROWS)],
        "extra_info": [{"index": i, "split": "train", "problem": f"What is {i} + 1?"} for i in range(HUB_ROWS)],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    write_provenance(path, "deepscaler", hub_source(spec, None, HUB_ROWS), HUB_ROWS,
                     command=f"python data_prep/prepare.py deepscaler --output {path}")
    return sha256(path), sha256(provenance_path(path))


@pytest.mark.slow
def test_the_40k_hub_file_survives_prepare_all(tmp_path, math_input_dir, capsys):
    out = tmp_path / "data"
    hub_sha, record_sha = write_fake_hub_file(out / "deepscaler.parquet")

    assert prepare_main(["all", "--input-dir", str(math_input_dir), "--output-dir", str(out), "--no-progress"]) == 0

    assert sha256(out / "deepscaler.parquet") == hub_sha
    assert sha256(provenance_path(out / "deepscaler.parquet")) == record_sha
    assert len(pd.read_parquet(out / "deepscaler.parquet")) == HUB_ROWS
    # the local subset went to its own name, with its own record
    subset = out / "deepscaler_subset.parquet"
    assert all_output_name(get_spec("deepscaler")) == subset.name
    record = json.loads(provenance_path(subset).read_text())
    assert record["source"]["kind"] == "local"
    assert record["source"]["path"] == str((math_input_dir / "deepscaler_subset" / "deepscaler.json").resolve())
    assert record["rows"] == len(pd.read_parquet(subset)) == 4  # 5 fixture rows, 1 repeated problem
    assert record["sha256"] == sha256(subset)
    assert record["command"].startswith("python data_prep/prepare.py all --input-dir")
    # every evaluation set has a record too, and a rerun of the same command refreshes its own files
    for name, spec in DATASETS.items():
        assert json.loads(provenance_path(out / all_output_name(spec)).read_text())["dataset"] == name
    assert prepare_main(["all", "--input-dir", str(math_input_dir), "--output-dir", str(out), "--no-progress"]) == 0
    assert sha256(out / "deepscaler.parquet") == hub_sha


def test_all_refuses_to_replace_a_file_from_another_source_before_any_work(tmp_path, math_input_dir, capsys):
    out = tmp_path / "data"
    target = out / all_output_name(get_spec("deepscaler"))  # the very name `all` writes the subset to
    hub_sha, _ = write_fake_hub_file(target)

    assert prepare_main(["all", "--input-dir", str(math_input_dir), "--output-dir", str(out), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert str(target) in error and "agentica-org/DeepScaleR-Preview-Dataset" in error and "--overwrite" in error
    assert sha256(target) == hub_sha
    assert sorted(p.name for p in out.iterdir()) == sorted([target.name, provenance_path(target).name])  # nothing else

    assert prepare_main(["all", "--input-dir", str(math_input_dir), "--output-dir", str(out), "--no-progress",
                         "--overwrite"]) == 0
    assert json.loads(provenance_path(target).read_text())["source"]["kind"] == "local"


@pytest.mark.slow
def test_single_dataset_refuses_other_sources_and_files_without_provenance(tmp_path, capsys):
    out = tmp_path / "deepscaler.parquet"
    hub_sha, _ = write_fake_hub_file(out)
    local = FIXTURES / "deepscaler_like.json"
    assert prepare_main(["deepscaler", "--input", str(local), "--output", str(out), "--no-progress"]) == 2
    assert "Refusing" in capsys.readouterr().err
    assert sha256(out) == hub_sha

    # a parquet nobody recorded (hand-written, another tool, an older version of data prep) is kept too
    bare = tmp_path / "bare.parquet"
    pd.read_parquet(out).head(3).to_parquet(bare)
    assert prepare_main(["deepscaler", "--input", str(local), "--output", str(bare), "--no-progress"]) == 2
    assert "has no bare.parquet.provenance.json" in capsys.readouterr().err

    # the same source may refresh its own file; the record names the input, its hash and the row counts
    own = tmp_path / "own.parquet"
    argv = ["deepscaler", "--input", str(local), "--output", str(own), "--no-progress"]
    assert prepare_main(argv) == 0 and prepare_main(argv) == 0
    record = json.loads(provenance_path(own).read_text())
    assert record["source"] == {"kind": "local", "path": str(local.resolve()), "sha256": sha256(local), "rows": 5}
    assert record["rows"] == 4 and record["sha256"] == sha256(own)
    assert record["command"] == "python data_prep/prepare.py " + " ".join(argv)


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_documented_order_keeps_the_40k_file(tmp_path, math_input_dir):
    """docs/gpu.md step 2 as a subprocess (``prepare.py all`` then the hub line; the hub line is replaced by the
    fake 40K file, which is what it writes): whichever order, deepscaler.parquet ends with 40,315 rows."""
    out = tmp_path / "data"
    write_fake_hub_file(out / "deepscaler.parquet")
    completed = subprocess.run(
        [sys.executable, str(REPO / "data_prep" / "prepare.py"), "all", "--input-dir", str(math_input_dir),
         "--output-dir", str(out), "--no-progress"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "deepscaler_subset.parquet" in completed.stdout
    assert len(pd.read_parquet(out / "deepscaler.parquet")) == HUB_ROWS
