"""Where the tests find the repository and its neighbours: ``from repo_paths import REPO``.

Module-level constants (not fixtures) because test modules use them at import time: recipe paths, parametrize
lists built from ``REPO.glob``, ``skipif(not SHARED_DATA.is_dir())``. ``tests/`` is on ``sys.path`` through
``pythonpath = ["tests"]`` in pyproject.toml's ``[tool.pytest.ini_options]``; it is deliberately not a package,
because verl and TransferQueue install a top-level ``tests`` package into site-packages that ``import tests.…``
would resolve to.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The repository root (the folder holding pyproject.toml)."""

SHARED_DATA = REPO.parent / "shared" / "data"
"""The raw benchmark and training files next to the repository (``../shared/data``); tests marked ``shared_data``
skip when it is absent."""
