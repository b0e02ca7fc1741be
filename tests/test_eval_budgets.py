"""Accuracy at every token budget from one evaluation run, on CPU with the tiny model (nothing mocked).

* exactness: a budget equal to the run's own max_new_tokens reproduces its summary.json exactly;
* equivalence: `siri-verl eval` at cap B gives, sample by sample, what the budget-B view of a run at a larger cap
  gives (same seeds) -- for each engine that runs here;
* old samples without token ids still resume, and budgets that would need their ids are n/a with the reason;
* a training run's phase checkpoints (manifest.json) -> one table and one evolution plot.
"""

import csv
import importlib.util
import io
import json
import shutil

import pytest
import torch

from siri_verl.cli import main
from siri_verl.cpu import tiny
from siri_verl.eval import budgets as B
from siri_verl.eval.engines import SampleOutput, TransformersEngine, make_engine
from siri_verl.eval.harness import BenchmarkSpec, EvalRun, finish_reason_of, summarize_records
from siri_verl.eval.protocol import EvalProtocol
from siri_verl.generation import SamplingParams, generate
from siri_verl.integration.run_record import record_phase_checkpoint, write_run_record

CAP, NUM_SAMPLES, NUM_PROBLEMS = 48, 4, 4


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """The tiny model after a short warm-up (2 s on an idle core) on small sums: it stops at various lengths
    (7 to 21 tokens), writes boxed answers, and is right now and then."""
    root = tmp_path_factory.mktemp("tiny_budgets")
    torch.set_num_threads(1)
    train = tiny.make_problems(48, seed=0, min_terms=2, max_terms=3, max_value=3)
    model = tiny.build_model(tiny.tokenizer_for(train), seed=0)
    tokenizer = tiny.save_and_reload(model, tiny.tokenizer_for(train), root / "model")
    tiny.warm_up(model, tokenizer, train, steps=40, lr=1e-2, batch_size=16, seed=0)
    model.save_pretrained(root / "model")
    tiny.write_parquet(tiny.make_problems(8, seed=1, min_terms=2, max_terms=3, max_value=3), root / "val.parquet",
                       "test")
    return {"root": root, "model": root / "model", "parquet": root / "val.parquet"}


def protocol(cap=CAP, engine="transformers", **overrides):
    values = dict(engine=engine, dtype="float32", max_new_tokens=cap, num_samples=NUM_SAMPLES)
    return EvalProtocol(**dict(values, **overrides))


def evaluate(assets, out, proto=None, engine_factory=make_engine, **kwargs):
    run = EvalRun(model=str(assets["model"]), benchmarks=[BenchmarkSpec.parse(f"tinymath={assets['parquet']}")],
                  output_dir=out, protocol=proto or protocol(), progress=False, limit_problems=NUM_PROBLEMS,
                  engine_factory=engine_factory, **kwargs)
    (summary_path,) = run.run()
    return summary_path


@pytest.fixture(scope="module")
def reference(assets, tmp_path_factory):
    return evaluate(assets, tmp_path_factory.mktemp("cap48"))


def by_key(records):
    return {(r["problem_id"], r["sample_index"]): r for r in records}


SAMPLE_FIELDS = ("seed", "response", "num_tokens", "finish_reason", "pred", "has_answer", "score", "reason",
                 "token_ids")


def test_the_budget_equal_to_the_cap_reproduces_the_runs_summary_exactly(reference, capsys):
    run = B.load_run(reference)
    summary = json.loads(reference.read_text())
    (point,) = B.budget_points([run], [CAP], B.TokenizerCache())
    assert json.loads(json.dumps(point.metrics)) == summary["metrics"]  # every metric, bit for bit
    # through the command line: the JSON row is the summary in percent
    assert main(["report", str(reference), "--budgets", str(CAP), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    m = summary["metrics"]
    assert row["acc"] == 100 * m["pass@1"]["mean"] and row["mean_tokens"] == m["mean_tokens"]
    assert row["truncation_rate"] == 100 * m["truncation_rate"]
    assert row["pass_at_k"] == {k: 100 * v for k, v in m["pass@k"].items()}


def test_regrading_every_response_at_its_own_length_reproduces_the_stored_samples(reference):
    """The budget view decodes and grades exactly as the harness did when it wrote the samples."""
    run = B.load_run(reference)
    regraded = B.grade_prefixes(run, run.records, CAP, B.TokenizerCache())
    for stored, again in zip(run.records, regraded):
        assert {k: again[k] for k in SAMPLE_FIELDS} == {k: stored[k] for k in SAMPLE_FIELDS}


ENGINES = [
    "transformers",
    pytest.param("vllm", marks=[pytest.mark.vllm,  # CI's vLLM stage runs it with .venv-vllm
                                pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                                   reason="vllm is not importable here (install it for CPU with "
                                                          "recipes/install_vllm_cpu.sh)")]),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.slow
def test_eval_at_cap_b_equals_the_budget_b_view_of_a_larger_cap(assets, tmp_path, engine):
    """The claim behind --budgets: with the same per-sample seeds, a run at cap B draws the first B tokens of the
    run at a larger cap, so the budget-B view of the large run IS the small run, sample by sample."""
    large = evaluate(assets, tmp_path / "large", protocol(engine=engine))
    run = B.load_run(large)
    lengths = [r["num_tokens"] for r in run.records]
    small_caps = (min(lengths) + 1, sorted(lengths)[len(lengths) // 2])
    for budget in small_caps:
        assert any(n > budget for n in lengths) and any(n <= budget for n in lengths)  # cuts some, keeps some
        small = evaluate(assets, tmp_path / f"cap{budget}", protocol(cap=budget, engine=engine))
        view = by_key(B.budget_records(run, budget, B.TokenizerCache()))
        direct = by_key(B.read_samples(small.parent / "samples.jsonl"))
        assert view.keys() == direct.keys()
        for key, record in direct.items():
            assert {k: view[key][k] for k in SAMPLE_FIELDS} == {k: record[k] for k in SAMPLE_FIELDS}, key
        assert summarize_records(list(view.values()), protocol(cap=budget)) == \
            json.loads(small.read_text())["metrics"]


def test_cpu_sampling_does_not_depend_on_the_cap(assets):
    """siri_verl.generation draws one token per step from the request's own seeded generator."""
    engine = TransformersEngine(str(assets["model"]), protocol())
    prompt = [int(t) for t in tiny.prompt_ids(engine_tokenizer(assets), "What is 3 + 4 + 5?")]
    for seed in range(6):
        full = generate(engine.model, prompt, SamplingParams(max_tokens=CAP, temperature=1.0, seed=seed),
                        engine.eos_token_ids)
        for cap in (1, 5, len(full.token_ids)):
            part = generate(engine.model, prompt, SamplingParams(max_tokens=cap, temperature=1.0, seed=seed),
                            engine.eos_token_ids)
            assert part.token_ids == full.token_ids[:cap]
            assert part.finish_reason == ("stop" if cap >= len(full.token_ids) and full.finish_reason == "stop"
                                          else "length")


def engine_tokenizer(assets):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(assets["model"])


def test_a_response_ending_with_eos_at_the_cap_is_stored_as_finished(assets, reference, tmp_path):
    """vLLM checks the length cap before EOS; the harness stores 'stop' whenever the last token is a stop token,
    so 'length' always means 'did not end within the cap' (the rule the budget view applies)."""
    assert finish_reason_of([5, 2], "length", frozenset({2})) == "stop"
    assert finish_reason_of([5, 3], "length", frozenset({2})) == "length"
    stopped = [r for r in B.load_run(reference).records if r["finish_reason"] == "stop"]
    cap = min(r["num_tokens"] for r in stopped)

    class LengthFirst(TransformersEngine):  # vLLM V1's order: num_output_tokens >= max_tokens -> "length"
        def generate(self, requests):
            for out in super().generate(requests):
                reason = "length" if len(out.token_ids) >= self.protocol.max_new_tokens else out.finish_reason
                yield SampleOutput(out.request, out.token_ids, reason)

    summary = evaluate(assets, tmp_path, protocol(cap=cap), engine_factory=LengthFirst)
    records = by_key(B.read_samples(summary.parent / "samples.jsonl"))
    for r in stopped:
        if r["num_tokens"] == cap:
            assert records[(r["problem_id"], r["sample_index"])]["finish_reason"] == "stop"


def test_old_samples_without_token_ids_resume_and_only_budgets_that_cut_them_are_na(assets, reference, tmp_path,
                                                                                     capsys):
    out = tmp_path / "old"
    shutil.copytree(reference.parent.parent, out)
    samples = out / "tinymath" / "samples.jsonl"
    old = [{k: v for k, v in json.loads(line).items() if k != "token_ids"} for line in samples.read_text().splitlines()]
    samples.write_text("".join(json.dumps(r) + "\n" for r in old))
    # resuming the old run with more samples draws only the new ones, which carry their ids
    summary = evaluate(assets, out, protocol(num_samples=NUM_SAMPLES + 1))
    records = B.read_samples(samples)
    assert len(records) == NUM_PROBLEMS * (NUM_SAMPLES + 1)
    assert ["token_ids" in r for r in records] == [False] * len(old) + [True] * NUM_PROBLEMS
    run = B.load_run(summary)
    longest_old = max(r["num_tokens"] for r in old)
    assert main(["report", str(summary), "--budgets", f"{longest_old - 1},{longest_old},{CAP}", "--format",
                 "csv"]) == 0
    rows = {int(r["budget"]): r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[longest_old - 1]["acc"] == "" and "have no token_ids" in rows[longest_old - 1]["note"]
    assert "--overwrite" in rows[longest_old - 1]["note"]
    assert rows[longest_old]["acc"] != "" and rows[CAP]["acc"] != ""
    (point,) = B.budget_points([run], [CAP], B.TokenizerCache())
    assert json.loads(json.dumps(point.metrics)) == json.loads(summary.read_text())["metrics"]


def test_budgets_above_the_cap_and_bad_input(assets, reference, tmp_path, capsys):
    run = B.load_run(reference)
    assert not any(r["finish_reason"] == "length" for r in run.records)
    (above,) = B.budget_points([run], [2 * CAP], B.TokenizerCache())
    assert above.metrics == summarize_records(run.records, run.protocol)  # nothing was cut: a larger cap is the same
    short = B.load_run(evaluate(assets, tmp_path / "cap10", protocol(cap=10)))
    assert any(r["finish_reason"] == "length" for r in short.records)
    (above,) = B.budget_points([short], [11], B.TokenizerCache())
    assert above.metrics is None and "above the run's max_new_tokens 10" in above.note
    assert B.parse_budgets("16k, 2048,4096") == (2048, 4096, 16384) and B.parse_budgets("auto") == "auto"
    assert B.auto_budgets([16384]) == (512, 1024, 2048, 4096, 8192, 16384)
    assert B.auto_budgets([48, 32]) == (2, 4, 8, 16, 32, 48)
    for text, message in (("1,x", "'x' is not an integer"), ("0", ">= 1"), (",", "no budget")):
        with pytest.raises(B.BudgetError, match=message):
            B.parse_budgets(text)
    assert main(["report", str(reference), "--budgets", "12,abc"]) == 2
    assert "'abc' is not an integer" in capsys.readouterr().err
    assert main(["report", str(reference), "--evolution", str(tmp_path / "e")]) == 2
    assert "--evolution needs --budgets" in capsys.readouterr().err
    # the samples changed after the summary: refused rather than reported as if they matched
    moved = tmp_path / "changed"
    shutil.copytree(reference.parent, moved)
    lines = (moved / "samples.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["score"] = 1.0 - first["score"]
    (moved / "samples.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(B.BudgetError, match="samples changed since the summary was written"):
        B.load_run(moved / "summary.json")


def phase_checkpoint(tmp_path, run_dir, name, step, kind, model_dir, seed):
    """A SIRI phase checkpoint as the trainer records it (its actor saved with the HF model), weights
    perturbed by ``seed`` so that each checkpoint is a different model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    step_dir = run_dir / f"global_step_{step}"
    hf = step_dir / "actor" / "huggingface"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.02 * seed * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(hf)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(hf)
    write_run_record(step_dir, step=step, config={"actor_rollout_ref": {"model": {"path": str(model_dir)}}},
                     versions={})
    return record_phase_checkpoint(run_dir, step_dir, name=name, step=step, kind=kind, iteration=1 + step // 4,
                                   cap=16 if kind == "low" else 48)


@pytest.mark.slow
def test_report_over_a_training_runs_phase_checkpoints(assets, tmp_path, capsys):
    run_dir = tmp_path / "checkpoints"
    entries = [("siri_low_iter1", 2, "low", 3), ("siri_high_iter1", 4, "high", 1), ("siri_low_iter2", 6, "low", 0)]
    folders = {name: phase_checkpoint(tmp_path, run_dir, name, step, kind, assets["model"], seed)
               for name, step, kind, seed in entries}
    results = tmp_path / "results"
    models = {"start": assets["model"], **{name: folders[name].parent for name in folders}}
    for name in ("siri_high_iter1", "start", "siri_low_iter1"):  # any order; siri_low_iter2 is not evaluated yet
        assert main(["eval", "--model", str(models[name]), "--benchmark", f"tinymath={assets['parquet']}",
                     "--output-dir", str(results / name), "--engine", "transformers", "--dtype", "float32",
                     "--num-samples", "2", "--max-new-tokens", str(CAP), "--limit-problems", "3",
                     "--no-progress"]) == 0
    capsys.readouterr()
    prefix = tmp_path / "evolution"
    assert main(["report", str(results), "--phase-manifest", str(run_dir), "--budgets", "8,16,48", "--format", "csv",
                 "--evolution", str(prefix)]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out[: out.index("wrote")])))
    # the run's initial model (actor_rollout_ref.model.path in siri_run.json) is step 0, then the checkpoints
    assert [(r["checkpoint"], r["step"], r["kind"], r["budget"]) for r in rows] == [
        (name, str(step), kind, str(b)) for name, step, kind, _ in [("start", 0, "start", 0), *entries[:2]]
        for b in (8, 16, 48)]
    assert all(float(r["mean_tokens"]) <= int(r["budget"]) for r in rows)
    assert (prefix.with_suffix(".png")).read_bytes()[:4] == b"\x89PNG"
    # the same with the markdown table: the missing checkpoint is named with the command to run
    assert main(["report", str(results), "--phase-manifest", str(run_dir / "siri_phase_checkpoints"),
                 "--budgets", "16"]) == 0
    text = capsys.readouterr().out
    assert "siri_low_iter2 (step 6) has no evaluation; run `siri-verl eval --model" in text
    matched, others = B.match_phase_checkpoints(B.load_phase_checkpoints(run_dir),
                                                [B.load_run(p) for p in sorted(results.rglob("summary.json"))])
    assert {name: len(runs) for name, runs in matched.items()} == {
        "start": 1, "siri_low_iter1": 1, "siri_high_iter1": 1, "siri_low_iter2": 0} and others == []
    assert main(["report", str(results), "--phase-manifest", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
