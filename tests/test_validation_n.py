"""Per-benchmark validation n (``algorithm.siri.validation_n``) through verl's own dataset, collate and
TensorDict, read the way verl 0.9.1's V1 validation reads ``__rollout_n__``."""

from __future__ import annotations


import inspect

import pandas as pd
import pytest
from omegaconf import OmegaConf

from siri_verl.config import SiriConfig, SiriConfigError
from siri_verl.integration.validation import (
    ROLLOUT_N_FIELD,
    PerSourceRolloutN,
)

from repo_paths import REPO

SOURCES = ["aime24"] * 3 + ["math500"] * 5 + ["other"] * 2
PER_SOURCE = {"aime24": 32, "math500": 4}
DEFAULT_N = 8


def val_parquet(path):
    rows = [{"data_source": source, "prompt": [{"role": "user", "content": f"What is {i} + 1?"}], "ability": "math",
             "reward_model": {"style": "rule", "ground_truth": str(i + 1)}, "extra_info": {"index": i}}
            for i, source in enumerate(SOURCES)]
    pd.DataFrame(rows).to_parquet(path)
    return path


def verl_val_dataloader(tmp_path, batch_size):
    """verl's validation dataloader as ``PPOTrainer._init_dataloader`` builds it (RLHFDataset, collate_fn)."""
    from torchdata.stateful_dataloader import StatefulDataLoader

    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 64, "filter_overlong_prompts": False,
                               "cache_dir": str(tmp_path / "cache"), "truncation": "error"})
    dataset = RLHFDataset(str(val_parquet(tmp_path / "val.parquet")), tokenizer=None, config=config)
    return StatefulDataLoader(dataset=dataset, batch_size=batch_size, shuffle=True, drop_last=False,
                              collate_fn=collate_fn)


@pytest.mark.parametrize("batch_size", [3, 10])
def test_each_row_carries_its_sources_n_through_verl_containers(tmp_path, batch_size):
    from verl.utils import tensordict_utils as tu
    from tensordict import NonTensorData, NonTensorStack

    loader = PerSourceRolloutN(verl_val_dataloader(tmp_path, batch_size), PER_SOURCE, DEFAULT_N)
    assert len(loader) == -(-len(SOURCES) // batch_size)
    seen = []
    for batch_dict in loader:
        # trainer_base._validate: expected accuracies per prompt
        ns = batch_dict.get(ROLLOUT_N_FIELD, [DEFAULT_N] * len(batch_dict["raw_prompt"]))
        batch = tu.get_tensordict(batch_dict)
        # agent_loop_tq.AgentLoopWorkerTQ.generate_sequences: one prompt dict per row, then
        # _run_prompt: n = prompt.pop("__rollout_n__", val_kwargs.n)
        for i in range(len(batch)):
            prompt = {}
            for key, value in batch.items():
                if isinstance(value, NonTensorStack):
                    prompt[key] = value[i].data
                elif isinstance(value, NonTensorData):
                    prompt[key] = value.data
                else:
                    prompt[key] = value[i]
            n = prompt.pop(ROLLOUT_N_FIELD, DEFAULT_N)
            assert int(n) == int(ns[i]) and len(range(n)) == n
            seen.append((prompt["data_source"], n))
    assert sorted(seen) == sorted((s, PER_SOURCE.get(s, DEFAULT_N)) for s in SOURCES)


def test_null_leaves_verl_batches_untouched(tmp_path):
    for batch_dict in PerSourceRolloutN(verl_val_dataloader(tmp_path, 4), {}, DEFAULT_N):
        assert ROLLOUT_N_FIELD not in batch_dict


@pytest.mark.parametrize("value, words", [
    ([32, 4], "must be a mapping"),
    ({"math500": 0}, "algorithm.siri.validation_n.math500=0"),
    ({"math500": 2.5}, "integer >= 1"),
    ({"aime24": True}, "integer >= 1"),
])
def test_malformed_values_name_the_key(value, words):
    with pytest.raises(SiriConfigError, match=words.replace("[", r"\[").replace(".", r"\.")) as error:
        SiriConfig.from_mapping({"validation_n": value})
    assert error.value.key.startswith("algorithm.siri.validation_n")
    assert SiriConfig.from_mapping({"validation_n": None}).validation_n is None
    assert SiriConfig.from_mapping({"validation_n": {"aime24": 32}}).validation_n == {"aime24": 32}


def test_verl_still_reads_a_per_row_rollout_n():
    """Fails when verl stops honouring ``__rollout_n__`` (the field this feature writes)."""
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopWorkerTQ
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    assert 'prompt.pop("__rollout_n__"' in inspect.getsource(AgentLoopWorkerTQ._run_prompt)
    assert '"__rollout_n__"' in inspect.getsource(PPOTrainer._validate)


@pytest.mark.slow
def test_siri_trainer_init_dataloader_wraps_verls_validation_loader(tmp_path, tiny):
    """SiriPPOTrainer._init_dataloader on verl's own _init_dataloader, composed from the paper recipe."""
    from transformers import AutoTokenizer

    from siri_verl.integration.trainer import SiriPPOTrainer
    from siri_verl.recipe_config import compose_target

    data = val_parquet(tmp_path / "val.parquet")
    recipe = REPO / "recipes" / "siri_1.5b.yaml"
    config = compose_target(str(recipe), [
        f"actor_rollout_ref.model.path={tiny / 'model'}", f"data.train_files={data}", f"data.val_files=[{data}]",
        f"trainer.default_local_dir={tmp_path / 'ckpt'}", "data.train_batch_size=2", "data.val_batch_size=4",
        f"+data.cache_dir={tmp_path / 'cache'}", "algorithm.siri.validation_n={aime24: 32, math500: 4}",
        f"actor_rollout_ref.rollout.val_kwargs.n={DEFAULT_N}"])
    trainer = object.__new__(SiriPPOTrainer)  # only the dataloader stage: no workers, no Ray
    trainer.config, trainer.trainer_mode, trainer.parameter_sync_step = config, "sync", 1
    trainer.tokenizer, trainer.processor = AutoTokenizer.from_pretrained(tiny / "model"), None
    trainer._init_dataloader()
    assert isinstance(trainer.val_dataloader, PerSourceRolloutN)
    seen = sorted((str(s), int(n)) for b in trainer.val_dataloader
                  for s, n in zip(b["data_source"], b[ROLLOUT_N_FIELD]))
    assert seen == sorted((s, PER_SOURCE.get(s, DEFAULT_N)) for s in SOURCES)
    assert all(ROLLOUT_N_FIELD not in b for b in trainer.train_dataloader)  # training n stays rollout.n
