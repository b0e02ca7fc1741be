"""The datasets SIRI trains and evaluates on: where they live (hub id + pinned revision, or a local file in
the formats of ``../shared/data``) and which fields hold the problem, the answer and the id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset.

    name: the name used on the command line (``prepare.py NAME``).
    data_source: the ``data_source`` column written (verl groups validation metrics by it).
    split: "train" or "test"; written to ``extra_info.split``. "train" sets are decontaminated against
        every "test" set.
    hub_id / hub_config / hub_split: where ``datasets.load_dataset`` finds it.
    hub_revision: the commit the hub loader is pinned to; None when no verified commit is recorded (then
        ``--revision`` must be given).
    hub_rows: row count the hub loader checks.
    local_file: path of the local copy relative to ``--input-dir`` (the layout of ../shared/data).
    local_rows: row count expected from ``local_file`` (checked by the tests, printed in the summary).
    problem_fields / answer_fields / id_fields: candidate field names, first present non-empty wins.
    context_field: a field prepended to the problem when non-empty (OlympiadBench ``context``).
    solution_field: where to take the last ``\\boxed{}`` answer from when no answer field is present.
    """

    name: str
    data_source: str
    split: str
    hub_id: str
    hub_split: str
    hub_rows: int
    local_file: str
    local_rows: int
    hub_config: str | None = None
    hub_revision: str | None = None
    problem_fields: tuple[str, ...] = ("problem", "question")
    answer_fields: tuple[str, ...] = ("answer", "final_answer")
    id_fields: tuple[str, ...] = ("id", "unique_id", "problem_idx", "idx")
    context_field: str | None = None
    solution_field: str | None = "solution"


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="deepscaler",
            data_source="deepscaler",
            split="train",
            hub_id="agentica-org/DeepScaleR-Preview-Dataset",
            hub_split="train",
            # The revision a public data recipe pins for this dataset (not re-checked offline here).
            hub_revision="b6ae8c60f5c1f2b594e2140b91c49c9ad0949e29",
            hub_rows=40315,
            local_file="deepscaler_subset/deepscaler.json",
            local_rows=803,
        ),
        DatasetSpec(
            name="aime24",
            data_source="aime24",
            split="test",
            hub_id="HuggingFaceH4/aime_2024",
            hub_split="train",
            hub_rows=30,
            local_file="aime24/test.jsonl",
            local_rows=30,
        ),
        DatasetSpec(
            name="aime25",
            data_source="aime25",
            split="test",
            hub_id="MathArena/aime_2025",
            hub_split="train",
            hub_rows=30,
            local_file="aime25/train.jsonl",
            local_rows=30,
        ),
        DatasetSpec(
            name="amc23",
            data_source="amc23",
            split="test",
            hub_id="math-ai/amc23",
            hub_split="test",
            hub_rows=40,
            local_file="amc23/test.jsonl",
            local_rows=40,
        ),
        DatasetSpec(
            name="math500",
            data_source="math500",
            split="test",
            hub_id="HuggingFaceH4/MATH-500",
            hub_split="test",
            hub_rows=500,
            local_file="math500/test.jsonl",
            local_rows=500,
        ),
        DatasetSpec(
            name="minerva",
            data_source="minerva",
            split="test",
            hub_id="knoveleng/Minerva-Math",
            hub_split="train",
            hub_rows=272,
            local_file="minerva_math_canonical/train.jsonl",
            local_rows=272,
        ),
        DatasetSpec(
            name="olympiadbench",
            data_source="olympiadbench",
            split="test",
            hub_id="Hothan/OlympiadBench",
            hub_config="OE_TO_maths_en_COMP",
            hub_split="train",
            hub_rows=675,
            local_file="olympiadbench/test.jsonl",
            local_rows=675,
            # OlympiadBench's "question" is the problem; "final_answer" (a list) the answer.
            problem_fields=("question", "problem"),
            answer_fields=("final_answer", "answer"),
            context_field="context",
        ),
    )
}

TRAIN_SETS = tuple(name for name, spec in DATASETS.items() if spec.split == "train")
EVAL_SETS = tuple(name for name, spec in DATASETS.items() if spec.split == "test")


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None
