"""Accuracy at every token budget from one evaluation run (``siri-verl report --budgets``).

A sample's seed depends only on (seed, benchmark, problem id, sample index), never on ``max_new_tokens``, and the
sampler draws one token per step from that seed's generator. So the response a run at cap B would have drawn is
the first B tokens of the response drawn at any larger cap C (exactly on CPU; see docs/eval.md for GPU). SIRI's
length-capping rule applied to that prefix -- "a correct answer extractable from the first B tokens, else 0" --
gives each sample's score at budget B from the samples already on disk:

* ``num_tokens <= B``: the response is unchanged; its stored record (score, answer, finish reason) is used as is.
* ``num_tokens > B``: the first B token ids are decoded exactly as the harness decodes a response
  (``harness.decode_response``) and graded by the same scorer with ``siri_truncated=True, siri_cap=B``; it spent
  B tokens and is truncated.
* truncated at B := ``num_tokens > B`` or (``num_tokens == B`` and the last token is not a stop token). The
  harness stores ``finish_reason == "length"`` exactly when the last token is not a stop token
  (``harness.finish_reason_of``), so for ``num_tokens == B`` the stored finish reason decides.
* B above the run's cap: the same as the cap when no sample was truncated there (a larger cap changes nothing);
  unknown otherwise (reported as n/a with the reason).

The metrics at budget B are ``harness.summarize_records`` of those per-sample records: the same function that wrote
the run's ``summary.json``, so at B = ``max_new_tokens`` they reproduce it exactly (``load_run`` checks that).
Samples written before token ids were stored (no ``token_ids``) are fine wherever ``num_tokens <= B``; a budget
that would cut one of them is n/a for that run, with the reason.

Phase checkpoints: ``load_phase_checkpoints`` reads a SIRI run's ``siri_phase_checkpoints/manifest.json`` and
``match_phase_checkpoints`` pairs each entry with the summaries ``siri-verl eval`` wrote for it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siri_verl.eval.harness import (
    BenchmarkSpec,
    EvalInputError,
    decode_response,
    default_scorer,
    load_benchmark,
    summarize_records,
)
from siri_verl.eval.protocol import EvalProtocol, ProtocolError
from siri_verl.response_record import ResponseRecord

AUTO_BUDGET_SPAN = 32  # --budgets auto: powers of two from max cap / 32 up to the max cap, plus every run's cap


class BudgetError(ValueError):
    """Bad budget-report input; the message names the file and the fix."""


# ---------------------------------------------------------------------------------------------------------------
# Budgets


def parse_budgets(text: str) -> tuple[int, ...] | str:
    """``"auto"`` or comma-separated positive integers (``2048,4096``; ``4k``/``16K`` = 4096/16384)."""
    if text.strip().lower() == "auto":
        return "auto"
    budgets = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        try:
            value = int(part[:-1]) * 1024 if part.endswith("k") else int(part)
        except ValueError:
            raise BudgetError(f"--budgets {text!r}: {part!r} is not an integer; pass e.g. 2048,4096,8192,16384 "
                              "or auto") from None
        if value < 1:
            raise BudgetError(f"--budgets {text!r}: budgets must be >= 1 token, got {value}")
        budgets.append(value)
    if not budgets:
        raise BudgetError(f"--budgets {text!r}: no budget given; pass e.g. 2048,4096,8192,16384 or auto")
    return tuple(sorted(set(budgets)))


def auto_budgets(caps: Sequence[int]) -> tuple[int, ...]:
    """Powers of two from ``max(caps) / 32`` up to ``max(caps)``, plus every run's own cap."""
    top = max(caps)
    budgets, power = set(caps), 1
    while power < top:
        if power * AUTO_BUDGET_SPAN >= top:
            budgets.add(power)
        power *= 2
    return tuple(sorted(budgets))


# ---------------------------------------------------------------------------------------------------------------
# One evaluated (model, benchmark)


def read_samples(path: Path) -> list[dict]:
    """``samples.jsonl`` read-only (an evaluation may still be appending): a half-written last line is skipped."""
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    records = []
    for number, line in enumerate(complete.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise BudgetError(f"{path} line {number} is not valid JSON ({error}); rerun `siri-verl eval` "
                                  "(it reports how to repair the file)") from error
    return records


@dataclass
class EvaluatedRun:
    """One ``summary.json`` with the per-sample records it was computed from."""

    summary_path: Path
    summary: dict
    protocol: EvalProtocol
    records: list[dict]

    @property
    def model(self) -> str:
        return self.summary["model"]["name"]

    @property
    def benchmark(self) -> str:
        return self.summary["benchmark"]

    @property
    def cap(self) -> int:
        return self.protocol.max_new_tokens

    @property
    def tokenizer_path(self) -> str:
        return self.summary["model"]["path"]

    @property
    def checkpoint(self) -> str | None:
        return self.summary["model"].get("checkpoint")


def _selected_problem_ids(summary_path: Path, summary: dict, records: Sequence[dict]) -> set[str]:
    """The problems the summary covers: recorded in ``data.problem_ids``; for older summaries, all problems
    (no ``limit_problems``) or the first ``limit_problems`` of the benchmark file."""
    data = summary.get("data") or {}
    if data.get("problem_ids") is not None:
        return {str(p) for p in data["problem_ids"]}
    limit = data.get("limit_problems")
    if not limit:
        return {r["problem_id"] for r in records}
    path = Path(data.get("path", ""))
    if not path.is_file():
        raise BudgetError(
            f"{summary_path}: written before summaries listed their problems, with --limit-problems {limit}, and "
            f"its benchmark file {path} is gone; rerun the same `siri-verl eval` command (nothing is regenerated) "
            "to rewrite the summary")
    problems = load_benchmark(BenchmarkSpec(summary["benchmark"], path))[:limit]
    return {p.problem_id for p in problems}


def load_run(summary_path: str | Path, *, check: bool = True) -> EvaluatedRun:
    """Read a summary and its samples; with ``check``, recompute the summary's metrics from the samples and
    refuse when they differ (the samples changed after the summary was written)."""
    summary_path = Path(summary_path)
    try:
        summary = json.loads(summary_path.read_text())
        protocol = EvalProtocol.from_dict(dict(summary["protocol"]))
        if not (summary["model"]["name"] and summary["benchmark"] and isinstance(summary["metrics"], dict)):
            raise KeyError("model.name, benchmark and metrics must be set")
    except (json.JSONDecodeError, KeyError, TypeError, ProtocolError) as error:
        raise BudgetError(f"{summary_path}: not a `siri-verl eval` summary ({type(error).__name__}: {error})") \
            from error
    samples = summary_path.parent / "samples.jsonl"  # beside the summary, wherever the folder was moved
    if not samples.is_file():
        samples = Path(summary.get("samples_file", ""))
    if not samples.is_file():
        raise BudgetError(f"{summary_path}: its samples.jsonl is missing (looked beside it and at "
                          f"{summary.get('samples_file')}); budgets are computed from the samples")
    records = read_samples(samples)
    selected = _selected_problem_ids(summary_path, summary, records)
    records = [r for r in records if r["problem_id"] in selected and r["sample_index"] < protocol.num_samples]
    run = EvaluatedRun(summary_path, summary, protocol, records)
    if check:
        try:
            recomputed = summarize_records(records, protocol)
        except EvalInputError as error:
            raise BudgetError(f"{summary_path}: {error}; the samples changed since the summary was written -- "
                              "rerun the same `siri-verl eval` command") from error
        if json.loads(json.dumps(recomputed)) != summary["metrics"]:
            raise BudgetError(f"{summary_path}: its metrics differ from {samples} recomputed; the samples changed "
                              "since the summary was written (or another siri_verl version wrote it) -- rerun the "
                              "same `siri-verl eval` command (nothing is regenerated) to rewrite it")
    return run


# ---------------------------------------------------------------------------------------------------------------
# The budget view


class BudgetUnavailable(Exception):
    """This budget cannot be computed exactly for this run; the message says why."""


class TokenizerCache:
    """Tokenizers by folder (``override`` replaces every run's own, e.g. when the merged model moved)."""

    def __init__(self, override: str | None = None):
        self.override = override
        self._cache: dict[str, Any] = {}

    def __call__(self, path: str):
        path = self.override or path
        if path not in self._cache:
            from transformers import AutoTokenizer

            if not Path(path).exists():
                raise BudgetError(f"tokenizer folder {path} (the evaluated model's) does not exist; pass "
                                  "--tokenizer PATH (the same model's tokenizer) to decode the response prefixes")
            self._cache[path] = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return self._cache[path]


def budget_records(run: EvaluatedRun, budget: int, tokenizers: Callable[[str], Any],
                   scorer: Callable[..., list[dict]] = default_scorer) -> list[dict]:
    """Every sample of ``run`` as it would have been under a ``budget``-token cap (see the module docstring)."""
    records = run.records
    if budget >= run.cap:
        truncated = sum(1 for r in records if r["finish_reason"] == "length")
        if budget > run.cap and truncated:
            raise BudgetUnavailable(f"budget {budget} is above the run's max_new_tokens {run.cap} and {truncated} "
                                    "samples were truncated there (a larger cap would have continued them)")
        return list(records)
    long = [r for r in records if r["num_tokens"] > budget]
    without_ids = [r for r in long if not isinstance(r.get("token_ids"), list)]
    if without_ids:
        raise BudgetUnavailable(
            f"{len(without_ids)} of the {len(long)} samples longer than {budget} tokens have no token_ids (written by "
            "siri-verl eval before it stored them), so their first tokens cannot be cut exactly; re-evaluate with "
            "--overwrite (or into a new --output-dir) for budgets below their length")
    for r in long:
        if len(r["token_ids"]) != r["num_tokens"]:
            raise BudgetError(f"{run.summary_path.parent / 'samples.jsonl'}: sample ({r['problem_id']}, "
                              f"{r['sample_index']}) has {len(r['token_ids'])} token_ids but num_tokens "
                              f"{r['num_tokens']}; the file is corrupt, re-evaluate with --overwrite")
    regraded = dict(zip(map(id, long), grade_prefixes(run, long, budget, tokenizers, scorer)))
    return [regraded.get(id(r), r) for r in records]


def grade_prefixes(run: EvaluatedRun, records: Sequence[dict], budget: int, tokenizers: Callable[[str], Any],
                   scorer: Callable[..., list[dict]] = default_scorer) -> list[dict]:
    """The records of the first ``min(budget, num_tokens)`` tokens of ``records``, decoded and graded as the
    harness does; truncated when cut (or when the whole response was already truncated)."""
    if not records:
        return []
    tokenizer = tokenizers(run.tokenizer_path)
    prefixes = [r["token_ids"][:budget] for r in records]
    truncated = [r["num_tokens"] > budget or r["finish_reason"] == "length" for r in records]
    texts = [decode_response(tokenizer, ids) for ids in prefixes]
    results = scorer(texts, [r["ground_truth"] for r in records], think_mode=run.protocol.think_mode,
                     extra_infos=[ResponseRecord(budget, t, len(ids)).to_fields() for t, ids in zip(truncated, prefixes)])
    graded = []
    for record, ids, text, cut, result in zip(records, prefixes, texts, truncated, results):
        graded.append(dict(record, response=text, num_tokens=len(ids), token_ids=ids,
                           finish_reason="length" if cut else record["finish_reason"], pred=result.get("pred"),
                           has_answer=bool(result["has_answer"]), score=float(result["score"]),
                           reason=result.get("reason")))
    return graded


@dataclass
class BudgetPoint:
    """One (model, benchmark, budget): the summary metrics at that budget, or why they are unavailable."""

    model: str
    benchmark: str
    budget: int
    cap: int
    metrics: dict | None
    note: str | None = None
    run: EvaluatedRun | None = field(default=None, repr=False)


def budget_points(runs: Sequence[EvaluatedRun], budgets: Sequence[int], tokenizers: Callable[[str], Any],
                  scorer: Callable[..., list[dict]] = default_scorer) -> list[BudgetPoint]:
    """Metrics of every run at every budget (``harness.summarize_records`` of the budget view)."""
    points = []
    for run in runs:
        for budget in budgets:
            try:
                metrics = summarize_records(budget_records(run, budget, tokenizers, scorer), run.protocol)
                points.append(BudgetPoint(run.model, run.benchmark, budget, run.cap, metrics, None, run))
            except BudgetUnavailable as reason:
                points.append(BudgetPoint(run.model, run.benchmark, budget, run.cap, None, str(reason), run))
    return points


def point_row(point: BudgetPoint) -> dict[str, Any]:
    """A flat table row (accuracies and rates in %, tokens per response)."""
    row: dict[str, Any] = {"model": point.model, "benchmark": point.benchmark, "budget": point.budget,
                           "max_new_tokens": point.cap}
    m = point.metrics
    if m is None:
        return dict(row, acc=None, acc_stderr=None, acc_sampling_stderr=None, mean_tokens=None, truncation_rate=None,
                    answer_rate=None, pass_at_k={}, maj_at_k={}, num_problems=None, num_samples=None, note=point.note)
    pct = (lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else 100.0 * v)
    return dict(row, acc=pct(m["pass@1"]["mean"]), acc_stderr=pct(m["pass@1"]["stderr"]),
                acc_sampling_stderr=pct(m["pass@1"]["sampling_stderr"]), mean_tokens=m["mean_tokens"],
                truncation_rate=pct(m["truncation_rate"]), answer_rate=pct(m["answer_rate"]),
                pass_at_k={k: pct(v) for k, v in m["pass@k"].items()},
                maj_at_k={k: pct(v) for k, v in m["maj@k"].items()},
                num_problems=m["num_problems"], num_samples=m["num_samples_per_problem"], note=point.note)


# ---------------------------------------------------------------------------------------------------------------
# Phase checkpoints of a training run


@dataclass(frozen=True)
class PhaseCheckpoint:
    """One entry of ``siri_phase_checkpoints/manifest.json``."""

    name: str
    step: int
    kind: str  # "low" (end of a compression phase), "high" (end of an expansion phase), "start" (the initial model)
    iteration: int
    cap: int | None  # the training cap at that step (None for the start)
    path: Path


def find_manifest(path: str | Path) -> Path:
    """``manifest.json`` itself, the ``siri_phase_checkpoints`` folder, or the trainer's ``default_local_dir``."""
    from siri_verl.integration.run_record import MANIFEST_FILE, PHASE_DIR

    path = Path(path)
    for candidate in (path, path / MANIFEST_FILE, path / PHASE_DIR / MANIFEST_FILE):
        if candidate.is_file():
            return candidate
    raise BudgetError(f"--phase-manifest {path}: no {MANIFEST_FILE} there (nor {PHASE_DIR}/{MANIFEST_FILE}); pass "
                      "the training run's trainer.default_local_dir or its siri_phase_checkpoints folder")


def load_phase_checkpoints(path: str | Path) -> list[PhaseCheckpoint]:
    """The run's phase checkpoints in step order."""
    manifest = find_manifest(path)
    try:
        entries = json.loads(manifest.read_text())
        checkpoints = [PhaseCheckpoint(name, int(e["step"]), str(e["kind"]), int(e["iteration"]), int(e["cap"]),
                                       Path(e["path"])) for name, e in entries.items()]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise BudgetError(f"{manifest}: not a SIRI phase-checkpoint manifest ({type(error).__name__}: {error})") \
            from error
    if not checkpoints:
        raise BudgetError(f"{manifest}: no phase checkpoints yet")
    checkpoints.sort(key=lambda c: c.step)
    start = initial_model(checkpoints[0])
    return ([PhaseCheckpoint(START, 0, START, 0, None, start)] if start else []) + checkpoints


START = "start"


def initial_model(checkpoint: PhaseCheckpoint) -> Path | None:
    """The model the run started from (``actor_rollout_ref.model.path`` in the checkpoint's ``siri_run.json``),
    when it is a local folder; its evaluation is drawn at step 0."""
    from siri_verl.integration.run_record import read_run_record

    record = read_run_record(checkpoint.path) or {}
    path = ((record.get("config") or {}).get("actor_rollout_ref") or {}).get("model", {}).get("path")
    return Path(path) if path and Path(path).is_dir() else None


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def match_phase_checkpoints(checkpoints: Sequence[PhaseCheckpoint], runs: Sequence[EvaluatedRun]
                            ) -> tuple[dict[str, list[EvaluatedRun]], list[EvaluatedRun]]:
    """Pair summaries with checkpoints: the summary's evaluated checkpoint lies in the phase checkpoint's folder
    (``siri-verl eval --model <...>/siri_phase_checkpoints/<name>``) or the trainer's ``global_step_N`` it was
    linked from, else its model name is the checkpoint's name; an evaluation of the run's initial model folder
    is the "start" entry (step 0). Returns {checkpoint name: runs} and the runs of no checkpoint."""
    matched: dict[str, list[EvaluatedRun]] = {c.name: [] for c in checkpoints}
    others = []
    # the phase folder, and the trainer's own global_step_N it was linked from (<default_local_dir>/global_step_N)
    folders = [(c, _resolved(folder)) for c in checkpoints if c.kind != START
               for folder in (c.path, c.path.parent.parent.parent / c.path.name)]
    start = next((c for c in checkpoints if c.kind == START), None)
    for run in runs:
        owner = None
        if run.checkpoint:
            evaluated = _resolved(run.checkpoint)
            owner = next((c for c, folder in folders if evaluated == folder or folder in evaluated.parents), None)
        elif start is not None and _resolved(run.tokenizer_path) == _resolved(start.path):
            owner = start  # the initial Hugging Face model, evaluated as is
        if owner is None:
            owner = next((c for c in checkpoints if c.name == run.model), None)
        (matched[owner.name] if owner else others).append(run)
    return matched, others
