"""CheckpointCallback: save a checkpoint whenever the timestep counter crosses a multiple of the interval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from keisei.run.callbacks import Callback, CallbackContext, crossed


class CheckpointCallback(Callback):
    """Calls `save()` (the Trainer's checkpoint writer) on the first update past each interval multiple."""

    def __init__(self, interval_timesteps: int, save: Callable[[], Path]) -> None:
        if interval_timesteps <= 0:
            raise ValueError(f"training.checkpoint_interval_timesteps must be > 0, got {interval_timesteps}")
        self.interval = interval_timesteps
        self.save = save

    def on_update_end(self, ctx: CallbackContext) -> None:
        if crossed(ctx.prev_timesteps, ctx.timesteps, self.interval):
            path = self.save()
            ctx.display.set_status("checkpoint", f"{path.name} at {ctx.timesteps:,} steps")
