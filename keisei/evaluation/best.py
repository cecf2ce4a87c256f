"""The run's best network, chosen by evaluation: ``checkpoints/best.pt``.

After each periodic evaluation the evaluated version's rating (on the calibrated scale, with its 95% interval)
is compared with the best's: it replaces the best only when the lower end of its interval is above the best's
rating, so one lucky 20-game result does not, and a later, weaker net never does. ``best.pt`` is a full model
checkpoint (the snapshot's weights, its counters, the run's config) with a ``best`` entry saying why; every
command that takes a checkpoint takes it, and a run directory given as a checkpoint means its ``best.pt``
(else its latest checkpoint).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keisei.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from keisei.checkpoint_path import BEST_FILE

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig
    from keisei.weights import WeightSnapshot

logger = logging.getLogger(__name__)


class BestKeeper:
    """Keeps ``run_dir/checkpoints/best.pt`` (rank 0's evaluation thread of control only)."""

    def __init__(self, run_dir: str | Path, config: KeiseiConfig) -> None:
        self.path = Path(run_dir) / "checkpoints" / BEST_FILE
        self.config = config
        self._best: dict[str, Any] | None = None
        if self.path.is_file():
            try:
                self._best = dict(load_checkpoint(self.path).get("best") or {}) or None
            except CheckpointError as exc:  # a damaged best is replaced by the next good evaluation
                logger.warning("%s; the next evaluated version becomes the best", exc)

    @property
    def best(self) -> dict[str, Any] | None:
        """``{model_version, timestep, elo, low, high, scale}`` of the current best, or None."""
        return None if self._best is None else dict(self._best)

    def consider(self, snapshot: WeightSnapshot, elo: float, low: float, high: float, scale: str) -> bool:
        """Make ``snapshot`` the best when there is none or ``low`` > the best's Elo; -> whether it did.
        A failed write raises DurableWriteError (the run's durable file, like a checkpoint)."""
        if self._best is not None and not low > self._best["elo"]:
            return False
        meta = {"model_version": int(snapshot.model_version), "timestep": int(snapshot.timestep),
                "elo": float(elo), "low": float(low), "high": float(high), "scale": scale,
                "sha256": snapshot.sha256}
        save_checkpoint(self.path, {
            "model_name": snapshot.model_name, "model_arch": dict(snapshot.model_arch),
            "model_state": snapshot.state_dict, "model_version": int(snapshot.model_version),
            "counters": {"timesteps": int(snapshot.timestep), "updates": int(snapshot.model_version), "games": 0},
            "config": self.config.to_dict(), "best": meta,
        })
        self._best = meta
        return True
