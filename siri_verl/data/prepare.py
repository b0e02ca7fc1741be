"""Turn math datasets into verl RLHFDataset parquet: load, normalise, deduplicate, decontaminate, write.

Output columns (verl ``RLHFDataset`` / reward managers): ``data_source``, ``prompt`` (chat list),
``ability``, ``reward_model`` {``style``: "rule", ``ground_truth``: normalised answer string}, and
``extra_info`` {``index``, ``split``, ``original_id``, ``problem``, ``answer_kind``}.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siri_verl.answers import InvalidAnswerError, answer_from_solution, normalize_ground_truth
from siri_verl.data.answers import answer_kind, string_match_only_golds, string_match_only_rows
from siri_verl.data.sources import DatasetSpec

DEEPSCALER_PROMPT_TEMPLATE = "{problem} Let's think step by step and output the final answer within \\boxed{}."
PROBLEM_PLACEHOLDER = "{problem}"


class DataPrepError(ValueError):
    """Bad input to data prep (unreadable file, invalid rows, offline hub, bad template)."""


@dataclass
class PreparedDataset:
    """Rows ready to write plus the counts for the summary."""

    spec: DatasetSpec
    records: list[dict]
    rows_in: int
    invalid_skipped: list[tuple[int, str]] = field(default_factory=list)
    duplicates_dropped: int = 0
    duplicate_answer_conflicts: int = 0
    contaminated_dropped: int = 0
    # ground truth -> why answers can only be string-matched against it (siri_verl.reward.GOLD_STATUSES)
    string_match_only: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        kinds = Counter(record["extra_info"]["answer_kind"] for record in self.records)
        only = string_match_only_rows(self.records, self.string_match_only)
        return {
            "name": self.spec.name,
            "rows_in": self.rows_in,
            "rows_out": len(self.records),
            "invalid_skipped": len(self.invalid_skipped),
            "duplicates_dropped": self.duplicates_dropped,
            "duplicate_answer_conflicts": self.duplicate_answer_conflicts,
            "contaminated_dropped": self.contaminated_dropped,
            "answer_kinds": dict(sorted(kinds.items())),
            "string_match_only": len(only),
            "string_match_only_rows": only[:5],
        }


# ---------------------------------------------------------------------------------------------------- load
def read_local_rows(path: str | os.PathLike) -> list[dict]:
    """Rows of a local .json (list of objects), .jsonl or .parquet file."""
    path = Path(path)
    if not path.is_file():
        raise DataPrepError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.strip()]
        if suffix == ".json":
            with path.open(encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict):  # {"data": [...]} style
                lists = [value for value in data.values() if isinstance(value, list)]
                if len(lists) != 1:
                    raise DataPrepError(f"{path}: a JSON object input must hold exactly one list of rows")
                data = lists[0]
            if not isinstance(data, list):
                raise DataPrepError(f"{path}: expected a JSON list of row objects")
            return data
        if suffix == ".parquet":
            import pandas as pd

            return pd.read_parquet(path).to_dict(orient="records")
    except json.JSONDecodeError as exc:
        raise DataPrepError(f"{path}: invalid JSON ({exc})") from exc
    raise DataPrepError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl or .parquet")


def load_hub_rows(spec: DatasetSpec, revision: str | None = None) -> list[dict]:
    """Rows of the hub dataset at a pinned revision, with the expected row count checked."""
    revision = revision or spec.hub_revision
    if revision is None:
        raise DataPrepError(
            f"no verified hub revision is recorded for {spec.name} ({spec.hub_id}): pass --revision <commit sha> "
            f"(or --revision main to accept what the hub serves now; the row count {spec.hub_rows} is still "
            f"checked), or --input FILE for a local copy"
        )
    try:
        import datasets

        dataset = datasets.load_dataset(spec.hub_id, spec.hub_config, split=spec.hub_split, revision=revision)
    except Exception as exc:  # offline, unknown revision, auth ...
        raise DataPrepError(
            f"could not load {spec.hub_id} (config={spec.hub_config}, split={spec.hub_split}, revision={revision}) "
            f"from the hub: {type(exc).__name__}: {str(exc)[:300]}. Offline? Pass --input FILE (a local "
            f".json/.jsonl/.parquet copy, e.g. {spec.local_file} under ../shared/data)"
        ) from exc
    if len(dataset) != spec.hub_rows:
        raise DataPrepError(
            f"{spec.hub_id}@{revision} has {len(dataset)} rows, expected {spec.hub_rows}: wrong revision or split"
        )
    return [dict(row) for row in dataset]


# ---------------------------------------------------------------------------------------------- normalise
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"\\(?:left|right|displaystyle|[,;:! ])|[$\\{}]")
_PUNCT = re.compile(r"[^\w]+")


def problem_key(problem: str) -> str:
    """Normalised problem text for dedup and decontamination: case, whitespace, ``$``, braces,
    backslashes, sizing/spacing commands and punctuation removed."""
    text = _MARKUP.sub(" ", problem.lower())
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _first_present(row: dict, names: Sequence[str]) -> tuple[str | None, Any]:
    for name in names:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        return name, value
    return None, None


def check_prompt_template(template: str) -> None:
    if PROBLEM_PLACEHOLDER not in template:
        raise DataPrepError(f"--prompt-template must contain {PROBLEM_PLACEHOLDER!r}; got {template!r}")


def _build_record(spec: DatasetSpec, row: Any, position: int, template: str) -> dict:
    """One output row; raises ``InvalidAnswerError`` naming what is wrong with the input row."""
    if not isinstance(row, dict):
        raise InvalidAnswerError(f"row is a {type(row).__name__}, not an object")
    _, problem = _first_present(row, spec.problem_fields)
    if not isinstance(problem, str):
        raise InvalidAnswerError(f"no problem text in fields {list(spec.problem_fields)}")
    problem = problem.strip()
    if spec.context_field and isinstance(row.get(spec.context_field), str) and row[spec.context_field].strip():
        problem = row[spec.context_field].strip() + "\n\n" + problem
    answer_field, answer = _first_present(row, spec.answer_fields)
    if answer_field is not None:
        ground_truth = normalize_ground_truth(answer)
    elif spec.solution_field and row.get(spec.solution_field) is not None:
        ground_truth = answer_from_solution(row[spec.solution_field])
    else:
        raise InvalidAnswerError(f"no answer in fields {list(spec.answer_fields)} and no solution")
    _, original_id = _first_present(row, spec.id_fields)
    return {
        "data_source": spec.data_source,
        "prompt": [{"role": "user", "content": template.replace(PROBLEM_PLACEHOLDER, problem)}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": ground_truth},
        "extra_info": {
            "index": 0,  # renumbered after dedup/decontamination
            "split": spec.split,
            "original_id": str(original_id if original_id is not None else position),
            "source_row": position,
            "problem": problem,
            "answer_kind": answer_kind(ground_truth),
        },
    }


def prepare_rows(
    spec: DatasetSpec,
    rows: Sequence[Any],
    *,
    prompt_template: str = DEEPSCALER_PROMPT_TEMPLATE,
    skip_invalid: bool = False,
    deduplicate: bool = True,
    progress: bool = True,
    check_answers: bool = True,
) -> PreparedDataset:
    """Normalise ``rows`` into records; invalid rows raise (listing indices) unless ``skip_invalid``.
    ``check_answers`` parses every ground truth as the reward will and records those it can only
    string-match (reported in the summary)."""
    from tqdm.auto import tqdm

    check_prompt_template(prompt_template)
    records: list[dict] = []
    invalid: list[tuple[int, str]] = []
    for position, row in enumerate(tqdm(rows, desc=f"prepare {spec.name}", unit="row", disable=not progress)):
        try:
            records.append(_build_record(spec, row, position, prompt_template))
        except InvalidAnswerError as exc:
            invalid.append((position, str(exc)))
    if invalid and not skip_invalid:
        listed = "; ".join(f"row {index}: {reason}" for index, reason in invalid[:20])
        more = f" (and {len(invalid) - 20} more)" if len(invalid) > 20 else ""
        raise DataPrepError(
            f"{spec.name}: {len(invalid)} row(s) without a usable problem/answer: {listed}{more}. "
            f"Fix the input or pass --skip-invalid to drop them"
        )
    prepared = PreparedDataset(spec, records, rows_in=len(rows), invalid_skipped=invalid)
    if deduplicate:
        _deduplicate(prepared)
    _renumber(prepared)
    if check_answers:
        golds = (record["reward_model"]["ground_truth"] for record in prepared.records)
        prepared.string_match_only = string_match_only_golds(golds)
    return prepared


def _deduplicate(prepared: PreparedDataset) -> None:
    first_answer: dict[str, str] = {}
    kept = []
    for record in prepared.records:
        key = problem_key(record["extra_info"]["problem"])
        answer = record["reward_model"]["ground_truth"]
        if key in first_answer:
            prepared.duplicates_dropped += 1
            prepared.duplicate_answer_conflicts += first_answer[key] != answer
            continue
        first_answer[key] = answer
        kept.append(record)
    prepared.records = kept


def _renumber(prepared: PreparedDataset) -> None:
    for index, record in enumerate(prepared.records):
        record["extra_info"]["index"] = index


# ------------------------------------------------------------------------------------- decontamination
def decontamination_report(train: PreparedDataset, eval_sets: Iterable[PreparedDataset]) -> dict:
    """Training rows whose normalised problem text equals a problem of any evaluation set."""
    eval_keys: dict[str, list[dict]] = {}
    eval_names = []
    for dataset in eval_sets:
        eval_names.append(dataset.spec.name)
        for record in dataset.records:
            eval_keys.setdefault(problem_key(record["extra_info"]["problem"]), []).append(
                {"eval_set": dataset.spec.name, "eval_index": record["extra_info"]["index"]}
            )
    matches = []
    for record in train.records:
        hits = eval_keys.get(problem_key(record["extra_info"]["problem"]))
        if hits:
            matches.append(
                {
                    "train_index": record["extra_info"]["index"],
                    "train_original_id": record["extra_info"]["original_id"],
                    "problem": record["extra_info"]["problem"][:200],
                    "matches": hits,
                }
            )
    per_eval = Counter(hit["eval_set"] for match in matches for hit in match["matches"])
    return {
        "train_set": train.spec.name,
        "eval_sets": eval_names,
        "method": "exact match of normalised problem text (siri_verl.data.prepare.problem_key)",
        "train_rows": len(train.records),
        "contaminated_train_rows": len(matches),
        "per_eval_set": {name: per_eval.get(name, 0) for name in eval_names},
        "matches": matches,
    }


def drop_contaminated(train: PreparedDataset, report: dict) -> None:
    contaminated = {match["train_index"] for match in report["matches"]}
    train.records = [r for r in train.records if r["extra_info"]["index"] not in contaminated]
    train.contaminated_dropped = len(contaminated)
    _renumber(train)


# ------------------------------------------------------------------------------------------------ write
def write_parquet(prepared: PreparedDataset, output: str | os.PathLike) -> Path:
    """Write the records atomically (temp file + rename) and return the path."""
    import pandas as pd

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    pd.DataFrame(prepared.records).to_parquet(temporary, index=False)
    temporary.replace(output)
    return output


def read_prepared_parquet(path: str | os.PathLike, spec: DatasetSpec) -> PreparedDataset:
    """A parquet written by ``write_parquet`` as a PreparedDataset (to decontaminate against it)."""
    import pandas as pd

    records = pd.read_parquet(path).to_dict(orient="records")
    for record in records:
        if not isinstance(record.get("extra_info"), dict) or "problem" not in record["extra_info"]:
            raise DataPrepError(f"{path} is not a parquet written by data_prep/prepare.py (no extra_info.problem)")
    return PreparedDataset(spec, records, rows_in=len(records))


def format_summary(summaries: Sequence[dict]) -> str:
    """A plain-text table of per-dataset summaries."""
    header = f"{'dataset':<14}{'in':>7}{'out':>7}{'invalid':>9}{'dups':>6}{'contam':>8}  answer kinds"
    lines = [header, "-" * len(header)]
    for s in summaries:
        kinds = ", ".join(f"{kind} {count}" for kind, count in s["answer_kinds"].items())
        lines.append(
            f"{s['name']:<14}{s['rows_in']:>7}{s['rows_out']:>7}{s['invalid_skipped']:>9}"
            f"{s['duplicates_dropped']:>6}{s['contaminated_dropped']:>8}  {kinds}"
        )
    for s in summaries:  # golds the reward cannot parse whole: answers to them are only string-matched
        if s.get("string_match_only"):
            rows = s["string_match_only_rows"]
            named = "; ".join(f"row {r['index']} {r['ground_truth']!r} ({r['status']})" for r in rows)
            more = f" (and {s['string_match_only'] - len(rows)} more)" if s["string_match_only"] > len(rows) else ""
            lines.append(f"{s['name']}: {s['string_match_only']} ground truth(s) only string-matched: {named}{more}")
    return "\n".join(lines)
