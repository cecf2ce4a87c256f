"""Opening USI engine opponents for an evaluation, with a start check.

An engine that cannot start (missing binary, crash, timeout at ``usi``/``isready``) is not an opponent that
loses: its games are errors (``UnavailableEngine``), never wins for the agent. Faults after a successful
start are the engine's losses (see keisei.evaluation.match).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from keisei.evaluation.opponents import OpponentSpec
from keisei.usi import EngineError, UsiEngine, UsiPlayer

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig
    from keisei.shogi import Game


class EngineUnavailableError(RuntimeError):
    """An engine opponent could not be started; games against it are errors."""


class UnavailableEngine:
    """Stands in the seat of an engine that failed its start check: every move request is an error."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def choose(self, game: Game) -> str:
        raise EngineUnavailableError(f"engine {self.name} could not be started: {self.reason}")

    async def game_over(self, result: str) -> None:
        """Nothing to tell: no process runs."""


def engine_options(config: KeiseiConfig) -> dict[str, float]:
    """UsiEngine timeouts from ``config.evaluation``."""
    ecfg = config.evaluation
    return {
        "start_timeout": ecfg.engine_start_timeout,
        "move_timeout_margin": ecfg.engine_move_timeout,
        "search_timeout": ecfg.engine_move_timeout,
    }


@asynccontextmanager
async def open_engine(spec: OpponentSpec, config: KeiseiConfig) -> AsyncIterator[UsiPlayer | UnavailableEngine]:
    """A started-and-checked ``UsiPlayer`` for ``spec`` (closed on exit), or an ``UnavailableEngine``.

    ValueError (a bad spec: an option the engine does not have) propagates to the caller.
    """
    if spec.engine is None:
        raise ValueError(f"opponent {spec.spec!r} is not a USI engine")
    options = engine_options(config)
    try:
        async with UsiEngine(spec.engine, start_timeout=options["start_timeout"]):
            pass
    except EngineError as exc:
        yield UnavailableEngine(spec.name, str(exc))
        return
    player = UsiPlayer(spec.engine, **options)
    try:
        yield player
    finally:
        await player.close()
