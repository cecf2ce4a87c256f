"""The search learner (`training.algorithm = "alphazero"`): policy-value training from search self-play records.

Its batch (:class:`SelfPlayBatch`) says how many moves were played and where the records are; ``learn`` reads
the new shards into its :class:`keisei.rl.replay.ReplayWindow` and trains under the reuse cap: after N
training positions have been written, at most ``train_per_data * N`` positions have been trained on in all
(none before ``min_positions``). Every update is :class:`keisei.rl.policy_value.PolicyValueStep` (the same
loss as `keisei sl`, with the improved policy as the target). Nothing it needs lives only in memory: a
resumed learner re-scans the directory and continues from its checkpointed counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from keisei.config import AlphaZeroConfig
from keisei.models import amp_dtype
from keisei.rl.learner import GradientSync
from keisei.rl.policy_value import PolicyValueStep, policy_value_losses
from keisei.rl.replay import ReplayWindow
from keisei.rl.schedule import lr_lambda

__all__ = ["AlphaZeroLearner", "SelfPlayBatch"]


@dataclass
class SelfPlayBatch:
    """What one collect made: ``steps`` moves played, ``versions`` of the positions it wrote, in ``replay_dir``."""

    steps: int
    versions: Tensor
    replay_dir: Path
    positions: int = 0


class AlphaZeroLearner:
    checkpoint_keys: ClassVar[tuple[str, ...]] = ("alphazero_state",)

    def __init__(self, model: nn.Module, cfg: AlphaZeroConfig, total_timesteps: int,
                 device: torch.device | str = "cpu", *, value_mix: float = 0.0, grad_sync: GradientSync | None = None,
                 seed: int = 1, amp: str = "off", val_positions: int = 2048, max_policy_lag: int | None = None) -> None:
        self.model = model
        self.cfg = cfg
        self.device = torch.device(device)
        self.value_mix = value_mix
        self.total_timesteps = total_timesteps
        self.timesteps = 0  # moves played in self-play so far (the LR schedule's clock)
        self.samples = 0  # positions trained on so far
        self.version = 0  # learn() calls so far: the model version (the run's updates)
        self.max_policy_lag = max_policy_lag  # actor processes: rows older than version - this are not read
        self.rng = np.random.default_rng(seed)
        self.val_positions = val_positions
        self._schedule = lr_lambda(cfg.lr_schedule, max(total_timesteps, 1))  # over self-play moves
        self.update = PolicyValueStep(
            model, optimizer=cfg.optimizer, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
            momentum=cfg.momentum, max_grad_norm=cfg.max_grad_norm, value_coef=cfg.value_coef,
            lr_multiplier=lambda _step: self._schedule(self.timesteps), amp_dtype=amp_dtype(amp, self.device),
            grad_sync=grad_sync)
        self.window: ReplayWindow | None = None

    def set_total_timesteps(self, total: int) -> None:
        self.total_timesteps = total
        self._schedule = lr_lambda(self.cfg.lr_schedule, max(total, 1))

    def _window(self, directory: Path) -> ReplayWindow:
        if self.window is None or self.window.directory != Path(directory):
            self.window = ReplayWindow(directory, self.cfg, self.value_mix)
        return self.window

    def learn(self, batch: SelfPlayBatch) -> dict[str, float]:
        """Read new records, then train as many steps as the reuse cap allows; metrics by name."""
        cfg = self.cfg
        first = self.window is None
        window = self._window(batch.replay_dir)
        # the first scan (a new run, or a resume re-reading the run's replay) takes every row on disk
        lag = None if first or self.max_policy_lag is None else self.version - self.max_policy_lag
        window.refresh(min_version=lag, now=self.version)
        self.version += 1
        self.timesteps += batch.steps
        steps = 0
        if window.written >= cfg.min_positions and window.size:
            steps = int((cfg.train_per_data * window.written - self.samples) // cfg.batch_size)
        sums: dict[str, float] = {}
        for _ in range(max(steps, 0)):
            b = window.batch(window.sample(cfg.batch_size, self.rng), self.device)
            losses = self.update.step(b.obs, b.policy, b.z, b.weight)
            self.samples += cfg.batch_size
            for name, value in zip(losses._fields, losses):
                sums[name] = sums.get(name, 0.0) + float(value)
        metrics = {
            "alphazero/updates": float(max(steps, 0)), "alphazero/lr": self.update.lr,
            "replay/window": float(window.size), "replay/written": float(window.written),
            "replay/reuse": self.samples / max(window.written, 1), "replay/skipped_shards": float(len(window.skipped)),
            "replay/stale": float(window.stale),
        }
        if steps > 0:
            names = {"loss": "losses/loss", "policy_loss": "losses/policy_loss", "value_loss": "losses/value_loss",
                     "entropy": "losses/entropy", "kl": "losses/kl_prior_target", "top1": "losses/top1_agreement"}
            metrics.update({names[k]: v / steps for k, v in sums.items()})
            metrics.update(self.validate())
        return metrics

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Losses on the newest held-out positions (none when validation is off or nothing is held out yet)."""
        window = self.window
        if window is None:
            return {}
        idx = window.val_indices(self.val_positions)
        if not len(idx):
            return {}
        out: dict[str, float] = {}
        for lo in range(0, len(idx), 512):
            b = window.batch(idx[lo:lo + 512], self.device, split="val")
            logits, value = self.update.forward(b.obs)
            losses = policy_value_losses(logits, value, b.policy, b.z, self.cfg.value_coef, b.weight)
            for name in ("policy_loss", "value_loss", "top1"):
                out[f"val/{name}"] = out.get(f"val/{name}", 0.0) + float(getattr(losses, name)) * len(b.z)
        return {k: v / len(idx) for k, v in out.items()}

    def checkpoint_state(self) -> dict[str, Any]:
        return {"alphazero_state": {"update": self.update.state_dict(), "samples": self.samples,
                                    "timesteps": self.timesteps, "version": self.version,
                                    "rng": self.rng.bit_generator.state}}

    def load_checkpoint_state(self, payload: dict[str, Any]) -> None:
        if "alphazero_state" not in payload:
            raise ValueError("alphazero_state missing (a checkpoint of another learner?)")
        state = payload["alphazero_state"]
        self.update.load_state_dict(state["update"])
        self.samples = int(state["samples"])
        self.timesteps = int(state["timesteps"])
        self.version = int(state["version"])
        self.rng.bit_generator.state = state["rng"]
