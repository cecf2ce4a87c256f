"""The evaluator-facing USI player: ``await choose(game)`` -> a legal USI move, or a typed fault.

``choose`` asks the engine for the position of a ``keisei.shogi.Game`` (its ``start_sfen`` and ``moves``) and
checks the answer against ``game.legal_moves()``:

* ``resign`` -> ``EngineResigned``;
* an illegal or malformed move -> ``EngineFault(reason="illegal_move")``;
* a move timeout -> ``EngineFault(reason="time")``; a crash -> ``EngineFault(reason="crash")``;
* ``win`` (entering-king declaration) is returned as ``"win"`` when ``game.declare_win()`` would accept it
  (the caller then calls ``game.declare_win()``), otherwise it is an ``illegal_move`` fault.

After a fault the engine is discarded and a fresh one is started on the next ``choose`` (a new game).
A new game is detected when the position does not continue the previous one, and ``usinewgame`` is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, NoReturn, Self

from keisei.usi.client import EngineCrashed, EngineError, EngineProtocolError, EngineTimeout, UsiEngine
from keisei.usi.spec import EngineSpec

FaultReason = Literal["illegal_move", "time", "crash"]


class EngineResigned(Exception):
    """The engine resigned."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        super().__init__(f"engine {engine} resigned")


class EngineFault(Exception):
    """The engine broke the rules or failed: ``reason`` is "illegal_move", "time" or "crash"."""

    def __init__(self, reason: FaultReason, detail: str, *, engine: str) -> None:
        self.reason = reason
        self.detail = detail
        self.engine = engine
        super().__init__(f"engine {engine} fault ({reason}): {detail}")


_REASONS: dict[type[EngineError], FaultReason] = {
    EngineTimeout: "time",
    EngineCrashed: "crash",
    EngineProtocolError: "illegal_move",
}


def _describe(exc: EngineError) -> str:
    tail = f" (stderr: {' | '.join(exc.stderr[-3:])})" if exc.stderr else ""
    return exc.detail + tail


class UsiPlayer:
    """A USI engine as a player; ``engine_options`` go to ``UsiEngine`` (timeouts).

    The engine process belongs to the event loop that started it: ``choose`` from another loop raises
    RuntimeError (``close()`` there only kills the process). After ``close()`` any loop may use it again.
    """

    def __init__(self, spec: EngineSpec | str, **engine_options: Any) -> None:
        self.spec = EngineSpec.parse(spec) if isinstance(spec, str) else spec
        self.name = self.spec.name
        self.engine_options = engine_options
        self.starts = 0  # engine processes started so far
        self._engine: UsiEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last: tuple[str, list[str]] | None = None  # (start_sfen, moves) of the last request

    async def choose(self, game: Any) -> str:
        """The engine's move in ``game`` (a ``keisei.shogi.Game``); see the module doc for the errors."""
        start, moves = game.start_sfen, list(game.moves)
        engine = await self._engine_for_game(start, moves)
        try:
            answer = await engine.bestmove(start, moves)
        except EngineError as exc:
            await self._fault(_REASONS.get(type(exc), "crash"), _describe(exc))
        if answer == "resign":
            self._last = None
            raise EngineResigned(self.name)
        if answer == "win":
            if game.copy().declare_win():
                return answer
            await self._fault("illegal_move", f"invalid entering-king declaration in {game.sfen()}")
        if answer not in game.legal_moves():
            await self._fault("illegal_move", f"{answer!r} is not legal in {game.sfen()}")
        return answer

    async def game_over(self, result: str) -> None:
        """Tell a running engine ``gameover win|lose|draw`` (its point of view); a failure only drops it."""
        self._last = None
        if self._engine is None or not self._engine.started:
            return
        try:
            await self._engine.game_over(result)
        except EngineError:
            self._engine = None

    async def close(self) -> None:
        """Quit the engine (if one is running)."""
        engine, self._engine = self._engine, None
        self._last = None
        if engine is None:
            return
        if self._loop is asyncio.get_running_loop():
            await engine.close()
        else:  # its loop is gone or elsewhere: the process can only be killed
            engine.kill()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _engine_for_game(self, start: str, moves: list[str]) -> UsiEngine:
        """The running engine, started (and told ``usinewgame``) when needed."""
        loop = asyncio.get_running_loop()
        if self._engine is not None and self._loop is not loop:
            raise RuntimeError(
                f"UsiPlayer {self.name} is bound to the event loop its engine runs in; close() it there first"
            )
        if self._engine is None:
            self._engine = UsiEngine(self.spec, **self.engine_options)
            self._loop = loop
            self._last = None
        engine = self._engine
        last = self._last
        new_game = last is None or last[0] != start or moves[: len(last[1])] != last[1]
        self._last = (start, moves)
        if new_game:
            try:
                if not engine.started:
                    self.starts += 1
                await engine.new_game()
            except EngineError as exc:
                await self._fault(_REASONS.get(type(exc), "crash"), _describe(exc))
        return engine

    async def _fault(self, reason: FaultReason, detail: str) -> NoReturn:
        """Drop the engine (a fresh one starts on next use) and raise the fault."""
        engine, self._engine = self._engine, None
        self._last = None
        if engine is not None:
            await engine.close()
        raise EngineFault(reason, detail, engine=self.name)
