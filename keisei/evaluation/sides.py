"""The players of an evaluation match: a batched network policy, a simple in-process player, or a USI engine.

A ``Side`` is one named participant. Network sides share a ``NetworkPolicy`` object when they are played by
the same network (the agent and its ``current`` mirror), so one forward serves every game in which that
network is to move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from keisei.models.masking import mask_logits
from keisei.shogi import Player


class NetworkPolicy:
    """Chooses moves for many games with one forward pass (read-only, under ``torch.inference_mode``).

    Sampling (or argmax when ``deterministic``) happens on the CPU with a seeded ``torch.Generator``, so the
    moves are reproducible for a given seed whatever device the network runs on. The caller puts the model
    in eval mode; this class never changes it.
    """

    def __init__(self, model: nn.Module, device: torch.device, deterministic: bool, seed: int) -> None:
        self.model = model
        self.device = device
        self.deterministic = deterministic
        self.generator = torch.Generator().manual_seed(seed)
        self.forward_calls = 0

    def act(self, obs: np.ndarray, mask: np.ndarray) -> list[int]:
        """One forward over the batch; -> one legal action label per row."""
        self.forward_calls += 1
        with torch.inference_mode():
            logits, _ = self.model(torch.from_numpy(obs).to(self.device))
            logits = logits.float().cpu()
        masked = mask_logits(logits, torch.from_numpy(mask))
        if self.deterministic:
            actions = masked.argmax(dim=-1)
        else:
            probs = torch.softmax(masked, dim=-1)
            actions = torch.multinomial(probs, 1, generator=self.generator).squeeze(-1)
        return actions.tolist()


@dataclass
class Side:
    """A named participant: exactly one of ``policy`` (network), ``player`` (in-process) or ``engine`` (USI)."""

    name: str
    policy: NetworkPolicy | None = None
    player: Player | None = None
    engine: Any = None  # keisei.usi.UsiPlayer: ``async choose(game) -> usi``

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.policy, self.player, self.engine)) != 1:
            raise ValueError(f"side {self.name!r} needs exactly one of policy, player, engine")

    @property
    def is_engine(self) -> bool:
        return self.engine is not None
