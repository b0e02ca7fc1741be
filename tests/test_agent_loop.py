"""The SIRI agent loop: the step's cap reaches the request's ``max_tokens`` and truncation is flagged.

Runs verl's real ``SingleTurnAgentLoop`` machinery with a fake server, as verl's own CPU agent-loop
tests do; the loop is constructed inside the running event loop (``AgentLoopBase`` captures it).
"""

from __future__ import annotations

import asyncio
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


def test_loop_is_registered_by_name_in_verls_registry():
    """The plugin registers the loop with verl's own ``register``: agent-loop workers find it by name, with no
    ``agent_loop_config_path`` (which would be a driver-local absolute path on a multi-node run)."""
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    entry = _agent_loop_registry["siri_single_turn"]
    server = FakeServer(natural_length=3)
    out = run_loop(server, 8, loop_config=dict(entry))
    assert server.requests[0]["max_tokens"] == 8
    assert out.extra_fields["siri_cap"] == 8


# --- the paper's model family: DeepSeek-R1-Distill-Qwen's tokens and template on a qwen2 model ------------


@pytest.fixture(scope="module")
def family_tokenizers(tmp_path_factory):
    """{family: tokenizer as verl loads it from a saved tiny model folder}."""
    from siri_verl.cpu import tiny

    loaded = {}
    for family in tiny.FAMILIES:
        problems = tiny.make_problems(32, seed=0, family=family)
        trained = tiny.tokenizer_for(problems, family=family)
        model = tiny.build_model(trained, family=family)
        loaded[family] = tiny.save_and_reload(model, trained, tmp_path_factory.mktemp(family), family=family)
    return loaded


class TokenServer(FakeServer):
    """Emits ``body`` then ``stop`` (token ids of a real tokenizer), cut at max_tokens."""

    def __init__(self, body: list[int], stop: int):
        super().__init__(natural_length=0)
        self.body, self.stop, self.prompts = body, stop, []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs) -> TokenOutput:
        self.requests.append(dict(sampling_params))
        self.prompts.append(list(prompt_ids))
        tokens = (self.body + [self.stop])[: sampling_params["max_tokens"]]
        return TokenOutput(token_ids=tokens, log_probs=[-0.5] * len(tokens), stop_reason="completed")


def run_real_tokenizer_loop(tokenizer, server, cap, loop_class="siri_verl.integration.agent_loop.SiriSingleTurnAgentLoop"):
    config = make_config()
    config.actor_rollout_ref.rollout.prompt_length = 64  # the whole R1 prompt (verl keeps only the last ones)

    async def go():
        loop = hydra.utils.instantiate(
            config={"_target_": loop_class}, trainer_config=DictConfigWrap(config), server_manager=server,
            tokenizer=tokenizer, processor=None, dataset_cls=RLHFDataset, data_config=DictConfigWrap(config.data),
            hf_model_type="qwen2",  # what verl reads from R1-Distill-Qwen's config.json
        )
        out = await loop.run({"temperature": 1.0, "logprobs": True},
                             raw_prompt=[{"role": "user", "content": "What is 1 + 2?"}], siri_cap=cap)
        return loop, out

    return asyncio.run(go())


def test_verls_own_single_turn_loop_crashes_on_the_r1_tokenizer(family_tokenizers):
    """The upstream bug this loop works around (verl #7637): qwen2 -> Qwen builder -> needs <|im_end|>."""
    with pytest.raises(Exception, match="does not define required token '<\\|im_end\\|>'"):  # hydra wraps it
        run_real_tokenizer_loop(family_tokenizers["r1"], TokenServer([5], 6), 8,
                                loop_class="verl.experimental.agent_loop.single_turn_agent_loop.SingleTurnAgentLoop")


def test_r1_tokenizer_gets_deepseek_builder_and_the_r1_prompt(family_tokenizers, caplog):
    from verl.utils.tokenizer.continuous_token import DeepSeekContinuousTokenBuilder

    from siri_verl.cpu import tiny

    tokenizer = family_tokenizers["r1"]
    eos = tokenizer.convert_tokens_to_ids(tiny.R1_EOS)
    body = tokenizer.encode("1+2=3\n</think>\n\n\\boxed{3}", add_special_tokens=False)
    server = TokenServer(body, eos)
    with caplog.at_level("INFO", logger="verl.utils.tokenizer.continuous_token_wiring"):
        loop, out = run_real_tokenizer_loop(tokenizer, server, cap=len(body) + 1)
    assert isinstance(loop.continuous_token_builder, DeepSeekContinuousTokenBuilder)
    # verl's fallback notice would be logged once per sample (hundreds of lines a step): it is not
    assert not [r for r in caplog.records if "No model-specific" in r.getMessage()]
    prompt = server.prompts[0]
    # turn boundaries of the R1 template: BOS once, the User marker, the question, the Assistant marker, <think>\n
    tokens = tokenizer.convert_ids_to_tokens(prompt)
    assert tokens[:2] == [tiny.R1_BOS, tiny.R1_USER] and tokens.count(tiny.R1_BOS) == 1
    assert tokenizer.decode(prompt) == f"{tiny.R1_BOS}{tiny.R1_USER}What is 1 + 2?{tiny.R1_ASSISTANT}<think>\n"
    assert prompt == tiny.prompt_ids(tokenizer, "What is 1 + 2?")
    # the EOS the model emits ends the response: finished, not truncated, although it fills the cap exactly
    assert out.response_ids[-1] == eos == tokenizer.eos_token_id
    assert out.extra_fields["siri_truncated"] is False
    _, cut = run_real_tokenizer_loop(tokenizer, TokenServer(body, eos), cap=len(body))
    assert cut.extra_fields["siri_truncated"] is True  # cut before its EOS


def test_chatml_tokenizer_keeps_verls_qwen_builder(family_tokenizers):
    from verl.utils.tokenizer.continuous_token import QwenContinuousTokenBuilder

    tokenizer = family_tokenizers["chatml"]
    loop, out = run_real_tokenizer_loop(tokenizer, TokenServer([5, 6], tokenizer.eos_token_id), cap=8)
    assert type(loop.continuous_token_builder) is QwenContinuousTokenBuilder
    assert out.extra_fields["siri_truncated"] is False


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
