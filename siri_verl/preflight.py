"""Preflight: every check a SIRI config can fail, run on the composed config before Ray starts.

``siri-verl check <recipe.sh | recipe.yaml> [hydra overrides...]`` composes exactly what the recipe would
run (a ``.sh`` is executed with ``SIRI_PRINT_LAUNCH_ARGS=1``, which makes ``recipes/_launch.sh`` print
the ``python -m siri_verl.main`` argument list instead of starting training) and reports every problem,
each naming the config key and the fix. ``python -m siri_verl.main`` runs the same checks and refuses
to start on an error.

Checks that need the model's ``config.json`` or tokenizer, or the data files, read them when they are
on this machine and otherwise are listed as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

SIRI_AGENT_LOOP = "siri_single_turn"
VERL_DEFAULT_AGENT_LOOP = "single_turn_agent"
PRINT_ARGS_ENV = "SIRI_PRINT_LAUNCH_ARGS"
REQUIRED_COLUMNS = ("data_source", "reward_model")


class PreflightError(ValueError):
    """The config would fail or silently misbehave; the message lists every problem with its key."""


@dataclass
class Finding:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass
class PreflightReport:
    """Outcome of :func:`check_config`."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, key: str, message: str) -> None:
        self.errors.append(Finding(key, message))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(Finding(key, message))

    def format(self) -> str:
        lines = [f"siri-verl preflight: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"]
        lines += [f"  ERROR   {f}" for f in self.errors]
        lines += [f"  WARNING {f}" for f in self.warnings]
        lines += [f"  SKIPPED {s}" for s in self.skipped]
        lines += [f"  ok      {p}" for p in self.passed]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Settings siri_verl.main applies before checking


def packaged_agent_loop_config() -> str:
    """Absolute path of ``siri_verl/config/agent_loops.yaml`` (lists ``siri_single_turn``)."""
    return str(resources.files("siri_verl") / "config" / "agent_loops.yaml")


def apply_siri_runtime_settings(config) -> None:
    """Point the agent-loop workers at the packaged SIRI loop (``config`` must be writable).

    Sets ``rollout.agent.agent_loop_config_path`` when unset and ``rollout.agent.default_agent_loop`` when
    it is verl's default; any other explicit value is left for the preflight to judge."""
    agent = config.actor_rollout_ref.rollout.agent
    if not agent.get("agent_loop_config_path"):
        agent.agent_loop_config_path = packaged_agent_loop_config()
    if agent.get("default_agent_loop") in (None, VERL_DEFAULT_AGENT_LOOP):
        agent.default_agent_loop = SIRI_AGENT_LOOP


# ---------------------------------------------------------------------------------------------
# The checks


def _get(config, dotted: str, default=None):
    from omegaconf import OmegaConf

    return OmegaConf.select(config, dotted, default=default, throw_on_missing=False)


def _key_of(error: Exception, fallback: str) -> str:
    """The config key a schedule/truncation error message starts with (``algorithm.siri.x.y=...``)."""
    match = re.match(r"(algorithm\.siri[\w.]*)", str(error))
    return match.group(1) if match else fallback


def _files(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def check_config(config, *, check_data: bool = True, check_model: bool = True) -> PreflightReport:
    """Run every check on a composed config; never raises for a config problem (see the report)."""
    from omegaconf import OmegaConf

    report = PreflightReport()
    siri = OmegaConf.to_container(config.algorithm.get("siri") or {}, resolve=True)
    max_response = _get(config, "data.max_response_length")
    prompt_length = _get(config, "data.max_prompt_length")

    _check_siri_keys(report, siri)
    schedule = _check_schedule(report, siri, max_response)
    _check_truncation(report, config, siri, schedule)
    _check_trainer(report, config, schedule)
    _check_agent_loop(report, config)
    _check_reward_keys(report, config, schedule)
    _check_batch(report, config)
    needed = None if schedule is None else prompt_length + schedule.max_length  # longest prompt + response
    if needed is not None:
        _check_token_budgets(report, config, needed)
    tokenizer = None
    if check_model:
        tokenizer = _check_model(report, config, needed)
    else:
        report.skipped.append("model config / tokenizer checks (disabled)")
    if check_data:
        _check_data(report, config)
        if tokenizer is not None:
            _check_prompt_lengths(report, config, tokenizer)
    else:
        report.skipped.append("data file checks (disabled)")
    _check_resume(report, config, siri)
    return report


SIRI_KEYS = {
    "schedule": None,  # validated by siri_verl.schedule
    "truncation": None,
    "soft_overlong": {"buffer_fraction", "penalty_factor"},
    "validation_max_tokens": None,
    "phase_checkpoints": {"enable", "validate"},
    "resume": {"allow_schedule_change"},
}


def _check_siri_keys(report: PreflightReport, siri: dict) -> None:
    """A misspelt key under algorithm.siri would otherwise be ignored silently."""
    for key, value in siri.items():
        if key not in SIRI_KEYS:
            report.error(f"algorithm.siri.{key}", f"unknown key; known keys: {', '.join(sorted(SIRI_KEYS))}")
        elif SIRI_KEYS[key] is not None and isinstance(value, dict):
            for sub in sorted(set(value) - SIRI_KEYS[key]):
                report.error(f"algorithm.siri.{key}.{sub}",
                             f"unknown key; known keys: {', '.join(sorted(SIRI_KEYS[key]))}")


def _check_schedule(report: PreflightReport, siri: dict, max_response):
    from siri_verl.schedule import ScheduleConfigError, schedule_from_config

    try:
        schedule = schedule_from_config(siri, max_response)
    except ScheduleConfigError as error:
        report.error(_key_of(error, "algorithm.siri.schedule"), str(error))
        return None
    report.passed.append(f"schedule {schedule.describe()}, {schedule.total_steps} steps")
    validation_cap = siri.get("validation_max_tokens")
    if validation_cap is not None and not (isinstance(validation_cap, int) and 1 <= validation_cap <= max_response):
        report.error("algorithm.siri.validation_max_tokens",
                     f"={validation_cap!r} must be an integer in [1, data.max_response_length={max_response}] or null")
    if max_response is not None and schedule.max_length < max_response:
        report.warn("data.max_response_length",
                    f"={max_response} is above the schedule max {schedule.max_length}; buffers are sized for "
                    f"{max_response}. Set it to ${{algorithm.siri.schedule.max_length}}")
    return schedule


def _check_truncation(report: PreflightReport, config, siri: dict, schedule) -> None:
    from siri_verl.integration.truncation import TruncationConfigError, truncation_config_from

    try:
        truncation = truncation_config_from(siri)
    except TruncationConfigError as error:
        report.error(_key_of(error, "algorithm.siri.truncation"), str(error))
        return
    estimator = str(config.algorithm.adv_estimator)
    if truncation.policy != "paper" and estimator != "siri_grpo":
        report.error("algorithm.adv_estimator",
                     f"={estimator} ignores algorithm.siri.truncation={truncation.policy}; set "
                     "algorithm.adv_estimator=siri_grpo (or algorithm.siri.truncation=paper)")
    elif estimator not in ("siri_grpo", "grpo"):
        report.warn("algorithm.adv_estimator", f"={estimator}: SIRI is GRPO; siri_grpo is the intended estimator")
    if truncation.policy == "soft" and schedule is not None:
        buffer = truncation.soft_buffer_tokens(schedule.min_length)
        if buffer >= schedule.min_length:
            report.error("algorithm.siri.soft_overlong.buffer_fraction",
                         f"gives a {buffer}-token buffer at the schedule min {schedule.min_length}: every response "
                         "would be penalised (verl PR #2107); lower it")
    report.passed.append(f"truncation policy {truncation.policy} with estimator {estimator}")


def _check_trainer(report: PreflightReport, config, schedule) -> None:
    if not _get(config, "trainer.use_v1", True):
        report.error("trainer.use_v1", "=False: siri_verl hooks verl's V1 trainer; set trainer.use_v1=True")
    mode = _get(config, "trainer.v1.trainer_mode", "sync")
    if mode != "sync":
        report.error("trainer.v1.trainer_mode",
                     f"={mode}: SIRI needs every rollout of a step capped at that step's L(t); only `sync` "
                     "guarantees it (async modes mix trajectories from several steps)")
    phase = (_get(config, "algorithm.siri.phase_checkpoints") or {})
    if phase.get("enable", True) and _get(config, "actor_rollout_ref.actor.checkpoint.async_save", False):
        report.error("actor_rollout_ref.actor.checkpoint.async_save",
                     "=True: phase checkpoints are linked right after saving; set it to False "
                     "(or algorithm.siri.phase_checkpoints.enable=false)")
    if schedule is None:
        return
    total = _get(config, "trainer.total_training_steps")
    if total is None:
        report.error("trainer.total_training_steps",
                     f"is null, so verl derives the step count from the data; set it to the schedule's "
                     f"{schedule.total_steps} steps")
    elif total > schedule.total_steps:
        report.error("trainer.total_training_steps",
                     f"={total} runs past the schedule's {schedule.total_steps} steps; set it to "
                     f"{schedule.total_steps} or lengthen the schedule (num_cycles / total_steps)")
    elif total < schedule.total_steps:
        report.warn("trainer.total_training_steps",
                    f"={total} stops before the schedule's {schedule.total_steps} steps (fine for a smoke test)")
    names = [c.name for c in schedule.checkpoint_steps() if total is None or c.step <= total]
    if names:
        report.passed.append("phase checkpoints: " + ", ".join(names))


def _check_agent_loop(report: PreflightReport, config) -> None:
    agent = _get(config, "actor_rollout_ref.rollout.agent") or {}
    name = agent.get("default_agent_loop")
    if name != SIRI_AGENT_LOOP:
        report.error("actor_rollout_ref.rollout.agent.default_agent_loop",
                     f"={name}: only {SIRI_AGENT_LOOP} sends the step's cap as max_tokens; remove the override")
    path = agent.get("agent_loop_config_path")
    if not path or not os.path.isfile(path):
        report.error("actor_rollout_ref.rollout.agent.agent_loop_config_path",
                     f"={path!r} does not exist; leave it null (siri_verl.main uses {packaged_agent_loop_config()})")


LEGACY_REWARD_KEYS = {
    "custom_reward_function.path": "reward.custom_reward_function.path",
    "custom_reward_function.name": "reward.custom_reward_function.name",
    "reward_model.reward_manager": "reward.reward_manager.name",
    "reward_model.reward_kwargs": "reward.reward_kwargs",
    "reward_model.overlong_buffer": "reward.reward_kwargs.overlong_buffer_cfg",
    "reward_model.enable": "reward.reward_model.enable",
    "reward_model.model.path": "reward.reward_model.model_path",
}


def _check_reward_keys(report: PreflightReport, config, schedule) -> None:
    for legacy, new in LEGACY_REWARD_KEYS.items():
        if _get(config, legacy) is not None:
            report.error(legacy, f"is a legacy key that verl 0.9.1's trainer silently ignores; use {new}")
    overlong = _get(config, "reward.reward_kwargs.overlong_buffer_cfg") or {}
    if overlong and overlong.get("enable", False):
        length = overlong.get("len")
        if schedule is not None and length is not None and length >= schedule.min_length:
            report.error("reward.reward_kwargs.overlong_buffer_cfg.len",
                         f"={length} >= the schedule min {schedule.min_length}: every response would be "
                         "penalised during compression (verl PR #2107); use algorithm.siri.truncation=soft, "
                         "whose buffer follows the cap")
        else:
            report.warn("reward.reward_kwargs.overlong_buffer_cfg",
                         "DAPO's overlong buffer is static (measured from max_resp_len, not the moving cap); "
                         "algorithm.siri.truncation=soft applies it against each response's cap")


def _check_batch(report: PreflightReport, config) -> None:
    batch = _get(config, "data.train_batch_size")
    n = _get(config, "actor_rollout_ref.rollout.n", 1)
    mini = _get(config, "actor_rollout_ref.actor.ppo_mini_batch_size")
    world = (_get(config, "trainer.nnodes", 1) or 1) * (_get(config, "trainer.n_gpus_per_node", 1) or 1)
    errors_before = len(report.errors)
    gen = _get(config, "data.gen_batch_size")
    if gen not in (None, batch):
        report.error("data.gen_batch_size", f"={gen}: SIRI's sync loop expects it null or equal to data.train_batch_size")
    if mini is not None and batch is not None:
        if mini > batch or batch % mini:
            report.error("actor_rollout_ref.actor.ppo_mini_batch_size",
                         f"={mini} must divide data.train_batch_size={batch}")
        if (mini * n) % world:
            report.error("actor_rollout_ref.actor.ppo_mini_batch_size",
                         f"x rollout.n = {mini * n} responses per mini-batch is not divisible by "
                         f"{world} GPUs (trainer.nnodes x trainer.n_gpus_per_node)")
    if batch is not None and (batch * n) % world:
        report.error("data.train_batch_size",
                     f"x rollout.n = {batch * n} responses is not divisible by {world} GPUs")
    if len(report.errors) == errors_before:
        report.passed.append(f"batch: {batch} prompts x n={n} over {world} GPUs")


def _check_token_budgets(report: PreflightReport, config, needed: int) -> None:
    use_ref = bool(_get(config, "actor_rollout_ref.actor.use_kl_loss", False)
                   or _get(config, "algorithm.use_kl_in_reward", False))
    budgets = [
        ("actor_rollout_ref.actor.use_dynamic_bsz", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu", True),
        ("actor_rollout_ref.rollout.log_prob_use_dynamic_bsz",
         "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu", True),
        ("actor_rollout_ref.ref.log_prob_use_dynamic_bsz", "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu",
         use_ref),
        ("critic.use_dynamic_bsz", "critic.ppo_max_token_len_per_gpu", bool(_get(config, "critic.enable", False))),
    ]
    for switch, key, relevant in budgets:
        if relevant and _get(config, switch, False):
            value = _get(config, key)
            if value is not None and value < needed:
                report.error(key, f"={value} < prompt + schedule max = {needed} with {switch}=True: the longest "
                                  f"sequence cannot fit a micro-batch; set it >= {needed}")
    max_model_len = _get(config, "actor_rollout_ref.rollout.max_model_len")
    if max_model_len is not None and max_model_len < needed:
        report.error("actor_rollout_ref.rollout.max_model_len",
                     f"={max_model_len} < data.max_prompt_length + schedule max = {needed}; the engine would clamp "
                     f"max_tokens below the cap. Set it >= {needed}")
    response_length = _get(config, "actor_rollout_ref.rollout.response_length")
    max_response = _get(config, "data.max_response_length")
    if response_length is not None and max_response is not None and response_length < max_response:
        report.error("actor_rollout_ref.rollout.response_length",
                     f"={response_length} < data.max_response_length={max_response}; leave it at its default "
                     "(${data.max_response_length})")


def _check_model(report: PreflightReport, config, needed: int | None):
    """Model config and tokenizer checks; returns the tokenizer when it loaded (else None)."""
    path = _get(config, "actor_rollout_ref.model.path")
    if not path or not os.path.isdir(str(path)):
        report.skipped.append(
            f"model checks (max_position_embeddings vs prompt + max, tokenizer EOS and chat template, prompt "
            f"lengths): actor_rollout_ref.model.path={path!r} is not a local folder here")
        return None
    config_file = Path(path) / "config.json"
    if config_file.is_file():
        model_config = json.loads(config_file.read_text())
        override = _get(config, "actor_rollout_ref.model.override_config.max_position_embeddings")
        positions = override or model_config.get("max_position_embeddings")
        max_model_len = _get(config, "actor_rollout_ref.rollout.max_model_len")
        wanted = max(v for v in (needed, max_model_len, 0) if v is not None)
        if positions is not None and wanted:
            if positions < wanted:
                report.error("actor_rollout_ref.model.path",
                             f"max_position_embeddings={positions} < {wanted} (prompt + schedule max, or "
                             f"rollout.max_model_len); set +actor_rollout_ref.model.override_config."
                             f"max_position_embeddings={wanted} or more")
            else:
                report.passed.append(f"model max_position_embeddings {positions} >= {wanted}")
    else:
        report.skipped.append(f"max_position_embeddings check: {config_file} is missing")
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as error:
        report.error("actor_rollout_ref.model.path", f"has no loadable tokenizer: {error}")
        return None
    if tokenizer.eos_token_id is None:
        report.error("actor_rollout_ref.model.path",
                     "tokenizer has no eos_token_id: truncation (cap reached without EOS) cannot be detected")
    if not getattr(tokenizer, "chat_template", None):
        report.error("actor_rollout_ref.model.path",
                     "tokenizer has no chat_template; verl's agent loop applies it to every prompt")
        return None
    report.passed.append(f"tokenizer: eos_token_id={tokenizer.eos_token_id}, chat template present")
    return tokenizer


PROMPT_ROWS_CHECKED = 5000  # per file: enough to catch a wrong max_prompt_length, bounded in time


def _check_prompt_lengths(report: PreflightReport, config, tokenizer) -> None:
    """Chat-templated prompt lengths against data.max_prompt_length (first rows of each data file)."""
    import pyarrow.parquet as pq

    if _get(config, "data.filter_overlong_prompts", False):
        report.passed.append("prompts over data.max_prompt_length are dropped (data.filter_overlong_prompts=true)")
        return
    limit = _get(config, "data.max_prompt_length")
    prompt_key = _get(config, "data.prompt_key", "prompt")
    template_kwargs = dict(_get(config, "data.apply_chat_template_kwargs") or {})
    mode = _get(config, "data.truncation", "error")
    for key in ("data.train_files", "data.val_files"):
        for file in _files(_get(config, key)):
            if not os.path.isfile(file):
                continue
            table = pq.ParquetFile(file).read(columns=[prompt_key]).slice(0, PROMPT_ROWS_CHECKED)
            lengths = [len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                         return_dict=True, **template_kwargs)["input_ids"])
                       for messages in table.column(prompt_key).to_pylist()]
            over = [n for n in lengths if n > limit]
            if not over:
                continue
            message = (f"={limit}: {len(over)} of the first {len(lengths)} prompts of {file} are longer (longest "
                       f"{max(over)} tokens with the chat template); raise data.max_prompt_length to >= {max(over)} "
                       "or set data.filter_overlong_prompts=true")
            if mode == "error":
                report.error("data.max_prompt_length", message + " (verl would stop on the first such prompt)")
            else:
                report.warn("data.max_prompt_length", message + f" (data.truncation={mode} cuts them silently)")


def _check_data(report: PreflightReport, config) -> None:
    import pyarrow.parquet as pq

    prompt_key = _get(config, "data.prompt_key", "prompt")
    for key in ("data.train_files", "data.val_files"):
        errors_before = len(report.errors)
        files = _files(_get(config, key))
        if not files:
            report.error(key, "is not set")
            continue
        rows = 0
        for file in files:
            if not os.path.isfile(file):
                report.error(key, f"{file} does not exist (prepare the data with `python data_prep/prepare.py all`)")
                continue
            parquet = pq.ParquetFile(file)
            rows += parquet.metadata.num_rows
            missing = [c for c in (*REQUIRED_COLUMNS, prompt_key) if c not in parquet.schema_arrow.names]
            if missing:
                report.error(key, f"{file} lacks column(s) {', '.join(missing)} of verl's RL schema "
                                  f"(data_source, {prompt_key}, ability, reward_model, extra_info)")
                continue
            first = next(parquet.iter_batches(batch_size=1)).to_pylist()
            if not first:
                report.error(key, f"{file} has no rows")
                continue
            problem = _row_problem(first[0], prompt_key)
            if problem:
                report.error(key, f"{file} row 0: {problem}")
        if key == "data.train_files" and rows:
            _check_epochs(report, config, rows)
        if len(report.errors) == errors_before:
            report.passed.append(f"{key}: {len(files)} file(s), {rows} rows, verl's RL schema")


def _row_problem(row: dict[str, Any], prompt_key: str) -> str | None:
    prompt = row.get(prompt_key)
    if not isinstance(prompt, list) or not prompt or not all(
            isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt):
        return f"{prompt_key} must be a list of {{role, content}} chat messages, got {str(prompt)[:80]!r}"
    reward_model = row.get("reward_model")
    if not isinstance(reward_model, dict) or reward_model.get("ground_truth") in (None, ""):
        return "reward_model.ground_truth is missing"
    return None


def _check_epochs(report: PreflightReport, config, rows: int) -> None:
    batch = _get(config, "data.train_batch_size")
    total = _get(config, "trainer.total_training_steps")
    epochs = _get(config, "trainer.total_epochs", 1)
    if not batch or total is None:
        return
    steps_per_epoch = rows // batch  # verl's train dataloader drops the last partial batch
    if steps_per_epoch == 0:
        report.error("data.train_batch_size", f"={batch} is larger than the {rows} training rows")
    elif steps_per_epoch * epochs < total:
        needed = math.ceil(total / steps_per_epoch)
        report.error("trainer.total_epochs",
                     f"={epochs} x {steps_per_epoch} steps per epoch < trainer.total_training_steps={total}: verl "
                     f"stops at the last epoch; set trainer.total_epochs={needed} or more")


def _check_resume(report: PreflightReport, config, siri: dict) -> None:
    from omegaconf import OmegaConf

    from siri_verl.integration.run_record import ResumeConfigError, check_resume, resume_folder

    folder = resume_folder(OmegaConf.to_container(config.trainer, resolve=True))
    if folder is None:
        report.passed.append("resume: training starts from scratch")
        return
    try:
        report.passed.append("resume: " + check_resume(folder, siri))
    except ResumeConfigError as error:
        report.error("algorithm.siri.schedule", str(error))


def run_preflight(config, **kwargs) -> PreflightReport:
    """Check ``config``; print the report and raise :class:`PreflightError` on any error."""
    report = check_config(config, **kwargs)
    print(report.format(), file=sys.stderr)
    if not report.ok:
        raise PreflightError(report.format())
    return report


# ---------------------------------------------------------------------------------------------
# Composing what a recipe would run


def recipe_launch_args(script: str | os.PathLike, extra: Sequence[str] = (), timeout: float = 60.0) -> list[str]:
    """The argument list ``script`` would pass to ``python -m siri_verl.main`` (with ``extra`` appended
    as the script's own arguments), obtained by running it with ``SIRI_PRINT_LAUNCH_ARGS=1``."""
    env = {**os.environ, PRINT_ARGS_ENV: "1"}
    result = subprocess.run(["bash", str(script), *extra], env=env, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise PreflightError(f"{script} failed before launching (exit {result.returncode}):\n"
                             f"{result.stderr.decode(errors='replace')}")
    output = result.stdout.decode()
    if "\0" not in output:
        raise PreflightError(f"{script} printed no launch arguments; a recipe must end with "
                             "`siri_launch <args> \"$@\"` from recipes/_launch.sh")
    return [arg for arg in output.split("\0") if arg]


def split_launch_args(args: Sequence[str]) -> tuple[Path | None, str | None, list[str]]:
    """(config dir, config name, overrides) from a ``siri_verl.main`` argument list; hydra's own
    flags such as ``--cfg job`` are dropped."""
    config_path = config_name = None
    overrides: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in ("--config-path", "-cp"):
            config_path = Path(next(it))
        elif arg in ("--config-name", "-cn"):
            config_name = next(it)
        elif arg.startswith("--config-path="):
            config_path = Path(arg.split("=", 1)[1])
        elif arg.startswith("--config-name="):
            config_name = arg.split("=", 1)[1]
        elif arg in ("--cfg", "-c", "--package", "-p"):
            next(it, None)
        elif arg.startswith("-"):
            continue
        else:
            overrides.append(arg)
    return config_path, config_name, overrides


def compose_launch(args: Sequence[str]):
    """Compose the config ``python -m siri_verl.main <args>`` would run, without Ray or verl imports."""
    from siri_verl.recipe_config import compose_recipe

    config_path, config_name, overrides = split_launch_args(args)
    if config_name is None:
        config_path, config_name = Path(packaged_agent_loop_config()).parent, "siri_trainer"
    return compose_recipe(Path(config_path or ".") / f"{config_name}.yaml", overrides)


def compose_target(target: str, overrides: Sequence[str] = ()):
    """Compose a recipe ``.sh`` (as it would run, with ``overrides`` as its arguments) or ``.yaml``."""
    from omegaconf import open_dict

    if target.endswith(".sh"):
        config = compose_launch(recipe_launch_args(target, overrides))
    else:
        config = compose_launch(["--config-path", str(Path(target).resolve().parent),
                                 "--config-name", Path(target).stem, *overrides])
    with open_dict(config):
        apply_siri_runtime_settings(config)
    return config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="a recipe .sh (composed exactly as it would launch) or a recipe .yaml")
    parser.add_argument("overrides", nargs="*",
                        help="hydra overrides appended to the recipe's own, e.g. algorithm.siri.truncation=mask")
    parser.add_argument("--no-data", action="store_true", help="skip the data file checks")
    parser.add_argument("--no-model", action="store_true", help="skip the model config / tokenizer checks")
    parser.add_argument("--print-config", action="store_true", help="also print the composed config (YAML)")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    try:
        config = compose_target(args.recipe, args.overrides)
    except PreflightError as error:
        print(f"siri-verl check: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(OmegaConf.to_yaml(config))
    report = check_config(config, check_data=not args.no_data, check_model=not args.no_model)
    print(report.format())
    return 0 if report.ok else 1
