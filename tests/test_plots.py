"""Plots: valid PNG/SVG files whose figures hold the expected series (checked on matplotlib's data)."""

import json
import xml.etree.ElementTree as ET

import pytest

from siri_verl import plots
from siri_verl.cli import main
from siri_verl.schedule import LengthSchedule, ScheduleConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_valid_images(paths):
    png, svg = paths
    assert png.suffix == ".png" and png.read_bytes()[:8] == PNG_MAGIC
    assert svg.suffix == ".svg" and ET.parse(svg).getroot().tag.endswith("svg")


def lines_by_label(axes):
    return {line.get_label(): line for line in axes.get_lines()}


def test_pareto_plot_series_error_bars_trace_and_front(tmp_path):
    ours = [plots.ParetoPoint("run-a", 9000, 35.0, 2.5), plots.ParetoPoint("run-b", 6000, 30.0, float("nan"))]
    paper = [plots.ParetoPoint("Original", 12333, 28.2), plots.ParetoPoint("SIRI-high", 10049, 43.6)]
    trace = [plots.ParetoPoint("Iter1", 8065, 33.3), plots.ParetoPoint("Iter2", 7266, 38.1)]
    figure = plots.pareto_plot(ours, paper, trace, benchmark="aime24")
    axes = figure.axes[0]
    (errorbar,) = axes.containers
    assert errorbar.get_label() == "ours (± s.e.)"
    data_line, _caps, (bars,) = errorbar.lines
    assert list(data_line.get_xdata()) == [9000, 6000] and list(data_line.get_ydata()) == [35.0, 30.0]
    segments = bars.get_segments()
    assert [tuple(s[:, 1]) for s in segments] == [(32.5, 37.5), (30.0, 30.0)]  # NaN s.e. drawn as zero
    paper_points = [c for c in axes.collections if c.get_label() == "paper Table 1"][0].get_offsets()
    assert [tuple(p) for p in paper_points] == [(12333, 28.2), (10049, 43.6)]
    lines = lines_by_label(axes)
    assert list(lines["paper SIRI trace"].get_xdata()) == [8065, 7266]
    # front: 6000/30 -> 7266/38.1 -> 10049/43.6 (everything else is dominated)
    assert list(lines["Pareto front"].get_xdata()) == [6000, 7266, 10049]
    assert axes.get_ylabel() == "aime24 pass@1 (%)"
    assert_valid_images(plots.save_figure(figure, tmp_path / "pareto"))


def test_pareto_front_keeps_only_undominated_points():
    points = [plots.ParetoPoint("a", 1, 1), plots.ParetoPoint("b", 2, 2), plots.ParetoPoint("c", 3, 1.5),
              plots.ParetoPoint("d", 1, 0.5)]
    assert [p.label for p in plots.pareto_front(points)] == ["a", "b"]


@pytest.fixture
def training_log(tmp_path, monkeypatch):
    """A per-step log written by verl's own file logger, as a SIRI run would (cosine T=8, 2 cycles)."""
    from verl.utils.tracking import FileLogger

    path = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    schedule = LengthSchedule(ScheduleConfig(kind="cosine", min_length=8, max_length=16, period=8, num_cycles=2))
    logger = FileLogger("proj", "exp")
    for step in range(1, 17):
        data = {"siri/cap": schedule.cap(step), "response_length/mean": schedule.cap(step) * 0.8,
                "siri/truncation_rate": 0.1 * (step % 4), "actor/pg_loss": 0.0,
                "siri/phase": -1.0 if schedule.phase(step) == "compression" else 1.0}
        if step % 4 == 0:
            data["val-core/aime24/acc/mean@4"] = step / 100
            data["val-core/math500/acc/mean@4"] = step / 50
        logger.log(data=data, step=step)
    logger.finish()
    return path, schedule


@pytest.mark.slow
def test_training_curves_series_shading_and_checkpoints(training_log, tmp_path):
    path, schedule = training_log
    rows = plots.read_metrics_jsonl(path)
    assert [step for step, _ in rows] == list(range(1, 17))
    figure = plots.training_curves_plot(rows, schedule)
    ax_len, ax_trunc, ax_val = figure.axes
    cap = lines_by_label(ax_len)["cap L(t)"]
    assert list(cap.get_ydata()) == [schedule.cap(s) for s in range(1, 17)]
    assert list(lines_by_label(ax_len)["mean response length"].get_ydata()) == pytest.approx(
        [schedule.cap(s) * 0.8 for s in range(1, 17)])
    assert list(lines_by_label(ax_trunc)["truncation rate"].get_ydata()) == pytest.approx(
        [0.1 * (s % 4) for s in range(1, 17)])
    val = lines_by_label(ax_val)
    assert list(val["val aime24"].get_xdata()) == [4, 8, 12, 16]
    assert list(val["val math500"].get_ydata()) == pytest.approx([0.08, 0.16, 0.24, 0.32])
    # shading: compression steps 1-4 and 9-12, expansion 5-8 and 13-16 (low checkpoint at T/2)
    spans = shaded_spans(ax_len)
    assert [(start, end) for _, start, end in spans] == [(1, 4), (5, 8), (9, 12), (13, 16)]
    assert [label for label, _, _ in spans][:2] == ["compression", "expansion"]  # one legend entry per phase
    colors = [tuple(p.get_facecolor()[:3]) for p in ax_len.patches]
    assert colors[0] == colors[2] != colors[1] == colors[3]
    checkpoint_lines = sorted(line.get_xdata()[0] for line in ax_val.get_lines() if line.get_linestyle() == ":")
    assert checkpoint_lines == [c.step for c in schedule.checkpoint_steps()] == [4, 8, 12, 16]
    assert {t.get_text() for t in ax_len.texts} == {c.name for c in schedule.checkpoint_steps()}
    assert_valid_images(plots.save_figure(figure, tmp_path / "curves.png"))


def shaded_spans(axes):
    return [(p.get_label(), round(p.get_x() + 0.5), round(p.get_x() + p.get_width() - 0.5)) for p in axes.patches]


@pytest.mark.slow
def test_training_curves_without_a_schedule_shade_the_logged_phases(training_log):
    path, schedule = training_log
    figure = plots.training_curves_plot(plots.read_metrics_jsonl(path))
    ax_len, _, ax_val = figure.axes
    spans = shaded_spans(ax_len)
    assert [(start, end) for _, start, end in spans] == [(1, 4), (5, 8), (9, 12), (13, 16)]
    assert [label for label, _, _ in spans][:2] == ["compression", "expansion"]
    assert not [line for line in ax_val.get_lines() if line.get_linestyle() == ":"]  # no checkpoint marks
    unlogged = plots.training_curves_plot([(s, {"response_length/mean": 1.0}) for s in range(1, 5)])
    assert len(unlogged.axes[0].patches) == 0


def test_training_curves_draw_the_schedule_when_the_cap_was_not_logged(tmp_path):
    schedule = LengthSchedule(ScheduleConfig(kind="cosine", min_length=8, max_length=16, period=8, num_cycles=1))
    rows = [(step, {"response_length/mean": 5.0}) for step in range(1, 9)]
    figure = plots.training_curves_plot(rows, schedule)
    assert list(lines_by_label(figure.axes[0])["cap L(t)"].get_ydata()) == [schedule.cap(s) for s in range(1, 9)]


def test_read_metrics_jsonl_errors_and_partial_last_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({"step": 2, "data": {"a": 1}}) + "\n" + json.dumps({"step": 1, "data": {"a": 0}})
                    + "\n" + '{"step": 3, "da')
    assert [s for s, _ in plots.read_metrics_jsonl(path)] == [1, 2]  # sorted; half-written tail ignored
    path.write_text('{"step": 1}\n')
    with pytest.raises(ValueError, match="line 1: expected"):
        plots.read_metrics_jsonl(path)


@pytest.mark.slow
def test_report_cli_writes_curves_with_a_run_config_schedule(training_log, tmp_path, capsys):
    path, _ = training_log
    config = tmp_path / "config.yaml"
    config.write_text("algorithm:\n  siri:\n    schedule:\n      kind: cosine\n      min_length: 8\n"
                      "      max_length: 16\n      period: 8\n      num_cycles: 2\n")
    prefix = tmp_path / "out" / "curves"
    code = main(["report", "--training-log", str(path), "--curves", str(prefix), "--schedule-config", str(config)])
    assert code == 0
    assert_valid_images([prefix.with_suffix(".png"), prefix.with_suffix(".svg")])
    # a checkpoint's siri_run.json carries the schedule too
    run_record = tmp_path / "siri_run.json"
    run_record.write_text(json.dumps({"global_step": 8, "siri": {"schedule": {
        "kind": "cosine", "min_length": 8, "max_length": 16, "period": 8, "num_cycles": 2}}}))
    assert main(["report", "--training-log", str(path), "--curves", str(prefix), "--schedule-config",
                 str(run_record)]) == 0
    code = main(["report", "--training-log", str(path)])
    assert code == 2 and "--curves" in capsys.readouterr().err
    code = main(["report", "--training-log", str(path), "--curves", str(prefix), "--schedule-config",
                 str(tmp_path / "config.yaml"), "--cap-key", "x"])
    assert code == 0
    config.write_text("trainer:\n  total_training_steps: 3\n")
    code = main(["report", "--training-log", str(path), "--curves", str(prefix), "--schedule-config", str(config)])
    assert code == 2 and "no algorithm.siri block" in capsys.readouterr().err


def test_report_cli_pareto_from_the_paper_alone(tmp_path, capsys):
    prefix = tmp_path / "pareto"
    assert main(["report", "--paper", "--paper-model", "1.5B", "--pareto", str(prefix)]) == 0
    assert_valid_images([prefix.with_suffix(".png"), prefix.with_suffix(".svg")])
    assert "wrote" in capsys.readouterr().out


def test_budget_plot_one_curve_per_model_per_benchmark_and_the_papers_points(tmp_path):
    curves = {
        "aime24": [plots.BudgetCurve("base", (2048, 4096, 16384), (5.0, 12.0, 28.0), (1.0, None, 2.0)),
                   plots.BudgetCurve("siri", (2048, 4096, 16384), (9.0, 20.0, 40.0), (1.5, 2.0, 2.5))],
        "math500": [plots.BudgetCurve("siri", (2048, 16384), (60.0, 85.0), (1.0, 1.0))],
    }
    paper = {"aime24": [plots.ParetoPoint("SIRI-low", 7093, 40.4), plots.ParetoPoint("Original", 12333, 28.2)]}
    figure = plots.budget_plot(curves, paper, paper_budget=16384)
    aime, math = figure.axes[:2]
    assert (aime.get_title(), math.get_title()) == ("aime24", "math500")
    assert [c.get_label() for c in aime.containers] == ["base", "siri"]
    data_line, _caps, (bars,) = aime.containers[0].lines
    assert list(data_line.get_xdata()) == [2048, 4096, 16384] and list(data_line.get_ydata()) == [5.0, 12.0, 28.0]
    assert [tuple(s[:, 1]) for s in bars.get_segments()] == [(4.0, 6.0), (12.0, 12.0), (26.0, 30.0)]
    (points,) = [c for c in aime.collections if c.get_label() == "paper Table 1"]
    assert [tuple(p) for p in points.get_offsets()] == [(16384, 40.4), (16384, 28.2)]  # at the paper's own cap
    assert not [c for c in math.collections if c.get_label() == "paper Table 1"]
    assert aime.get_xscale() == "log" and [t.get_text() for t in aime.get_xticklabels()] == ["2K", "4K", "16K"]
    # one color per model across panels
    assert aime.containers[1].lines[0].get_color() == math.containers[0].lines[0].get_color()
    assert_valid_images(plots.save_figure(figure, tmp_path / "budgets"))


def test_evolution_plot_lines_per_budget_and_checkpoint_marks(tmp_path):
    series = {"aime24": [
        plots.EvolutionSeries(16, (2, 4, 6), (10.0, 30.0, 20.0), (1.0, 1.0, None), (15.0, 16.0, 14.0)),
        plots.EvolutionSeries(48, (2, 4, 6), (20.0, 35.0, 30.0), (1.0, 2.0, 1.0), (20.0, 30.0, 22.0))]}
    marks = [(2, "siri_low_iter1", "low"), (4, "siri_high_iter1", "high"), (6, "siri_low_iter2", "low")]
    figure = plots.evolution_plot(series, marks)
    ax_acc, ax_tok = figure.axes[:2]
    assert [c.get_label() for c in ax_acc.containers] == ["B=16", "B=48"]
    assert list(ax_acc.containers[1].lines[0].get_ydata()) == [20.0, 35.0, 30.0]
    tokens = lines_by_label(ax_tok)
    assert list(tokens["B=16"].get_xdata()) == [2, 4, 6] and list(tokens["B=48"].get_ydata()) == [20.0, 30.0, 22.0]
    marked = sorted(line.get_xdata()[0] for line in ax_tok.get_lines() if line.get_linestyle() == ":")
    assert marked == [2, 4, 6]
    assert [t.get_text() for t in ax_tok.get_xticklabels()] == [f"{name}\n(step {step})" for step, name, _ in marks]
    assert_valid_images(plots.save_figure(figure, tmp_path / "evolution"))
