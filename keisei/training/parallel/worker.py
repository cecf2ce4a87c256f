"""The actor process: plays its slice of the self-play envs with a CPU copy of the policy.

Started by ParallelManager with the spawn start method; ``worker_main`` is its entry point. Loop:

1. play one segment with the policy version it holds: the algorithm's actor (``WorkerSpec.actor``, built from
   ``actor_settings``; PPO's runs the same per-step code as in-process collection) returns one tensor per
   field of the segment schema;
2. wait for one of its FREE shared slots (taking newer published weights meanwhile), copy the segment in,
   mark the slot READY and send ``("segment", slot, worker, incarnation, version, steps, seconds, games)`` on
   its own pipe (finished games are the only Python objects, one per game);
3. switch to the latest published weights when there are newer ones (only between segments, so a segment
   is made by one version).

A heartbeat (time.time()) goes into the shared WorkerTable before every env step and while it waits. The worker exits when
the stop flag is set, when its parent process is gone (``os.getppid()`` changed: the trainer died, even by
SIGKILL), or on an error (reported on the pipe, then re-raised so the exit code is non-zero). It ignores
SIGINT and SIGTERM: a Ctrl-C in the terminal (or a service manager's SIGTERM) reaches the whole process group,
and the trainer, which handles them, finishes its update, saves a checkpoint and stops its workers itself
(killed workers would only be restarted meanwhile). SIGKILL still ends a worker.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from keisei.training.parallel.segments import Segment
from keisei.training.parallel.shared import READY, RUNNING, STOPPED, WeightBoard, WorkerTable

POLL_S = 0.005


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides the shared structures (plain values: pickled to the child)."""

    worker: int
    incarnation: int
    parent_pid: int
    num_envs: int
    seed: int
    env: dict[str, Any]          # EnvConfig dump with num_envs = this worker's slice
    model_arch: dict[str, Any]   # ModelConfig dump
    actor: type                  # the algorithm's Actor class (keisei.training.parallel.segments)
    actor_settings: dict[str, Any]
    device: str = "cpu"          # "cpu" or "cuda:K"


class _Stop(Exception):
    """The worker should exit cleanly (stop flag or parent gone)."""


class _Actor:
    def __init__(self, spec: WorkerSpec, board: WeightBoard, slots: dict[str, Tensor], slot_state: Tensor,
                 table: WorkerTable, conn: Any) -> None:
        self.spec, self.board, self.slots, self.slot_state, self.table, self.conn = (
            spec, board, slots, slot_state, table, conn)
        self.w = spec.worker

    def beat(self) -> None:
        """Heartbeat; raise _Stop when stopping or orphaned."""
        self.table.heartbeat[self.w] = time.time()
        if self.table.stopping or os.getppid() != self.spec.parent_pid:
            raise _Stop

    def run(self) -> None:
        from keisei.config import EnvConfig
        from keisei.models import build_model
        from keisei.run.session import seed_everything

        spec = self.spec
        seed_everything(spec.seed)
        device = torch.device(spec.device)
        model = build_model(spec.model_arch).to(device).eval().requires_grad_(False)
        version = -1
        while version < 0:  # the trainer publishes version 0 (or the resumed version) before it collects
            self.beat()
            version = self.board.read_into(model)
            if version < 0:
                time.sleep(0.05)
        self.table.version[self.w] = version
        actor = spec.actor(spec.actor_settings, model, EnvConfig.model_validate(spec.env), device, spec.seed)
        self.table.phase[self.w] = RUNNING
        last = time.monotonic()
        while True:
            self.beat()
            seg_version = version
            segment = actor.play(self.beat, self.table.timesteps, seg_version)
            slot, version = self._wait_for_slot(model, version)
            self._write(slot, segment)
            now = time.monotonic()
            self.conn.send(("segment", slot, self.w, spec.incarnation, seg_version, segment.steps, now - last,
                            segment.finished))
            last = now
            version = self._maybe_switch(model, version)

    def _maybe_switch(self, model: torch.nn.Module, version: int) -> int:
        if self.board.version != version:
            version = self.board.read_into(model)
            self.table.version[self.w] = version
        return version

    def _wait_for_slot(self, model: torch.nn.Module, version: int) -> tuple[int, int]:
        """A FREE slot of this worker; takes new weights while waiting (the held segment keeps its tag)."""
        while True:
            self.beat()
            free = (self.slot_state[self.w] == 0).nonzero()
            if len(free):
                return int(free[0]), version
            version = self._maybe_switch(model, version)
            time.sleep(POLL_S)

    def _write(self, slot: int, segment: Segment) -> None:
        """Copy every schema field into the slot (a narrower slot dtype is checked to lose nothing)."""
        if set(segment.tensors) != set(self.slots):
            raise ValueError(f"parallel: the actor returned fields {sorted(segment.tensors)}, the segment schema "
                             f"has {sorted(self.slots)}")
        for name, src in segment.tensors.items():
            dst = self.slots[name][slot]
            dst.copy_(src)
            if dst.dtype != src.dtype and not torch.equal(dst.to(src.device, src.dtype), src):
                raise ValueError(f"parallel: segment field {name} ({src.dtype}) does not fit its {dst.dtype} "
                                 "shared slot without loss")
        self.slot_state[self.w, slot] = READY


def worker_main(spec: WorkerSpec, board: WeightBoard, slots: dict[str, Tensor], slot_state: Tensor,
                table: WorkerTable, conn: Any) -> None:
    """Process entry point (spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)  # before any inter-op work; OMP_WAIT_POLICY is inherited from the trainer
    actor = _Actor(spec, board, slots, slot_state, table, conn)
    try:
        actor.run()
    except _Stop:
        pass
    except BaseException:  # noqa: BLE001 - reported to the learner, then the process exits non-zero
        text = traceback.format_exc()
        try:
            conn.send(("error", spec.worker, spec.incarnation, text))
        except (OSError, ValueError):
            pass
        print(f"keisei parallel worker {spec.worker}: {text}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        table.phase[spec.worker] = STOPPED
        conn.close()
