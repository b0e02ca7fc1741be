"""siri_verl's verl 0.9.1 integration: the per-step cap, truncation-aware advantages, metrics and phase
checkpoints.

Pure SIRI logic lives in modules that import neither Ray nor verl (``truncation``, ``step_metrics``,
``run_record``); the verl hooks (``estimator``, ``agent_loop``, ``trainer``, ``task_runner``) only call
into them. See docs/integration.md for the design and the verl hooks used.
"""
