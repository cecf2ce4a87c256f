"""The Learner seam: what a training loop needs from an algorithm (PPO today, a search learner next).

A Learner consumes batches of its own type (made by its algorithm's Collector, every transition tagged with the
policy version that produced it; PPO's is :class:`keisei.rl.buffer.PPOBatch`), owns its optimizer / scheduler /
RNG state and the checkpoint keys that hold it, and returns named metrics. The loop never knows which algorithm
runs, nor in how many processes the batch was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from torch import Tensor, nn


class Batch(Protocol):
    """What the training loop needs of any learner's batch (PPO's is keisei.rl.buffer.PPOBatch)."""

    @property
    def steps(self) -> int:
        """Env steps (transitions) in the batch: the run's timesteps advance by this."""
        ...

    @property
    def versions(self) -> Tensor:
        """int64: the policy (model) version that chose each transition."""
        ...


BatchT = TypeVar("BatchT", contravariant=True)  # noqa: PLC0105 - the learner's batch type


class Learner(Protocol[BatchT]):
    """Consumes a batch of its own type and updates the model in place (the model's version advances by one
    per learn). Built by the algorithm's entry in keisei.training.algorithms, which also builds the collector
    that makes its batches."""

    #: payload keys of keisei.checkpoint that hold this learner's state (checked before a resume starts)
    checkpoint_keys: ClassVar[tuple[str, ...]]

    def learn(self, batch: BatchT) -> dict[str, float]:
        """One update from ``batch``; metrics by name (e.g. ``losses/approx_kl``)."""
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
