"""WeightPublisher: the Trainer's one source of weight snapshots for actors and evaluation.

After an update the Trainer may publish an immutable snapshot {model_version, sha256, timestep} of the live
model through the run's one ModelWeightManager; parallel actors and evaluations only ever receive published
snapshots, never the live model, so "version N" means the same bytes everywhere (``history`` lists every
version and hash issued). Publishing happens on the training thread between updates.

``pin(timeout_s)`` is the one way an evaluation takes its snapshot, in one-process and parallel runs alike:
it asks the collector's ``sync_state()`` whether every actor plays one published version (all workers
running, no weight sync half-done), and returns that version's snapshot; while the state is inconsistent it
waits for the next version boundary, up to ``timeout_s``, then gives up with the reason. In-process
collection is always consistent (the actor is the live model), so there the check is trivial.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from keisei.config import ModelConfig
from keisei.run.counters import Counters
from keisei.training.collector import SyncState
from keisei.weights import ModelWeightManager, WeightSnapshot

logger = logging.getLogger(__name__)

Listener = Callable[[WeightSnapshot], None]
PIN_POLL_S = 0.02


@dataclass(frozen=True)
class Published:
    """One issued version: what evaluations and actors can be checked against."""

    model_version: int
    sha256: str
    timestep: int


class WeightPublisher:
    """Publishes snapshots of ``model`` at ``counters.model_version`` and remembers what it issued."""

    def __init__(self, model: nn.Module, model_config: ModelConfig, counters: Counters,
                 weights: ModelWeightManager) -> None:
        self.model = model
        self.model_config = model_config
        self.counters = counters
        self.weights = weights
        self.history: list[Published] = []
        self._latest: WeightSnapshot | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        #: the collector's sync_state (the Trainer sets it); None: the live model is the only actor
        self.sync_source: Callable[[], SyncState] | None = None

    def add_listener(self, fn: Listener) -> None:
        """``fn(snapshot)`` after every publish (e.g. the parallel collector sending weights to actors)."""
        self._listeners.append(fn)

    @property
    def latest(self) -> WeightSnapshot | None:
        """The most recently published snapshot (None before the first publish)."""
        with self._lock:
            return self._latest

    def publish(self) -> WeightSnapshot:
        """Snapshot the live model now (training thread, between updates), record it, notify listeners."""
        c, m = self.counters, self.model_config
        snapshot = self.weights.snapshot(self.model, c.model_version, c.timesteps, m.name, m.model_dump(mode="json"))
        with self._lock:
            self._latest = snapshot
            self.history.append(Published(snapshot.model_version, snapshot.sha256, snapshot.timestep))
        logger.debug("published weights %s sha256 %s", snapshot.label, snapshot.sha256[:12])
        for fn in self._listeners:
            fn(snapshot)
        return snapshot

    def current(self) -> WeightSnapshot:
        """The published snapshot of the live model's version, publishing it first if it is not out yet."""
        latest = self.latest
        if latest is not None and latest.model_version == self.counters.model_version:
            return latest
        return self.publish()

    def issued(self, model_version: int, sha256: str) -> bool:
        """True when this exact version and hash were published by this run."""
        with self._lock:
            return any(p.model_version == model_version and p.sha256 == sha256 for p in self.history)

    def pin(self, timeout_s: float) -> tuple[WeightSnapshot | None, str]:
        """(the snapshot every actor plays, "") or (None, why not) after waiting up to ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.sync_source() if self.sync_source is not None else \
                SyncState(True, (self.counters.model_version,))
            snapshot, reason = self._agreed(state)
            if snapshot is not None or time.monotonic() >= deadline:
                return snapshot, reason
            time.sleep(PIN_POLL_S)

    def _agreed(self, state: SyncState) -> tuple[WeightSnapshot | None, str]:
        if not state.consistent:
            return None, state.reason or "actors not in sync"
        versions = set(state.versions)
        if len(versions) != 1:
            return None, f"actors on versions {sorted(versions)}"
        (version,) = versions
        snapshot = self.current() if version == self.counters.model_version else self.latest
        if snapshot is None or snapshot.model_version != version or not self.issued(version, snapshot.sha256):
            return None, f"actors on v{version}, which is not the latest published snapshot"
        return snapshot, ""
