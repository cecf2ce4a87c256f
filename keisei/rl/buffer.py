"""Fixed-size rollout storage for vectorised self-play, with GAE and shuffled minibatches; PPO's batch type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from keisei.models.constants import NUM_ACTIONS, OBS_SHAPE
from keisei.rl.gae import compute_gae

MINIBATCH_KEYS = ("obs", "masks", "actions", "logprobs", "values", "advantages", "returns")


class RolloutBuffer:
    """Holds T = num_steps steps of N = num_envs games; all storage lives on `device`."""

    def __init__(self, num_steps: int, num_envs: int, device: torch.device | str = "cpu") -> None:
        if num_steps < 1 or num_envs < 1:
            raise ValueError(f"num_steps and num_envs must be >= 1, got {num_steps}, {num_envs}")
        self.num_steps, self.num_envs, self.device = num_steps, num_envs, torch.device(device)
        tn = (num_steps, num_envs)

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> Tensor:
            return torch.zeros(shape, dtype=dtype, device=self.device)

        self.obs = zeros(*tn, *OBS_SHAPE)
        self.masks = zeros(*tn, NUM_ACTIONS, dtype=torch.bool)
        self.actions = zeros(*tn, dtype=torch.int64)
        self.logprobs, self.values, self.rewards = zeros(*tn), zeros(*tn), zeros(*tn)
        self.terminated, self.truncated = zeros(*tn, dtype=torch.bool), zeros(*tn, dtype=torch.bool)
        self.bootstrap_values = zeros(*tn)
        self.advantages, self.returns = zeros(*tn), zeros(*tn)
        self._filled = [False] * num_steps
        self._returns_ready = False

    def _put(self, name: str, step: int, value: Any) -> None:
        dest: Tensor = getattr(self, name)[step]
        src = torch.as_tensor(value, device=self.device)
        if tuple(src.shape) != tuple(dest.shape):
            raise ValueError(
                f"RolloutBuffer.add: {name} has shape {tuple(src.shape)}, expected {tuple(dest.shape)}"
            )
        dest.copy_(src)

    def add(
        self,
        step: int,
        obs: Any,
        mask: Any,
        action: Any,
        logprob: Any,
        value: Any,
        reward: Any,
        terminated: Any,
        truncated: Any,
        bootstrap_value: Any,
    ) -> None:
        """Store step `step` for all envs (tensors or numpy arrays; bootstrap_value = V(final_obs) if truncated)."""
        if not 0 <= step < self.num_steps:
            raise IndexError(f"step {step} out of range [0, {self.num_steps})")
        items = {
            "obs": obs,
            "masks": mask,
            "actions": action,
            "logprobs": logprob,
            "values": value,
            "rewards": reward,
            "terminated": terminated,
            "truncated": truncated,
            "bootstrap_values": bootstrap_value,
        }
        for name, value_ in items.items():
            self._put(name, step, value_)
        self._filled[step] = True
        self._returns_ready = False

    def compute_returns(self, next_values: Any, gamma: float, lam: float) -> None:
        """Fill .advantages and .returns (negamax GAE); every step must have been added since the last call."""
        if not all(self._filled):
            missing = [i for i, f in enumerate(self._filled) if not f]
            raise RuntimeError(f"RolloutBuffer.compute_returns: steps {missing[:10]} were not added")
        nv = torch.as_tensor(next_values, dtype=torch.float32, device=self.device)
        self.advantages, self.returns = compute_gae(
            self.rewards, self.values, self.terminated, self.truncated, self.bootstrap_values, nv, gamma, lam
        )
        self._filled = [False] * self.num_steps
        self._returns_ready = True

    def minibatches(
        self, num_minibatches: int, generator: torch.Generator | None = None
    ) -> Iterator[dict[str, Tensor]]:
        """Shuffle the T*N samples (CPU `generator`) and yield `num_minibatches` near-equal flattened batches."""
        if not self._returns_ready:
            raise RuntimeError("RolloutBuffer.minibatches: call compute_returns() after filling the buffer")
        total = self.num_steps * self.num_envs
        if not 1 <= num_minibatches <= total:
            raise ValueError(
                f"num_minibatches must be in [1, {total}] (= num_steps * num_envs), got {num_minibatches}"
            )
        flat = {k: getattr(self, k).flatten(0, 1) for k in MINIBATCH_KEYS}
        perm = torch.randperm(total, generator=generator).to(self.device)
        for idx in torch.tensor_split(perm, num_minibatches):
            yield {k: v[idx] for k, v in flat.items()}


@dataclass
class PPOBatch:
    """PPO's batch (``PPOLearner.learn``): T steps of N envs of on-policy experience.

    ``buffer`` holds obs/masks/actions/behaviour logprobs/values/rewards/terminated/truncated/bootstrap values;
    ``next_values`` [N] is V(obs after the last step) from the side to move's view; ``versions`` int64 [T, N]
    is the policy (model) version that chose each action.
    """

    buffer: RolloutBuffer
    next_values: Tensor
    versions: Tensor

    @property
    def steps(self) -> int:
        return self.buffer.num_steps * self.buffer.num_envs

    @staticmethod
    def versions_of(version: int, num_steps: int, num_envs: int) -> Tensor:
        """A [T, N] version tag where one policy version made every transition (in-process collection)."""
        return torch.full((num_steps, num_envs), int(version), dtype=torch.int64)
