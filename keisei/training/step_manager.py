"""StepManager: collects one rollout of batched self-play into the RolloutBuffer (eval mode, inference_mode)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from keisei.models import amp_dtype
from keisei.rl import RolloutBuffer
from keisei.run.timing import Stopwatch
from keisei.training.env_manager import EnvManager
from keisei.training.game_stats import FinishedGame


@dataclass
class Rollout:
    """What one rollout produced besides the buffer contents."""

    steps: int                  # env steps taken (num_steps * num_envs)
    finished: list[FinishedGame]
    next_values: torch.Tensor   # V(obs after the last step), side to move's view


def material_coef(coef: float, anneal_timesteps: int, timesteps: int) -> float:
    """The reward-shaping coefficient at `timesteps`: `coef`, decaying linearly to 0 over `anneal_timesteps`."""
    if anneal_timesteps <= 0:
        return coef
    return coef * max(0.0, 1.0 - timesteps / anneal_timesteps)


class StepManager:
    """One network forward over all envs per step; truncated envs get V(final_obs) as bootstrap value."""

    def __init__(self, model: nn.Module, envs: EnvManager, device: torch.device, amp: str,
                 net_time: Stopwatch) -> None:
        self.model = model
        self.envs = envs
        self.device = device
        self.net_time = net_time
        self.amp_dtype = amp_dtype(amp, device)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    def _values(self, obs: np.ndarray) -> torch.Tensor:
        with self.net_time.time(), self._autocast():
            _, value = self.model(self._tensor(obs))
            return value.float()

    def collect(self, buffer: RolloutBuffer, material_coef: float = 0.0,
                on_step: Callable[[], None] | None = None) -> Rollout:
        """Fill every step of `buffer` from the current env state; returns finished games and next values.

        `on_step()` (optional) is called before every step (an actor process's heartbeat).

        `material_coef` > 0 adds `coef * value of the captured piece` to the mover's reward (zero-sum shaping,
        so the negamax returns stay consistent); 0 leaves the pure win/loss reward.
        """
        self.model.eval()
        envs = self.envs
        n = envs.num_envs
        finished: list[FinishedGame] = []
        with torch.inference_mode():
            for step in range(buffer.num_steps):
                if on_step is not None:
                    on_step()
                # the env overwrites its obs/mask arrays in place on step(): copy them into the buffer first
                obs_t, mask_t = buffer.obs[step], buffer.masks[step]
                obs_t.copy_(torch.from_numpy(envs.obs))
                mask_t.copy_(torch.from_numpy(envs.mask))
                with self.net_time.time(), self._autocast():
                    action, logprob, _, value = self.model.get_action_and_value(obs_t, mask_t)
                    actions = action.cpu().numpy()
                res = envs.env.step(actions)
                bootstrap = torch.zeros(n, device=self.device)
                if res.truncated.any():
                    idx = np.flatnonzero(res.truncated)
                    bootstrap[torch.from_numpy(idx).to(self.device)] = self._values(res.final_obs[idx])
                reward = res.reward + material_coef * res.captured if material_coef else res.reward
                buffer.add(step, obs_t, mask_t, action, logprob.float(), value.float(), reward,
                           res.terminated, res.truncated, bootstrap)
                finished.extend(FinishedGame.from_info(info, res.truncated[i]) for i, info in sorted(res.infos.items()))
                envs.obs, envs.mask = res.obs, res.mask
            next_values = self._values(envs.obs)
        return Rollout(steps=buffer.num_steps * n, finished=finished, next_values=next_values)
