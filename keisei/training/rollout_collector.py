"""RolloutCollector: PPO's in-process Collector (one VecEnv stepped with the live model on the training thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from keisei.config import KeiseiConfig
from keisei.rl import PPOBatch, RolloutBuffer
from keisei.run.counters import Counters
from keisei.run.timing import Stopwatch
from keisei.training.collector import Collected, LiveModelCollector
from keisei.training.env_manager import EnvManager
from keisei.training.step_manager import StepManager, material_coef


class RolloutCollector(LiveModelCollector):
    """Collects ppo.num_steps steps of env.num_envs games per batch with the live model (version = updates).

    ``env_seed`` seeds the games (default training.seed; torchrun ranks pass their own). ``run_dir`` is not
    used: PPO's experience lives in memory only."""

    def __init__(self, config: KeiseiConfig, model: nn.Module, device: torch.device, counters: Counters,
                 net_time: Stopwatch, env_seed: int | None = None, run_dir: Path | None = None) -> None:
        cfg, p = config, config.ppo
        self.ppo = p
        self.counters = counters
        seed = config.training.seed if env_seed is None else env_seed
        self.envs = EnvManager(cfg.env, seed=seed, track_captures=p.material_reward_coef > 0)
        self.steps = StepManager(model, self.envs, device, config.training.amp, net_time)
        self.buffer = RolloutBuffer(p.num_steps, cfg.env.num_envs, device)
        self.num_envs = cfg.env.num_envs

    def collect(self) -> Collected:
        p, version = self.ppo, self.counters.model_version
        coef = material_coef(p.material_reward_coef, p.material_anneal_timesteps, self.counters.timesteps)
        rollout = self.steps.collect(self.buffer, coef, on_step=self._show if self.live is not None else None)
        versions = PPOBatch.versions_of(version, self.buffer.num_steps, self.num_envs)
        return Collected(PPOBatch(self.buffer, rollout.next_values, versions), rollout.finished)

    def _show(self) -> None:
        """Before a step: hand the live state the current games when it is due (a clock read otherwise)."""
        if self.live.boards_due():
            self.live.set_games(self.envs.env.games, self.envs.obs, self.envs.mask)

    def state_dict(self) -> dict[str, Any]:
        return self.envs.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.envs.load_state_dict(state)

    def close(self) -> None:
        """Nothing to release."""
