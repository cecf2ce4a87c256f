"""The Learner seam: what a training loop needs from an algorithm (PPO today, a search learner next).

A Learner consumes :class:`Experience` (filled by a Collector, every transition tagged with the policy version
that produced it), owns its optimizer / scheduler / RNG state and the checkpoint keys that hold it, and returns
named metrics. The loop never knows which algorithm runs, nor in how many processes the experience was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from torch import Tensor

from keisei.rl.buffer import RolloutBuffer


@dataclass
class Experience:
    """One batch of on-policy experience: T steps of N envs.

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


class Learner(Protocol):
    """Consumes experience and updates the model in place (the model's version advances by one per learn)."""

    #: payload keys of keisei.checkpoint that hold this learner's state (checked before a resume starts)
    checkpoint_keys: ClassVar[tuple[str, ...]]

    def learn(self, experience: Experience) -> dict[str, float]:
        """One update from ``experience``; metrics by name (e.g. ``losses/approx_kl``)."""
        ...

    def checkpoint_state(self) -> dict[str, Any]:
        """``{key: state}`` for every key of ``checkpoint_keys`` (weights_only-safe values)."""
        ...

    def load_checkpoint_state(self, payload: dict[str, Any]) -> None:
        """Restore from a checkpoint payload (ValueError/KeyError naming what does not fit)."""
        ...
