"""Shared helpers for the evaluation tests: tiny real models, real checkpoints, small configs."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from keisei.checkpoint import save_checkpoint
from keisei.config import KeiseiConfig, ModelConfig, load_config
from keisei.models import build_model

ARCH = ModelConfig(name="resnet", blocks=1, channels=16, value_hidden=16).model_dump(mode="json")


def tiny_model(seed: int = 0) -> nn.Module:
    """A real (tiny) ResNet actor-critic with seeded random weights."""
    torch.manual_seed(seed)
    return build_model(ARCH)


def write_checkpoint(path: Path, model: nn.Module, model_version: int = 7, timesteps: int = 1234) -> Path:
    """Save ``model`` as a Keisei checkpoint with the payload of docs/CONTRACTS.md."""
    return save_checkpoint(path, {
        "model_name": "resnet",
        "model_arch": dict(ARCH),
        "model_state": model.state_dict(),
        "model_version": model_version,
        "counters": {"timesteps": timesteps, "updates": 3, "games": 10},
    })


def tiny_config(**evaluation) -> KeiseiConfig:
    """A config with the tiny model and short evaluation games; ``evaluation`` overrides that section."""
    overrides = {
        "model.blocks": 1, "model.channels": 16, "model.value_hidden": 16,
        "evaluation.max_plies": 40, "evaluation.num_games": 4, "evaluation.opponents": ["random"],
    }
    overrides.update({f"evaluation.{k}": v for k, v in evaluation.items()})
    return load_config(overrides=overrides)


class ForwardCounter:
    """Counts forward calls of a real module (and the batch size of each) with a forward pre-hook."""

    def __init__(self, model: nn.Module) -> None:
        self.calls = 0
        self.batch_sizes: list[int] = []
        self._handle = model.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple) -> None:
        self.calls += 1
        self.batch_sizes.append(int(args[0].shape[0]))

    def remove(self) -> None:
        self._handle.remove()
