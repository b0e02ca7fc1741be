"""verl swallows plugin import errors, so check in a fresh interpreter that ``import verl`` alone
(what every Ray worker does) leaves siri_verl's registrations in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = r"""
import json, verl
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
from verl.workers.rollout.base import _ROLLOUT_REGISTRY
from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
print(json.dumps({
    "siri_grpo": getattr(ADV_ESTIMATOR_REGISTRY.get("siri_grpo"), "__module__", None),
    "hf_rollout": _ROLLOUT_REGISTRY.get(("hf", "async")),
    "agent_loop": _agent_loop_registry.get("siri_single_turn"),
}))
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_registrations_exist_after_import_verl():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["siri_grpo"] == "siri_verl.integration.estimator"
    assert found["hf_rollout"], "the CPU hf rollout backend is not registered"
    # found by name with no agent_loop_config_path: what an agent-loop worker on any node sees
    assert found["agent_loop"] == {"_target_": "siri_verl.integration.agent_loop.SiriSingleTurnAgentLoop"}
