"""verl plugin entry point (``verl.plugins`` group in pyproject.toml).

verl 0.9.1 imports this module at ``import verl`` in every process, Ray workers included, and swallows
any import error at DEBUG level -- so ``tests/test_plugin.py`` checks in a fresh interpreter that every
registration below exists. Keep this module free of side effects other than registration.
"""
import siri_verl.cpu.plugin  # noqa: E402,F401  -- CPU platform (inert unless VERL_PLATFORM=cpu) + hf rollout
import siri_verl.integration.estimator  # noqa: E402,F401  -- registers the siri_grpo advantage estimator
import siri_verl.integration.agent_loop  # noqa: E402,F401  -- registers the siri_single_turn agent loop
