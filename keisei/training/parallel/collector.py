"""ParallelCollector: the Collector of a parallel run (actor processes, see ParallelManager).

``collect()`` takes finished segments from the workers in arrival order until it holds at least
``env.num_envs`` env columns (exactly that many when the envs split evenly; segments that arrive beyond that
wait for the next batch), copies each out of its shared slot at once (the slot goes straight back to its
worker), and has the algorithm's ``SegmentKind.assemble`` put them side by side into the learner's batch
(PPO: one RolloutBuffer whose columns are each one env's own time series, so negamax GAE over it is exactly
GAE per worker segment). Every transition is tagged with the version of the policy that chose it (one
version per segment). A segment more than ``parallel.max_policy_lag`` versions older than the live model is dropped
(counted in ``parallel/dropped_samples``); its games are not recorded either.

Weight sync: ``on_publish`` writes every published snapshot into the shared WeightBoard; actors switch to it
between segments. ``sync_state()`` is consistent when every worker is running and plays the latest published
version (no restart and no sync half-done), which is what an evaluation waits for before it pins a snapshot.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import torch
from torch import nn

from keisei.config import KeiseiConfig
from keisei.run.counters import Counters
from keisei.run.timing import Stopwatch
from keisei.training.collector import Collected, SyncState
from keisei.training.parallel.manager import Message, ParallelManager, learner_threads
from keisei.training.parallel.segments import SegmentKind
from keisei.training.parallel.shared import PHASES, RUNNING
from keisei.weights import WeightSnapshot

logger = logging.getLogger(__name__)

RECEIVE_POLL_S = 0.2


class ParallelCollector:
    """Collector over ``parallel.num_workers`` actor processes playing ``kind``'s segments; the Trainer's
    publisher feeds it weights."""

    def __init__(self, config: KeiseiConfig, model: nn.Module, device: torch.device, counters: Counters,
                 net_time: Stopwatch | None = None, env_seed: int | None = None, *, kind: SegmentKind) -> None:
        self.config = config
        self.env_seed = config.training.seed if env_seed is None else env_seed  # a torchrun rank's own seed
        self.counters = counters
        self.device = device
        self.num_envs = config.env.num_envs
        self.kind = kind
        self.max_lag = config.parallel.max_policy_lag
        threads, self.threads_line = learner_threads(config)
        torch.set_num_threads(threads)  # restored by SessionManager.close
        logger.info("parallel: %s", self.threads_line)
        self.manager = ParallelManager(config, model, kind)
        self.published_version = -1
        self.dropped_samples = 0
        self.dropped_segments = 0
        self.consumed_samples = 0
        self.worker_sps = [0.0] * self.manager.num_workers
        self.worker_lag = [0.0] * self.manager.num_workers      # lag of its latest consumed segment
        self.worker_dropped = [0] * self.manager.num_workers    # samples dropped as too old (cumulative)
        self.wait_seconds = 0.0
        self._outside_since: float | None = None
        self._outside_seconds = 0.0
        self._pending: deque[Message] = deque()  # received, not yet consumed (their slots stay READY)

    # -- Collector -----------------------------------------------------------------------------------------
    def describe(self) -> str:
        widths = "+".join(map(str, self.manager.widths))
        return (f"{self.manager.num_workers} actor processes ({widths} envs), {self.threads_line}; weights every "
                f"{self.config.parallel.sync_interval_updates} update(s), max policy lag "
                f"{self.max_lag}")

    def on_publish(self, snapshot: WeightSnapshot) -> None:
        self.manager.board.write(snapshot.state_dict, snapshot.model_version)
        self.published_version = snapshot.model_version
        if not self.manager.started:  # the first publish: counters are final (after a resume too)
            self.manager.start(seed_base=self.env_seed + 1_000_003 * self.counters.updates)

    def collect(self) -> Collected:
        if self.published_version < 0:
            raise RuntimeError("ParallelCollector.collect: no weights published yet (the loop publishes first)")
        start = time.monotonic()
        if self._outside_since is not None:
            self._outside_seconds += start - self._outside_since
        self.manager.table.timesteps = self.counters.timesteps
        taken: list[tuple[Message, dict[str, torch.Tensor]]] = []
        cols = 0
        lag_sum = lag_max = 0
        dropped_before = self.dropped_samples
        while cols < self.num_envs:
            self.manager.maintain()
            if not self._pending:
                for m in self.manager.receive(RECEIVE_POLL_S):
                    if m.seconds > 0:
                        self.worker_sps[m.worker] = m.steps / m.seconds
                    self._pending.append(m)
            while self._pending and cols < self.num_envs:
                m = self._pending.popleft()
                if m.incarnation != int(self.manager.table.incarnation[m.worker]):
                    continue  # its worker was restarted meanwhile: the slot was freed and may hold new data
                lag = self.counters.model_version - m.version
                if lag > self.max_lag:
                    self.manager.release(m)
                    self.worker_dropped[m.worker] += m.steps
                    self.dropped_samples += m.steps
                    self.dropped_segments += 1
                    continue
                taken.append((m, self._copy_out(m)))
                self.worker_lag[m.worker] = float(lag)
                cols += self.manager.widths[m.worker]
                lag_sum += lag * m.steps
                lag_max = max(lag_max, lag)
        batch = self.kind.assemble([(m.version, seg) for m, seg in taken], self.device)
        steps = sum(m.steps for m, _ in taken)
        self.consumed_samples += steps
        finished = [g for m, _ in taken for g in m.finished]
        end = time.monotonic()
        self.wait_seconds += end - start
        self._outside_since = end
        stats: dict[str, float] = {}
        for w in range(self.manager.num_workers):
            stats[f"parallel/worker{w}/sps"] = self.worker_sps[w]
            stats[f"parallel/worker{w}/policy_lag"] = self.worker_lag[w]
            stats[f"parallel/worker{w}/dropped_samples"] = float(self.worker_dropped[w])
        total = self.wait_seconds + self._outside_seconds
        stats.update({
            "parallel/policy_lag": lag_sum / max(steps, 1), "parallel/policy_lag_max": float(lag_max),
            "parallel/queue_depth": float(self.manager.slots.ready_count()),
            "parallel/dropped_samples": float(self.dropped_samples),
            "parallel/dropped_this_batch": float(self.dropped_samples - dropped_before),
            "parallel/restarts": float(self.manager.restarts),
            "parallel/workers_running": float(sum(int(x) == RUNNING for x in self.manager.table.phase)),
            "parallel/workers": float(self.manager.num_workers),
            "parallel/actor_sps": float(sum(self.worker_sps)),
            "parallel/learner_share": self._outside_seconds / total if total > 0 else 0.0,
        })
        return Collected(batch, finished, stats)

    def _copy_out(self, m: Message) -> dict[str, torch.Tensor]:
        """Copy a segment out of its shared slot and give the slot back at once."""
        src = self.manager.slots.tensors[m.worker]
        seg = {name: src[name][m.slot].clone() for name in self.kind.schema}
        self.manager.release(m)
        return seg

    def sync_state(self) -> SyncState:
        self.manager.maintain()
        table = self.manager.table
        versions = tuple(int(v) for v in table.version)
        for w, phase in enumerate(table.phase):
            if int(phase) != RUNNING:
                return SyncState(False, versions, f"worker {w} {PHASES[int(phase)]}")
        behind = [w for w, v in enumerate(versions) if v != self.published_version]
        if behind:
            return SyncState(False, versions, f"weight sync in progress: published v{self.published_version}, "
                             + ", ".join(f"worker {w} on v{versions[w]}" for w in behind))
        return SyncState(True, versions)

    def state_dict(self) -> dict[str, Any] | None:
        """None: games in actor processes are not saved; a resumed parallel run starts fresh games."""
        return None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state is not None:
            logger.info("parallel: the checkpoint's env games are not restored; the actors start fresh games")

    def close(self) -> None:
        self.manager.close()
