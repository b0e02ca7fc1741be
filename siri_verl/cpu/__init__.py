"""siri_verl on CPU: verl's real trainer with a CPU platform and a transformers rollout (tests, small runs).

* ``siri_verl.cpu.platform`` -- the ``cpu`` verl platform, active only with ``VERL_PLATFORM=cpu``;
* ``siri_verl.cpu.rollout`` -- the ``hf`` rollout backend (``actor_rollout_ref.rollout.name=hf``);
* ``siri_verl.cpu.plugin`` -- imports both; loaded in every verl process by ``siri_verl.plugin``;
* ``siri_verl.cpu.launch`` -- the launch preset: env vars + Hydra overrides, then runs a trainer entry point;
* ``siri_verl.cpu.tiny`` -- tiny tokenizer/model/parquet of the paper's model family (R1-Distill-Qwen tokens and
  template; ChatML as a second family) built locally, with a short supervised warm-up;
* ``siri_verl.cpu.length_task`` / ``length_report`` -- a tiny task where length is a choice (verbose or concise),
  and the plot/table of SIRI vs a constant cap on it;
* ``siri_verl.cpu.vllm_plugin`` -- vLLM general plugin (entry point ``vllm.general_plugins``) that keeps linear
  weights in place on vLLM's CPU platform so verl's weight sync works; inert elsewhere;
* ``siri_verl.cpu.report`` -- reads a run's metrics JSONL and the rollout server's request log.

This package's ``__init__`` imports nothing heavy; see docs/cpu.md.
"""
