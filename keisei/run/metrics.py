"""MetricsManager: TensorBoard scalars in the run directory (CleanRL names), counters, optional W&B."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from keisei.config import KeiseiConfig
from keisei.run.counters import Counters

logger = logging.getLogger(__name__)


class MetricsManager:
    """Implements MetricsSink: `log_scalar(tag, value, step)` and `increment(name, n=1)`.

    `increment` logs at `progress.timesteps`, read at call time (the Trainer passes its Counters).
    """

    def __init__(self, config: KeiseiConfig, run_dir: Path, progress: Counters | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.progress = progress if progress is not None else Counters()
        self.counters: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self._writer = None
        self._wandb = None
        if config.logging.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir), flush_secs=10)
        if config.logging.wandb:
            self._wandb = _init_wandb(config, self.run_dir)

    @property
    def step(self) -> int:
        """The step `increment` logs at: the run's timestep counter now."""
        return self.progress.timesteps

    def log_scalar(self, tag: str, value: float, step: int) -> None:
        value = float(value)
        self.last[tag] = value
        if self._writer is not None:
            self._writer.add_scalar(tag, value, int(step))
        if self._wandb is not None:
            self._wandb.log({tag: value, "global_step": int(step)})

    def log_text(self, tag: str, text: str, step: int) -> None:
        """A text entry in TensorBoard (e.g. the weight hash an evaluation played)."""
        if self._writer is not None:
            self._writer.add_text(tag, text, int(step))

    def log_dict(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.log_scalar(tag, value, step)

    def log_config(self, config: KeiseiConfig, step: int, extra: dict[str, Any] | None = None) -> None:
        """The effective config in TensorBoard: a text summary ``config`` (the config.toml) and the hparams
        plugin's table (every field as ``section.key``, lists as JSON) with the metrics to compare runs by."""
        if self._writer is None:
            return
        from torch.utils.tensorboard.summary import hparams

        toml = config.to_toml()
        text = "\n".join("    " + line for line in toml.splitlines())  # markdown code block: kept verbatim
        self._writer.add_text("config", text, int(step))
        values = {**flat_hparams(config.to_dict()), **(extra or {})}
        for summary in hparams(values, {tag: 0.0 for tag in HPARAM_METRICS}):
            self._writer.file_writer.add_summary(summary)
        self._writer.flush()

    def increment(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + int(n)
        self.log_scalar(name, self.counters[name], self.step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None


HPARAM_METRICS = ("charts/SPS", "losses/value_loss", "games/mean_length", "eval/agent_elo")


def flat_hparams(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"training": {"seed": 1}}`` -> ``{"training.seed": 1}``; lists and None as JSON text (hparams
    values must be numbers, strings or booleans)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_hparams(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


def _init_wandb(config: KeiseiConfig, run_dir: Path) -> Any:
    """Start a W&B run (offline unless an API key or WANDB_MODE says otherwise); None if unavailable."""
    try:
        import wandb
    except ImportError:
        logger.warning("logging.wandb is true but wandb is not installed (pip install 'keisei[wandb]'); "
                       "continuing without it")
        return None
    mode = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
    try:
        return wandb.init(project=config.logging.wandb_project, name=run_dir.name, dir=str(run_dir),
                          config=config.to_dict(), mode=mode)
    except Exception:
        logger.exception("wandb.init failed (mode=%s); continuing without W&B", mode)
        return None
