"""Provenance of prepared parquet files, and the rule that data prep never overwrites a file it did not write
from the same source.

Every parquet written by ``data_prep/prepare.py`` gets a sidecar ``<file>.parquet.provenance.json``::

    {"dataset": "deepscaler", "file": "deepscaler.parquet", "rows": 40315, "sha256": "<of the parquet>",
     "source": {"kind": "hub", "hub_id": "agentica-org/DeepScaleR-Preview-Dataset", "config": null,
                "split": "train", "revision": "b6ae8c6...", "rows": 40315},
     "command": "python data_prep/prepare.py deepscaler --output ...", "options": {...},
     "summary": {...}, "written_at": "2026-...Z", "siri_verl_version": "..."}

A local source is ``{"kind": "local", "path": <absolute input path>, "sha256": <of the input>, "rows": N}``.

Before writing, :func:`check_overwrite` refuses to replace an existing parquet unless its sidecar names the same
dataset and the same source (same hub id/config/split, or the same local input path; the hub revision and the input's
content may differ, so re-running a command refreshes its own file). A parquet without a sidecar (written by
hand, by another tool or by an older version) is not replaced either. ``--overwrite`` lifts the rule.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Mapping

from siri_verl.data.prepare import DataPrepError
from siri_verl.data.sources import DatasetSpec

SUFFIX = ".provenance.json"


class OverwriteRefused(DataPrepError):
    """An existing output was not written by data prep from the same source."""


def provenance_path(parquet: str | os.PathLike) -> Path:
    """``<file>.parquet`` -> ``<file>.parquet.provenance.json``."""
    return Path(str(parquet) + SUFFIX)


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def all_output_name(spec: DatasetSpec) -> str:
    """File name ``prepare.py all`` writes ``spec`` to. The local training file is a subset of the hub set
    (DeepScaleR: 803 of 40,315 rows), so it gets its own name (``deepscaler_subset.parquet``) and can never be
    taken for, or replace, the full set that ``prepare.py deepscaler --output .../deepscaler.parquet`` writes."""
    if spec.split == "train" and spec.local_rows < spec.hub_rows:
        return f"{spec.name}_subset.parquet"
    return f"{spec.name}.parquet"


def local_source(path: str | os.PathLike, rows: int) -> dict:
    path = Path(path).resolve()
    return {"kind": "local", "path": str(path), "sha256": sha256_of(path), "rows": rows}


def hub_source(spec: DatasetSpec, revision: str | None, rows: int) -> dict:
    return {"kind": "hub", "hub_id": spec.hub_id, "config": spec.hub_config, "split": spec.hub_split,
            "revision": revision or spec.hub_revision, "rows": rows}


def _identity(source: Mapping[str, Any]) -> tuple:
    """What makes two sources "the same" for the overwrite rule (not the revision or the content hash)."""
    if source.get("kind") == "hub":
        return ("hub", source.get("hub_id"), source.get("config"), source.get("split"))
    return ("local", source.get("path"))


def describe_source(source: Mapping[str, Any]) -> str:
    if source.get("kind") == "hub":
        config = f" ({source['config']})" if source.get("config") else ""
        return f"hub {source.get('hub_id')}{config} split {source.get('split')} @ {source.get('revision')}"
    return f"local file {source.get('path')}"


def read_provenance(parquet: str | os.PathLike) -> dict | None:
    """The sidecar of ``parquet``, or None when there is none (or it is unreadable)."""
    path = provenance_path(parquet)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def check_overwrite(output: str | os.PathLike, dataset: str, source: Mapping[str, Any],
                    overwrite: bool = False) -> None:
    """Raise :class:`OverwriteRefused` when ``output`` exists and was not written by data prep for ``dataset``
    from the same source (see the module docstring); ``overwrite`` lifts the rule."""
    output = Path(output)
    if overwrite or not output.is_file():  # nothing there (or not a file, e.g. /dev/null)
        return
    recorded = read_provenance(output)
    if recorded is None:
        raise OverwriteRefused(
            f"{output} exists and has no {provenance_path(output).name}, so nothing says data prep wrote it from "
            f"{describe_source(source)}; refusing to replace it. Move it away, choose another output, or pass "
            f"--overwrite")
    if recorded.get("dataset") != dataset or _identity(recorded.get("source") or {}) != _identity(source):
        raise OverwriteRefused(
            f"{output} holds {recorded.get('rows')} rows of {recorded.get('dataset')} from "
            f"{describe_source(recorded.get('source') or {})} (written by `{recorded.get('command')}`); this command "
            f"would replace it with {dataset} from {describe_source(source)}. Refusing. Choose another output, or "
            f"pass --overwrite")


def command_line(argv: list[str] | None = None) -> str:
    """The data-prep command as typed (``argv`` = the arguments after the program name, when known)."""
    if argv is None:
        return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "prepare.py"
    return shlex.join(["python", "data_prep/prepare.py", *argv])


def write_provenance(output: str | os.PathLike, dataset: str, source: Mapping[str, Any], rows: int, *,
                     command: str, options: Mapping[str, Any] | None = None,
                     summary: Mapping[str, Any] | None = None) -> Path:
    """Write the sidecar of ``output`` (atomically) and return its path."""
    try:
        from importlib.metadata import version

        package_version = version("siri_verl")
    except Exception:  # not installed as a distribution (e.g. run from a source tree)
        package_version = None
    record = {
        "dataset": dataset,
        "file": Path(output).name,
        "rows": rows,
        "sha256": sha256_of(output),
        "source": dict(source),
        "command": command,
        "options": dict(options or {}),
        "summary": dict(summary or {}),
        "written_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "siri_verl_version": package_version,
    }
    path = provenance_path(output)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    temporary.replace(path)
    return path
