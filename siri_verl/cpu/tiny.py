"""Tiny CPU assets built locally (no model hub): a tokenizer, a Qwen2-architecture model, a math parquet.

The tokenizer and model mirror the structure of the model the SIRI paper trains, DeepSeek-R1-Distill-Qwen
(``FAMILIES["r1"]``, the default): the same special tokens with the same roles and ``special`` flags
(BOS ``<｜begin▁of▁sentence｜>``, EOS = pad ``<｜end▁of▁sentence｜>``, the non-special ``<｜User｜>`` /
``<｜Assistant｜>`` turn markers, ``<think>`` / ``</think>``, no ``<|im_end|>``), the same chat template (its
generation prompt ends in ``<｜Assistant｜><think>\\n``, so a response starts inside its thinking), the same
pre-tokenizer (Qwen2's regex: digits one by one, then byte-level BPE), a BOS-adding post-processor, a
``generation_config.json`` with the same EOS, and ``model_type`` ``qwen2`` -- only the vocabulary is trained
locally and the network is tiny. verl picks its agent-loop token builder from exactly these facts, so the
CPU loop exercises the path a GPU run of the paper's model takes. ``FAMILIES["chatml"]`` is the second
family (Qwen-Instruct-like: ``<|im_start|>`` / ``<|im_end|>``).

The model is a random 2-layer Qwen2 (head_dim 32, which vLLM's CPU attention supports; about 100 K
parameters) given a few seconds of supervised warm-up on fixture problems, so that it answers in the family's
format within the tiny caps (R1 family shown; the prompt already ends in ``<think>\\n``)::

    3+5=8,8+2=10\\n</think>\\n\\n\\boxed{10}<｜end▁of▁sentence｜>

A random model almost never emits an answer and EOS, so every reward and every gradient would be 0 and a
weight-sync check would pass trivially. After the warm-up some answers are right and some wrong, and problems
with more terms need more tokens, so a 16-token cap truncates them while a 48-token cap does not: the real
reward and the truncation rule then drive updates with a nonzero gradient norm.

Command line (also used by ``recipes/siri_tiny_cpu.sh``)::

    python -m siri_verl.cpu.tiny --out /tmp/siri_tiny [--family r1|chatml]   # model/, train/val parquet, assets.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

DATA_SOURCE = "siri_tiny_math"
"""``data_source`` of the fixture rows (scored by siri_verl.reward like any math row)."""

QWEN2_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
"""The Split pattern of Qwen2's (and R1-Distill-Qwen's) tokenizer.json: every digit is its own pre-token."""

R1_BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
R1_EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
R1_USER = "<\uff5cUser\uff5c>"
R1_ASSISTANT = "<\uff5cAssistant\uff5c>"

# DeepSeek-R1-Distill-Qwen's chat template (tokenizer_config.json of the 1.5B/7B releases, the revision whose
# generation prompt opens the thinking block), verbatim.
R1_CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
    "{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}"
    "{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}"
    "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' "
    "+ tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' "
    "+ '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}"
    "{{'\\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' "
    "+ '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}"
    "{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}"
    "{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}"
    "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
    "{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}"
    "{%- set ns.is_output_first = false %}{%- else %}"
    "{{'\\n<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}"
    "{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class ChatFamily:
    """What a model family's tokenizer files say, at tiny scale (the vocabulary itself is trained locally)."""

    name: str
    bos_token: Optional[str]
    """Added by the chat template and, when ``add_bos_token``, by the tokenizer's post-processor."""
    eos_token: str
    """The tokenizer's EOS; the model's ``config.json`` and ``generation_config.json`` name its id."""
    pad_token: str
    added_tokens: tuple[tuple[str, bool], ...]
    """(content, special) in the order the real vocabulary appends them after its BPE tokens. ``special=False``
    tokens survive ``decode(skip_special_tokens=True)``: R1's turn markers and ``</think>`` (the reward needs it)."""
    chat_template: str
    generation_eos_tokens: tuple[str, ...]
    """``generation_config.json``'s ``eos_token_id`` (the tokens vLLM stops on besides the tokenizer's EOS)."""
    tokenizer_config: tuple[tuple[str, object], ...]
    """Extra ``tokenizer_config.json`` entries the real release carries."""
    thinking_opened_by_prompt: bool
    """The generation prompt ends in ``<think>\\n`` (R1): a response starts inside its thinking."""

    def solution(self, steps: str, answer: str) -> str:
        """The assistant's response text without EOS, as the model of this family writes it."""
        if self.thinking_opened_by_prompt:
            return f"{steps}\n</think>\n\n\\boxed{{{answer}}}"
        return f"<think>{steps}</think>\\boxed{{{answer}}}"


FAMILIES = {
    "r1": ChatFamily(
        name="r1",
        bos_token=R1_BOS,
        eos_token=R1_EOS,
        pad_token=R1_EOS,
        added_tokens=(
            (R1_EOS, True), (R1_USER, False), (R1_ASSISTANT, False), (R1_BOS, True),
            ("<|EOT|>", False), ("<think>", False), ("</think>", False),
        ),
        chat_template=R1_CHAT_TEMPLATE,
        generation_eos_tokens=(R1_EOS,),
        tokenizer_config=(("add_bos_token", True), ("add_eos_token", False), ("legacy", True),
                          ("clean_up_tokenization_spaces", False), ("tokenizer_class", "LlamaTokenizerFast"),
                          ("model_max_length", 16384)),
        thinking_opened_by_prompt=True,
    ),
    "chatml": ChatFamily(
        name="chatml",
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        added_tokens=(("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
                      ("<think>", False), ("</think>", False)),
        chat_template=CHATML_TEMPLATE,
        generation_eos_tokens=("<|im_end|>", "<|endoftext|>"),
        tokenizer_config=(("add_bos_token", False), ("clean_up_tokenization_spaces", False),
                          ("tokenizer_class", "Qwen2Tokenizer"), ("model_max_length", 32768)),
        thinking_opened_by_prompt=False,
    ),
}
DEFAULT_FAMILY = "r1"


def family_of(name: str) -> ChatFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown tiny model family {name!r}; choose one of {sorted(FAMILIES)}") from None


@dataclass(frozen=True)
class TinyProblem:
    """A sum of small integers with its worked solution."""

    question: str
    answer: str
    solution: str
    """The assistant's response without EOS, in the family's format (``ChatFamily.solution``)."""
    num_terms: int


def make_problems(
    count: int, seed: int, min_terms: int = 2, max_terms: int = 4, max_value: int = 5, family: str = DEFAULT_FAMILY
) -> list[TinyProblem]:
    """``count`` sums of ``min_terms..max_terms`` integers in ``1..max_value``, drawn with ``random.Random(seed)``.

    More terms = a longer solution: 2 terms fit a 16-token cap, 3 and 4 terms need more
    (tests/test_cpu_tiny.py checks the numbers for both families).
    """
    chat = family_of(family)
    rng = random.Random(seed)
    problems = []
    for _ in range(count):
        terms = [rng.randint(1, max_value) for _ in range(rng.randint(min_terms, max_terms))]
        steps, total = [], terms[0]
        for term in terms[1:]:
            steps.append(f"{total}+{term}={total + term}")
            total += term
        question = "What is " + " + ".join(str(t) for t in terms) + "?"
        problems.append(TinyProblem(question, str(total), chat.solution(",".join(steps), str(total)), len(terms)))
    return problems


def build_tokenizer(corpus: list[str], vocab_size: int = 512, family: str = DEFAULT_FAMILY):
    """A byte-level BPE with Qwen2's pre-tokenizer trained on ``corpus``, with ``family``'s tokens and template."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers
    from transformers import PreTrainedTokenizerFast

    chat = family_of(family)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    for content, special in chat.added_tokens:  # one at a time: ids in the real release's order
        tokenizer.add_tokens([AddedToken(content, special=special, normalized=False)])
    if chat.bos_token is not None:
        bos = chat.bos_token
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokenizer.token_to_id(bos))]
        )
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=chat.bos_token, eos_token=chat.eos_token, pad_token=chat.pad_token,
        unk_token=None,
    )
    hf_tokenizer.chat_template = chat.chat_template
    return hf_tokenizer


def tokenizer_for(problems: list[TinyProblem], family: str = DEFAULT_FAMILY):
    """The tokenizer trained on the problems' questions and solutions plus the chat template's text."""
    corpus = [p.question for p in problems] + [p.solution for p in problems] + [family_of(family).chat_template]
    return build_tokenizer(corpus, family=family)


def save_and_reload(model, tokenizer, directory: str | Path, family: str = DEFAULT_FAMILY):
    """Save model + tokenizer to ``directory`` and return the tokenizer as verl and vLLM will load it from there.

    ``tokenizer_config.json`` gets the family's entries (``tokenizer_class``, ``add_bos_token``, ...) and the chat
    template, as the real release writes them. transformers 5 picks the tokenizer class from the model's ``model_type``
    (``Qwen2Tokenizer`` for qwen2) whatever that file names -- as it does for the real R1-Distill-Qwen folder --
    so warm-up and evaluation use the reloaded tokenizer, never the one trained in memory.
    """
    from transformers import AutoTokenizer

    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    config_path, template_path = Path(directory) / "tokenizer_config.json", Path(directory) / "chat_template.jinja"
    config = json.loads(config_path.read_text())
    config.update(dict(family_of(family).tokenizer_config))
    if template_path.exists():  # the released files keep the template inside tokenizer_config.json
        config["chat_template"] = template_path.read_text()
        template_path.unlink()
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return AutoTokenizer.from_pretrained(directory)


def build_model(tokenizer, seed: int = 0, hidden_size: int = 64, num_layers: int = 2, family: str = DEFAULT_FAMILY):
    """A random Qwen2ForCausalLM sized for CPU tests (float32, untied lm_head like R1-Distill-Qwen-1.5B).

    2 attention heads of 32 dims (vLLM's CPU attention supports head_dim 32, 64, 80, ...), 1 KV head (grouped
    query attention, as in the real model). ``config.json`` names EOS as both its BOS and EOS id, as the real
    release's does; ``generation_config.json`` carries the family's BOS and EOS list and the paper's sampling.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    chat = family_of(family)
    eos_ids = [tokenizer.convert_tokens_to_ids(t) for t in chat.generation_eos_tokens]
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id if chat.bos_token is not None else None,
        attn_implementation="sdpa",
    )
    model = Qwen2ForCausalLM(config)
    generation = model.generation_config
    generation.bos_token_id = tokenizer.bos_token_id
    generation.eos_token_id = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    generation.pad_token_id = None
    generation.do_sample, generation.temperature, generation.top_p = True, 0.6, 0.95
    return model.eval()


def prompt_ids(tokenizer, question: str) -> list[int]:
    """Token ids of the chat prompt verl's RLHFDataset/agent loop builds for ``question``."""
    return list(
        tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
    )


def warm_up(model, tokenizer, problems: list[TinyProblem], steps: int, lr: float, batch_size: int, seed: int) -> dict:
    """Supervised warm-up on prompt -> solution + EOS (loss on the response only); returns loss statistics."""
    import torch

    torch.manual_seed(seed)
    examples = []
    for problem in problems:
        prompt = prompt_ids(tokenizer, problem.question)
        response = tokenizer.encode(problem.solution, add_special_tokens=False) + [tokenizer.eos_token_id]
        examples.append((prompt + response, [-100] * len(prompt) + response))
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        batch = rng.sample(examples, min(batch_size, len(examples)))
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, lab) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(lab)] = torch.tensor(lab)
            attention_mask[row, : len(ids)] = 1
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return {"first_loss": losses[0], "last_loss": losses[-1], "steps": steps}


def stop_token_ids(model, tokenizer) -> list[int]:
    """The tokenizer's EOS and ``generation_config.json``'s EOS list: what vLLM stops on."""
    eos = model.generation_config.eos_token_id
    ids = [tokenizer.eos_token_id] + ([eos] if isinstance(eos, int) else list(eos or []))
    return sorted(set(ids))


def evaluate_tiny(
    model, tokenizer, problems: list[TinyProblem], max_tokens: int, temperature: float, seed: int
) -> dict:
    """Sample one answer per problem with siri_verl.generation; share correct / ended with EOS / mean length."""
    import re

    import torch

    from siri_verl.generation import SamplingParams, generate

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    stop_ids = stop_token_ids(model, tokenizer)
    generator = torch.Generator().manual_seed(seed)
    correct = stopped = total_len = 0
    for problem in problems:
        out = generate(model, prompt_ids(tokenizer, problem.question), params, stop_ids, generator)
        text = tokenizer.decode(out.token_ids, skip_special_tokens=True)
        boxed = re.findall(r"\\boxed\{([^}]*)\}", text)
        stopped += out.finish_reason == "stop"
        correct += out.finish_reason == "stop" and bool(boxed) and boxed[-1].strip() == problem.answer
        total_len += len(out.token_ids)
    n = len(problems)
    return {"acc": correct / n, "stop_rate": stopped / n, "mean_length": total_len / n, "max_tokens": max_tokens}


def write_parquet(problems: list[TinyProblem], path: Path, split: str) -> None:
    """Rows in verl's RLHFDataset schema (data_source, prompt, ability, reward_model, extra_info)."""
    import pandas as pd

    rows = [
        {
            "data_source": DATA_SOURCE,
            "prompt": [{"role": "user", "content": p.question}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": p.answer},
            "extra_info": {"index": i, "split": split, "question": p.question, "num_terms": p.num_terms},
        }
        for i, p in enumerate(problems)
    ]
    pd.DataFrame(rows).to_parquet(path, index=False)


@dataclass
class TinyAssets:
    """Where build_tiny_assets wrote things, and what the warm-up achieved."""

    model_dir: str
    train_parquet: str
    val_parquet: str
    build_args: dict
    """The build_tiny_assets arguments; a folder is reused only for the same ones."""
    warmup: dict
    eval_at_caps: list


def build_tiny_assets(
    out_dir: str | Path,
    *,
    num_train: int = 256,
    num_val: int = 32,
    warmup_steps: int = 300,
    warmup_lr: float = 3e-3,
    seed: int = 0,
    eval_caps: tuple[int, ...] = (16, 48),
    family: str = DEFAULT_FAMILY,
) -> TinyAssets:
    """Build tokenizer + model, warm it up, write model/, train.parquet, val.parquet and assets.json into out_dir."""
    import torch

    torch.set_num_threads(1)  # 10x faster than 2 threads when the cores are shared (CI, the trainer's workers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train = make_problems(num_train, seed=seed, family=family)
    val = make_problems(num_val, seed=seed + 1, family=family)
    model_dir = out / "model"
    trained_tokenizer = tokenizer_for(train, family=family)
    model = build_model(trained_tokenizer, seed=seed, family=family)
    tokenizer = save_and_reload(model, trained_tokenizer, model_dir, family=family)
    warmup = warm_up(model, tokenizer, train, steps=warmup_steps, lr=warmup_lr, batch_size=32, seed=seed)
    eval_at_caps = [evaluate_tiny(model, tokenizer, val, cap, temperature=1.0, seed=seed) for cap in eval_caps]
    model.save_pretrained(model_dir)
    write_parquet(train, out / "train.parquet", "train")
    write_parquet(val, out / "val.parquet", "test")
    build_args = {"num_train": num_train, "num_val": num_val, "warmup_steps": warmup_steps, "warmup_lr": warmup_lr,
                  "seed": seed, "family": family}
    assets = TinyAssets(str(model_dir), str(out / "train.parquet"), str(out / "val.parquet"), build_args, warmup,
                        eval_at_caps)
    (out / "assets.json").write_text(json.dumps(asdict(assets), indent=2))
    return assets


def build_random_tiny(seed: int = 0, family: str = DEFAULT_FAMILY):
    """(tokenizer, model) without warm-up, in about a second: for unit tests of generation and the rollout."""
    tokenizer = tokenizer_for(make_problems(64, seed=seed, family=family), family=family)
    return tokenizer, build_model(tokenizer, seed=seed, family=family)


def add_arguments(parser: argparse.ArgumentParser, warmup_steps: int = 300) -> None:
    """The asset builders' common flags (also ``python -m siri_verl.cpu.length_task``'s)."""
    parser.add_argument("--out", required=True,
                        help="directory to write model/, train.parquet, val.parquet, assets.json into")
    parser.add_argument("--num-train", type=int, default=256, help="training problems (also the warm-up set)")
    parser.add_argument("--num-val", type=int, default=32, help="validation problems (different seed)")
    parser.add_argument("--warmup-steps", type=int, default=warmup_steps, help="supervised warm-up steps (batch 32)")
    parser.add_argument("--warmup-lr", type=float, default=3e-3, help="AdamW learning rate of the warm-up")
    parser.add_argument("--seed", type=int, default=0, help="seed of problems, weights and warm-up")
    parser.add_argument("--family", choices=sorted(FAMILIES), default=DEFAULT_FAMILY,
                        help="tokenizer family: r1 = DeepSeek-R1-Distill-Qwen's tokens and template (the paper's "
                             "model), chatml = Qwen-Instruct-like")
    parser.add_argument("--force", action="store_true", help="rebuild even if out/assets.json exists")


def build_args_of(args: argparse.Namespace) -> dict:
    """The build arguments ``assets.json`` records (a folder is reused only for the same ones)."""
    return {"num_train": args.num_train, "num_val": args.num_val, "warmup_steps": args.warmup_steps,
            "warmup_lr": args.warmup_lr, "seed": args.seed, "family": args.family}


def existing_assets_status(out: Path, wanted: dict, force: bool, prog: str) -> Optional[int]:
    """None: build into ``out``. 0: ``out`` holds assets built with ``wanted`` (reused). 2: it holds others."""
    if force or not (out / "assets.json").exists():
        return None
    built = json.loads((out / "assets.json").read_text()).get("build_args")
    if built != wanted:
        print(f"[{prog}] error: {out} holds assets built with {built}, not {wanted}; pass --force to rebuild "
              "there or choose another --out", file=sys.stderr)
        return 2
    print(f"[{prog}] reusing {out} (same build arguments; --force rebuilds)")
    return 0


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    status = existing_assets_status(out, build_args_of(args), args.force, "tiny")
    if status is not None:
        return status
    start = time.monotonic()
    assets = build_tiny_assets(
        out,
        num_train=args.num_train,
        num_val=args.num_val,
        warmup_steps=args.warmup_steps,
        warmup_lr=args.warmup_lr,
        seed=args.seed,
        family=args.family,
    )
    print(f"[tiny] built {out} in {time.monotonic() - start:.1f}s; warm-up {assets.warmup}")
    for row in assets.eval_at_caps:
        print(f"[tiny] val at cap {row['max_tokens']}: acc={row['acc']:.2f} stop_rate={row['stop_rate']:.2f} "
              f"mean_length={row['mean_length']:.1f}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siri_verl.cpu.tiny", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

