"""The Collector seam: where experience comes from (in-process VecEnv today, actor processes in parallel runs).

A Collector produces :class:`Collected` batches (its learner's batch type, keisei.rl.learner.Batch) whose
transitions are tagged with the policy version that chose them, hands weights to its actors when the Trainer publishes a snapshot, and reports its sync state so
an evaluation can check that every actor plays a published version before it pins one (see docs/CONTRACTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from keisei.rl import Batch
from keisei.training.game_stats import FinishedGame
from keisei.weights import WeightSnapshot


@dataclass
class Collected:
    """One batch for the learner, the games that finished while making it, collector metrics."""

    batch: Batch
    finished: list[FinishedGame]
    stats: dict[str, float] = field(default_factory=dict)  # logged as-is (e.g. parallel/worker0/sps)

    @property
    def steps(self) -> int:
        return self.batch.steps


@dataclass(frozen=True)
class SyncState:
    """Whether every actor plays a published version and no weight sync is half-done."""

    consistent: bool
    versions: tuple[int, ...]  # the version each actor plays (one entry for in-process collection)
    reason: str = ""           # why not consistent (e.g. "worker 1 restarting")


class Collector(Protocol):
    """Produces experience for a Learner; owns its envs (and, in parallel runs, its actor processes)."""

    num_envs: int

    def collect(self) -> Collected:
        """The next batch (blocks until it is complete)."""
        ...

    def on_publish(self, snapshot: WeightSnapshot) -> None:
        """The Trainer published ``snapshot``: actors may switch to it (in-process: the live model already is it)."""
        ...

    def sync_state(self) -> SyncState:
        ...

    def state_dict(self) -> dict[str, Any] | None:
        """Env state for an exact resume, or None when games cannot be resumed exactly (actor processes)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ...

    def close(self) -> None:
        ...


class LiveModelCollector:
    """Base of the in-process collectors, which play with the live model itself: a published snapshot needs
    no sending, and the one "actor" always plays the current version (``counters.model_version``)."""

    counters: Any  # keisei.run.counters.Counters
    live: Any = None  # keisei.training.live.LiveState: shown games go there (None: not watched)

    def attach_live(self, live: Any) -> None:
        """Show some of this collector's current games in the run's live state (`keisei dashboard`)."""
        self.live = live

    def on_publish(self, snapshot: WeightSnapshot) -> None:
        """Nothing to send: the live model is the published one."""

    def sync_state(self) -> SyncState:
        return SyncState(True, (self.counters.model_version,))
