"""What an algorithm hands the actor transport: a segment schema and an actor that plays one segment.

``keisei.training.parallel`` moves segments from actor processes to the learner through shared memory; it
knows no algorithm's fields. An algorithm's collector gives it a :class:`SegmentKind`:

* ``schema`` (field -> :class:`SlotField`: dtype and shape per env, per step or per segment): the shared
  slots are allocated from it, and a worker copies exactly these fields into a slot (a narrower slot dtype,
  e.g. 0/1 planes as uint8, is checked to lose nothing);
* ``actor`` / ``actor_settings``: a module-level class (pickled by reference into the spawned worker) built as
  ``actor(settings, model, env_config, device, seed)`` whose ``play(beat, run_timesteps, version)`` plays one segment
  with the model the worker keeps up to date and returns a :class:`Segment`;
* ``assemble(segments, device)``: the learner's batch from the segments taken (each with the policy version
  that made it), columns side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class SlotField:
    """One field of a segment: its dtype and shape per env (after the env axis), per step or per segment."""

    dtype: torch.dtype = torch.float32
    shape: tuple[int, ...] = ()
    per_step: bool = True

    def slot_shape(self, num_steps: int, num_envs: int) -> tuple[int, ...]:
        return ((num_steps,) if self.per_step else ()) + (num_envs, *self.shape)

    def nbytes(self, num_steps: int, num_envs: int) -> int:
        n = 1
        for d in self.slot_shape(num_steps, num_envs):
            n *= d
        return n * torch.empty((), dtype=self.dtype).element_size()


Schema = Mapping[str, SlotField]


@dataclass
class Segment:
    """What an actor's ``play`` returns: a tensor per schema field, the env steps taken and finished games."""

    tensors: dict[str, Tensor]
    steps: int
    finished: list = field(default_factory=list)


class Actor(Protocol):
    """Plays segments in a worker process (the worker keeps ``model`` on the latest published weights)."""

    def play(self, beat: Callable[[], None], run_timesteps: int, version: int) -> Segment:
        """One segment; ``beat()`` before every env step (heartbeat, raises to stop); ``run_timesteps``: the
        run's timesteps when the segment starts (e.g. for annealed reward shaping); ``version``: the policy
        version the worker's model holds (the segment's tag; an actor that writes records tags them with it)."""
        ...


class SegmentKind(Protocol):
    """An algorithm's side of the actor transport (PPO's: keisei.training.algorithms.ppo.PPOSegments)."""

    num_steps: int                  # env steps per env in one segment
    length_field: str               # the config field that sets num_steps (named when shared memory is short)
    schema: Schema
    actor: type                     # module-level, so the spawn pickler sends it by reference
    actor_settings: dict[str, Any]  # plain values

    def assemble(self, segments: list[tuple[int, dict[str, Tensor]]], device: torch.device) -> Any:
        """The learner's batch from (policy version, segment tensors) pairs, env columns side by side."""
        ...


def segment_bytes(schema: Schema, num_envs: int, slots_per_worker: int, num_steps: int) -> int:
    """Shared memory the segment slots of ``num_envs`` envs (all workers together) take."""
    return slots_per_worker * sum(f.nbytes(num_steps, num_envs) for f in schema.values())
