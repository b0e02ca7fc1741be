"""A tiny task where the length cap matters: the same answer in a verbose or a concise way.

``siri_verl.cpu.tiny``'s sums are answered in ~20 tokens whatever the cap, so only the smallest cap ever bites.
Here the warm-up teaches every training question twice, with the same arithmetic and the same boxed answer
but two ways of writing the thinking (R1 family; the prompt already ends in ``<think>\\n``)::

    concise   3+5=8,8+2=10\\n</think>\\n\\n\\boxed{10}<｜end▁of▁sentence｜>
    verbose   Let me add the numbers one at a time. 3+5=8,8+2=10. So the total is 10.\\n</think>...

so the warmed-up policy picks either style (roughly half and half) and length is a choice it can learn. At the
maximum cap (48) almost every response finishes; at the minimum cap (24) the concise ones still fit and the
verbose ones are cut (a cut response has no ``\\boxed{}``: reward 0). The verbose phrases are fixed text and carry
no arithmetic, so both styles are equally hard: a policy that drops them loses nothing but tokens -- the
compression SIRI claims, in miniature. ``recipes/siri_tiny_cpu_length.sh`` trains it with SIRI and with a
constant cap; docs/cpu.md shows what happened.

Everything else (tokenizer, model, warm-up, evaluation, parquet, folder layout, ``assets.json``) is
``siri_verl.cpu.tiny``'s, so ``recipes/siri_tiny_cpu.sh`` runs this task with ``TINY_TASK=length``.

Command line::

    python -m siri_verl.cpu.length_task --out /tmp/siri_length [--family r1|chatml]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from siri_verl.cpu.tiny import (
    DEFAULT_FAMILY,
    TinyAssets,
    add_arguments,
    build_args_of,
    existing_assets_status,
    TinyProblem,
    build_model,
    evaluate_tiny,
    family_of,
    prompt_ids,
    save_and_reload,
    stop_token_ids,
    tokenizer_for,
    warm_up,
    write_parquet,
)

STYLES = ("concise", "verbose")
VERBOSE_OPENING = "Let me add the numbers one at a time."
"""The first words of a verbose response: how :func:`style_of` tells the two styles apart."""
MIN_CAP, MAX_CAP = 24, 48
"""The caps the task is built for (``recipes/siri_tiny_cpu_length.sh``, R1 family): every concise solution fits MIN_CAP,
no verbose one does, every solution fits MAX_CAP (tests/test_cpu_length_task.py checks it with the tokenizer)."""


def steps_text(terms: list[int]) -> tuple[str, int]:
    """``3+5=8,8+2=10`` and the total."""
    steps, total = [], terms[0]
    for term in terms[1:]:
        steps.append(f"{total}+{term}={total + term}")
        total += term
    return ",".join(steps), total


def thinking(terms: list[int], style: str) -> str:
    """The thinking of one solution in ``style`` (the same arithmetic either way)."""
    steps, total = steps_text(terms)
    if style == "concise":
        return steps
    if style == "verbose":
        return f"{VERBOSE_OPENING} {steps}. So the total is {total}."
    raise ValueError(f"unknown style {style!r}; choose one of {STYLES}")


def style_of(response: str) -> str:
    """``verbose`` if the response opens like a verbose solution, else ``concise`` (classifies sampled text)."""
    return "verbose" if response.lstrip().startswith(VERBOSE_OPENING.split()[0]) else "concise"


def make_questions(
    count: int, seed: int, min_terms: int = 2, max_terms: int = 3, max_value: int = 5
) -> list[list[int]]:
    """``count`` lists of ``min_terms..max_terms`` integers in ``1..max_value`` (``random.Random(seed)``)."""
    rng = random.Random(seed)
    return [[rng.randint(1, max_value) for _ in range(rng.randint(min_terms, max_terms))] for _ in range(count)]


def make_problems(terms_list: list[list[int]], style: str, family: str = DEFAULT_FAMILY) -> list[TinyProblem]:
    """One :class:`~siri_verl.cpu.tiny.TinyProblem` per question, its solution written in ``style``."""
    chat = family_of(family)
    problems = []
    for terms in terms_list:
        _, total = steps_text(terms)
        question = "What is " + " + ".join(str(t) for t in terms) + "?"
        solution = chat.solution(thinking(terms, style), str(total))
        problems.append(TinyProblem(question, str(total), solution, len(terms)))
    return problems


def warmup_mix(terms_list: list[list[int]], family: str = DEFAULT_FAMILY) -> list[TinyProblem]:
    """The warm-up set: every question once in each style (so the policy starts at about half and half)."""
    return [p for style in STYLES for p in make_problems(terms_list, style, family)]


def sample_styles(model, tokenizer, problems: list[TinyProblem], max_tokens: int, seed: int) -> dict:
    """Sample one response per problem at temperature 1 and count its style and finish (what the policy chooses)."""
    import torch

    from siri_verl.generation import SamplingParams, generate

    params = SamplingParams(max_tokens=max_tokens, temperature=1.0)
    stop_ids = stop_token_ids(model, tokenizer)
    generator = torch.Generator().manual_seed(seed)
    counts = {f"{style}_{end}": 0 for style in STYLES for end in ("stop", "length")}
    lengths = {style: [] for style in STYLES}
    for problem in problems:
        out = generate(model, prompt_ids(tokenizer, problem.question), params, stop_ids, generator)
        style = style_of(tokenizer.decode(out.token_ids, skip_special_tokens=True))
        counts[f"{style}_{out.finish_reason}"] += 1
        lengths[style].append(len(out.token_ids))
    n = len(problems)
    return {"max_tokens": max_tokens, "verbose_share": len(lengths["verbose"]) / n, **counts,
            **{f"{style}_mean_length": (sum(v) / len(v) if v else None) for style, v in lengths.items()}}


def build_length_assets(
    out_dir: str | Path,
    *,
    num_train: int = 256,
    num_val: int = 32,
    warmup_steps: int = 400,
    warmup_lr: float = 3e-3,
    seed: int = 0,
    eval_caps: tuple[int, ...] = (MIN_CAP, 36, MAX_CAP),
    family: str = DEFAULT_FAMILY,
) -> TinyAssets:
    """Like ``siri_verl.cpu.tiny.build_tiny_assets`` for this task: model/, train/val parquet, assets.json.

    The parquet holds the questions once (``extra_info.num_terms`` as in the sums task); the warm-up sees each
    training question in both styles. ``assets.json``'s ``eval_at_caps`` holds, per cap, ``evaluate_tiny``'s
    accuracy / stop rate / mean length on the validation questions (temperature 1) plus the sampled style shares.
    """
    import torch

    torch.set_num_threads(1)  # as tiny.build_tiny_assets: much faster than 2 threads on shared cores
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_terms, val_terms = make_questions(num_train, seed), make_questions(num_val, seed + 1)
    mix = warmup_mix(train_terms, family)
    model_dir = out / "model"
    trained_tokenizer = tokenizer_for(mix, family=family)
    model = build_model(trained_tokenizer, seed=seed, family=family)
    tokenizer = save_and_reload(model, trained_tokenizer, model_dir, family=family)
    warmup = warm_up(model, tokenizer, mix, steps=warmup_steps, lr=warmup_lr, batch_size=32, seed=seed)
    val = make_problems(val_terms, "concise", family)  # only question/answer matter for evaluation
    eval_at_caps = []
    for cap in eval_caps:
        row = evaluate_tiny(model, tokenizer, val, cap, temperature=1.0, seed=seed)
        row["styles"] = sample_styles(model, tokenizer, val, cap, seed=seed)
        eval_at_caps.append(row)
    model.save_pretrained(model_dir)
    write_parquet(make_problems(train_terms, "concise", family), out / "train.parquet", "train")
    write_parquet(val, out / "val.parquet", "test")
    build_args = {"task": "length", "num_train": num_train, "num_val": num_val, "warmup_steps": warmup_steps,
                  "warmup_lr": warmup_lr, "seed": seed, "family": family}
    assets = TinyAssets(str(model_dir), str(out / "train.parquet"), str(out / "val.parquet"), build_args, warmup,
                        eval_at_caps)
    (out / "assets.json").write_text(json.dumps(asdict(assets), indent=2))
    return assets


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siri_verl.cpu.length_task", description=__doc__.splitlines()[0])
    add_arguments(parser, warmup_steps=400)
    args = parser.parse_args(argv)
    out = Path(args.out)
    status = existing_assets_status(out, {"task": "length", **build_args_of(args)}, args.force, "length_task")
    if status is not None:
        return status
    start = time.monotonic()
    assets = build_length_assets(out, num_train=args.num_train, num_val=args.num_val, warmup_steps=args.warmup_steps,
                                 warmup_lr=args.warmup_lr, seed=args.seed, family=args.family)
    print(f"[length_task] built {out} in {time.monotonic() - start:.1f}s; warm-up {assets.warmup}")
    for row in assets.eval_at_caps:
        styles = row["styles"]
        print(f"[length_task] val at cap {row['max_tokens']}: acc={row['acc']:.2f} stop_rate={row['stop_rate']:.2f} "
              f"mean_length={row['mean_length']:.1f} | sampled styles: verbose {styles['verbose_share']:.2f} "
              f"(finished {styles['verbose_stop']}, cut {styles['verbose_length']}), concise finished "
              f"{styles['concise_stop']}, cut {styles['concise_length']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
