"""``SiriPPOTrainer``'s hooks, one at a time, on a trainer made with ``object.__new__`` (verl's own unit-test
pattern for its trainers): no workers, no Ray, seconds. The whole loop runs in the e2e tests.

TransferQueue's key-value store needs a Ray cluster, so ``_drop_from_loss`` runs against :class:`KVStore`, an
in-memory stand-in for the two calls it makes (``kv_batch_get`` / ``kv_batch_put``), holding the same nested
(TransferQueue-layout) tensors; the masks it writes are checked against verl's loss in
``tests/test_mask_loss_agg.py`` and the real store is used by the e2e test of ``mask``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from siri_verl.errors import ConfigKeyError
from siri_verl.integration import trainer as trainer_module
from siri_verl.integration.trainer import SiriPPOTrainer
from siri_verl.response_record import CAP_FIELD, MissingResponseRecordError, ResponseRecord

PAPER_CAPS = {1: 16384, 160: 12288, 320: 8192, 480: 12288, 640: 16384, 1600: 8192}


def make_trainer(siri: dict | None = None, train_batch_size: int = 2, step: int = 1) -> SiriPPOTrainer:
    trainer = object.__new__(SiriPPOTrainer)
    trainer.config = OmegaConf.create({
        "data": {"train_batch_size": train_batch_size, "gen_batch_size": None, "max_response_length": 16384},
        "algorithm": {"siri": siri or {}},
    })
    trainer.global_steps = step
    trainer._siri_facts = []
    return trainer


def prompts(n: int) -> dict:
    return {"raw_prompt": np.array([[{"role": "user", "content": f"q{i}"}] for i in range(n)], dtype=object),
            "data_source": np.array(["deepscaler"] * n, dtype=object)}


@pytest.mark.parametrize("step, cap", sorted(PAPER_CAPS.items()))
def test_next_train_batch_attaches_the_steps_cap_through_verls_own_batch(step, cap):
    trainer = make_trainer(step=step)
    trainer.train_dataloader, trainer.train_dataloader_it = [prompts(2)], None
    batch = trainer._next_train_batch()
    assert batch[CAP_FIELD] == cap and batch["global_steps"] == step  # ours beside verl's own step field
    assert len(batch) == 2 and len(set(batch["uid"])) == 2


def test_the_schedule_comes_from_the_config_and_a_bad_key_stops_the_hook():
    assert make_trainer({"schedule": {"kind": "stair", "period": 8}}, step=3).siri_schedule.cap(3) == 8192
    with pytest.raises(ConfigKeyError, match=r"algorithm\.siri\.schedule\.peroid"):
        make_trainer({"schedule": {"peroid": 8}}).siri_schedule


def test_batch_truncation_keeps_padding_rows_finished_at_the_steps_cap():
    trainer = make_trainer(step=320)
    records = [ResponseRecord(8192, True, 8192), ResponseRecord(8192, False, 100), ResponseRecord(8192, True, 8192)]
    fields = [records[0].to_fields(), records[1].to_fields(), {}, records[2].to_fields(), {}]
    real = torch.tensor([True, True, False, True, False])  # rows 2 and 4: verl's padding
    truncation = trainer._siri_batch_truncation(fields, [0.0, 1.0, 0.0, 0.0, 0.0], real)
    assert truncation.truncated.tolist() == [True, False, False, True, False]
    assert truncation.caps.tolist() == [8192] * 5
    (facts,) = trainer._siri_facts  # the step metrics see the three real responses only
    assert facts.records == tuple(records) and facts.correct == (False, True, False)


def test_batch_truncation_refuses_a_real_row_without_a_record():
    trainer = make_trainer()
    with pytest.raises(MissingResponseRecordError, match="response 1 "):
        trainer._siri_batch_truncation([ResponseRecord(9, False, 3).to_fields(), {"turn_scores": []}],
                                       [0.0, 0.0], torch.tensor([True, True]))


def kv_batch(keys):
    """What the hook reads of verl's ``KVBatchMeta``: the keys, the partition and the length."""
    return type("KVBatchMeta", (), {"keys": keys, "partition_id": "train", "__len__": lambda self: len(keys)})()


class KVStore:
    """In-memory stand-in for TransferQueue's ``kv_batch_get`` / ``kv_batch_put`` (see the module docstring)."""

    def __init__(self, fields: dict[str, torch.Tensor]):
        self.fields = dict(fields)
        self.puts = 0

    def kv_batch_get(self, keys, partition_id, select_fields):
        return {name: self.fields[name] for name in select_fields}

    def kv_batch_put(self, keys, partition_id, fields):
        self.fields.update({name: fields[name] for name in fields.keys()})
        self.puts += 1


def nested(lengths):
    return torch.nested.as_nested_tensor([torch.ones(n) for n in lengths], layout=torch.jagged)


@pytest.mark.parametrize("truncated, real, masked_rows", [
    ([True, False, False, True], [True, True, True, True], [0, 3]),
    ([True, False, True, False], [True, True, True, False], [0, 2]),  # row 3 is padding
])
def test_drop_from_loss_zeroes_exactly_the_truncated_rows(monkeypatch, truncated, real, masked_rows):
    lengths = [4, 2, 4, 3]
    store = KVStore({"response_mask": nested(lengths), "loss_mask": nested(lengths)})
    monkeypatch.setattr(trainer_module, "tq", store)
    metrics: dict = {}
    make_trainer(step=320)._drop_from_loss(kv_batch(["a", "b", "c", "d"]), torch.tensor(truncated), torch.tensor(real), metrics)
    assert store.puts == 1 and metrics["siri/masked_responses"] == len(masked_rows)
    for name in ("response_mask", "loss_mask"):
        sums = store.fields[name].to_padded_tensor(0).sum(-1).tolist()
        assert sums == [0 if row in masked_rows else lengths[row] for row in range(4)]
        assert [len(t) for t in store.fields[name].unbind()] == lengths  # the layout is kept


def test_drop_from_loss_keeps_the_masks_when_every_real_response_is_truncated(monkeypatch):
    store = KVStore({"response_mask": nested([4, 4, 2]), "loss_mask": nested([4, 4, 2])})
    monkeypatch.setattr(trainer_module, "tq", store)
    metrics: dict = {}
    make_trainer()._drop_from_loss(kv_batch(["a", "b", "c"]), torch.tensor([True, True, False]),
                                   torch.tensor([True, True, False]), metrics)
    assert store.puts == 0 and metrics == {"siri/mask_skipped_all_truncated": 1.0}


def test_init_refuses_mask_with_a_seq_mean_loss_before_verl_builds_anything():
    config = OmegaConf.create({"data": {"max_response_length": 16384}, "algorithm": {"siri": {"truncation": "mask"}},
                               "actor_rollout_ref": {"actor": {"loss_agg_mode": "seq-mean-token-mean"}}})
    with pytest.raises(ValueError, match="loss_agg_mode=seq-mean-token-mean"):
        SiriPPOTrainer(config)  # would fail on missing verl keys if it got as far as PPOTrainerSync.__init__
