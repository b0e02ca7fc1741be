"""Per-benchmark validation sample counts: ``algorithm.siri.validation_n``.

verl 0.9.1 draws ``actor_rollout_ref.rollout.val_kwargs.n`` samples for every validation prompt *unless the
prompt row carries its own* ``__rollout_n__``: the agent-loop manager pops it per prompt
(``verl/trainer/ppo/v1/agent_loop_tq.py``, ``_run_prompt``: ``n = prompt.pop("__rollout_n__", ... val_kwargs.n)``)
and ``_validate`` reads the same field to know how many accuracies each prompt should have
(``verl/trainer/ppo/v1/trainer_base.py``, ``_validate``: ``batch_dict.get("__rollout_n__", [val_kwargs.n] * ...)``);
the metrics then report ``mean@<n>`` per data source (``_val_metrics_update`` takes each source's own largest n).

Nothing in verl writes that field, so ``SiriPPOTrainer`` wraps verl's validation dataloader with
:class:`PerSourceRolloutN`, which adds ``__rollout_n__`` to every validation batch from the row's
``data_source``::

    algorithm:
      siri:
        validation_n: {aime24: 32, aime25: 32, amc23: 32, math500: 4}

Sources not listed keep ``val_kwargs.n``; ``null`` (the default) changes nothing. The mapping is validated with
the rest of ``algorithm.siri`` by ``siri_verl.config.SiriConfig``. Training batches are never
touched (a per-row n there would break verl's GRPO mini-batch arithmetic).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from siri_verl.config import SiriConfigError

ROLLOUT_N_FIELD = "__rollout_n__"
CONFIG_KEY = "algorithm.siri.validation_n"


def add_rollout_n(batch: dict[str, Any], per_source: Mapping[str, int], default_n: int) -> dict[str, Any]:
    """Add ``__rollout_n__`` to one collated validation batch (verl's ``collate_fn`` output) in place.

    A row whose ``data_source`` is not in ``per_source`` gets ``default_n`` (``val_kwargs.n``), written out so
    the column is complete: verl reads it for every row when it is present."""
    if not per_source or ROLLOUT_N_FIELD in batch:
        return batch
    sources = batch.get("data_source")
    if sources is None:
        raise SiriConfigError(CONFIG_KEY, "is set but the validation rows have no data_source column to look it "
                                          f"up by; set {CONFIG_KEY}=null")
    values = [per_source.get(str(source), int(default_n)) for source in sources]
    batch[ROLLOUT_N_FIELD] = np.fromiter(values, dtype=object, count=len(values))
    return batch


class PerSourceRolloutN:
    """Wrap verl's validation dataloader so each batch carries ``__rollout_n__`` from its ``data_source``."""

    def __init__(self, dataloader, per_source: Mapping[str, int], default_n: int):
        self.dataloader = dataloader
        self.per_source = dict(per_source)
        self.default_n = int(default_n)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.dataloader:
            yield add_rollout_n(batch, self.per_source, self.default_n)

    def __len__(self) -> int:
        return len(self.dataloader)

    def __getattr__(self, name: str):
        if name == "dataloader":
            raise AttributeError(name)
        return getattr(self.dataloader, name)
