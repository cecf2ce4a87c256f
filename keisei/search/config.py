"""The search's settings: a plain frozen dataclass, validated on construction (one clear message per field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SearchConfig"]


@dataclass(frozen=True)
class SearchConfig:
    """How ``BatchedMCTS`` searches. The rules (ply limit, entering-king points) are each searched Game's own."""

    algorithm: Literal["puct", "gumbel"] = "puct"
    simulations: int = 128  # per move (per root)
    batch_size: int = 16  # leaves per network call per tree (virtual loss); trees are batched too
    c_puct: float = 1.5
    fpu_reduction: float = 0.2  # Q of an unvisited child = the parent's network value - fpu_reduction
    dirichlet_alpha: float = 0.15  # self-play root noise (PUCT, only with add_noise=True)
    dirichlet_epsilon: float = 0.25
    gumbel_considered: int = 16  # mctx defaults
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    mate_depth: int = 3  # 0 = off; 1 or 3: mate-in-N check at every new node and at the root
    draw_value: float = 0.0  # a draw (repetition, ply limit) for the side to move at the root; < 0 avoids draws
    seed: int = 0

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> None:
            raise ValueError(f"search.{name} = {getattr(self, name)!r}: {why}")

        if self.algorithm not in ("puct", "gumbel"):
            bad("algorithm", "expected 'puct' or 'gumbel'")
        for name in ("simulations", "batch_size", "gumbel_considered"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(name, "expected an integer >= 1")
        for name in ("c_puct", "dirichlet_alpha", "value_scale"):
            if not float(getattr(self, name)) > 0.0:
                bad(name, "expected a number > 0")
        for name in ("fpu_reduction", "maxvisit_init"):
            if not float(getattr(self, name)) >= 0.0:
                bad(name, "expected a number >= 0")
        if not 0.0 <= float(self.dirichlet_epsilon) <= 1.0:
            bad("dirichlet_epsilon", "expected a number in [0, 1]")
        if not -1.0 <= float(self.draw_value) <= 1.0:
            bad("draw_value", "expected a number in [-1, 1]")
        if self.mate_depth not in (0, 1, 3):
            bad("mate_depth", "expected 0 (off), 1 or 3")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            bad("seed", "expected an integer >= 0")
