"""The eval harness on the real benchmark files (../shared/data) prepared by data_prep.

A reference-answer engine stands in for a model that knows the gold answers: sample 0 of every problem is
``<think>…</think>\\boxed{<gold>}``, sample 1 boxes a wrong answer. Everything else is the real pipeline
(prepared parquet, chat template, tokenizer round trip, SIRI reward), so pass@1 must come out at exactly
50% and pass@2 / maj@2 at 100% on every benchmark -- which fails if any gold answer of the real data does
not survive preparation, prompting, decoding or grading.
"""

import json

import pytest

from siri_verl.cpu import tiny
from siri_verl.commands.prepare_data import main as prepare_main
from siri_verl.eval.engines import GenerationEngine, SampleOutput
from siri_verl.eval.harness import BenchmarkSpec, EvalRun, load_benchmark
from siri_verl.eval.protocol import EvalProtocol
from siri_verl.eval.report import TABLE1_BENCHMARKS, column_of

from repo_paths import SHARED_DATA

# data_prep name -> (file under shared/data, rows)
BENCHMARKS = {"aime24": ("aime24/test.jsonl", 30), "aime25": ("aime25/train.jsonl", 30),
              "amc23": ("amc23/test.jsonl", 40), "math500": ("math500/test.jsonl", 500)}

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,  # reads and grades the real files: seconds to a minute
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}"),
]


class ReferenceAnswerEngine(GenerationEngine):
    """Answers sample 0 with the gold answer and sample 1 with a wrong one, as token ids of the tokenizer."""

    def __init__(self, tokenizer, gold_by_problem):
        self.tokenizer, self.gold = tokenizer, gold_by_problem

    def generate(self, requests):
        for request in requests:
            answer = self.gold[request.problem_id] if request.sample_index == 0 else "\\text{wrong}"
            text = "<think>reasoning</think>The answer is \\boxed{" + answer + "}"
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            yield SampleOutput(request, tuple(ids), "stop")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    for name, (file, _) in BENCHMARKS.items():
        assert prepare_main([name, "--input", str(SHARED_DATA / file), "--output", str(out / f"{name}.parquet"),
                             "--no-progress"]) == 0
    return out


def test_prepared_benchmarks_load_and_fill_every_table1_column(prepared):
    columns = set()
    for name, (_, rows) in BENCHMARKS.items():
        spec = BenchmarkSpec.parse(str(prepared / f"{name}.parquet"))
        assert spec.name == name
        problems = load_benchmark(spec)
        assert len(problems) == rows and len({p.problem_id for p in problems}) == rows
        assert all(p.messages[-1]["role"] == "user" and "\\boxed{}" in p.messages[-1]["content"] for p in problems)
        columns.add(column_of(name))
    assert columns == set(TABLE1_BENCHMARKS)


def test_gold_answers_of_the_real_benchmarks_grade_correct_end_to_end(prepared, tmp_path):
    problems = tiny.make_problems(4, seed=0)
    tokenizer = tiny.build_tokenizer([p.solution for p in problems] + [tiny.CHATML_TEMPLATE])
    model = tiny.build_model(tokenizer)  # loaded for its config only: the engine is the oracle
    model.config.max_position_embeddings = 16384  # long MATH500 prompts under a tiny byte-level BPE
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    for name in BENCHMARKS:
        spec = BenchmarkSpec.parse(str(prepared / f"{name}.parquet"))
        gold = {p.problem_id: str(p.ground_truth) for p in load_benchmark(spec)}
        run = EvalRun(model=str(tmp_path / "model"), benchmarks=[spec], output_dir=tmp_path / "out",
                      protocol=EvalProtocol(engine="transformers", num_samples=2, max_new_tokens=64),
                      progress=False, engine_factory=lambda path, proto, gold=gold: ReferenceAnswerEngine(tokenizer, gold))
        (summary_path,) = run.run()
        metrics = json.loads(summary_path.read_text())["metrics"]
        assert metrics["num_problems"] == BENCHMARKS[name][1]
        assert metrics["pass@1"]["mean"] == pytest.approx(0.5), name
        assert metrics["pass@k"]["2"] == pytest.approx(1.0), name
        assert metrics["maj@k"]["2"] == pytest.approx(1.0), name  # a 1-1 tie goes to the gold answer, voted first
        assert metrics["answer_rate"] == pytest.approx(1.0), name
