"""EnvManager: the self-play VecEnv built from config.env, its current observation, and its resume state."""

from __future__ import annotations

from typing import Any

from keisei.config import EnvConfig
from keisei.shogi import VecEnv


class EnvManager:
    """Holds the VecEnv plus the observation/mask (the env's reused arrays) the next step acts on."""

    def __init__(self, cfg: EnvConfig, seed: int, track_captures: bool = False) -> None:
        self.cfg = cfg
        self.env = VecEnv(cfg.num_envs, max_plies=cfg.max_plies, seed=seed, openings=cfg.openings or None,
                          impasse_points=cfg.impasse_points, track_captures=track_captures)
        self.obs, self.mask = self.env.reset()

    @property
    def num_envs(self) -> int:
        return self.env.num_envs

    def state_dict(self) -> dict[str, Any]:
        """The games in progress and the env RNG (plain python values)."""
        return self.env.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the games in progress and the env RNG; the next step observes them."""
        self.obs, self.mask = self.env.load_state_dict(state)
