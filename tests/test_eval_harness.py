"""`siri-verl eval` on CPU: a tiny locally built Qwen2 on a prepared parquet, resume, checkpoints, bad input.

Everything here is real: the transformers engine calls siri_verl.generation, scores come from
siri_verl.reward.score_batch, verl checkpoints are merged by verl's own model merger.
"""

import hashlib
import json

import pandas as pd
import pytest
import torch

from siri_verl.cli import main
from siri_verl.cpu import tiny
from siri_verl.eval import metrics
from siri_verl.eval.engines import TransformersEngine, make_engine
from siri_verl.eval.harness import BenchmarkSpec, EvalInputError, EvalRun, SampleStore, resolve_model
from siri_verl.eval.protocol import EvalProtocol, ProtocolError, sample_seed
from siri_verl.generation import SamplingParams, generate
from siri_verl.reward import compute_score

NUM_PROBLEMS, NUM_SAMPLES, MAX_NEW_TOKENS = 3, 4, 12


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A random tiny Qwen2 + BPE tokenizer with the tiny family's chat template, and a 3-problem parquet."""
    root = tmp_path_factory.mktemp("tiny_eval")
    problems = tiny.make_problems(NUM_PROBLEMS, seed=7)
    tokenizer = tiny.build_tokenizer([p.question for p in problems] + [p.solution for p in problems]
                                     + [tiny.CHATML_TEMPLATE])
    model = tiny.build_model(tokenizer, seed=1)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    tiny.write_parquet(problems, root / "tinymath.parquet", "test")
    return {"root": root, "model": root / "model", "parquet": root / "tinymath.parquet", "problems": problems,
            "state_dict": {k: v.clone() for k, v in model.state_dict().items()}}


def protocol(**overrides):
    values = dict(engine="transformers", dtype="float32", max_new_tokens=MAX_NEW_TOKENS, num_samples=NUM_SAMPLES)
    values.update(overrides)
    return EvalProtocol(**values)


class CountingEngine(TransformersEngine):
    """The real CPU engine, counting requests and optionally stopping (like Ctrl-C) after some outputs."""

    def __init__(self, model_path, proto, stop_after=None):
        super().__init__(model_path, proto)
        self.requested, self.stop_after = [], stop_after

    def generate(self, requests):
        self.requested += list(requests)
        for count, output in enumerate(super().generate(requests), start=1):
            yield output
            if self.stop_after is not None and count >= self.stop_after:
                raise KeyboardInterrupt


def evaluate(assets, out, proto=None, engines=None, stop_after=None, **kwargs):
    """Run the harness on the tiny benchmark with the real CPU engine; ``engines`` collects created engines."""

    def factory(path, p):
        engine = CountingEngine(path, p, stop_after)
        if engines is not None:
            engines.append(engine)
        return engine

    run = EvalRun(model=str(assets["model"]), benchmarks=[BenchmarkSpec.parse(str(assets["parquet"]))],
                  output_dir=out, protocol=proto or protocol(), progress=False, engine_factory=factory, **kwargs)
    return run.run()


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def reference_run(assets, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    (summary_path,) = evaluate(assets, out)
    return out, summary_path


def test_end_to_end_samples_are_real_generations_scored_by_the_reward(assets, reference_run):
    out, summary_path = reference_run
    records = read_jsonl(out / "tinymath" / "samples.jsonl")
    assert len(records) == NUM_PROBLEMS * NUM_SAMPLES
    assert {(r["problem_id"], r["sample_index"]) for r in records} == {
        (str(i), j) for i in range(NUM_PROBLEMS) for j in range(NUM_SAMPLES)}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(assets["model"])
    model = TransformersEngine(str(assets["model"]), protocol()).model
    for record in records:
        problem = assets["problems"][int(record["problem_id"])]
        assert record["seed"] == sample_seed(0, "tinymath", record["problem_id"], record["sample_index"])
        assert record["ground_truth"] == problem.answer
        # the response is exactly what siri_verl.generation samples with this sample's seed
        prompt = tiny.prompt_ids(tokenizer, problem.question)
        params = SamplingParams(max_tokens=MAX_NEW_TOKENS, temperature=0.6, top_p=0.95, seed=record["seed"])
        expected = generate(model, prompt, params, [tokenizer.eos_token_id])
        assert record["num_tokens"] == len(expected.token_ids) <= MAX_NEW_TOKENS
        assert record["finish_reason"] == expected.finish_reason
        assert record["response"] == tokenizer.decode(expected.token_ids, skip_special_tokens=True)
        # ... and scored by the SIRI reward exactly as compute_score grades it
        graded = compute_score("siri_tiny_math", record["response"], problem.answer,
                               {"siri_truncated": record["finish_reason"] == "length"})
        assert (record["score"], record["pred"], record["has_answer"]) == (graded["score"], graded["pred"],
                                                                           graded["has_answer"])

    summary = json.loads(summary_path.read_text())
    scores = [[r["score"] for r in sorted(records, key=lambda r: r["sample_index"]) if r["problem_id"] == str(i)]
              for i in range(NUM_PROBLEMS)]
    m = summary["metrics"]
    assert m["pass@1"]["mean"] == pytest.approx(metrics.avg_at_n(scores).mean)
    assert m["mean_tokens"] == pytest.approx(sum(r["num_tokens"] for r in records) / len(records))
    assert m["truncation_rate"] == pytest.approx(sum(r["finish_reason"] == "length" for r in records) / len(records))
    assert set(m["pass@k"]) == {"1", "2", "4"} and set(m["maj@k"]) == {"4"}
    assert summary["protocol"]["temperature"] == 0.6 and summary["protocol"]["top_p"] == 0.95
    assert summary["protocol"]["tensor_parallel_size"] == 1 and summary["protocol"]["dtype"] == "float32"
    template = tokenizer.chat_template  # the tiny family's (R1-Distill's by default)
    assert template and summary["chat_template"]["text"] == template
    assert summary["chat_template"]["sha256"] == hashlib.sha256(template.encode()).hexdigest()
    assert all(r["token_ids"] for r in records)  # kept for the budget view (tests/test_eval_budgets.py)
    assert summary["versions"]["torch"] == torch.__version__  # the installed distribution's version
    assert summary["versions"]["transformers"] and summary["model"]["name"] == "model"


def test_interrupted_eval_resumes_without_regenerating_and_matches_an_uninterrupted_run(assets, reference_run, tmp_path):
    reference_out, _ = reference_run
    with pytest.raises(KeyboardInterrupt):
        evaluate(assets, tmp_path, stop_after=5)
    samples = tmp_path / "tinymath" / "samples.jsonl"
    assert len(read_jsonl(samples)) == 5  # the finished samples were saved before stopping
    with open(samples, "a") as handle:  # and the process died in the middle of writing a sixth
        handle.write('{"benchmark": "tinymath", "problem_id": "2", "sample_')
    engines = []
    (summary_path,) = evaluate(assets, tmp_path, engines=engines)
    (engine,) = engines
    assert len(engine.requested) == NUM_PROBLEMS * NUM_SAMPLES - 5
    done_first = {(r["problem_id"], r["sample_index"]) for r in read_jsonl(samples)[:5]}
    assert not done_first & {(r.problem_id, r.sample_index) for r in engine.requested}

    def key(r):
        return (r["problem_id"], r["sample_index"])

    resumed = sorted(read_jsonl(samples), key=key)
    reference = sorted(read_jsonl(reference_out / "tinymath" / "samples.jsonl"), key=key)
    assert [(key(r), r["seed"], r["response"], r["num_tokens"], r["score"]) for r in resumed] == \
        [(key(r), r["seed"], r["response"], r["num_tokens"], r["score"]) for r in reference]
    ref_metrics = json.loads((reference_out / "tinymath" / "summary.json").read_text())["metrics"]
    assert json.loads(summary_path.read_text())["metrics"] == ref_metrics


def test_raising_num_samples_draws_only_the_new_samples_and_lowering_reuses_them(assets, reference_run, tmp_path):
    evaluate(assets, tmp_path, proto=protocol(num_samples=2))
    engines = []
    (summary_path,) = evaluate(assets, tmp_path, proto=protocol(num_samples=NUM_SAMPLES), engines=engines)
    assert sorted({r.sample_index for r in engines[0].requested}) == [2, 3]
    assert len(engines[0].requested) == NUM_PROBLEMS * 2
    reference_out, reference_summary = reference_run
    assert json.loads(summary_path.read_text())["metrics"] == json.loads(reference_summary.read_text())["metrics"]
    engines = []
    (summary_path,) = evaluate(assets, tmp_path, proto=protocol(num_samples=1), engines=engines)
    assert engines == []
    summary = json.loads(summary_path.read_text())
    first = [r for r in read_jsonl(reference_out / "tinymath" / "samples.jsonl") if r["sample_index"] == 0]
    assert summary["metrics"]["num_samples_per_problem"] == 1
    assert summary["metrics"]["mean_tokens"] == pytest.approx(sum(r["num_tokens"] for r in first) / len(first))


def test_complete_run_is_not_regenerated_and_a_changed_protocol_is_refused(assets, tmp_path):
    evaluate(assets, tmp_path, proto=protocol(num_samples=2))
    engines = []
    evaluate(assets, tmp_path, proto=protocol(num_samples=2), engines=engines)
    assert engines == []  # nothing missing: the model is not even loaded
    with pytest.raises(EvalInputError, match=r"protocol.temperature: 0.6 -> 0.7.*--overwrite"):
        evaluate(assets, tmp_path, proto=protocol(num_samples=2, temperature=0.7))
    (summary_path,) = evaluate(assets, tmp_path, proto=protocol(num_samples=2, temperature=0.7), overwrite=True)
    assert json.loads(summary_path.read_text())["protocol"]["temperature"] == 0.7


def test_corrupt_line_in_the_middle_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(EvalInputError, match="line 2 is not valid JSON"):
        SampleStore(path).load()


def write_rows(path, rows):
    pd.DataFrame(rows).to_parquet(path, index=False)
    return BenchmarkSpec.parse(f"bad={path}")


def row(index, truth="3", prompt=None):
    return {"data_source": "x", "prompt": prompt if prompt is not None else [{"role": "user", "content": "q"}],
            "reward_model": {"style": "rule", "ground_truth": truth}, "extra_info": {"index": index}}


@pytest.mark.parametrize("rows, message", [
    ([row(0), row(1, truth="")], r"row 1: 'reward_model.ground_truth' is missing"),
    ([row(0), row(0)], r"row 1: extra_info.index '0' repeats row 0"),
    ([row(0, prompt=[])], r"row 0: 'prompt' must be a non-empty list"),
])
def test_bad_benchmark_rows_fail_before_the_model_is_loaded(assets, tmp_path, rows, message):
    spec = write_rows(tmp_path / "bad.parquet", rows)

    def no_engine(*_):
        raise AssertionError("the engine must not be created for bad input")

    run = EvalRun(model=str(assets["model"]), benchmarks=[spec], output_dir=tmp_path / "out", protocol=protocol(),
                  engine_factory=no_engine, progress=False)
    with pytest.raises(EvalInputError, match=message):
        run.run()


def test_prompt_plus_max_new_tokens_over_the_context_fails_before_generation(assets, tmp_path):
    def no_engine(*_):
        raise AssertionError("the engine must not be created")

    run = EvalRun(model=str(assets["model"]), benchmarks=[BenchmarkSpec.parse(str(assets["parquet"]))],
                  output_dir=tmp_path, protocol=protocol(max_new_tokens=600), engine_factory=no_engine, progress=False)
    with pytest.raises(EvalInputError, match=r"max_position_embeddings \(512\).*--max-new-tokens"):
        run.run()
    # no sample was written, so the corrected command is not refused as a "different run"
    (summary_path,) = evaluate(assets, tmp_path, proto=protocol(num_samples=1, max_new_tokens=4), limit_problems=1)
    assert json.loads(summary_path.read_text())["protocol"]["max_new_tokens"] == 4


def test_model_paths_hub_ids_are_refused_and_verl_fsdp_checkpoints_are_merged(assets, tmp_path):
    with pytest.raises(EvalInputError, match="hub ids are not supported"):
        resolve_model("THU-KEG/SIRI-1.5B-low", tmp_path)
    # a verl FSDP checkpoint as the trainer saves it (world size 1): shards + fsdp_config.json + huggingface/
    actor = tmp_path / "run" / "global_step_3" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    torch.save(assets["state_dict"], actor / "model_world_size_1_rank_0.pt")
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    AutoConfig.from_pretrained(assets["model"]).save_pretrained(actor / "huggingface")
    AutoTokenizer.from_pretrained(assets["model"]).save_pretrained(actor / "huggingface")
    GenerationConfig.from_pretrained(assets["model"]).save_pretrained(actor / "huggingface")

    resolved = resolve_model(str(actor.parent), tmp_path / "out")
    assert resolved.source == "verl_fsdp" and resolved.checkpoint == str(actor)
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(resolved.hf_path, dtype=torch.float32).state_dict()
    assert set(merged) == set(assets["state_dict"])
    for name, tensor in assets["state_dict"].items():
        torch.testing.assert_close(merged[name], tensor.bfloat16().float())  # verl's merger saves bf16
    weights = sorted(p for p in (tmp_path / "out" / "merged_model").iterdir() if p.suffix == ".safetensors")
    mtimes = [p.stat().st_mtime_ns for p in weights]
    assert resolve_model(str(actor), tmp_path / "out").hf_path == resolved.hf_path  # reused, not merged again
    assert [p.stat().st_mtime_ns for p in weights] == mtimes

    # a SIRI phase checkpoint folder (siri_phase_checkpoints/<name>/global_step_N) resolves to its one step
    phase = tmp_path / "run" / "siri_phase_checkpoints" / "siri_low_iter1"
    phase.mkdir(parents=True)
    (phase / "global_step_3").symlink_to(actor.parent, target_is_directory=True)
    assert resolve_model(str(phase), tmp_path / "out").checkpoint == str(actor)

    run = EvalRun(model=str(actor.parent), benchmarks=[BenchmarkSpec.parse(str(assets["parquet"]))],
                  output_dir=tmp_path / "out", protocol=protocol(num_samples=1, max_new_tokens=4), progress=False,
                  limit_problems=1, engine_factory=make_engine)
    text = run.run()[0].read_text()
    summary = json.loads(text)
    assert summary["model"]["name"] == "run/global_step_3" and summary["model"]["source"] == "verl_fsdp"
    assert summary["metrics"]["pass@1"]["stderr"] is None and "NaN" not in text  # one problem: strict JSON null
    assert summary["data"]["num_problems"] == 1


def test_protocol_defaults_are_the_papers_and_errors_name_the_field():
    proto = EvalProtocol()
    assert (proto.temperature, proto.top_p, proto.max_new_tokens, proto.num_samples) == (0.6, 0.95, 16384, 64)
    assert proto.pass_k_values == (1, 2, 4, 8, 16, 32, 64) and proto.maj_k_values == (64,)
    for field_name, value in [("top_p", 0.0), ("num_samples", 0), ("engine", "hf"), ("pass_k", (65,)),
                              ("think_mode", "maybe"), ("top_k", 0)]:
        with pytest.raises(ProtocolError, match=field_name):
            EvalProtocol(**{field_name: value})


def test_sample_seeds_are_a_stable_function_of_the_sample():
    expected = int.from_bytes(hashlib.sha256("0\x1faime24\x1f7\x1f3".encode()).digest()[:4], "big") & 0x7FFFFFFF
    assert sample_seed(0, "aime24", "7", 3) == expected
    seeds = {sample_seed(0, "aime24", str(p), i) for p in range(30) for i in range(64)}
    assert len(seeds) == 30 * 64


@pytest.mark.slow
def test_two_commands_from_model_to_table_row_and_pareto_plot(assets, tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["eval", "--model", str(assets["model"]), "--benchmark", f"aime24={assets['parquet']}",
                 "--output-dir", str(out), "--name", "tiny", "--engine", "transformers", "--dtype", "float32",
                 "--num-samples", "2", "--max-new-tokens", "8", "--no-progress"])
    assert code == 0
    assert "aime24: pass@1" in capsys.readouterr().out
    code = main(["report", str(out), "--format", "csv", "--pareto", str(tmp_path / "pareto")])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    tiny_row = next(line for line in lines if line.startswith("ours,"))
    assert ",tiny," in tiny_row
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    code = main(["eval", "--model", str(assets["model"]), "--benchmark", str(tmp_path / "none.parquet"),
                 "--output-dir", str(out), "--engine", "transformers"])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["eval", "--model", str(assets["model"]), "--benchmark", f"aime24={assets['parquet']}",
                 "--output-dir", str(out), "--top-p", "1.5"])
    assert code == 2 and "top_p=1.5" in capsys.readouterr().err


def test_several_benchmarks_share_one_engine_call_and_keep_separate_files(assets, tmp_path):
    engines = []
    specs = [BenchmarkSpec.parse(f"{name}={assets['parquet']}") for name in ("first", "second")]
    run = EvalRun(model=str(assets["model"]), benchmarks=specs, output_dir=tmp_path,
                  protocol=protocol(num_samples=2, max_new_tokens=4), progress=False,
                  engine_factory=lambda path, p: engines.append(CountingEngine(path, p)) or engines[-1])
    summaries = run.run()
    (engine,) = engines  # one model load for both benchmarks
    assert sorted({r.benchmark for r in engine.requested}) == ["first", "second"]
    for name, summary_path in zip(("first", "second"), summaries):
        records = read_jsonl(tmp_path / name / "samples.jsonl")
        assert len(records) == NUM_PROBLEMS * 2 and {r["benchmark"] for r in records} == {name}
        assert json.loads(summary_path.read_text())["benchmark"] == name
    seeds = {name: {r["seed"] for r in read_jsonl(tmp_path / name / "samples.jsonl")} for name in ("first", "second")}
    assert not seeds["first"] & seeds["second"]  # the benchmark is part of every sample's seed
