"""Counters: the one source of truth for run progress, read at call time by the loop, callbacks and metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counters:
    """Run-wide progress of one training run (the Trainer owns the single instance).

    ``timesteps`` env steps consumed by the learner, ``updates`` learner updates, ``games`` finished self-play
    games, ``model_version`` the version of the live weights (one per update: equal to ``updates``), and
    ``prev_timesteps`` the timestep count before the latest rollout (for interval crossings, see ``crossed``).
    Only timesteps/updates/games go into checkpoints (``as_dict``); model_version follows updates.
    """

    timesteps: int = 0
    updates: int = 0
    games: int = 0
    model_version: int = 0
    prev_timesteps: int = 0

    def as_dict(self) -> dict[str, int]:
        """The checkpoint's ``counters`` entry."""
        return {"timesteps": self.timesteps, "updates": self.updates, "games": self.games}

    def restore(self, saved: dict[str, int]) -> None:
        """Continue from a checkpoint's ``counters`` entry."""
        self.timesteps, self.updates, self.games = int(saved["timesteps"]), int(saved["updates"]), int(saved["games"])
        self.model_version = self.updates
        self.prev_timesteps = self.timesteps
