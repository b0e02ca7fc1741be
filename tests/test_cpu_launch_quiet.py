"""The CPU launch preset asks TransferQueue for no more torch threads than the host has physical cores.

TransferQueue (verl's data plane) wraps every put/get in ``limit_pytorch_auto_parallel_threads(TQ_NUM_THREADS)``;
its default of 8 on a 2-core host logs "target_num_threads 8 should not exceed total physical CPU cores 2" each
time (about 2,200 of the tiny CPU run's ~3,300 output lines). The preset sets ``TQ_NUM_THREADS`` to the value
TransferQueue would clamp to, so the behaviour is unchanged and the warning is gone. Checked against the real
TransferQueue in a fresh interpreter, because it reads the variable at import.
"""

from __future__ import annotations

import json
import subprocess
import sys

import psutil
import pytest

from siri_verl.cpu.launch import CPU_ENV, cpu_env

PROBE = r"""
import json, logging
records = []
class Collect(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger().addHandler(Collect())
logging.getLogger().setLevel(logging.WARNING)
import transfer_queue.client as client
import transfer_queue.storage.simple_storage as storage
from transfer_queue.utils.common import limit_pytorch_auto_parallel_threads
import torch
for threads in (client.TQ_NUM_THREADS, storage.TQ_NUM_THREADS):
    with limit_pytorch_auto_parallel_threads(target_num_threads=threads, info="probe"):
        inside = torch.get_num_threads()
print(json.dumps({"client": client.TQ_NUM_THREADS, "storage": storage.TQ_NUM_THREADS, "inside": inside,
                  "warnings": [m for m in records if "should not exceed" in m]}))
"""


def _probe(env: dict[str, str]) -> dict:
    completed = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_preset_thread_count_is_what_transfer_queue_would_clamp_to():
    cores = psutil.cpu_count(logical=False)
    assert CPU_ENV["TQ_NUM_THREADS"] == str(min(8, cores))
    assert cpu_env({"TQ_NUM_THREADS": "1"})["TQ_NUM_THREADS"] == "1"  # the caller's value wins


@pytest.mark.slow
@pytest.mark.subprocess
def test_transfer_queue_is_quiet_under_the_preset_and_warns_without_it():
    env = cpu_env({key: value for key, value in cpu_env().items() if key != "TQ_NUM_THREADS"})
    quiet = _probe(env)
    expected = min(8, psutil.cpu_count(logical=False))
    assert quiet["client"] == quiet["storage"] == expected
    assert quiet["inside"] == expected  # the same thread count TransferQueue used before (8 clamped to the cores)
    assert quiet["warnings"] == []
    if psutil.cpu_count(logical=False) < 8:
        # without the preset's value TransferQueue's default (8) warns on every call: the check above can fail
        loud = _probe({**env, "TQ_NUM_THREADS": "8"})
        assert len(loud["warnings"]) == 2 and loud["inside"] == expected
