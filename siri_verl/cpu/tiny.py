"""Tiny CPU assets built locally (no model hub): a tokenizer, a Qwen2-architecture model, a math parquet.

The model is a random 2-layer Qwen2 (about 100 K parameters) given a few seconds of supervised warm-up on
fixture problems, so that it answers in the SIRI format within the tiny caps::

    <think>3+5=8,8+2=10</think>\\boxed{10}<|im_end|>

A random model almost never emits an answer and EOS, so every reward and every gradient would be 0 and a
weight-sync check would pass trivially. After the warm-up some answers are right and some wrong, and problems
with more terms need more tokens, so a 16-token cap truncates them while a 48-token cap does not: the real
reward and the truncation rule then drive updates with a nonzero gradient norm.

Command line (also used by ``recipes/siri_tiny_cpu.sh``)::

    python -m siri_verl.cpu.tiny --out /tmp/siri_tiny     # writes model/, train.parquet, val.parquet, assets.json
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
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = [PAD_TOKEN, "<|im_start|>", EOS_TOKEN]
THINK_TOKENS = ["<think>", "</think>"]  # ordinary added tokens: decoding keeps them for the reward's parser
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class TinyProblem:
    """A sum of small integers with its worked solution."""

    question: str
    answer: str
    solution: str
    """The assistant's response without EOS: <think>partial sums</think>\\boxed{answer}."""
    num_terms: int


def make_problems(
    count: int, seed: int, min_terms: int = 2, max_terms: int = 4, max_value: int = 5
) -> list[TinyProblem]:
    """``count`` sums of ``min_terms..max_terms`` integers in ``1..max_value``, drawn with ``random.Random(seed)``.

    More terms = a longer solution: with the tokenizer verl loads, 2 terms fit a 16-token cap, 3 and 4 terms
    need more (tests/test_cpu_tiny.py checks the numbers).
    """
    rng = random.Random(seed)
    problems = []
    for _ in range(count):
        terms = [rng.randint(1, max_value) for _ in range(rng.randint(min_terms, max_terms))]
        steps, total = [], terms[0]
        for term in terms[1:]:
            steps.append(f"{total}+{term}={total + term}")
            total += term
        question = "What is " + " + ".join(str(t) for t in terms) + "?"
        solution = "<think>" + ",".join(steps) + "</think>\\boxed{" + str(total) + "}"
        problems.append(TinyProblem(question, str(total), solution, len(terms)))
    return problems


def build_tokenizer(corpus: list[str], vocab_size: int = 512):
    """A byte-level BPE trained on ``corpus``, wrapped as a transformers tokenizer with a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, unk_token=None
    )
    hf_tokenizer.add_tokens(THINK_TOKENS)
    hf_tokenizer.chat_template = CHATML_TEMPLATE
    return hf_tokenizer


def tokenizer_for(problems: list[TinyProblem]):
    """The tokenizer trained on the problems' questions and solutions plus the chat template's text."""
    return build_tokenizer([p.question for p in problems] + [p.solution for p in problems] + [CHATML_TEMPLATE])


def save_and_reload(model, tokenizer, directory: str | Path):
    """Save model + tokenizer to ``directory`` and return the tokenizer as verl will load it from there.

    transformers' ``AutoTokenizer`` picks ``Qwen2Tokenizer`` for a qwen2 model folder, whose pre-tokenizer splits
    digits one by one -- not the tokenizer trained in memory. Warm-up and evaluation must use the reloaded one.
    """
    from transformers import AutoTokenizer

    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory)


def build_model(tokenizer, seed: int = 0, hidden_size: int = 64, num_layers: int = 2):
    """A random Qwen2ForCausalLM sized for CPU tests (tied embeddings, float32)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        attn_implementation="sdpa",
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
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


def evaluate_tiny(
    model, tokenizer, problems: list[TinyProblem], max_tokens: int, temperature: float, seed: int
) -> dict:
    """Sample one answer per problem with siri_verl.generation; share correct / ended with EOS / mean length."""
    import re

    import torch

    from siri_verl.generation import SamplingParams, generate

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    generator = torch.Generator().manual_seed(seed)
    correct = stopped = total_len = 0
    for problem in problems:
        out = generate(model, prompt_ids(tokenizer, problem.question), params, [tokenizer.eos_token_id], generator)
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
) -> TinyAssets:
    """Build tokenizer + model, warm it up, write model/, train.parquet, val.parquet and assets.json into out_dir."""
    import torch

    torch.set_num_threads(1)  # 10x faster than 2 threads when the cores are shared (CI, the trainer's workers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train = make_problems(num_train, seed=seed)
    val = make_problems(num_val, seed=seed + 1)
    model_dir = out / "model"
    trained_tokenizer = tokenizer_for(train)
    model = build_model(trained_tokenizer, seed=seed)
    tokenizer = save_and_reload(model, trained_tokenizer, model_dir)
    warmup = warm_up(model, tokenizer, train, steps=warmup_steps, lr=warmup_lr, batch_size=32, seed=seed)
    eval_at_caps = [evaluate_tiny(model, tokenizer, val, cap, temperature=1.0, seed=seed) for cap in eval_caps]
    model.save_pretrained(model_dir)
    write_parquet(train, out / "train.parquet", "train")
    write_parquet(val, out / "val.parquet", "test")
    build_args = {"num_train": num_train, "num_val": num_val, "warmup_steps": warmup_steps, "warmup_lr": warmup_lr,
                  "seed": seed}
    assets = TinyAssets(str(model_dir), str(out / "train.parquet"), str(out / "val.parquet"), build_args, warmup,
                        eval_at_caps)
    (out / "assets.json").write_text(json.dumps(asdict(assets), indent=2))
    return assets


def build_random_tiny(seed: int = 0):
    """(tokenizer, model) without warm-up, in about a second: for unit tests of generation and the rollout."""
    tokenizer = tokenizer_for(make_problems(64, seed=seed))
    return tokenizer, build_model(tokenizer, seed=seed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True,
                        help="directory to write model/, train.parquet, val.parquet, assets.json into")
    parser.add_argument("--num-train", type=int, default=256, help="training problems (also the warm-up set)")
    parser.add_argument("--num-val", type=int, default=32, help="validation problems (different seed)")
    parser.add_argument("--warmup-steps", type=int, default=300, help="supervised warm-up steps (batch 32)")
    parser.add_argument("--warmup-lr", type=float, default=3e-3, help="AdamW learning rate of the warm-up")
    parser.add_argument("--seed", type=int, default=0, help="seed of problems, weights and warm-up")
    parser.add_argument("--force", action="store_true", help="rebuild even if out/assets.json exists")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    wanted = {"num_train": args.num_train, "num_val": args.num_val, "warmup_steps": args.warmup_steps,
              "warmup_lr": args.warmup_lr, "seed": args.seed}
    if (out / "assets.json").exists() and not args.force:
        built = json.loads((out / "assets.json").read_text()).get("build_args")
        if built != wanted:
            print(f"[tiny] error: {out} holds assets built with {built}, not {wanted}; pass --force to rebuild "
                  "there or choose another --out", file=sys.stderr)
            return 2
        print(f"[tiny] reusing {out} (same build arguments; --force rebuilds)")
        return 0
    start = time.monotonic()
    assets = build_tiny_assets(
        out,
        num_train=args.num_train,
        num_val=args.num_val,
        warmup_steps=args.warmup_steps,
        warmup_lr=args.warmup_lr,
        seed=args.seed,
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

