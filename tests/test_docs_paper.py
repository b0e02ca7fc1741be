"""docs/paper.md and markdown references: every ``*.md`` a repository file names exists in the repository, and
paper.md's Table 1 (§8) holds the same numbers as the bundled ``siri_verl/eval/paper_table1.csv``."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from repo_paths import REPO

PAPER = REPO / "docs" / "paper.md"
TABLE1_CSV = REPO / "siri_verl" / "eval" / "paper_table1.csv"

SCANNED_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".sh")
MD_REFERENCE = re.compile(r"\b[\w/.-]+\.md\b")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# Markdown files the tools write at run time (not documents a reader could open in the repository).
GENERATED = {"table1.md": "siri-verl report --output <dir>/table1.md (recipes/eval_paper_checkpoints.sh)",
             "length_compression.md": "python -m siri_verl.cpu.length_report (recipes/siri_tiny_cpu_length.sh)"}
# Test files whose synthetic markdown examples are inputs, not citations.
SYNTHETIC_EXAMPLES = {Path(__file__).resolve(), REPO / "tests" / "test_docs_commands.py"}
SKIPPED_DIRS = {".git", "outputs", "node_modules", "__pycache__"}


def _skipped(relative: Path) -> bool:
    return any(part in SKIPPED_DIRS or part.startswith(".venv") for part in relative.parts)


def repository_files() -> list[Path]:
    """The tracked files plus new, not ignored ones (git), else every file outside build/venv folders."""
    if shutil.which("git") and (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.splitlines()
        candidates = [Path(name) for name in listed]
    else:
        candidates = [path.relative_to(REPO) for path in REPO.rglob("*")]
    return [REPO / path for path in candidates if not _skipped(path) and (REPO / path).is_file()]


def markdown_references(text: str) -> list[tuple[int, str]]:
    """(line, reference) for every ``name.md`` / ``path/name.md`` in ``text`` that is not part of a URL."""
    urls = [match.span() for match in URL.finditer(text)]
    found = []
    for match in MD_REFERENCE.finditer(text):
        if any(start <= match.start() < end for start, end in urls):
            continue
        found.append((text.count("\n", 0, match.start()) + 1, match.group()))
    return found


def resolves(reference: str, citing_file: Path) -> bool:
    return any((base / reference).is_file() for base in (REPO, citing_file.parent))


def test_the_reference_scanner_finds_references_and_skips_urls():
    text = ("see docs/paper.md §3 and [cpu](cpu.md#setup)\n"
            "https://github.com/x/y/blob/main/NOTES.md and SIRI_METHOD.md")
    assert markdown_references(text) == [(1, "docs/paper.md"), (1, "cpu.md"), (2, "SIRI_METHOD.md")]
    assert resolves("docs/paper.md", REPO / "siri_verl" / "schedule.py")
    assert resolves("paper.md", REPO / "docs" / "schedules.md")
    assert not resolves("paper.md", REPO / "siri_verl" / "schedule.py")


def test_every_cited_markdown_file_exists():
    missing = []
    scanned = 0
    for path in repository_files():
        if path.suffix not in SCANNED_SUFFIXES or path in SYNTHETIC_EXAMPLES:
            continue
        scanned += 1
        text = path.read_text(encoding="utf-8", errors="replace")
        for line, reference in markdown_references(text):
            if reference.rsplit("/", 1)[-1] in GENERATED or resolves(reference, path):
                continue
            missing.append(f"{path.relative_to(REPO)}:{line}: {reference}")
    assert scanned > 50, f"only {scanned} files scanned; is the repository listing broken?"
    assert not missing, (
        "these files cite markdown files that are not in the repository (cite docs/paper.md §N or another "
        "file under docs/, relative to the repository root or to the citing file):\n" + "\n".join(missing)
    )


# ---------------------------------------------------------------------------------------------------------
# paper.md's Table 1 against the CSV

BENCHMARKS = ("aime24", "aime25", "amc", "math500")


def _number(cell: str) -> float | None:
    cell = cell.strip().strip("*")
    return None if cell in ("", "–", "-") else float(cell)


def _tables_under(heading_prefix: str) -> list[list[list[str]]]:
    """The markdown tables in paper.md between a heading starting with ``heading_prefix`` and the next heading."""
    lines = PAPER.read_text(encoding="utf-8").splitlines()
    inside, tables, current = False, [], []
    for line in lines:
        if line.startswith("#"):
            inside = line.lstrip("#").strip().startswith(heading_prefix)
            continue
        if inside and line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _paper_rows(heading_prefix: str) -> dict[str, dict[str, float | None]]:
    tables = _tables_under(heading_prefix)
    assert len(tables) == 1, f"expected one table under docs/paper.md '{heading_prefix}', found {len(tables)}"
    header, *rows = tables[0]
    result = {}
    for row in rows:
        assert len(row) == len(header), f"docs/paper.md {heading_prefix}: row {row} has {len(row)} cells"
        method = row[0].strip("*").rstrip("†")
        result[method] = {name: _number(cell) for name, cell in zip(header[1:], row[1:])}
    return result


def _csv_rows(source: str, model: str) -> dict[str, dict[str, str]]:
    lines = [line for line in TABLE1_CSV.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return {row["method"]: row for row in csv.DictReader(lines)
            if row["source"] == source and row["model"] == model}


def _csv_number(row: dict[str, str], key: str) -> float | None:
    return float(row[key]) if row[key] else None


@pytest.mark.parametrize("section, model", [("8.1", "1.5B"), ("8.2", "7B")])
def test_paper_md_table1_matches_the_csv(section, model):
    paper, bundled = _paper_rows(section), _csv_rows("table1", model)
    assert list(paper) == list(bundled), f"docs/paper.md §{section} and the CSV list different methods"
    for method, cells in paper.items():
        row = bundled[method]
        for benchmark in BENCHMARKS:
            title = {"aime24": "AIME24", "aime25": "AIME25", "amc": "AMC", "math500": "MATH500"}[benchmark]
            assert cells[f"{title} Acc"] == _csv_number(row, f"{benchmark}_acc"), (model, method, benchmark)
            assert cells[f"{title} Len"] == _csv_number(row, f"{benchmark}_len"), (model, method, benchmark)
        assert cells["ΔCRAcc"] == _csv_number(row, "printed_delta_cr_acc"), (model, method)
    # a spot check that the parser read the right cells
    assert paper["SIRI-low"]["AIME24 Acc"] == {"1.5B": 40.4, "7B": 56.1}[model]


def test_paper_md_trajectory_matches_the_csv():
    paper, bundled = _paper_rows("8.3"), _csv_rows("sec5.2", "1.5B")
    assert list(paper) == list(bundled)
    for method, cells in paper.items():
        row = bundled[method]
        assert cells["Step"] == _csv_number(row, "step")
        assert cells["AIME24 Acc"] == _csv_number(row, "aime24_acc")
        assert cells["AIME24 Len"] == _csv_number(row, "aime24_len")


def test_paper_md_checkpoint_steps_match_the_schedule():
    """§4's SIRI-low / SIRI-high steps are the cosine schedule's siri_low_iter3 / siri_high_iter3."""
    from siri_verl.schedule import LengthSchedule, ScheduleConfig

    schedule = LengthSchedule(ScheduleConfig())  # the defaults are the paper's run
    text = PAPER.read_text(encoding="utf-8")
    for checkpoint in schedule.checkpoint_steps():
        assert f"`{checkpoint.name}`" in text, checkpoint.name
    assert schedule.checkpoint_at(1600).name == "siri_low_iter3" and "**1600**" in text
    assert schedule.checkpoint_at(1920).name == "siri_high_iter3" and "**1920**" in text


def test_paper_md_sections_are_numbered_and_cited_sections_exist():
    """Every "docs/paper.md §N" (or "paper.md §N.M") in the repository names a section paper.md has."""
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", PAPER.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert headings[:3] == ["1", "2", "3"]
    sections = set(headings)
    citation = re.compile(r"paper\.md[^\n§]{0,40}?((?:§\d+(?:\.\d+)?(?:,\s*)?)+)")
    bad = []
    for path in repository_files():
        if path.suffix not in SCANNED_SUFFIXES or path == PAPER:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in citation.finditer(text):
            for number in re.findall(r"§(\d+(?:\.\d+)?)", match.group(1)):
                if number not in sections:
                    bad.append(f"{path.relative_to(REPO)}: paper.md §{number}")
    assert not bad, "citations of paper.md sections that do not exist:\n" + "\n".join(bad)
