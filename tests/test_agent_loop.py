"""The SIRI agent loop: the step's cap reaches the request's ``max_tokens`` and truncation is flagged.

Runs verl's real ``SingleTurnAgentLoop`` machinery with a fake server, as verl's own CPU agent-loop
tests do; the loop is constructed inside the running event loop (``AgentLoopBase`` captures it).
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

import hydra
import pytest
from omegaconf import OmegaConf

from verl.experimental.agent_loop.agent_loop import DictConfigWrap
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

from siri_verl.integration.agent_loop import SiriSingleTurnAgentLoop
from siri_verl.schedule import ScheduleConfig, LengthSchedule

EOS = 2
RESPONSE_LENGTH = 16


class FakeServer:
    """Generates ``natural_length`` tokens then EOS, cut at the request's max_tokens (like vLLM)."""

    def __init__(self, natural_length: int):
        self.natural_length = natural_length
        self.requests: list[dict[str, Any]] = []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs) -> TokenOutput:
        self.requests.append(dict(sampling_params))
        tokens = [7] * self.natural_length + [EOS]
        tokens = tokens[: sampling_params["max_tokens"]]
        return TokenOutput(token_ids=tokens, log_probs=[-0.5] * len(tokens), stop_reason="completed")


class FakeTokenizer:
    eos_token_id = EOS
    padding_side = "right"

    def apply_chat_template(self, messages, *, tools=None, add_generation_prompt=True, tokenize=True, **kwargs):
        return [101, 102]


def make_config(validation_max_tokens=None):
    return OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 8, "response_length": RESPONSE_LENGTH, "multi_turn": {"tool_config_path": None}},
                "model": {},
            },
            "data": {"tool_config_path": None, "apply_chat_template_kwargs": {}},
            "algorithm": {"siri": {"validation_max_tokens": validation_max_tokens}},
        }
    )


def run_loop(server, sample_cap, config=None, loop_config=None):
    config = config or make_config()

    async def go():
        target = loop_config or {"_target_": "siri_verl.integration.agent_loop.SiriSingleTurnAgentLoop"}
        loop = hydra.utils.instantiate(
            config=target,
            trainer_config=DictConfigWrap(config),
            server_manager=server,
            tokenizer=FakeTokenizer(),
            processor=None,
            dataset_cls=RLHFDataset,
            data_config=DictConfigWrap(config.data),
        )
        kwargs = {"raw_prompt": [{"role": "user", "content": "hi"}]}
        if sample_cap is not None:
            kwargs["siri_cap"] = sample_cap
        return await loop.run({"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}, **kwargs)

    return asyncio.run(go())


def test_packaged_agent_loop_config_names_the_class():
    path = resources.files("siri_verl") / "config" / "agent_loops.yaml"
    entries = OmegaConf.load(str(path))
    entry = next(e for e in entries if e.name == "siri_single_turn")
    server = FakeServer(natural_length=3)
    out = run_loop(server, 8, loop_config={"_target_": entry["_target_"]})
    assert server.requests[0]["max_tokens"] == 8
    assert out.extra_fields["siri_cap"] == 8


def test_schedule_caps_reach_max_tokens_per_request():
    schedule = LengthSchedule(ScheduleConfig(kind="cosine", min_length=8, max_length=16, period=4, num_cycles=1))
    server = FakeServer(natural_length=100)  # never finishes: always truncated at the cap
    seen = []
    for step in range(1, 5):
        out = run_loop(server, schedule.cap(step))
        seen.append((server.requests[-1]["max_tokens"], len(out.response_ids), out.extra_fields["siri_truncated"]))
    caps = [schedule.cap(step) for step in range(1, 5)]
    assert caps == [12, 8, 12, 16]
    assert seen == [(c, c, True) for c in caps]


def test_truncation_flag_is_reached_cap_without_eos():
    # finishes with EOS well before the cap
    out = run_loop(FakeServer(natural_length=3), 8)
    assert out.response_ids[-1] == EOS and len(out.response_ids) == 4
    assert out.extra_fields["siri_truncated"] is False
    assert out.extra_fields["siri_response_length"] == 4
    # EOS lands exactly on the cap: finished, not truncated
    out = run_loop(FakeServer(natural_length=7), 8)
    assert len(out.response_ids) == 8 and out.extra_fields["siri_truncated"] is False
    # one token short of EOS at the cap: truncated
    out = run_loop(FakeServer(natural_length=8), 8)
    assert len(out.response_ids) == 8 and out.extra_fields["siri_truncated"] is True


def test_validation_uses_its_own_cap():
    server = FakeServer(natural_length=100)
    out = run_loop(server, None)
    assert server.requests[-1]["max_tokens"] == RESPONSE_LENGTH
    assert out.extra_fields["siri_cap"] == RESPONSE_LENGTH
    out = run_loop(server, None, config=make_config(validation_max_tokens=12))
    assert server.requests[-1]["max_tokens"] == 12 and out.extra_fields["siri_truncated"] is True


def test_cap_above_the_buffer_fails_naming_the_key():
    with pytest.raises(ValueError, match="data.max_response_length"):
        run_loop(FakeServer(natural_length=3), RESPONSE_LENGTH + 1)


def test_sampling_params_are_not_mutated_for_other_samples():
    server = FakeServer(natural_length=3)
    shared = {"temperature": 1.0}

    async def go():
        config = make_config()
        loop = SiriSingleTurnAgentLoop(
            trainer_config=DictConfigWrap(config), server_manager=server, tokenizer=FakeTokenizer(),
            processor=None, dataset_cls=RLHFDataset, data_config=DictConfigWrap(config.data),
        )
        await loop.run(shared, raw_prompt=[{"role": "user", "content": "hi"}], siri_cap=5)

    asyncio.run(go())
    assert "max_tokens" not in shared and server.requests[0]["max_tokens"] == 5
