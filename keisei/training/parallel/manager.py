"""ParallelManager: the actor processes of a parallel run, their shared memory, health checks and restarts.

One process per worker (torch.multiprocessing, spawn; started by ``start()``), each with its slice of ``env.num_envs`` (split as
evenly as possible), its own seed, one torch thread, and its own one-way pipe to the learner (a worker killed
in the middle of a send can only break its own pipe, never a lock other workers need). ``maintain()`` (called
by the collector on the training thread) restarts a worker that exited or was killed (e.g. SIGKILL), that did
not report in within ``parallel.start_timeout_s``, or whose heartbeat is older than
``parallel.heartbeat_timeout_s`` (a hung worker is killed first). A restarted worker gets a new incarnation
number: messages of the old one are ignored and its slots are freed, so partial or unsent segments are
discarded, never trained on. It loads the latest published weights from the WeightBoard and starts fresh
games with a new seed. ``close()`` sets the stop flag, joins the workers and kills those that do not exit.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import torch
from torch import nn

from keisei.config import ConfigError, KeiseiConfig
from keisei.errors import KeiseiError
from keisei.models import unwrap_model
from keisei.run.threads import available_cores, resolve_torch_threads
from keisei.training.parallel.segments import SegmentKind, segment_bytes
from keisei.training.parallel.shared import (
    FREE,
    PHASES,
    RUNNING,
    STARTING,
    SegmentSlots,
    WeightBoard,
    WorkerTable,
)
from keisei.training.parallel.worker import WorkerSpec, worker_main
from keisei.weights import strip_wrapper_prefixes

logger = logging.getLogger(__name__)

MAX_FAILED_STARTS = 3   # consecutive deaths before RUNNING: a broken setup, not a fault to ride out
JOIN_TIMEOUT_S = 10.0


class ParallelError(KeiseiError):
    """The actors cannot run (a worker died MAX_FAILED_STARTS times in a row before it started)."""


def split_envs(num_envs: int, num_workers: int) -> list[int]:
    """Envs per worker, as even as possible (the first ones get one more)."""
    base, extra = divmod(num_envs, num_workers)
    return [base + (w < extra) for w in range(num_workers)]


def learner_threads(config: KeiseiConfig, cores: int | None = None) -> tuple[int, str]:
    """Torch threads for the learner and a line saying how the cores are shared."""
    p, t = config.parallel, config.training
    cores = cores or available_cores()
    left = max(1, cores - p.num_workers)
    asked = p.learner_threads or resolve_torch_threads(t.torch_threads, cores)
    threads = min(asked, left) if asked else left
    note = ""
    if asked and threads < asked:
        source = "parallel.learner_threads" if p.learner_threads else "training.torch_threads"
        note = f" ({source}={asked} capped to the cores the workers leave)"
    line = f"{p.num_workers} workers x 1 torch thread + learner {threads} thread(s) on {cores} cores{note}"
    if p.num_workers + threads > cores:
        line += "; oversubscribed: more threads than cores"
    return threads, line


def _check_shared_memory(needed: int, where: str = "/dev/shm", length_field: str = "the segment length") -> None:
    """Fail with the fields to change when the shared-memory file system cannot hold the slots (writing past
    its size would kill the workers with SIGBUS instead)."""
    if not os.path.isdir(where):
        return
    free = shutil.disk_usage(where).free
    if needed > free:
        raise ConfigError(f"parallel: the segment slots need {needed / 2**20:,.0f} MiB of shared memory but {where} "
                          f"has {free / 2**20:,.0f} MiB free; lower parallel.slots_per_worker, {length_field} or "
                          "env.num_envs (or enlarge /dev/shm, e.g. docker --shm-size)")


@dataclass
class Message:
    """A finished segment announced by a worker."""

    slot: int
    worker: int
    incarnation: int
    version: int
    steps: int
    seconds: float  # since the worker's previous segment (its effective rate includes waiting for slots)
    finished: list


class ParallelManager:
    """Owns the workers, the WeightBoard, the SegmentSlots and the WorkerTable of one parallel run; ``kind``
    (the algorithm's segment schema and actor) is all it knows of what the workers play."""

    def __init__(self, config: KeiseiConfig, model: nn.Module, kind: SegmentKind, seed_base: int | None = None) -> None:
        p, t = config.parallel, config.training
        if p.worker_device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("parallel.worker_device: cuda was requested but CUDA is not available")
        self.config = config
        self.kind = kind
        self.num_workers = p.num_workers
        self.widths = split_envs(config.env.num_envs, p.num_workers)
        state = strip_wrapper_prefixes(unwrap_model(model).state_dict())
        _check_shared_memory(segment_bytes(kind.schema, config.env.num_envs, p.slots_per_worker, kind.num_steps),
                             length_field=kind.length_field)
        self.board = WeightBoard(state)
        self.slots = SegmentSlots(self.widths, p.slots_per_worker, kind.num_steps, kind.schema)
        self.table = WorkerTable(p.num_workers)
        self.seed_base = t.seed if seed_base is None else seed_base
        self._ctx = torch.multiprocessing.get_context("spawn")
        self.procs: list[Any] = [None] * p.num_workers
        self.conns: list[Connection | None] = [None] * p.num_workers
        self.started_at = [0.0] * p.num_workers
        self.failed_starts = [0] * p.num_workers
        self.restarts = 0
        self.restart_log: list[tuple[int, str]] = []  # (worker, reason)
        self.errors: dict[int, str] = {}  # the last traceback each worker reported
        self._closed = False
        self.started = False

    def start(self, seed_base: int | None = None) -> None:
        """Spawn every worker (the collector does this at the first publish, after a resume restored the
        counters: a resumed run seeds its workers differently from the run it continues)."""
        if seed_base is not None:
            self.seed_base = seed_base
        self.started = True
        for w in range(self.num_workers):
            self._start(w)

    # -- processes -----------------------------------------------------------------------------------------
    def _spec(self, w: int, incarnation: int) -> WorkerSpec:
        cfg = self.config
        env = cfg.env.model_dump(mode="json")
        env["num_envs"] = self.widths[w]
        seed = (self.seed_base * 1_000_003 + w * 7919 + incarnation * 104_729) % (2**31)
        device = "cpu"
        if cfg.parallel.worker_device == "cuda":
            device = f"cuda:{w % torch.cuda.device_count()}"
        return WorkerSpec(worker=w, incarnation=incarnation, parent_pid=os.getpid(), num_envs=self.widths[w],
                          seed=seed, env=env, model_arch=cfg.model.model_dump(mode="json"), actor=self.kind.actor,
                          actor_settings=dict(self.kind.actor_settings), device=device)

    def _start(self, w: int) -> None:
        table = self.table
        table.incarnation[w] += 1
        incarnation = int(table.incarnation[w])
        self.slots.reset_worker(w)
        table.phase[w], table.version[w], table.heartbeat[w] = STARTING, -1, 0.0
        reader, writer = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=worker_main, name=f"keisei-actor-{w}", daemon=True,
                                 args=(self._spec(w, incarnation), self.board, self.slots.tensors[w],
                                       self.slots.state, table, writer))
        proc.start()
        writer.close()  # the child holds the writing end; EOF on ours means it is gone
        self.procs[w], self.conns[w] = proc, reader
        self.started_at[w] = time.monotonic()
        logger.debug("parallel: worker %d started (pid %d, incarnation %d, %d envs)", w, proc.pid, incarnation,
                     self.widths[w])

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _kill(self, w: int) -> None:
        proc = self.procs[w]
        if proc is not None and proc.is_alive():
            proc.kill()
        if proc is not None:
            proc.join(JOIN_TIMEOUT_S)
        conn = self.conns[w]
        if conn is not None:
            conn.close()
        self.conns[w] = None

    def restart(self, w: int, reason: str) -> None:
        """Kill (if needed) and start worker ``w`` again; logged and counted."""
        was_running = int(self.table.phase[w]) == RUNNING
        self._kill(w)
        self.failed_starts[w] = 0 if was_running else self.failed_starts[w] + 1
        if self.failed_starts[w] >= MAX_FAILED_STARTS:
            last = self.errors.get(w, "").strip().splitlines()
            raise ParallelError(f"parallel: worker {w} died {MAX_FAILED_STARTS} times before starting ({reason})"
                                + (f": {last[-1]}" if last else ""))
        self.restarts += 1
        self.restart_log.append((w, reason))
        logger.warning("parallel: worker %d %s; restarting it with the latest weights and fresh games", w, reason)
        self._start(w)

    def maintain(self) -> None:
        """Restart workers that died, never started, or stopped sending heartbeats."""
        if not self.started or self._closed:
            return
        p = self.config.parallel
        now_mono, now = time.monotonic(), time.time()
        for w, proc in enumerate(self.procs):
            phase = int(self.table.phase[w])
            if not proc.is_alive():
                self.restart(w, f"exited (exit code {proc.exitcode})")
            elif phase == STARTING and now_mono - self.started_at[w] > p.start_timeout_s:
                self.restart(w, f"did not start within parallel.start_timeout_s={p.start_timeout_s:g}s")
            elif phase == RUNNING and now - float(self.table.heartbeat[w]) > p.heartbeat_timeout_s \
                    and not self._waiting_for_us(w):
                self.restart(w, f"sent no heartbeat for parallel.heartbeat_timeout_s={p.heartbeat_timeout_s:g}s")

    def _waiting_for_us(self, w: int) -> bool:
        """Unread data on its pipe: the worker may be blocked sending to a learner that was busy, not hung."""
        conn = self.conns[w]
        try:
            return conn is not None and conn.poll(0)
        except (EOFError, OSError):
            return False

    # -- messages ------------------------------------------------------------------------------------------
    def receive(self, timeout: float) -> list[Message]:
        """Segments announced within ``timeout`` seconds (current incarnations only)."""
        live = [c for c in self.conns if c is not None]
        out: list[Message] = []
        for conn in wait(live, timeout) if live else []:
            w = self.conns.index(conn)
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the worker is gone; maintain() restarts it
                conn.close()
                self.conns[w] = None
                continue
            if msg[0] == "error":
                self.errors[msg[1]] = msg[3]
                logger.error("parallel: worker %d failed:\n%s", msg[1], msg[3])
                continue
            m = Message(*msg[1:])
            if m.incarnation == int(self.table.incarnation[m.worker]):
                out.append(m)
        return out

    def release(self, m: Message) -> None:
        """Give a consumed (or dropped) slot back to its worker."""
        if m.incarnation == int(self.table.incarnation[m.worker]):
            self.slots.state[m.worker, m.slot] = FREE

    def describe_phases(self) -> list[str]:
        return [PHASES[int(x)] for x in self.table.phase]

    # -- shutdown ------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every worker (join, then kill stragglers) and close the pipes (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.table.request_stop()
        if not self.started:
            return
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for proc in self.procs:
            if proc is not None:
                proc.join(max(0.0, deadline - time.monotonic()))
        for w, proc in enumerate(self.procs):
            if proc is not None and proc.is_alive():
                logger.warning("parallel: worker %d did not stop within %.0fs; killing it", w, JOIN_TIMEOUT_S)
            self._kill(w)
