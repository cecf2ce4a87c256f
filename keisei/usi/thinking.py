"""What the USI server needs from a move chooser: the ``Thinker`` protocol and its report types.

The server (keisei.usi.server) never imports torch; the command injects a ``ThinkerFactory`` that builds a
thinker (e.g. ``keisei.engine.thinker.NetworkThinker``) at ``isready``. The server owns the clock: it hands
``think`` a ``should_stop`` callable that turns true at the deadline or on ``stop``; the thinker checks it
between network calls and must return a report with at least one legal move as soon as it does.

Scores: a value ``v`` in [-1, 1] (side to move) is reported as centipawns through the logistic scale of
Shogi engines (Ponanza/elmo's 600): win rate ``p = (1 + v) / 2``, ``cp = 600 * ln(p / (1 - p))``
(= ``1200 * atanh(v)``), clipped to +-30000; so v = 0.5 is +659 cp, v = 0.9 is +1766 cp.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from keisei.shogi import Game

CP_SCALE = 600.0
CP_LIMIT = 30_000


def value_to_cp(value: float) -> int:
    """Centipawns for a value in [-1, 1] (see the module doc)."""
    v = min(max(float(value), -1.0), 1.0)
    if abs(v) >= 1.0:
        return CP_LIMIT if v > 0 else -CP_LIMIT
    cp = CP_SCALE * math.log((1.0 + v) / (1.0 - v))
    return round(min(max(cp, -CP_LIMIT), CP_LIMIT))


@dataclass(frozen=True)
class ThinkLine:
    """One principal variation: its first move, value (side to move, [-1, 1]) and mate distance if known."""

    move: str
    value: float
    pv: tuple[str, ...] = ()
    mate: int | None = None  # +N: the side to move mates in N plies; -N: it is mated in N


@dataclass(frozen=True)
class ThinkReport:
    """A (possibly interim) search result: ``lines`` best first (MultiPV), counters for ``info``."""

    lines: tuple[ThinkLine, ...]
    nodes: int = 0  # the tree's root visits, including those reused from earlier moves
    depth: int = 0
    seldepth: int = 0
    searched: int | None = None  # simulations run by this search (the `nps` basis); None: ``nodes``

    @property
    def best(self) -> ThinkLine:
        return self.lines[0]


@dataclass(frozen=True)
class ThinkRequest:
    """One search: ``game`` (a copy the thinker may keep), a simulation cap (None: until ``should_stop``)."""

    game: Game
    nodes: int | None
    multipv: int
    should_stop: Callable[[], bool]
    on_progress: Callable[[ThinkReport], None] = field(default=lambda report: None)
    time_budget_s: float | None = None  # the clock's budget, if any (should_stop enforces it)
    sample: bool = False  # play a move drawn from the search's visits (or the policy), not the best: variety


class Thinker(Protocol):
    """A move chooser driven by the USI server (from one worker thread)."""

    def think(self, request: ThinkRequest) -> ThinkReport:
        """Search ``request.game`` (not over); report legal moves only; call ``on_progress`` about every 0.25 s."""
        ...

    def new_game(self) -> None:
        """Forget trees and histories of the previous game."""
        ...

    def close(self) -> None:
        """Release what the thinker holds (called before a rebuild and at quit)."""
        ...


# Builds a thinker from the current option values (see keisei.usi.options); called at `isready`.
ThinkerFactory = Callable[[Mapping[str, object]], Thinker]
