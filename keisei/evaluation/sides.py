"""The players of an evaluation match: a batched network policy (raw or searching), an in-process player, or a
USI engine.

A ``Side`` is one named participant. Network sides share a ``MoveChooser`` (``NetworkPolicy`` or
``SearchPolicy``) when they are played by the same network (the agent and its ``current`` mirror), so one
forward (or one batched search) serves every game in which that network is to move.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from keisei.models.masking import select_actions
from keisei.search import BatchedMCTS, SearchConfig, make_evaluator
from keisei.shogi import Game, Player, encode, legal_mask, usi_of


class MoveChooser(Protocol):
    """The batched chooser every network player implements: one call picks a move in each of many games."""

    def choose(self, games: Sequence[Game], keys: Sequence[Hashable]) -> list[str]:
        """A legal USI move for each game (``keys`` name the games across calls, e.g. for reused trees)."""
        ...


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
        actions = select_actions(logits, torch.from_numpy(mask), deterministic=self.deterministic,
                                 generator=self.generator)
        return actions.tolist()

    def choose(self, games: Sequence[Game], keys: Sequence[Hashable] = ()) -> list[str]:
        """``MoveChooser``: one forward over ``games`` -> the chosen legal USI move of each."""
        obs = np.stack([encode(g) for g in games])
        masks = np.stack([legal_mask(g) for g in games])
        return [usi_of(g, a) for g, a in zip(games, self.act(obs, masks))]


class SearchPolicy:
    """Chooses moves for many games with one ``BatchedMCTS.search`` over all of them: every network call
    carries leaves from all the games where this player is to move. Plays the most visited move (or the Gumbel
    choice); trees are kept per game (``keys``) and reused from move to move."""

    def __init__(self, model: nn.Module, device: torch.device, settings: SearchConfig, simulations: int,
                 seed: int) -> None:
        """``settings``: the config's ``search`` section; ``simulations`` and ``seed`` are this player's."""
        config = settings.model_copy(update={"simulations": simulations, "seed": seed % 2**31})
        self.evaluator = make_evaluator(model, device, config.backend, config.onnx_max_batch)
        self.mcts = BatchedMCTS(self.evaluator, config)
        self.simulations = simulations
        self.searches = 0

    def choose(self, games: Sequence[Game], keys: Sequence[Hashable]) -> list[str]:
        """``MoveChooser``: one batched search over ``games`` (tree per key) -> a legal USI move for each."""
        self.searches += 1
        return [r.move for r in self.mcts.search(list(games), simulations=self.simulations, keys=list(keys))]


@dataclass
class Side:
    """A named participant: exactly one of ``policy`` (network), ``player`` (in-process) or ``engine`` (USI)."""

    name: str
    policy: MoveChooser | None = None
    player: Player | None = None
    engine: Any = None  # keisei.usi.UsiPlayer: ``async choose(game) -> usi``

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.policy, self.player, self.engine)) != 1:
            raise ValueError(f"side {self.name!r} needs exactly one of policy, player, engine")

    @property
    def is_engine(self) -> bool:
        return self.engine is not None
