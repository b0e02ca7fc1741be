"""The answers module (``siri_verl.answers``) is the one home of the box parser and ground-truth normalisation,
and the dependency runs one way: data prep may import the reward, the reward never imports data prep, and
``siri_verl.answers`` imports neither."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import siri_verl

PACKAGE = Path(siri_verl.__file__).resolve().parent


def _loaded_after_import(module: str) -> list[str]:
    """The siri_verl modules a fresh interpreter has loaded after ``import module``."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('siri_verl'))))"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` statement anywhere in ``path`` names, function-level (lazy) imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.subprocess
def test_importing_the_reward_loads_no_data_prep_module():
    loaded = _loaded_after_import("siri_verl.reward")
    assert "siri_verl.answers" in loaded
    assert not [m for m in loaded if m.startswith("siri_verl.data")], loaded


@pytest.mark.subprocess
def test_the_answers_module_imports_neither_data_prep_nor_the_reward():
    loaded = _loaded_after_import("siri_verl.answers")
    assert not [m for m in loaded if m.startswith(("siri_verl.data", "siri_verl.reward"))], loaded
    assert not [m for m in _imported_modules(PACKAGE / "answers.py") if m.startswith("siri_verl")]


@pytest.mark.parametrize("path", sorted((PACKAGE / "reward").glob("*.py")), ids=lambda p: p.name)
def test_no_reward_module_imports_data_prep_even_lazily(path):
    assert not [m for m in _imported_modules(path) if m.startswith("siri_verl.data")]


def test_data_prep_and_the_reward_share_one_parser_and_one_normalisation():
    import siri_verl.data
    import siri_verl.reward
    from siri_verl import answers

    assert siri_verl.reward.last_boxed_content is answers.last_boxed_content
    assert siri_verl.data.normalize_ground_truth is answers.normalize_ground_truth
    assert siri_verl.data.InvalidAnswerError is answers.InvalidAnswerError
    assert siri_verl.data.answer_from_solution("so \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
