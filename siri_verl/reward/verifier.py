"""A bounded pool of killable math-verify worker processes with a hard per-answer time limit.

math-verify's own timeout uses ``signal.alarm``: it raises in threads (verl's reward managers call the
reward function from a thread pool) and cannot interrupt sympy while it is inside C code. Here every
comparison runs in a separate process (``siri_verl.reward._verify_worker``); the caller waits at most
``timeout_s`` for the reply and otherwise kills the process and reports ``"timeout"``. A replacement
is started on the next use. Workers are plain subprocesses (no multiprocessing start-method or
``__main__`` re-import issues inside Ray workers) and are shared by all threads of a process.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Generous: the first start imports sympy + math-verify (about 1-2 s, more on a loaded machine).
_STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Verdict:
    """Result of one comparison: ``equal`` and, when it could not be decided, a ``reason`` ("timeout",
    "partial_parse_answer", "partial_parse_ground_truth", "unparsable_answer", "unparsable_ground_truth",
    "memory_limit", "verifier_error: ..."). For a gold-only request (``pred=None``) the reason is how the
    gold parses: "" (whole), "partial_parse" or "unparsable"."""

    equal: bool
    reason: str = ""


class _Worker:
    """One worker process. It is started at construction and imports in the background; the first
    ``ask`` waits for its ready line (start-up never counts against an answer's limit)."""

    def __init__(self, memory_limit_mb: int, cpu_budget_s: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "siri_verl.reward._verify_worker", str(memory_limit_mb), str(cpu_budget_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._buffer = b""
        self._ready = False

    def wait_ready(self) -> None:
        if self._ready:
            return
        ready = self._read_line(_STARTUP_TIMEOUT_S)
        if ready is None or not json.loads(ready).get("ready"):
            self.kill()
            raise RuntimeError(
                "siri_verl math-verify worker failed to start: run "
                f"`{sys.executable} -m siri_verl.reward._verify_worker` to see the error"
            )
        self._ready = True

    def _read_line(self, timeout_s: float) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        stdout_fd = self.process.stdout.fileno()
        poller = select.poll()  # not select.select: Ray workers may hold fds above FD_SETSIZE
        poller.register(stdout_fd, select.POLLIN)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, int(remaining * 1000))):
                return None
            chunk = os.read(stdout_fd, 65536)
            if not chunk:  # the worker died
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def ask(self, gold: str, pred: str | None, timeout_s: float) -> Verdict | None:
        """The worker's verdict, or None when it timed out or died (the caller then kills it). With
        ``pred=None`` the verdict's reason is how the gold parses ("", "partial_parse", "unparsable")."""
        self.wait_ready()
        try:
            self.process.stdin.write((json.dumps({"gold": gold, "pred": pred}) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = self._read_line(timeout_s)
        if line is None:
            return None
        reply = json.loads(line)
        return Verdict(bool(reply["equal"]), reply.get("error", ""))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class VerifierPool:
    """Up to ``size`` worker processes, each handling one comparison at a time, plus one idle spare.

    ``check(gold, pred)`` is thread-safe: a thread borrows an idle worker (starting one if fewer than
    ``size`` exist), so at most ``size`` comparisons run at once and CPU use stays bounded. The spare
    (started with the first worker) replaces a killed worker at once, so the answer after a timeout does
    not wait for a start-up (seconds of imports on a busy machine); a new spare then starts.
    """

    def __init__(self, size: int, timeout_s: float, memory_limit_mb: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"verifier pool size must be >= 1, got {size}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.size = size
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # a free slot without a started process
        self._all: set[_Worker] = set()
        self._spare: _Worker | None = None  # started, idle: takes over at once when a worker is killed
        self._start_lock = threading.Lock()
        self._lock = threading.Lock()

    def check(self, gold: str, pred: str, timeout_s: float | None = None) -> Verdict:
        """Whether ``pred`` equals ``gold`` per math-verify, bounded by ``timeout_s`` (pool default)."""
        return self.check_many([(gold, pred)], timeout_s)[0]

    def check_many(self, pairs: Sequence[tuple[str, str | None]], timeout_s: float | None = None) -> list[Verdict]:
        """``check`` for each (gold, pred) pair, in order, on one borrowed worker (so answers sharing a
        gold reuse its cached parse); each comparison is bounded by ``timeout_s`` on its own."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        worker = self._idle.get()
        verdicts = []
        try:
            for gold, pred in pairs:
                if worker is None:
                    worker = self._start()
                try:
                    verdict = worker.ask(gold, pred, limit)
                except RuntimeError:  # it never started: no broken worker stays in the slot
                    self._discard(worker)
                    worker = None
                    raise
                if verdict is None:
                    died = worker.process.poll() is not None
                    self._discard(worker)
                    # the replacement imports while the caller goes on, so the next answer rarely waits
                    worker = self._start()
                    verdict = Verdict(False, "verifier_error: worker died" if died else "timeout")
                verdicts.append(verdict)
            return verdicts
        finally:
            self._idle.put(worker)

    def _new_worker(self) -> _Worker:
        # CPU backstop inside the worker: well above the wall-clock limit enforced here.
        worker = _Worker(self.memory_limit_mb, cpu_budget_s=int(2 * self.timeout_s) + 10)
        with self._lock:
            self._all.add(worker)
        return worker

    def _start(self) -> _Worker:
        """A worker for a slot: the spare when there is one (already imported, so a comparison right after
        a kill does not wait for a start-up), and a new spare starting in the background."""
        with self._start_lock:  # one spare at a time; Popen returns at once (imports run in the child)
            spare, self._spare = self._spare, None
            if spare is None or spare.process.poll() is not None:
                if spare is not None:
                    self._discard(spare)
                spare = self._new_worker()
            self._spare = self._new_worker()
        return spare

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        """Kill every worker process (idempotent; also run at interpreter exit)."""
        with self._lock:
            workers, self._all, self._spare = list(self._all), set(), None
        for worker in workers:
            worker.kill()

    @property
    def num_processes(self) -> int:
        with self._lock:
            return len(self._all)


_shared_pools: dict[tuple, VerifierPool] = {}
_shared_lock = threading.Lock()


def shared_pool(size: int, timeout_s: float, memory_limit_mb: int = 4096) -> VerifierPool:
    """The process-wide pool for these settings (re-created after a fork)."""
    key = (os.getpid(), size, timeout_s, memory_limit_mb)
    with _shared_lock:
        pool = _shared_pools.get(key)
        if pool is None:
            pool = _shared_pools[key] = VerifierPool(size, timeout_s, memory_limit_mb)
        return pool


@atexit.register
def _close_shared_pools() -> None:
    for (pid, *_), pool in list(_shared_pools.items()):
        if pid == os.getpid():
            pool.close()
