"""verl swallows plugin import errors, so check in a fresh interpreter that ``import verl`` alone
(what every Ray worker does) leaves siri_verl's registrations in place."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, verl
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
from verl.workers.rollout.base import _ROLLOUT_REGISTRY
print(json.dumps({
    "siri_grpo": getattr(ADV_ESTIMATOR_REGISTRY.get("siri_grpo"), "__module__", None),
    "hf_rollout": _ROLLOUT_REGISTRY.get(("hf", "async")),
}))
"""


def test_registrations_exist_after_import_verl():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["siri_grpo"] == "siri_verl.integration.estimator"
    assert found["hf_rollout"], "the CPU hf rollout backend is not registered"
