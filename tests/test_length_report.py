"""The length recipe's report (siri_verl.cpu.length_report) and the step-cost benchmark's comparison
(benchmarks/bench_step_cost.py --from-runs) on synthetic run folders in the recipe's layout: verl file-logger
metrics.jsonl and the hf rollout server's request log, token ids from the length task's real tokenizer."""

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from siri_verl.cpu import length_task as lt
from siri_verl.cpu.length_report import COLUMNS, length_plot, length_table, load_runs, main, write_report
from siri_verl.cpu.tiny import build_model, save_and_reload, tokenizer_for

from repo_paths import REPO

COSINE_CAPS = [42, 30, 24, 30, 42, 48]
PHASES = [-1, -1, -1, 1, 1, 1]
SOURCE = "siri_tiny_math"


def write_metrics(path: Path, caps, phases, lengths, val_steps=(0, 2, 4, 6)):
    lines = []
    for step in range(0, len(caps) + 1):
        data = {}
        if step > 0:
            data = {"siri/cap": caps[step - 1], "siri/phase": phases[step - 1],
                    "siri/response_length/mean": lengths[step - 1], "response_length/mean": lengths[step - 1],
                    "siri/truncation_rate": 0.5 if caps[step - 1] < 32 else 0.0, "critic/score/mean": 0.6,
                    "siri/rollout_tokens": 64 * lengths[step - 1], "timing_s/step": 3.0}
        if step in val_steps:
            data[f"val-core/{SOURCE}/acc/mean@1"] = 0.9
            data[f"val-aux/{SOURCE}/score/mean@1"] = 0.9
        if data:
            lines.append(json.dumps({"step": step, "data": data}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    terms = lt.make_questions(32, seed=0)
    trained = tokenizer_for(lt.warmup_mix(terms))
    folder = tmp_path_factory.mktemp("length_assets") / "model"
    tokenizer = save_and_reload(build_model(trained), trained, folder)
    return folder, tokenizer


@pytest.fixture
def out(tmp_path, tokenizer_dir):
    """A recipe output folder: cosine/ (with request log) and constant/ metrics, assets/model."""
    model, tokenizer = tokenizer_dir
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "model").symlink_to(model, target_is_directory=True)
    write_metrics(tmp_path / "cosine" / "metrics.jsonl", COSINE_CAPS, PHASES, [30, 25, 20, 20, 21, 22])
    write_metrics(tmp_path / "constant" / "metrics.jsonl", [48] * 6, [0] * 6, [30] * 6)
    terms = lt.make_questions(4, seed=3)
    verbose = [tokenizer.encode(p.solution, add_special_tokens=False) for p in lt.make_problems(terms, "verbose")]
    concise = [tokenizer.encode(p.solution, add_special_tokens=False) for p in lt.make_problems(terms, "concise")]
    requests = []
    for step in range(1, 7):  # step t = weights version t-1; step 1: 3 of 4 verbose, later steps 1 of 4
        n_verbose = 3 if step == 1 else 1
        for i in range(4):
            ids = verbose[i] if i < n_verbose else concise[i]
            requests.append({"weights_version": step - 1, "temperature": 1.0, "token_ids": ids,
                             "response_tokens": len(ids), "generate_seconds": 0.1 * len(ids),
                             "generate_cpu_seconds": 0.05 * len(ids), "finish_reason": "stop", "max_tokens": 48})
        # a greedy validation request of the same version: not a training rollout
        requests.append({"weights_version": step - 1, "temperature": 0, "token_ids": verbose[0],
                         "response_tokens": len(verbose[0]), "generate_seconds": 1.0, "generate_cpu_seconds": 1.0,
                         "finish_reason": "stop", "max_tokens": 48})
    (tmp_path / "cosine" / "rollout_requests.jsonl").write_text("\n".join(json.dumps(r) for r in requests) + "\n")
    return tmp_path


def test_table_has_one_row_per_step_and_reads_every_column(out):
    runs, metrics = load_runs(out)
    assert list(runs) == ["cosine", "constant"]
    table = length_table(runs)
    assert [row["step"] for row in table] == list(range(0, 7))
    assert [row["cosine_cap"] for row in table[1:]] == COSINE_CAPS
    assert [row["constant_cap"] for row in table[1:]] == [48] * 6
    assert table[0]["cosine_len"] is None and table[0]["cosine_acc@max"] == 0.9  # validation before training
    assert [row["cosine_acc@max"] is not None for row in table] == [True, False, True, False, True, False, True]
    assert [row["cosine_trunc"] for row in table[1:]] == [0.0, 0.5, 0.5, 0.5, 0.0, 0.0]
    # verbose share from the decoded training requests only (the greedy validation request is verbose too)
    assert table[1]["cosine_verbose"] == 0.75 and table[2]["cosine_verbose"] == 0.25
    assert all(row["constant_verbose"] is None for row in table)  # no request log for that run


@pytest.mark.slow
def test_write_report_writes_csv_markdown_and_png(out, tmp_path):
    extra = tmp_path / "img" / "plot.png"
    paths = write_report(out, png=extra)
    with open(paths["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7 and set(rows[0]) == {"step", *(f"{r}_{c}" for r in ("cosine", "constant") for c in COLUMNS)}
    markdown = paths["md"].read_text()
    assert markdown.count("\n|") >= 8 and "SIRI len" in markdown and "verbose share 0.75 -> 0.25" in markdown
    for png in (paths["png"], extra):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_has_both_runs_and_the_phases(out):
    runs, metrics = load_runs(out)
    figure = length_plot(runs, metrics["cosine"])
    ax_len, ax_trunc, ax_acc, ax_verbose = figure.axes[:4]
    lines = {line.get_label(): line for line in ax_len.get_lines()}
    assert list(lines["SIRI cap"].get_ydata()) == COSINE_CAPS
    assert list(lines["constant length"].get_ydata()) == [30] * 6
    assert list(ax_acc.get_lines()[0].get_xdata()) == [0, 2, 4, 6]
    labels = ax_len.get_legend_handles_labels()[1]  # the phases are shaded on every panel, named on the first
    assert "compression" in labels and "expansion" in labels
    assert len(ax_trunc.patches) == len(ax_len.patches) == 2
    assert [line.get_label() for line in ax_verbose.get_lines()] == ["SIRI verbose share"]
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_missing_runs_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="siri_tiny_cpu_length.sh"):
        main([str(tmp_path)])


def test_benchmark_compares_existing_runs(out, capsys):
    spec = importlib.util.spec_from_file_location("bench_step_cost", REPO / "benchmarks" / "bench_step_cost.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (out / "constant" / "rollout_requests.jsonl").write_text("")  # like verl's vLLM server: no request log
    assert bench.main(["--from-runs", str(out)]) == 0
    summary = json.loads((out / "bench_step_cost.json").read_text())["summary"]
    ratios = summary["ratio_cosine_over_constant"]
    assert ratios["schedule_budget"] == pytest.approx(sum(COSINE_CAPS) / (48 * 6))
    # cosine tokens from its request log (training requests only), constant from siri/rollout_tokens
    assert summary["constant"]["rollout_tokens"] == 64 * 30 * 6
    assert summary["cosine"]["rollout_tokens"] > 0 and ratios["rollout_tokens"] == pytest.approx(
        summary["cosine"]["rollout_tokens"] / (64 * 30 * 6))
    assert ratios["decode_cpu_s"] is None  # the constant run has no server-side timing
    assert "schedule budget (sum of caps) 0.75" in capsys.readouterr().out
