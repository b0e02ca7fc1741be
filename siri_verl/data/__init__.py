"""Data prep for SIRI: dataset specs, ground-truth normalisation (from ``siri_verl.answers``), dedup,
decontamination, verl parquet.

Entry point: ``python data_prep/prepare.py`` (see docs/data.md).
"""

from siri_verl.answers import InvalidAnswerError, answer_from_solution, normalize_ground_truth
from siri_verl.data.sources import DATASETS, EVAL_SETS, TRAIN_SETS, DatasetSpec, get_spec

__all__ = [
    "DATASETS",
    "EVAL_SETS",
    "TRAIN_SETS",
    "DatasetSpec",
    "InvalidAnswerError",
    "answer_from_solution",
    "get_spec",
    "normalize_ground_truth",
]
