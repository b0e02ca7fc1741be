"""``siri-verl schedule``: output formats, recipes, errors and the plot, through the installed console script."""

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siri_verl.cli import main

from repo_paths import REPO

PAPER_COSINE = {0: 16384, 80: 15184, 160: 12288, 240: 9392, 320: 8192, 400: 9392, 480: 12288, 560: 15184, 640: 16384}


def run_cli(args, capsys):
    code = main(["schedule", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_issue_command_reproduces_the_paper_values_as_csv(capsys):
    code, out, err = run_cli(
        ["--kind", "cosine", "--min", "8192", "--max", "16384", "--period", "640", "--steps", "1920",
         "--format", "csv", "--from", "0"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["step", "cap", "phase", "iteration"]
    assert [int(r["step"]) for r in rows] == list(range(0, 1921))
    by_step = {int(r["step"]): r for r in rows}
    for cycle in range(3):
        for step, cap in PAPER_COSINE.items():
            assert int(by_step[step + 640 * cycle]["cap"]) == cap
    assert by_step[1600]["phase"] == "compression" and by_step[1601]["phase"] == "expansion"
    assert by_step[1920]["iteration"] == "3"
    # the summary goes to stderr so stdout stays pure CSV
    assert "rollout-token budget 0.7500" in err and "siri_low_iter3@1600" in err


def test_json_starts_at_step_one_by_default(capsys):
    code, out, _ = run_cli(["--kind", "stair", "--min", "16", "--max", "48", "--period", "4", "--cycles", "2",
                            "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert [r["cap"] for r in rows] == [16, 16, 48, 48, 16, 16, 48, 48]
    assert [r["phase"] for r in rows[:4]] == ["compression", "compression", "expansion", "expansion"]


def test_table_from_recipe_with_override(capsys, tmp_path):
    output = tmp_path / "table.txt"
    code, out, _ = run_cli([str(REPO / "recipes" / "siri_1.5b.yaml"), "algorithm.siri.schedule.period=320",
                            "--output", str(output)], capsys)
    assert code == 0
    assert "cosine 8192<->16384, T=320" in out
    assert "siri_low_iter3@800" in out and "steps 1..960" in out
    lines = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert ["160", "8192", "compression", "1", "siri_low_iter1"] in lines
    assert output.read_text() in out


@pytest.mark.slow
def test_plot_is_a_png(capsys, tmp_path):
    from PIL import Image

    plot_path = tmp_path / "schedule.png"
    code, out, _ = run_cli([str(REPO / "recipes" / "siri_1.5b.yaml"), "--plot", str(plot_path)], capsys)
    assert code == 0 and f"plot: {plot_path}" in out
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(plot_path) as image:
        assert image.width > 600 and image.height > 300


def test_piecewise_from_flags(capsys):
    code, out, _ = run_cli(["--kind", "piecewise", "--knots", "1:8192,321:16384", "--steps", "400",
                            "--format", "csv"], capsys)
    assert code == 0
    caps = {int(r["step"]): int(r["cap"]) for r in csv.DictReader(io.StringIO(out))}
    assert caps[320] == 8192 and caps[321] == 16384


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--kind", "cosine", "--min", "20000", "--max", "16384", "--period", "640", "--steps", "10"],
         "algorithm.siri.schedule.min_length=20000"),
        (["--kind", "cosine", "--min", "8192", "--max", "16384", "--period", "0", "--steps", "10"],
         "algorithm.siri.schedule.period=0"),
        (["--kind", "piecewise", "--knots", "1:x", "--steps", "10"], "--knots='1:x'"),
        ([], "give a recipe (.sh or .yaml) or --kind"),
        (["recipes/does_not_exist.yaml"], "does not exist"),
        (["recipes/siri_1.5b.yaml", "--kind", "cosine"], "either a recipe or schedule flags"),
    ],
)
def test_errors_exit_2_with_a_message(capsys, args, fragment):
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert fragment in err


@pytest.mark.slow
def test_recipe_max_above_response_length_is_refused(capsys):
    code, _, err = run_cli([str(REPO / "recipes" / "siri_1.5b.yaml"), "data.max_response_length=8192"], capsys)
    assert code == 2
    assert "algorithm.siri.schedule.max_length=16384" in err and "data.max_response_length=8192" in err


@pytest.mark.subprocess
def test_console_script_is_installed():
    executable = shutil.which("siri-verl", path=str(Path(sys.executable).parent))
    assert executable, "the siri-verl console script is not installed (pip install -e .)"
    result = subprocess.run(
        [executable, "schedule", "--kind", "cosine", "--min", "8192", "--max", "16384", "--period", "640",
         "--steps", "240", "--format", "csv"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert result.stdout.splitlines()[-1] == "240,9392,compression,1"


@pytest.mark.parametrize("args, shown", [
    (["--kind", "piecewise", "--knots", "1:8192,321:16384", "--steps", "1920"], {(320, 8192), (321, 16384)}),
    (["--kind", "stair", "--min", "8192", "--max", "16384", "--period", "640", "--steps", "1920"],
     {(320, 8192), (321, 16384), (640, 16384), (641, 8192), (1600, 8192), (1601, 16384)}),
])
def test_table_always_shows_the_steps_where_the_cap_changes(capsys, args, shown):
    code, out, _ = run_cli(args, capsys)
    assert code == 0
    rows = {(int(line.split()[0]), int(line.split()[1])) for line in out.splitlines()
            if line.strip() and line.split()[0].isdigit()}
    assert shown <= rows
    # a smooth schedule (the cap changes at almost every step) keeps the sampled table
    code, out, _ = run_cli(["--kind", "cosine", "--min", "8192", "--max", "16384", "--period", "640",
                            "--steps", "1920"], capsys)
    assert code == 0 and sum(1 for line in out.splitlines() if line.strip()[:1].isdigit()) < 40


def test_every_schedule_config_field_has_a_flag_with_its_help():
    """The flags are generated from ScheduleConfig: a field added there gets a flag, its help and its aliases."""
    import argparse
    import dataclasses

    from siri_verl.commands import schedule as command
    from siri_verl.schedule import KINDS, ScheduleConfig

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    actions = {action.dest: action for action in parser._actions}
    for config_field in dataclasses.fields(ScheduleConfig):
        action = actions[config_field.name]
        flag = "--" + config_field.name.replace("_", "-")
        assert action.option_strings == [flag, *config_field.metadata.get("cli_aliases", ())]
        assert action.help.startswith(config_field.metadata["help"])
        assert action.choices == config_field.metadata.get("choices")
    assert {alias for a in actions.values() for alias in a.option_strings} >= {"--min", "--max", "--cycles", "--warmup"}
    assert actions["kind"].choices == KINDS and actions["interpolation"].choices == ("hold", "linear")


@pytest.mark.parametrize("spelling", [
    ["--min", "8192", "--max", "16384", "--cycles", "3", "--warmup", "5"],
    ["--min-length", "8192", "--max-length", "16384", "--num-cycles", "3", "--warmup-steps", "5"],
])
def test_short_and_field_name_spellings_are_the_same_schedule(capsys, spelling):
    code, out, err = run_cli(["--kind", "cosine", "--period", "640", *spelling, "--format", "csv"], capsys)
    assert code == 0, err
    caps = {int(r["step"]): int(r["cap"]) for r in csv.DictReader(io.StringIO(out))}
    assert len(caps) == 5 + 3 * 640 and caps[5] == 16384 and caps[5 + 240] == 9392 and caps[5 + 320] == 8192


def test_total_steps_flag(capsys):
    code, out, err = run_cli(["--kind", "constant", "--max", "8", "--total-steps", "4", "--format", "json"], capsys)
    assert code == 0, err
    assert [row["cap"] for row in json.loads(out)] == [8, 8, 8, 8]


# every recipe that trains with a SIRI config: the .sh that launch through siri_launch (recipes/_launch.sh) or
# hand over to one that does, and the .yaml recipes that inherit siri_trainer
PREVIEWABLE_RECIPES = sorted(
    [p for p in (REPO / "recipes").glob("*.sh")
     if "siri_launch --config-path" in p.read_text() or 'exec bash "$RECIPES_DIR/siri_' in p.read_text()]
    + [p for p in (REPO / "recipes").glob("*.yaml") if "siri_trainer" in p.read_text()])


@pytest.mark.subprocess  # a .sh recipe runs in bash to print its launch arguments
@pytest.mark.parametrize("recipe", PREVIEWABLE_RECIPES, ids=lambda p: p.name)
@pytest.mark.slow
def test_every_recipe_can_be_previewed(capsys, recipe):
    """A .sh is composed as it would launch (SIRI_PRINT_LAUNCH_ARGS=1: its argument list, no training)."""
    code, out, err = run_cli([str(recipe), "--format", "csv", "--steps", "4"], capsys)
    assert code == 0, err
    assert [int(r["step"]) for r in csv.DictReader(io.StringIO(out))] == [1, 2, 3, 4]
    assert "schedule: " in err


def test_every_training_recipe_is_previewed():
    assert {p.name for p in PREVIEWABLE_RECIPES} >= {
        "siri_1.5b.sh", "siri_1.5b.yaml", "siri_1.5b_stair.sh", "siri_1.5b_stair_cosine.sh", "siri_7b.sh",
        "dapo_deepscaler_16k.sh", "constant_16k.sh", "siri_1.5b_megatron.sh", "siri_smoke_gpu.sh",
        "siri_tiny_cpu.yaml"}


@pytest.mark.subprocess  # a .sh recipe runs in bash to print its launch arguments
@pytest.mark.slow
def test_sh_recipe_with_an_override(capsys):
    code, out, err = run_cli([str(REPO / "recipes" / "siri_1.5b_stair.sh"), "algorithm.siri.schedule.period=480"],
                             capsys)
    assert code == 0, err
    assert "stair 8192<->16384, T=480" in out and "siri_low_iter1@240" in out and "steps 1..1440" in out


@pytest.mark.slow
@pytest.mark.subprocess
def test_misspelt_override_is_the_one_line_check_prints(capsys):
    recipe, override = str(REPO / "recipes" / "siri_1.5b_stair.sh"), "algorithm.siri.schedul.kind=x"
    result = subprocess.run([sys.executable, "-m", "siri_verl.cli", "schedule", recipe, override],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert main(["check", recipe, override]) == 2
    [check_line] = capsys.readouterr().err.strip().splitlines()
    message = check_line.removeprefix("siri-verl check: ")
    assert message.startswith("algorithm.siri.schedul.kind: not a key") and "did you mean" in message
    assert line == f"siri-verl schedule: error: {message}"
