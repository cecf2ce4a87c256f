"""The Learner seam: what a training loop needs from an algorithm (PPO today, a search learner next).

A Learner consumes :class:`Experience` (filled by a Collector, every transition tagged with the policy version
that produced it), owns its optimizer / scheduler / RNG state and the checkpoint keys that hold it, and returns
named metrics. The loop never knows which algorithm runs, nor in how many processes the experience was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from torch import Tensor, nn

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


class GradientSync(Protocol):
    """How the replicas of a data-parallel learner stay identical (one process per rank, e.g. under torchrun).

    keisei.training.distributed.World implements it; a learner built without one trains alone. Every rank
    must make the same calls in the same order (they are collectives).
    """

    world_size: int

    def average_gradients(self, parameters: Sequence[nn.Parameter]) -> None:
        """Replace each parameter's .grad by its mean over ranks (before clipping and optimizer.step)."""
        ...

    def average(self, values: Tensor) -> Tensor:
        """The elementwise mean of a small CPU tensor over ranks (early-stop KL, metrics), on CPU."""
        ...

    def sync_buffers(self, module: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) into every rank's ``module``."""
        ...
