"""Preflight: every check a SIRI config can fail, run on the composed config before Ray starts.

``siri-verl check <recipe.sh | recipe.yaml> [hydra overrides...]`` (``siri_verl.commands.check``) composes
exactly what the recipe would run (``siri_verl.recipe_config``: a ``.sh`` is executed with
``SIRI_PRINT_LAUNCH_ARGS=1``, which makes ``recipes/_launch.sh`` print the ``python -m siri_verl.main``
argument list instead of starting training) and reports every problem, each naming the config key and the
fix. ``python -m siri_verl.main`` runs the same checks and refuses
to start on an error.

Checks that need the model's ``config.json`` or tokenizer, or the data files, read them when they are
on this machine and otherwise are listed as skipped, with the reason.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from siri_verl.config import SiriConfig
from siri_verl.schedule import LengthSchedule

SIRI_AGENT_LOOP = "siri_single_turn"
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
# The checks


def _get(config, dotted: str, default=None):
    from omegaconf import OmegaConf

    return OmegaConf.select(config, dotted, default=default, throw_on_missing=False)


def _files(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def check_config(config, *, check_data: bool = True, check_model: bool = True) -> PreflightReport:
    """Run every check on a composed config; never raises for a config problem (see the report)."""
    report = PreflightReport()
    max_response = _get(config, "data.max_response_length")
    prompt_length = _get(config, "data.max_prompt_length")

    siri, siri_errors = SiriConfig.check(config.algorithm.get("siri"), max_response)
    for error in siri_errors:
        report.error(error.key, error.detail)
    schedule = None if siri is None else _check_schedule(report, siri, max_response)
    if siri is not None:
        _check_truncation(report, config, siri)
    _check_trainer(report, config, siri, schedule)
    _check_agent_loop(report, config)
    _check_reward_keys(report, config, schedule)
    _check_reward_kwargs(report, config)
    _check_batch(report, config)
    _check_wandb(report, config)
    needed = None if schedule is None else prompt_length + schedule.max_length  # longest prompt + response
    if needed is not None:
        _check_token_budgets(report, config, needed)
        _check_sglang_headroom(report, config, needed)
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
    if siri is not None:
        _check_validation_n(report, config, siri, check_data)
        _check_resume(report, config, siri)
    return report


def _check_schedule(report: PreflightReport, siri: SiriConfig, max_response) -> LengthSchedule:
    schedule = siri.length_schedule()
    report.passed.append(f"schedule {schedule.describe()}, {schedule.total_steps} steps")
    if max_response is not None and schedule.max_length < max_response:
        report.warn("data.max_response_length",
                    f"={max_response} is above the schedule max {schedule.max_length}; buffers are sized for "
                    f"{max_response}. Set it to ${{algorithm.siri.schedule.max_length}}")
    return schedule


def _check_truncation(report: PreflightReport, config, siri: SiriConfig) -> None:
    """The policy needs the siri_grpo estimator (all but ``paper``) and, for ``mask``, a loss mode whose
    denominator the masked responses leave (``siri_verl.integration.truncation.MASK_LOSS_AGG_MODES``)."""
    from siri_verl.integration.truncation import mask_loss_agg_problem

    estimator = str(config.algorithm.adv_estimator)
    if siri.truncation != "paper" and estimator != "siri_grpo":
        report.error("algorithm.adv_estimator",
                     f"={estimator} ignores algorithm.siri.truncation={siri.truncation}; set "
                     "algorithm.adv_estimator=siri_grpo (or algorithm.siri.truncation=paper)")
    elif estimator not in ("siri_grpo", "grpo"):
        report.warn("algorithm.adv_estimator", f"={estimator}: SIRI is GRPO; siri_grpo is the intended estimator")
    problem = mask_loss_agg_problem(siri.truncation, _get(config, "actor_rollout_ref.actor.loss_agg_mode"))
    if problem:
        report.error("algorithm.siri.truncation", problem)
    report.passed.append(f"truncation policy {siri.truncation} with estimator {estimator}")


def _check_trainer(report: PreflightReport, config, siri: SiriConfig | None, schedule) -> None:
    if not _get(config, "trainer.use_v1", True):
        report.error("trainer.use_v1", "=False: siri_verl hooks verl's V1 trainer; set trainer.use_v1=True")
    mode = _get(config, "trainer.v1.trainer_mode", "sync")
    if mode != "sync":
        report.error("trainer.v1.trainer_mode",
                     f"={mode}: SIRI needs every rollout of a step capped at that step's L(t); only `sync` "
                     "guarantees it (async modes mix trajectories from several steps)")
    phase_checkpoints = siri is None or siri.phase_checkpoints.enable
    if phase_checkpoints and _get(config, "actor_rollout_ref.actor.checkpoint.async_save", False):
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
    if path and not os.path.isfile(path):
        report.error("actor_rollout_ref.rollout.agent.agent_loop_config_path",
                     f"={path!r} does not exist; leave it null ({SIRI_AGENT_LOOP} is registered at `import verl` "
                     "by the siri_verl plugin, on every node)")


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


GROUP_ESTIMATORS = frozenset({"grpo", "siri_grpo", "rloo", "grpo_passk", "optimal_token_baseline"})
"""Advantage estimators whose baseline is the other responses of the same prompt (verl's names)."""


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
    if n is not None and n < 2 and _get(config, "algorithm.adv_estimator") in GROUP_ESTIMATORS:
        report.error("actor_rollout_ref.rollout.n",
                     f"={n}: {_get(config, 'algorithm.adv_estimator')} normalises each response against the other "
                     "responses of its prompt, so with one response per prompt every advantage is 0 and nothing "
                     "is learned; set it to 2 or more (the paper: 8)")
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
    path = _local_model_folder(_get(config, "actor_rollout_ref.model.path"))
    if path is None:
        report.skipped.append(
            f"model checks (max_position_embeddings vs prompt + max, tokenizer EOS and chat template, verl's "
            f"agent-loop prompt rendering, prompt lengths): actor_rollout_ref.model.path="
            f"{_get(config, 'actor_rollout_ref.model.path')!r} is neither a local folder nor in the Hugging Face "
            "cache here")
        return None
    config_file = Path(path) / "config.json"
    model_config = {}
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
    _check_agent_loop_rendering(report, tokenizer, model_config.get("model_type"))
    return tokenizer


def _local_model_folder(path) -> str | None:
    """``path`` if it is a local folder, else its snapshot in the Hugging Face cache, else None (no download)."""
    if not path:
        return None
    if os.path.isdir(str(path)):
        return str(path)
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(str(path), local_files_only=True)
    except Exception:  # not a repo id, or not cached: the model checks are skipped
        return None


def _check_agent_loop_rendering(report: PreflightReport, tokenizer, model_type: str | None) -> None:
    """Build the Continuous Token builder verl's agent loop will build for this model and render one prompt.

    verl chooses it from ``config.json``'s ``model_type`` alone; a Qwen-typed model without ``<|im_end|>``
    (DeepSeek-R1-Distill-Qwen, the paper's model) crashes every agent-loop worker before step 1 unless
    ``siri_single_turn`` picks another builder (siri_verl/integration/agent_loop.py). Same code path, seconds.
    """
    from siri_verl.integration.agent_loop import build_continuous_token_builder

    messages = [{"role": "user", "content": "What is 1 + 1?"}]
    try:
        builder = build_continuous_token_builder(tokenizer, model_type)
        rendered = list(builder.build_initial_tokens(messages))
    except Exception as error:  # whatever verl raises in the worker, raised here first
        report.error("actor_rollout_ref.model.path",
                     f"verl's agent loop cannot render a prompt for this model (config.json model_type="
                     f"{model_type!r}): {type(error).__name__}: {error}")
        return
    direct = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                return_dict=True)["input_ids"])
    if rendered != direct:
        report.warn("actor_rollout_ref.model.path",
                    f"verl's {type(builder).__name__} renders a prompt of {len(rendered)} tokens that differs from "
                    f"the tokenizer's own chat template ({len(direct)} tokens)")
    report.passed.append(f"agent-loop prompt rendering: {type(builder).__name__} for model_type={model_type!r}")


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
                report.error(key, _missing_data_file(key, file))
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
            _check_training_set_size(report, config, files, rows)
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
        if _small_paper_training_set(config, _files(_get(config, "data.train_files")), rows):
            report.error("trainer.total_epochs",
                         f"={epochs} x {steps_per_epoch} steps per epoch < trainer.total_training_steps={total}: "
                         f"data.train_files has {rows} rows, far fewer than the paper's {PAPER_TRAIN_ROWS:,} (see "
                         "the data.train_files warning); prepare the full training set rather than raising the epochs")
            return
        report.error("trainer.total_epochs",
                     f"={epochs} x {steps_per_epoch} steps per epoch < trainer.total_training_steps={total}: verl "
                     f"stops at the last epoch; set trainer.total_epochs={needed} or more")


def _check_resume(report: PreflightReport, config, siri: SiriConfig) -> None:
    from omegaconf import OmegaConf

    from siri_verl.integration.run_record import ResumeConfigError, check_resume, resume_folder

    folder = resume_folder(OmegaConf.to_container(config.trainer, resolve=True))
    if folder is None:
        report.passed.append("resume: training starts from scratch")
        return
    try:
        report.passed.append("resume: " + check_resume(folder, siri))
    except ResumeConfigError as error:
        report.error(error.key, error.detail)


def run_preflight(config, **kwargs) -> PreflightReport:
    """Check ``config``; print the report and raise :class:`PreflightError` on any error."""
    report = check_config(config, **kwargs)
    print(report.format(), file=sys.stderr)
    if not report.ok:
        raise PreflightError(report.format())
    return report


# ---------------------------------------------------------------------------------------------
# Training-set size, missing data files and reward kwargs (issue 16)

PAPER_TRAIN_ROWS = 40315  # DeepScaleR-Preview-Dataset, the paper's training set
PAPER_DATA_SOURCE = "deepscaler"
PAPER_PASSES = math.ceil(1920 * 128 / PAPER_TRAIN_ROWS)  # the paper's run reads its 40,315 rows about 6.1 times


def _train_data_source(files: Sequence[str]) -> str | None:
    """``data_source`` of the first row of the first training file, or the dataset its provenance names."""
    import pyarrow.parquet as pq

    for file in files:
        record = Path(file + ".provenance.json")
        if record.is_file():
            try:
                return json.loads(record.read_text()).get("dataset")
            except ValueError:
                pass
        try:
            table = pq.ParquetFile(file).read_row_group(0, columns=["data_source"]).slice(0, 1).to_pylist()
        except Exception:  # unreadable files are reported by _check_data
            continue
        if table:
            return table[0].get("data_source")
    return None


def _small_paper_training_set(config, files: Sequence[str], rows: int) -> bool:
    """True when the run trains on DeepScaleR rows but on far fewer than the paper's 40,315, and would read
    them many more times than the paper did (a smoke test reading a few batches is fine)."""
    batch = _get(config, "data.train_batch_size")
    total = _get(config, "trainer.total_training_steps")
    if not rows or not batch or total is None or rows >= PAPER_TRAIN_ROWS // 2:
        return False
    if total * batch <= PAPER_PASSES * rows:
        return False
    return _train_data_source(files) == PAPER_DATA_SOURCE


def _check_training_set_size(report: PreflightReport, config, files: Sequence[str], rows: int) -> None:
    if not _small_paper_training_set(config, files, rows):
        return
    provenance = ""
    record = Path(files[0] + ".provenance.json")
    if record.is_file():
        try:
            source = json.loads(record.read_text()).get("source") or {}
            provenance = f" (its provenance: {source.get('kind')} {source.get('path') or source.get('hub_id')})"
        except ValueError:
            pass
    batch, total = _get(config, "data.train_batch_size"), _get(config, "trainer.total_training_steps")
    folder = os.path.dirname(files[0]) or "."
    report.warn("data.train_files",
                f"={','.join(files)} has {rows} rows{provenance}, far fewer than the paper's {PAPER_TRAIN_ROWS:,} "
                f"DeepScaleR rows: {total} steps x {batch} prompts would read every row about "
                f"{total * batch // rows} times (the paper: about {PAPER_PASSES}). This looks like the local "
                f"subset; prepare the full set with `python data_prep/prepare.py deepscaler --output "
                f"{folder}/deepscaler.parquet` and point data.train_files at it (the recipes read "
                f"$DATA_DIR/deepscaler.parquet)")


def _missing_data_file(key: str, file: str) -> str:
    folder = os.path.dirname(file) or "."
    hint = (f"{file} does not exist. If the prepared parquets are in another folder, set DATA_DIR to it (the "
            f"recipes read $DATA_DIR, default $HOME/data/siri); otherwise prepare them into {folder}: `python "
            f"data_prep/prepare.py all --input-dir <local copy of the benchmarks> --output-dir {folder}`")
    if key == "data.train_files" and os.path.basename(file) == "deepscaler.parquet":
        hint += (f" for the benchmarks, and `python data_prep/prepare.py deepscaler --output {file}` for the "
                 f"{PAPER_TRAIN_ROWS:,}-row training set (hub; `all` writes only the local subset, as "
                 "deepscaler_subset.parquet)")
    return hint


def _load_reward_function(path: str, name: str):
    """The function verl would load for reward.custom_reward_function (``pkg://module`` or a .py file)."""
    import importlib
    import importlib.util

    if path.startswith("pkg://"):
        module = importlib.import_module(path[len("pkg://"):].replace("/", "."))
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} does not exist")
        spec = importlib.util.spec_from_file_location("siri_preflight_custom_reward", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return getattr(module, name)


def _check_reward_kwargs(report: PreflightReport, config) -> None:
    """A misspelt reward option would otherwise be rejected only when the reward first runs in a worker."""
    import inspect

    from omegaconf import OmegaConf

    key = "reward.custom_reward_function.reward_kwargs"
    legacy = _get(config, "custom_reward_function.reward_kwargs")
    if legacy:
        report.error("custom_reward_function.reward_kwargs",
                     f"is a legacy key that verl 0.9.1's trainer silently ignores; use {key}")
    block = _get(config, "reward.custom_reward_function") or {}
    raw_kwargs = block.get("reward_kwargs") if block else None
    kwargs = OmegaConf.to_container(raw_kwargs, resolve=True) if OmegaConf.is_config(raw_kwargs) else dict(raw_kwargs or {})
    path, name = block.get("path"), block.get("name") or "compute_score"
    if not path:
        if kwargs:
            report.error(key, "is set but reward.custom_reward_function.path is null, so verl ignores it")
        return
    try:
        function = _load_reward_function(str(path), str(name))
    except Exception as error:  # noqa: BLE001 - report any import problem with its key
        report.error("reward.custom_reward_function.path",
                     f"={path} name={name}: cannot load the reward function ({type(error).__name__}: {error})")
        return
    from siri_verl.reward import RewardOptionError, RewardOptions, compute_score

    if function is compute_score:
        # One option at a time, so every bad option is reported under its own key, in the reward's words: a removed
        # option with the setting that replaced it, a misspelt one with the valid options, a bad value with the fix.
        refused = False
        for option, value in sorted(kwargs.items()):
            try:
                RewardOptions.from_kwargs({option: value})
            except RewardOptionError as error:
                report.error(error.key, error.detail)
                refused = True
        if not refused:
            report.passed.append(f"reward kwargs {kwargs or '{}'} accepted by siri_verl.reward.compute_score")
        return
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        if kwargs:
            report.skipped.append(f"{key}: {path}:{name} takes **kwargs, so the option names are not checked")
        return
    for option in sorted(set(kwargs) - set(parameters)):
        report.error(f"{key}.{option}", f"is not a parameter of {path}:{name}; its parameters: "
                                        f"{', '.join(parameters)}")


# ---------------------------------------------------------------------------------------------
# mask x loss_agg_mode, SGLang's length headroom, per-benchmark validation n, wandb credentials (issue 9)


SGLANG_SERVER = "verl/workers/rollout/sglang_rollout/async_sglang_server.py"


def _check_sglang_headroom(report: PreflightReport, config, needed: int) -> None:
    """verl's SGLang server caps every request at ``max_model_len - prompt - 1`` new tokens (SGLANG_SERVER,
    ``generate``: ``max_possible_tokens = self.config.max_model_len - len(prompt_ids) - 1``), one less than its
    vLLM server (``max_model_len - prompt``). With max_model_len = prompt + cap, a longest prompt's response
    would stop one token short of its cap and be counted as finished: require the extra token."""
    if _get(config, "actor_rollout_ref.rollout.name") != "sglang":
        return
    max_model_len = _get(config, "actor_rollout_ref.rollout.max_model_len")
    if max_model_len is not None and needed <= max_model_len < needed + 1:
        report.error("actor_rollout_ref.rollout.max_model_len",
                     f"={max_model_len} with rollout.name=sglang: verl's SGLang server allows at most max_model_len "
                     f"- prompt - 1 new tokens ({SGLANG_SERVER}), so a response to a "
                     f"{_get(config, 'data.max_prompt_length')}-token prompt stops one token short of the schedule "
                     f"max and is counted as finished, not truncated. Set it >= {needed + 1}")


def _check_validation_n(report: PreflightReport, config, siri: SiriConfig, check_data: bool) -> None:
    """``algorithm.siri.validation_n``: with the data, every source it names exists."""
    import pyarrow.parquet as pq

    from siri_verl.integration.validation import CONFIG_KEY

    per_source = siri.validation_n or {}
    default_n = _get(config, "actor_rollout_ref.rollout.val_kwargs.n", 1)
    files = _files(_get(config, "data.val_files"))
    if not check_data or not files or not all(os.path.isfile(f) for f in files):
        if per_source:
            report.passed.append(f"{CONFIG_KEY}: {per_source} (others val_kwargs.n={default_n}); sources not "
                                 "checked against the data")
        return
    counts: dict[str, int] = {}
    for file in files:
        try:
            column = pq.ParquetFile(file).read(columns=["data_source"]).column("data_source").to_pylist()
        except Exception:  # noqa: BLE001 - unreadable files are reported by _check_data
            return
        for source in column:
            counts[str(source)] = counts.get(str(source), 0) + 1
    unknown = sorted(set(per_source) - set(counts))
    for source in unknown:
        report.warn(f"{CONFIG_KEY}.{source}", f"no row of data.val_files has data_source {source!r} (they have: "
                                              f"{', '.join(sorted(counts))}), so it changes nothing; a misspelt "
                                              f"source keeps val_kwargs.n={default_n} for the rows it meant")
    responses = sum(rows * per_source.get(source, default_n) for source, rows in counts.items())
    detail = ", ".join(f"{source} {rows} x {per_source.get(source, default_n)}"
                       for source, rows in sorted(counts.items()))
    report.passed.append(f"validation: {sum(counts.values())} prompts -> {responses} responses per validation "
                         f"({detail})")


WANDB_OFFLINE_MODES = ("offline", "disabled", "dryrun")


def _wandb_credentials() -> str | None:
    """Where wandb would find credentials, as wandb 0.31 looks (``wandb/sdk/lib/wbauth``): the environment,
    then the netrc file (``$NETRC`` or ``~/.netrc``) entry for the W&B host. Only presence is checked."""
    import netrc
    from urllib.parse import urlsplit

    for variable in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        if os.environ.get(variable):
            return variable
    path = Path(os.environ.get("NETRC") or "~/.netrc").expanduser()
    host = urlsplit(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").netloc
    try:
        if netrc.netrc(str(path)).authenticators(host):
            return f"{path} ({host})"
    except (OSError, netrc.NetrcParseError):
        pass
    return None


def _check_wandb(report: PreflightReport, config) -> None:
    """``trainer.logger`` with wandb and no credentials stops the run when verl's tracker calls wandb.init."""
    loggers = _get(config, "trainer.logger") or []
    loggers = [loggers] if isinstance(loggers, str) else list(loggers)
    if "wandb" not in loggers:
        return
    mode = os.environ.get("WANDB_MODE", "")
    if mode in WANDB_OFFLINE_MODES:
        report.passed.append(f"trainer.logger has wandb; WANDB_MODE={mode} (no credentials needed)")
        return
    source = _wandb_credentials()
    if source:
        report.passed.append(f"trainer.logger has wandb; credentials from {source}")
        return
    report.error("trainer.logger",
                 f"={loggers} includes wandb, but no W&B credentials are set here (no WANDB_API_KEY, no "
                 "api.wandb.ai entry in ~/.netrc, WANDB_MODE not offline), so wandb.init would stop the run at "
                 "start. Either export WANDB_API_KEY=<key> (or run `wandb login`) on the node that launches "
                 "(for a Ray cluster: before `ray start` on the head node), or drop wandb: "
                 "trainer.logger=[console] (or export WANDB_MODE=offline to log locally and `wandb sync` later)")

