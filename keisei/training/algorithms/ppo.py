"""PPO's registry entry: its learner with the run's LR horizon, its collectors and its actor segments.

In-process, the RolloutCollector steps one VecEnv with the live model. In actor processes, ``PPOActor`` plays
``ppo.num_steps`` steps of its envs with the same StepManager and ships the segment by ``PPO_SCHEMA``; the
learner stacks segments side by side into one RolloutBuffer (``PPOSegments.assemble``): every column is one
env's own time series, so the negamax GAE over it equals GAE per segment (actors ship raw rewards, dones,
behaviour log-probs, values, bootstrap and next values; the learner computes GAE).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from keisei.config import EnvConfig, KeiseiConfig
from keisei.models.constants import NUM_ACTIONS, OBS_SHAPE
from keisei.rl import GradientSync, PPOBatch, PPOLearner, RolloutBuffer
from keisei.run.timing import Stopwatch
from keisei.training.algorithms import Algorithm
from keisei.training.parallel.segments import Segment, SlotField
from keisei.training.rollout_collector import RolloutCollector

#: one actor segment: T steps x n envs of these (obs as 0/1 bytes: 4x less shared memory than float32)
PPO_SCHEMA: dict[str, SlotField] = {
    "obs": SlotField(torch.uint8, OBS_SHAPE),
    "masks": SlotField(torch.bool, (NUM_ACTIONS,)),
    "actions": SlotField(torch.int64),
    "logprobs": SlotField(),
    "values": SlotField(),
    "rewards": SlotField(),
    "terminated": SlotField(torch.bool),
    "truncated": SlotField(torch.bool),
    "bootstrap_values": SlotField(),
    "next_values": SlotField(per_step=False),  # V(obs after the last step)
}
STEP_FIELDS = tuple(name for name, f in PPO_SCHEMA.items() if f.per_step)


def total_updates(config: KeiseiConfig, world_size: int, timesteps_done: int = 0) -> int:
    """Updates left to reach training.total_timesteps with a global batch of world_size x num_envs x num_steps."""
    batch = config.env.num_envs * config.ppo.num_steps * world_size
    return max(1, math.ceil(max(config.training.total_timesteps - timesteps_done, 0) / batch))


def build_learner(config: KeiseiConfig, model: nn.Module, device: torch.device,
                  grad_sync: GradientSync | None = None) -> PPOLearner:
    """PPO's LR schedule spans ceil(total_timesteps / global batch) updates."""
    world_size = grad_sync.world_size if grad_sync is not None else 1
    return PPOLearner(model, config.ppo, total_updates(config, world_size), device, grad_sync=grad_sync,
                      seed=config.training.seed, amp=config.training.amp)


def replan(learner: PPOLearner, config: KeiseiConfig, counters: dict[str, int], world_size: int) -> None:
    """The LR schedule ends at the run's end: updates done + the remaining timesteps / the global batch."""
    learner.set_total_updates(int(counters["updates"]) + total_updates(config, world_size, int(counters["timesteps"])))


class PPOActor:
    """Plays one segment of ``num_steps`` steps in an actor process (keisei.training.parallel.segments.Actor)."""

    def __init__(self, settings: dict[str, Any], model: nn.Module, env: EnvConfig, device: torch.device,
                 seed: int) -> None:
        from keisei.training.env_manager import EnvManager
        from keisei.training.step_manager import StepManager

        self.settings = settings
        self.envs = EnvManager(env, seed=seed, track_captures=settings["material_reward_coef"] > 0)
        self.steps = StepManager(model, self.envs, device, settings["amp"], Stopwatch())
        self.buffer = RolloutBuffer(settings["num_steps"], env.num_envs, device)  # copied into the slot when done

    def play(self, beat: Callable[[], None], run_timesteps: int, version: int) -> Segment:
        from keisei.training.step_manager import material_coef

        s = self.settings
        coef = material_coef(s["material_reward_coef"], s["material_anneal_timesteps"], run_timesteps)
        rollout = self.steps.collect(self.buffer, coef, on_step=beat)
        tensors = {name: getattr(self.buffer, name) for name in STEP_FIELDS}
        tensors["next_values"] = rollout.next_values
        return Segment(tensors, rollout.steps, rollout.finished)


class PPOSegments:
    """PPO's SegmentKind: PPO_SCHEMA, PPOActor, and the learner's PPOBatch from segments side by side."""

    length_field = "ppo.num_steps"
    schema = PPO_SCHEMA
    actor = PPOActor

    def __init__(self, config: KeiseiConfig, run_dir: Path | None = None) -> None:
        """``run_dir`` is not used: PPO's segments travel in shared memory only."""
        p, t = config.ppo, config.training
        self.num_steps = p.num_steps
        self.actor_settings = {"num_steps": p.num_steps, "material_reward_coef": p.material_reward_coef,
                               "material_anneal_timesteps": p.material_anneal_timesteps, "amp": t.amp}
        self._buffers: dict[int, RolloutBuffer] = {}  # by column count, reused

    def assemble(self, segments: list[tuple[int, dict[str, Tensor]]], device: torch.device) -> PPOBatch:
        cols = sum(seg["next_values"].shape[0] for _, seg in segments)
        buffer = self._buffers.get(cols)
        if buffer is None:
            buffer = self._buffers[cols] = RolloutBuffer(self.num_steps, cols, device)
        cat = {name: torch.cat([seg[name] for _, seg in segments], dim=1) for name in STEP_FIELDS}
        for t in range(self.num_steps):
            buffer.add(t, cat["obs"][t], cat["masks"][t], cat["actions"][t], cat["logprobs"][t], cat["values"][t],
                       cat["rewards"][t], cat["terminated"][t], cat["truncated"][t], cat["bootstrap_values"][t])
        next_values = torch.cat([seg["next_values"] for _, seg in segments]).to(device)
        versions = torch.cat([torch.full((self.num_steps, seg["next_values"].shape[0]), version, dtype=torch.int64)
                              for version, seg in segments], dim=1)
        return PPOBatch(buffer, next_values, versions)


PPO = Algorithm(
    name="ppo",
    checkpoint_keys=PPOLearner.checkpoint_keys,
    build_learner=build_learner,
    in_process_collector=RolloutCollector,
    segments=PPOSegments,
    steps_per_update=lambda config: config.env.num_envs * config.ppo.num_steps,
    replan=replan,
)
