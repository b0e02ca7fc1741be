"""What a SIRI checkpoint records, the resume guard, and the phase checkpoints (pure Python, no verl).

* Every ``global_step_N/`` folder verl writes gets ``siri_run.json``: the composed config, the
  ``algorithm.siri`` block, the step, and the siri_verl and verl versions.
* Resuming reads the record of the folder verl will resume from and refuses a changed
  ``algorithm.siri.schedule`` unless ``algorithm.siri.resume.allow_schedule_change=true``. The caps need
  no saved state: the schedule is a pure function of verl's ``global_steps``, which verl restores from
  the folder name, so an unchanged schedule continues the identical cap sequence.
* Phase checkpoints (each schedule low/high step) are additionally recorded under a stable name,
  ``<default_local_dir>/siri_phase_checkpoints/<name>/global_step_N/``, as a tree of hard links to the
  files verl wrote (no extra disk; a copy when hard links are impossible). verl's
  ``max_actor_ckpt_to_keep`` rotation deletes ``global_step_N/actor`` by path, which removes only its
  own links, so the named checkpoint survives. ``manifest.json`` beside them lists name -> step, cap,
  path and the validation metrics measured there.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

from siri_verl.config import SiriConfig
from siri_verl.errors import ConfigKeyError
from siri_verl.schedule import schedule_config_from_mapping

RUN_RECORD_FILE = "siri_run.json"
PHASE_DIR = "siri_phase_checkpoints"
MANIFEST_FILE = "manifest.json"
ALLOW_SCHEDULE_CHANGE_KEY = "algorithm.siri.resume.allow_schedule_change"


class ResumeConfigError(ConfigKeyError):
    """The checkpoint being resumed was trained with a different schedule (``key``: ``algorithm.siri.schedule``)."""


def write_run_record(step_folder: str | os.PathLike, *, step: int, config: Mapping[str, Any],
                     versions: Mapping[str, str]) -> Path:
    """Write ``siri_run.json`` into ``step_folder`` (``config`` is the resolved, composed config)."""
    path = Path(step_folder) / RUN_RECORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    siri = (config.get("algorithm") or {}).get("siri") or {}
    record = {"global_step": step, "versions": dict(versions), "siri": siri, "config": config}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)
    return path


def read_run_record(step_folder: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(step_folder) / RUN_RECORD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def resume_folder(trainer_config: Mapping[str, Any]) -> str | None:
    """The ``global_step_N`` folder verl 0.9.1 will resume from (``PPOTrainer._load_checkpoint``'s
    choice), or None when it will train from scratch."""
    mode = trainer_config.get("resume_mode", "auto")
    if mode == "disable":
        return None
    if mode == "resume_path":
        folder = trainer_config.get("resume_from_path")
        return os.path.abspath(folder) if folder else None
    base = os.path.abspath(trainer_config.get("default_local_dir") or ".")
    tracker = os.path.join(base, "latest_checkpointed_iteration.txt")
    if not os.path.isfile(tracker):
        return None
    folder = os.path.join(base, f"global_step_{int(Path(tracker).read_text().strip())}")
    return folder if os.path.isdir(folder) else None


def check_resume(step_folder: str | os.PathLike, siri: SiriConfig) -> str:
    """Refuse to resume from ``step_folder`` when its schedule differs from ``siri.schedule``.

    Both schedules are compared after validation (defaults filled in), so a key written out in one and left to
    its default in the other is no change. Returns a one-line note of what was checked (for the log)."""
    record = read_run_record(step_folder)
    if record is None:
        return f"{step_folder} has no {RUN_RECORD_FILE} (not written by siri_verl); schedule not compared"
    current = asdict(siri.schedule)
    try:
        saved = asdict(schedule_config_from_mapping((record.get("siri") or {}).get("schedule") or {}))
    except ConfigKeyError as error:  # written by another siri_verl version: show it as it was stored
        saved = {"unreadable": str(error)}
    if saved != current:
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        if not siri.resume.allow_schedule_change:
            raise ResumeConfigError(
                "algorithm.siri.schedule",
                f"changed since {step_folder} was saved ({detail}), so the caps after step "
                f"{record.get('global_step')} would not continue the run; refusing to resume. Restore the saved "
                f"schedule, or set {ALLOW_SCHEDULE_CHANGE_KEY}=true to resume anyway"
            )
        return f"schedule changed ({detail}); resuming because {ALLOW_SCHEDULE_CHANGE_KEY}=true"
    return f"schedule matches the checkpoint's ({step_folder})"


def _link_tree(source: Path, target: Path) -> str:
    """Mirror ``source`` into ``target`` with hard links (copies where linking fails)."""
    method = "hardlink"
    for root, _, files in os.walk(source):
        destination = target / Path(root).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(root) / name, destination / name
            if dst.exists():
                dst.unlink()
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
                method = "copy"
    return method


def record_phase_checkpoint(default_local_dir: str | os.PathLike, step_folder: str | os.PathLike, *,
                            name: str, step: int, kind: str, iteration: int, cap: int) -> Path:
    """Keep ``step_folder`` under its stable phase name and list it in the manifest."""
    root = Path(default_local_dir) / PHASE_DIR
    target = root / name / Path(step_folder).name
    method = _link_tree(Path(step_folder), target)
    manifest = read_manifest(default_local_dir)
    manifest[name] = {"step": step, "kind": kind, "iteration": iteration, "cap": cap,
                      "path": str(target), "stored_as": method, "val_metrics": manifest.get(name, {}).get("val_metrics")}
    _write_manifest(root, manifest)
    return target


def record_phase_validation(default_local_dir: str | os.PathLike, name: str, metrics: Mapping[str, float]) -> None:
    """Attach the validation metrics measured at a phase checkpoint to its manifest entry."""
    manifest = read_manifest(default_local_dir)
    if name in manifest:
        manifest[name]["val_metrics"] = {k: float(v) for k, v in metrics.items()}
        _write_manifest(Path(default_local_dir) / PHASE_DIR, manifest)


def read_manifest(default_local_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(default_local_dir) / PHASE_DIR / MANIFEST_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_manifest(root: Path, manifest: Mapping[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, root / MANIFEST_FILE)


def hf_export_command(phase_checkpoint: str | os.PathLike, target_dir: str | os.PathLike,
                      backend: str | None = None, python: str = "python") -> list[str]:
    """The command that turns a phase checkpoint (``.../global_step_N``) into a Hugging Face model folder.

    ``backend`` is the training engine: ``"fsdp"``, or ``"megatron"`` (``model_engine=megatron``); ``None`` reads
    it from the checkpoint's files and falls back to ``"fsdp"`` when there are none yet. FSDP shards and Megatron
    ``dist_checkpointing`` shards (``actor/model/dist_ckpt``, written when ``megatron.use_dist_checkpointing=true``)
    go through verl's model merger with that backend. verl 0.9.1's default Megatron checkpoint stores the weights
    through Megatron-Bridge as a Hugging Face folder already (``actor/model/huggingface``, with config and
    tokenizer), which verl's merger does not read: that folder is copied as is.
    """
    actor = Path(phase_checkpoint) / "actor"
    if backend is None:
        megatron = (actor / "model" / "dist_ckpt").is_dir() or (actor / "model" / "huggingface").is_dir()
        backend = "megatron" if megatron else "fsdp"
    if backend not in ("fsdp", "megatron"):
        raise ValueError(f"hf_export_command: backend must be 'fsdp' or 'megatron', got {backend!r}")
    hf_tree = actor / "model" / "huggingface"
    if backend == "megatron" and not (actor / "model" / "dist_ckpt").is_dir() and (hf_tree / "config.json").is_file():
        return [python, "-c", "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])", str(hf_tree), str(target_dir)]
    return [python, "-m", "verl.model_merger", "merge", "--backend", backend,
            "--local_dir", str(actor), "--target_dir", str(target_dir)]
