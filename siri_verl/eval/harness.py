"""The evaluation harness: model + prepared benchmark parquets -> per-sample JSON lines -> one summary per benchmark.

Output layout (one output directory per evaluated model)::

    <output_dir>/
      merged_model/                 # only for a verl checkpoint: the HF model verl's model merger wrote
      <benchmark>/run.json          # what the samples depend on (protocol, model, data hash); checked on resume
      <benchmark>/samples.jsonl     # one JSON object per sample (with its response token ids), appended and
                                    # flushed as samples finish
      <benchmark>/summary.json      # metrics + the exact protocol, versions, chat template, seed scheme

Resuming: rerunning the same command reads ``samples.jsonl``, drops a half-written last line (the run was
killed mid-write), and generates only the (problem, sample index) pairs that are missing. Because each
sample's seed depends only on (seed, benchmark, problem id, sample index), a resumed run produces the same
samples as an uninterrupted one, and raising ``num_samples`` (e.g. 16 -> 64) only draws the new indices. A
changed protocol, model or benchmark file is refused with the list of differences instead of silently
mixing samples.

Budgets: every sample keeps its response token ids, and a sample's seed does not depend on the cap, so the
response a run at cap B would have drawn is the first B tokens of this run's response.
``siri_verl.eval.budgets`` re-grades those prefixes (decoded with ``decode_response``, graded with the same
scorer) to give the accuracy at every budget up to the cap from one run. Samples written before the ids were
stored (no ``token_ids`` field) still resume and summarise; only budgets below their length are unavailable.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siri_verl.eval import metrics
from siri_verl.eval.engines import GenerationEngine, SampleOutput, SampleRequest, make_engine
from siri_verl.eval.protocol import SEED_SCHEME, EvalProtocol, sample_seed
from siri_verl.response_record import ResponseRecord

GENERIC_STEMS = {"test", "train", "val", "validation", "eval", "data"}
MERGED_MARKER = "siri_merge_source.json"
FLUSH_EVERY_SAMPLES = 64
FLUSH_EVERY_SECONDS = 10.0

Scorer = Callable[..., list[dict]]


def decode_response(tokenizer, token_ids: Sequence[int]) -> str:
    """The response text that is graded: the generated ids decoded without special tokens (a final EOS drops).

    The one decoding of both the harness (full responses) and the budget view (their first B ids)."""
    return tokenizer.decode(list(token_ids), skip_special_tokens=True)


def stop_token_ids(tokenizer, model_path: str) -> frozenset[int]:
    """The ids that end a response on either engine: ``generation_config.json``'s EOS ids and the tokenizer's."""
    from siri_verl.eval.engines import eos_token_ids

    try:
        ids = set(eos_token_ids(model_path))
    except ValueError:  # no EOS anywhere: no response can stop (the engine that generates says so)
        ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return frozenset(ids)


def finish_reason_of(token_ids: Sequence[int], engine_reason: str, stop_ids: frozenset[int]) -> str:
    """"stop" when the response ends with a stop token, whatever the engine said, else the engine's reason.

    vLLM checks the length cap before EOS, so a response whose cap-th token is EOS comes back as "length";
    ``siri_verl.generation`` says "stop". Normalising makes ``finish_reason == "length"`` mean exactly
    "the last token is not a stop token" on both engines, the rule the budget view applies to prefixes."""
    if engine_reason == "length" and token_ids and int(token_ids[-1]) in stop_ids:
        return "stop"
    return engine_reason


class EvalInputError(ValueError):
    """Bad input (model path, benchmark row, resume state); the message names the item and the fix."""


# ---------------------------------------------------------------------------------------------------------------
# Benchmarks


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark to evaluate: its name (the table column) and its prepared parquet file."""

    name: str
    path: Path

    @classmethod
    def parse(cls, text: str) -> BenchmarkSpec:
        """``NAME=PATH`` or ``PATH``; the name defaults to the file stem, or the folder for test/train files."""
        name, sep, path = text.partition("=")
        if not sep:
            name, path = "", text
        file = Path(path).expanduser()
        if not name:
            name = file.parent.name if file.stem in GENERIC_STEMS else file.stem
        if not name or "/" in name:
            raise EvalInputError(f"benchmark {text!r}: could not derive a name; pass it as NAME=PATH")
        return cls(name, file)


@dataclass(frozen=True)
class Problem:
    problem_id: str
    data_source: str
    messages: tuple[dict, ...]
    ground_truth: Any
    extra_info: dict


def _fail_row(spec: BenchmarkSpec, row: int, problem: str) -> EvalInputError:
    return EvalInputError(
        f"{spec.path} row {row}: {problem}. Rows must follow the prepared schema (data_source, "
        "prompt=[{'role','content'}], reward_model={'ground_truth'}, extra_info={'index'}); "
        "regenerate the file with data_prep/prepare.py"
    )


def load_benchmark(spec: BenchmarkSpec) -> list[Problem]:
    """Read and validate a prepared parquet; every row error names the row and the fix."""
    import pandas as pd

    if not spec.path.is_file():
        raise EvalInputError(
            f"benchmark {spec.name!r}: {spec.path} does not exist (prepare it with data_prep/prepare.py)")
    frame = pd.read_parquet(spec.path)
    missing = [c for c in ("prompt", "reward_model") if c not in frame.columns]
    if missing:
        raise EvalInputError(f"{spec.path}: missing column(s) {missing}; found {list(frame.columns)}")
    problems, seen = [], {}
    for row, record in enumerate(frame.to_dict("records")):
        messages = record["prompt"]
        messages = list(messages) if messages is not None and not isinstance(messages, str) else None
        if not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            raise _fail_row(spec, row, "'prompt' must be a non-empty list of {'role', 'content'} messages")
        reward = record["reward_model"]
        truth = reward.get("ground_truth") if isinstance(reward, dict) else None
        if truth is None or (isinstance(truth, str) and not truth.strip()):
            raise _fail_row(spec, row, "'reward_model.ground_truth' is missing or empty")
        extra = record.get("extra_info") if isinstance(record.get("extra_info"), dict) else {}
        problem_id = str(extra.get("index", row))
        if problem_id in seen:
            raise _fail_row(spec, row,
                            f"extra_info.index {problem_id!r} repeats row {seen[problem_id]}; ids must be unique")
        seen[problem_id] = row
        problems.append(Problem(problem_id, str(record.get("data_source", spec.name)),
                                tuple(dict(m) for m in messages), truth, dict(extra)))
    if not problems:
        raise EvalInputError(f"{spec.path}: no rows")
    return problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Models: Hugging Face folders directly, verl checkpoints merged on the fly


@dataclass(frozen=True)
class ResolvedModel:
    """The HF folder to load, and where it came from."""

    hf_path: str
    source: str  # "hf" or "verl_fsdp"
    checkpoint: str | None = None


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        any(folder.glob(pattern)) for pattern in ("*.safetensors", "*.bin", "*.safetensors.index.json")
    )


def resolve_model(model: str, output_dir: Path) -> ResolvedModel:
    """An HF folder is used as is; a verl ``global_step_N`` or ``.../actor`` folder (or a SIRI phase checkpoint
    ``siri_phase_checkpoints/<name>`` holding one ``global_step_N``) is merged with verl's model merger into
    ``output_dir/merged_model`` (once; reused while its source is unchanged)."""
    path = Path(model).expanduser()
    if not path.exists():
        looks_like_hub_id = "/" in model and not model.startswith((".", "/", "~"))
        hint = " (hub ids are not supported: download the model, pass its folder)" if looks_like_hub_id else ""
        raise EvalInputError(f"--model {model}: no such local folder{hint}")
    path = path.resolve()
    if _has_weights(path):
        return ResolvedModel(str(path), "hf")
    steps = sorted(path.glob("global_step_*"))
    if len(steps) == 1 and not (path / "actor").is_dir():  # a SIRI phase checkpoint: siri_low_iter3/global_step_N
        path = steps[0].resolve()
    actor = path / "actor" if (path / "actor").is_dir() else path
    if _has_weights(actor / "model" / "huggingface"):  # verl 0.9.1's Megatron default: Megatron-Bridge saves HF weights
        return ResolvedModel(str(actor / "model" / "huggingface"), "hf", str(actor))
    if (actor / "dist_ckpt").exists() or (actor / "model" / "dist_ckpt").exists():
        raise EvalInputError(
            f"--model {model}: a Megatron checkpoint; merge it first with `python -m verl.model_merger merge "
            f"--backend megatron --local_dir {actor} --target_dir <hf_dir>` and pass <hf_dir>"
        )
    if _has_weights(actor / "huggingface"):  # saved with checkpoint.save_contents including hf_model
        return ResolvedModel(str(actor / "huggingface"), "hf", str(actor))
    if (actor / "fsdp_config.json").is_file() and any(actor.glob("model_world_size_*_rank_*.pt")):
        return ResolvedModel(str(merge_fsdp_checkpoint(actor, output_dir / "merged_model")), "verl_fsdp", str(actor))
    raise EvalInputError(
        f"--model {model}: neither a Hugging Face folder (config.json + weights) nor a verl checkpoint "
        "(global_step_N/ or global_step_N/actor/ with fsdp_config.json and model_world_size_*_rank_*.pt)"
    )


def merge_fsdp_checkpoint(actor_dir: Path, target_dir: Path) -> Path:
    """Merge a verl FSDP actor checkpoint to an HF folder with ``verl.model_merger`` (skipped if already done)."""
    marker = target_dir / MERGED_MARKER
    source = {"actor_dir": str(actor_dir), "fsdp_config_sha256": file_sha256(actor_dir / "fsdp_config.json"),
              "shards": sorted(p.name for p in actor_dir.glob("model_world_size_*_rank_*.pt"))}
    if marker.is_file():
        if json.loads(marker.read_text()) == source:
            return target_dir
        raise EvalInputError(
            f"{target_dir} holds a model merged from another checkpoint ({marker}); use a new --output-dir per model"
        )
    from verl.model_merger.base_model_merger import ModelMergerConfig
    from verl.model_merger.fsdp_model_merger import FSDPModelMerger

    target_dir.mkdir(parents=True, exist_ok=True)
    config = ModelMergerConfig(operation="merge", backend="fsdp", local_dir=str(actor_dir), target_dir=str(target_dir),
                               hf_model_config_path=str(actor_dir / "huggingface"))
    merger = FSDPModelMerger(config)
    merger.merge_and_save()
    merger.cleanup()
    marker.write_text(json.dumps(source, indent=2))
    return target_dir


# ---------------------------------------------------------------------------------------------------------------
# Prompts


class PromptBuilder:
    """Turns a row's chat messages into prompt token ids under the protocol's chat template."""

    def __init__(self, tokenizer, chat_template: str):
        self.tokenizer = tokenizer
        self.mode = chat_template
        self.template_text: str | None = None
        if chat_template == "model":
            self.template_text = tokenizer.chat_template
            if not self.template_text:
                raise EvalInputError(
                    "chat_template='model' but the tokenizer has no chat template; pass --chat-template none "
                    "(plain text) or --chat-template PATH_TO_JINJA"
                )
        elif chat_template != "none":
            template_path = Path(chat_template).expanduser()
            if not template_path.is_file():
                raise EvalInputError(f"--chat-template {chat_template}: not 'model', 'none' or an existing file")
            self.template_text = template_path.read_text()

    def __call__(self, messages: Sequence[dict]) -> list[int]:
        if self.template_text is None:
            text = "\n\n".join(str(m["content"]) for m in messages)
            return list(self.tokenizer(text)["input_ids"])
        text = self.tokenizer.apply_chat_template(
            list(messages), chat_template=self.template_text, add_generation_prompt=True, tokenize=False
        )
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def record(self) -> dict[str, Any]:
        text = self.template_text
        return {"mode": self.mode, "sha256": hashlib.sha256(text.encode()).hexdigest() if text else None, "text": text}


# ---------------------------------------------------------------------------------------------------------------
# Sample store (JSON lines, incremental, resumable)


class SampleStore:
    """``samples.jsonl`` of one benchmark: load (repairing a half-written tail) and append with flushes."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> list[dict]:
        if not self.path.is_file():
            return []
        raw = self.path.read_bytes()
        complete_end = raw.rfind(b"\n") + 1
        if complete_end < len(raw):  # the run was killed mid-line: drop the partial record
            with open(self.path, "r+b") as handle:
                handle.truncate(complete_end)
            print(f"[eval] {self.path}: dropped a half-written last line ({len(raw) - complete_end} bytes)",
                  file=sys.stderr)
        records = []
        for number, line in enumerate(raw[:complete_end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise EvalInputError(
                    f"{self.path} line {number} is not valid JSON ({error}); the file is corrupt: "
                    "delete that line (its sample is regenerated) or pass --overwrite"
                ) from error
        return records

    def append(self, records: Sequence[dict]) -> None:
        if not records:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


# ---------------------------------------------------------------------------------------------------------------
# Summaries


def _finite_or_none(value: float) -> float | None:
    """NaN (a standard error of one problem or one sample) is written as null: summaries stay strict JSON."""
    return None if math.isnan(value) else value


def summarize_records(records: Sequence[dict], protocol: EvalProtocol) -> dict[str, Any]:
    """The benchmark metrics of finished samples (each problem must have ``protocol.num_samples`` samples)."""
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_problem[record["problem_id"]].append(record)
    for problem_id, samples in by_problem.items():
        samples.sort(key=lambda r: r["sample_index"])
        if len(samples) != protocol.num_samples:
            raise EvalInputError(f"problem {problem_id!r} has {len(samples)} samples, expected {protocol.num_samples}")
    problem_ids = sorted(by_problem)
    scores = [[float(r["score"]) for r in by_problem[p]] for p in problem_ids]
    answers = [[r.get("pred") for r in by_problem[p]] for p in problem_ids]
    accuracy = metrics.avg_at_n(scores)
    flat = [r for p in problem_ids for r in by_problem[p]]
    tokens = metrics.token_stats([r["num_tokens"] for r in flat], [r["score"] for r in flat],
                                 [r["finish_reason"] == "length" for r in flat])
    return {
        "num_problems": len(problem_ids),
        "num_samples_per_problem": protocol.num_samples,
        "pass@1": {"mean": accuracy.mean, "stderr": _finite_or_none(accuracy.stderr),
                   "sampling_stderr": _finite_or_none(accuracy.sampling_stderr)},
        "pass@k": {str(k): metrics.pass_at_k(scores, k) for k in protocol.pass_k_values},
        "maj@k": {str(k): metrics.maj_at_k(answers, scores, k) for k in protocol.maj_k_values},
        "mean_tokens": tokens.mean_tokens,
        "mean_tokens_correct": tokens.mean_tokens_correct,
        "mean_tokens_incorrect": tokens.mean_tokens_incorrect,
        "truncation_rate": tokens.truncation_rate,
        "answer_rate": sum(1 for r in flat if r.get("has_answer")) / len(flat),
    }


VERSIONED_PACKAGES = ("siri_verl", "verl", "torch", "transformers", "vllm", "math-verify")


def environment_versions() -> dict[str, str | None]:
    """Versions of the packages that determine the numbers (None = not installed, e.g. vllm on CPU)."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


# ---------------------------------------------------------------------------------------------------------------
# The run


def default_scorer(solutions: list[str], ground_truths: list, **kwargs) -> list[dict]:
    """``siri_verl.reward.score_batch`` (imported on first use)."""
    from siri_verl.reward import score_batch

    return score_batch(solutions, ground_truths, **kwargs)


@dataclass
class _BenchmarkPlan:
    """One benchmark of a run: the problems to summarise, their sample file, the samples still missing."""

    spec: BenchmarkSpec
    problems: list[Problem]
    store: SampleStore
    data_sha256: str
    requests: list[SampleRequest]

    @functools.cached_property
    def problems_by_id(self) -> dict[str, Problem]:
        return {p.problem_id: p for p in self.problems}


@dataclass
class EvalRun:
    """Evaluate one model on several benchmarks into ``output_dir`` (see the module docstring)."""

    model: str
    benchmarks: Sequence[BenchmarkSpec]
    output_dir: Path
    protocol: EvalProtocol
    name: str | None = None
    limit_problems: int | None = None
    overwrite: bool = False
    progress: bool = True
    engine_factory: Callable[[str, EvalProtocol], GenerationEngine] = make_engine
    scorer: Scorer = default_scorer

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        self._engine: GenerationEngine | None = None
        self._resolved: ResolvedModel | None = None
        self._stop_ids: frozenset[int] | None = None

    def run(self) -> list[Path]:
        """Evaluate every benchmark; returns the summary paths.

        Every input is validated (rows, model folder, chat template, prompt lengths, resume state) for every
        benchmark before the first sample is generated.
        """
        from transformers import AutoConfig, AutoTokenizer

        names = [spec.name for spec in self.benchmarks]
        if len(set(names)) != len(names):
            raise EvalInputError(f"benchmark names repeat: {names}; name them explicitly with NAME=PATH")
        loaded = [(spec, load_benchmark(spec)) for spec in self.benchmarks]
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._resolved = resolve_model(self.model, self.output_dir)
        tokenizer = AutoTokenizer.from_pretrained(self._resolved.hf_path, local_files_only=True)
        context_length = getattr(AutoConfig.from_pretrained(self._resolved.hf_path, local_files_only=True),
                                 "max_position_embeddings", None)
        prompts = PromptBuilder(tokenizer, self.protocol.chat_template)
        self._stop_ids = stop_token_ids(tokenizer, self._resolved.hf_path)
        plans = [self._plan(spec, problems, prompts, context_length) for spec, problems in loaded]
        started = time.time()
        try:
            if any(plan.requests for plan in plans):
                self._generate(plans, tokenizer)
        finally:
            if self._engine is not None:
                self._engine.close()
        return [self._write_summary(plan, prompts, time.time() - started) for plan in plans]

    def _model_name(self) -> str:
        if self.name:
            return self.name
        source = Path(self._resolved.checkpoint or self._resolved.hf_path)
        parts = [p for p in source.parts if p not in ("actor", "huggingface")]
        return "/".join(parts[-2:]) if parts[-1].startswith("global_step_") else parts[-1]

    def _plan(self, spec: BenchmarkSpec, all_problems: list[Problem], prompts: PromptBuilder,
              context_length: int | None) -> _BenchmarkPlan:
        """Check the resume state and build the requests of the samples still missing."""
        problems = all_problems[: self.limit_problems] if self.limit_problems else all_problems
        bench_dir = self.output_dir / spec.name
        bench_dir.mkdir(parents=True, exist_ok=True)
        store = SampleStore(bench_dir / "samples.jsonl")
        resolved = self._resolved
        run_info = {
            "protocol": self.protocol.resume_fields(),
            "model": resolved.hf_path if resolved.source == "hf" else resolved.checkpoint,
            "benchmark": spec.name,
            "data_sha256": file_sha256(spec.path),
        }
        self._check_or_write_run_info(bench_dir / "run.json", run_info, store)
        done = self._done_samples(store, all_problems, spec)
        requests = []
        for problem in problems:
            prompt_ids = prompts(problem.messages)
            if context_length and len(prompt_ids) + self.protocol.max_new_tokens > context_length:
                raise EvalInputError(
                    f"{spec.name} problem {problem.problem_id}: prompt ({len(prompt_ids)} tokens) + max_new_tokens "
                    f"({self.protocol.max_new_tokens}) exceeds the model's max_position_embeddings ({context_length}); "
                    "lower --max-new-tokens"
                )
            for index in range(self.protocol.num_samples):
                if (problem.problem_id, index) not in done:
                    seed = sample_seed(self.protocol.seed, spec.name, problem.problem_id, index)
                    requests.append(SampleRequest(spec.name, problem.problem_id, index, tuple(prompt_ids), seed))
        return _BenchmarkPlan(spec, problems, store, run_info["data_sha256"], requests)

    def _write_summary(self, plan: _BenchmarkPlan, prompts: PromptBuilder, seconds: float) -> Path:
        """Summarise the benchmark's samples on disk with the exact protocol."""
        selected = {p.problem_id for p in plan.problems}
        records = [r for r in plan.store.load()
                   if r["problem_id"] in selected and r["sample_index"] < self.protocol.num_samples]
        resolved = self._resolved
        summary = {
            "benchmark": plan.spec.name,
            "model": {"name": self._model_name(), "path": resolved.hf_path, "source": resolved.source,
                      "checkpoint": resolved.checkpoint},
            "data": {"path": str(plan.spec.path.resolve()), "sha256": plan.data_sha256,
                     "num_problems": len(plan.problems), "limit_problems": self.limit_problems,
                     "problem_ids": [p.problem_id for p in plan.problems]},
            "protocol": self.protocol.to_dict(),
            "chat_template": prompts.record(),
            "seeds": {"scheme": SEED_SCHEME, "base_seed": self.protocol.seed,
                      "per_sample": "the 'seed' field of samples.jsonl"},
            "token_count": "generated tokens per response, including a final EOS (as vLLM's token_ids)",
            "stop_token_ids": sorted(self._stop_ids) if self._stop_ids is not None else None,
            "versions": environment_versions(),
            "metrics": summarize_records(records, self.protocol),
            "samples_file": str(plan.store.path),
            "generated_now": len(plan.requests),
            "run_generation_seconds": round(seconds, 3),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        summary_path = plan.store.path.parent / "summary.json"
        summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        return summary_path

    def _check_or_write_run_info(self, path: Path, run_info: dict, store: SampleStore) -> None:
        if self.overwrite:
            for stale in (store.path, path, path.parent / "summary.json"):
                stale.unlink(missing_ok=True)
        if path.is_file() and store.path.is_file() and store.path.stat().st_size > 0:
            differences = _differences(json.loads(path.read_text()), run_info)
            if differences:
                raise EvalInputError(
                    f"{path.parent} holds samples from a different run ({'; '.join(differences)}); "
                    "use another --output-dir, or --overwrite to discard them"
                )
        else:  # no samples yet: (re)write what they will depend on
            path.write_text(json.dumps(run_info, indent=2))

    def _done_samples(self, store: SampleStore, problems: list[Problem], spec: BenchmarkSpec) -> set[tuple[str, int]]:
        """The (problem id, sample index) pairs on disk. Samples beyond ``num_samples`` or outside
        ``limit_problems`` stay on disk (a later run may use them) but are left out of the summary."""
        valid = {p.problem_id for p in problems}
        done = set()
        for record in store.load():
            key = (record["problem_id"], record["sample_index"])
            if record["problem_id"] not in valid or record["sample_index"] < 0:
                raise EvalInputError(f"{store.path}: sample {key} is not part of {spec.name}; "
                                     "use --overwrite or another --output-dir")
            if key in done:
                raise EvalInputError(f"{store.path}: sample {key} appears twice; the file is corrupt, use --overwrite")
            done.add(key)
        return done

    def _generate(self, plans: Sequence[_BenchmarkPlan], tokenizer) -> None:
        """One engine call for the missing samples of every benchmark (one model load, mixed batches); each
        finished sample is scored and appended to its benchmark's file in batches, and on an interruption
        the samples already finished are saved before the error propagates."""
        from tqdm.auto import tqdm

        by_name = {plan.spec.name: plan for plan in plans}
        requests = [request for plan in plans for request in plan.requests]
        pending: dict[str, list[SampleOutput]] = defaultdict(list)
        self._engine = self.engine_factory(self._resolved.hf_path, self.protocol)
        bar = tqdm(total=len(requests), desc="eval " + ",".join(by_name), unit="sample", disable=not self.progress)

        def flush() -> None:
            for name, outputs in pending.items():
                by_name[name].store.append(self._score(by_name[name], outputs, tokenizer))
                bar.update(len(outputs))
            pending.clear()

        last_flush = time.monotonic()
        try:
            for output in self._engine.generate(requests):
                pending[output.request.benchmark].append(output)
                if (sum(map(len, pending.values())) >= FLUSH_EVERY_SAMPLES
                        or time.monotonic() - last_flush >= FLUSH_EVERY_SECONDS):
                    flush()
                    last_flush = time.monotonic()
        except BaseException:
            with contextlib.suppress(Exception):  # keep what finished (Ctrl-C, engine failure), then stop
                flush()
            raise
        else:
            flush()
        finally:
            bar.close()

    def _score(self, plan: _BenchmarkPlan, outputs: Sequence[SampleOutput], tokenizer) -> list[dict]:
        """Decode and grade outputs with the SIRI reward; the JSON lines of ``samples.jsonl``."""
        texts = [decode_response(tokenizer, o.token_ids) for o in outputs]
        reasons = [finish_reason_of(o.token_ids, o.finish_reason, self._stop_ids) for o in outputs]
        problems = [plan.problems_by_id[o.request.problem_id] for o in outputs]
        extra_infos = [dict(p.extra_info, **ResponseRecord(self.protocol.max_new_tokens, reason == "length",
                                                            len(o.token_ids)).to_fields())
                       for p, reason, o in zip(problems, reasons, outputs)]
        results = self.scorer(texts, [p.ground_truth for p in problems], extra_infos=extra_infos,
                              think_mode=self.protocol.think_mode)
        records = []
        for output, problem, text, reason, result in zip(outputs, problems, texts, reasons, results):
            records.append({
                "benchmark": plan.spec.name,
                "problem_id": problem.problem_id,
                "sample_index": output.request.sample_index,
                "seed": output.request.seed,
                "data_source": problem.data_source,
                "ground_truth": str(problem.ground_truth),
                "response": text,
                "num_tokens": len(output.token_ids),
                "finish_reason": reason,
                "pred": result.get("pred"),
                "has_answer": bool(result["has_answer"]),
                "score": float(result["score"]),
                "reason": result.get("reason"),
                "token_ids": [int(t) for t in output.token_ids],
            })
        return records


def _differences(previous: dict, current: dict) -> list[str]:
    differences = []
    for key in sorted(set(previous) | set(current)):
        old, new = previous.get(key), current.get(key)
        if key == "protocol" and isinstance(old, dict) and isinstance(new, dict):
            differences += [f"protocol.{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
                            if old.get(k) != new.get(k)]
        elif old != new:
            differences.append(f"{key}: {old!r} -> {new!r}")
    return differences
