"""ModelManager: builds the network (optionally torch.compile'd) and its algorithm's Learner; checkpoint payloads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from keisei.checkpoint import CheckpointError, checkpoint_content_hash, load_checkpoint
from keisei.config import ConfigError, KeiseiConfig
from keisei.models import build_model, unwrap_model
from keisei.rl import GradientSync, Learner
from keisei.run.checkpoints import model_payload
from keisei.training.algorithms import algorithm

logger = logging.getLogger(__name__)


def resume_keys(config: KeiseiConfig) -> tuple[str, ...]:
    """Payload keys a full-resume checkpoint must hold besides the weights (RNG + the learner's keys)."""
    return ("rng", *algorithm(config).checkpoint_keys)


def model_config_diff(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """`model.<field> (checkpoint X, config Y)` for every differing model field."""
    keys = sorted(set(saved) | set(current))
    return [f"model.{k} (checkpoint {saved.get(k)!r}, config {current.get(k)!r})"
            for k in keys if saved.get(k) != current.get(k)]


def check_resumable(payload: dict[str, Any], config: KeiseiConfig, path: Path, needed: tuple[str, ...]) -> None:
    """A resume needs the same model config and the full training state (`needed` payload keys)."""
    diff = model_config_diff(payload["model_arch"], config.model.model_dump(mode="json"))
    if diff:
        raise ConfigError(f"cannot resume from {path}: the model config differs from the checkpoint's: "
                          + "; ".join(diff))
    missing = [k for k in needed if k not in payload]
    if missing:
        raise CheckpointError(path, f"{', '.join(missing)} missing; this checkpoint cannot resume training")


def load_init_checkpoint(path: str | Path, config: KeiseiConfig) -> dict[str, Any]:
    """The payload of an ``--init-from`` checkpoint whose architecture is the config's (else one-line ConfigError)."""
    path = Path(path)
    payload = load_checkpoint(path, map_location="cpu")
    diff = model_config_diff(payload["model_arch"], config.model.model_dump(mode="json"))
    if diff:
        raise ConfigError(f"--init-from {path}: the architecture differs from the config: " + "; ".join(diff))
    payload["parent"] = {"path": str(path), "sha256": checkpoint_content_hash(path),
                         "model_version": payload["model_version"], "source": payload.get("source", {})}
    return payload


class ModelManager:
    """Owns the live model (in eval mode outside updates) and the Learner that trains it."""

    def __init__(self, config: KeiseiConfig, device: torch.device, grad_sync: GradientSync | None = None) -> None:
        self.config = config
        self.device = device
        model = build_model(config.model).to(device)
        model.eval()
        if config.training.compile:
            model.compile()  # in place: __call__ is compiled, so get_action_and_value's forward is too
        self.model = model
        self.algorithm = algorithm(config)
        self.learner: Learner = self.algorithm.build_learner(config, model, device, grad_sync)
        self.parent: dict[str, Any] | None = None  # the --init-from checkpoint these weights started from

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in unwrap_model(self.model).parameters())

    def payload(self, counters: dict[str, int], extra: dict[str, Any]) -> dict[str, Any]:
        """The checkpoint payload (keisei.checkpoint format) for the current model and learner state."""
        return model_payload(self.config, self.model, counters, **self.learner.checkpoint_state(),
                             **({"parent": self.parent} if self.parent else {}), **extra)

    def restore(self, payload: dict[str, Any], path: Path) -> None:
        """Load weights and optimizer/scheduler/scaler state (payload already checked by check_resumable)."""
        try:
            unwrap_model(self.model).load_state_dict(payload["model_state"], strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise CheckpointError(path, f"model_state does not fit model {self.config.model.name}: "
                                        f"{' '.join(first[:3])}") from exc
        try:
            self.learner.load_checkpoint_state(payload)
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(path, f"learner_state does not fit: {exc}") from exc
        self.parent = payload.get("parent")
        self.model.eval()

    def replan(self, counters: dict[str, int], world_size: int) -> None:
        """Point the learner's schedule at the end of this run from where it stands (resumes at another world
        size; the same horizon when nothing changed)."""
        self.algorithm.replan(self.learner, self.config, counters, world_size)

    def init_from(self, payload: dict[str, Any]) -> None:
        """Start from another run's weights (``load_init_checkpoint``); the optimizer and counters stay fresh."""
        parent = payload["parent"]
        try:
            unwrap_model(self.model).load_state_dict(payload["model_state"], strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise CheckpointError(parent["path"], f"model_state does not fit model {self.config.model.name}: "
                                                  f"{' '.join(first[:3])}") from exc
        self.parent = parent
        self.model.eval()
