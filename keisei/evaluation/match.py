"""The match runner: colour-balanced game pairs, batched network inference, sequential engine games.

Every opening of the schedule is played twice with colours swapped. Games without an engine run together:
each step plays one ply in every running game, with one forward per network over all the games where that
network is to move. Games with an engine run one at a time per engine (the engine is awaited for its moves;
the network's moves are computed in the executor). CPU work always runs in the executor, never on the loop.

Outcomes: an engine fault is a win for its opponent with the fault's reason ("illegal_move", "time",
"crash"; "resign" when it resigns); an exception in our own code makes that game an "error", never a draw.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from keisei.evaluation.openings import Opening, start_game
from keisei.evaluation.result import GameRecord
from keisei.evaluation.sides import MoveChooser, Side
from keisei.shogi import COLORS, EXTERNAL_REASONS, Game, IllegalMoveError, save_record
from keisei.usi import EngineFault, EngineResigned

logger = logging.getLogger(__name__)
OnGameDone = Callable[[int, "LiveGame"], None]  # (matchup index, the finished game); called on the loop thread


@dataclass
class Matchup:
    """``a`` plays ``b`` over ``openings`` (one colour-swapped pair per opening); records are ``a``'s view."""

    a: Side
    b: Side
    openings: list[Opening]


@dataclass
class LiveGame:
    """A game in progress and how it ended."""

    a: Side
    b: Side
    pair: int
    opening: Opening
    a_color: str
    game: Game
    error: str | None = None
    outcome: tuple[str | None, str] | None = None  # (winner, reason) for ends a Game cannot adjudicate

    @property
    def done(self) -> bool:
        return self.error is not None or self.outcome is not None or self.game.result is not None

    def to_move(self) -> Side:
        return self.a if self.game.turn == self.a_color else self.b

    def fail(self, exc: BaseException) -> None:
        """Mark the game as failed in our own code (an error, never a draw)."""
        self.error = f"{type(exc).__name__}: {exc}"

    def forfeit(self, reason: str) -> None:
        """The side to move lost by ``reason`` (an engine fault or resignation)."""
        winner = COLORS[1 - COLORS.index(self.game.turn)]
        if reason in EXTERNAL_REASONS:
            self.game.adjudicate(winner, reason)
        else:
            self.outcome = (winner, reason)

    def record(self) -> GameRecord:
        """The finished game from ``a``'s point of view."""
        common = {
            "opponent": self.b.name, "player": self.a.name, "agent_color": self.a_color, "plies": self.game.ply,
            "opening": self.opening.id, "moves": self.game.moves, "start_sfen": self.game.start_sfen,
            "pair": self.pair,
        }
        if self.error is not None:
            return GameRecord(result="error", reason="error", error=self.error, **common)
        if self.outcome is not None:
            winner, reason = self.outcome
        elif self.game.result is not None:
            winner, reason = self.game.result.winner, self.game.result.reason
        else:
            return GameRecord(result="error", reason="error", error="game did not finish", **common)
        result = "draw" if winner is None else ("win" if winner == self.a_color else "loss")
        return GameRecord(result=result, reason=reason, **common)


def _declare_impasse(game: Game) -> bool:
    """Declare an entering-king win for the side to move when it wins (declare_win only when it would)."""
    if game.impasse_outcome() == "win":
        return game.declare_win()
    return False


def _network_moves(policy: MoveChooser, group: list[LiveGame]) -> None:
    """One batched choice (a forward, or a search over every tree) for the games in ``group``, all with
    ``policy`` to move: a failed call makes each game of its batch an error; a bad move only its game."""
    try:
        moves = policy.choose([lg.game for lg in group], [id(lg) for lg in group])
    except Exception as exc:  # noqa: BLE001 - the forward or search failed: every game in the batch is an error
        for lg in group:
            lg.fail(exc)
        return
    for lg, usi in zip(group, moves):
        try:
            lg.game.push_usi(usi)
        except Exception as exc:  # noqa: BLE001
            lg.fail(exc)


def step_local(games: list[LiveGame]) -> None:
    """Play one ply in every running game whose side to move is a network or an in-process player."""
    batches: dict[int, tuple[MoveChooser, list[LiveGame]]] = {}
    for lg in games:
        if lg.done:
            continue
        try:
            if _declare_impasse(lg.game):
                continue
            side = lg.to_move()
            if side.policy is not None:
                batches.setdefault(id(side.policy), (side.policy, []))[1].append(lg)
            elif side.player is not None:
                lg.game.push_usi(side.player.choose(lg.game))
            else:
                raise RuntimeError(f"step_local: {side.name} is an engine")
        except Exception as exc:  # noqa: BLE001 - becomes that game's error
            lg.fail(exc)
    for policy, group in batches.values():
        _network_moves(policy, group)


async def _engine_turn(lg: LiveGame, engine: object) -> None:
    """Ask the engine to move; a fault or resignation ends the game as a loss for the engine."""
    try:
        usi = await engine.choose(lg.game)  # type: ignore[attr-defined]
    except EngineResigned:
        lg.forfeit("resign")
        return
    except EngineFault as fault:
        lg.forfeit(fault.reason)
        return
    if usi == "win":  # an entering-king declaration the player checked
        if not lg.game.declare_win():
            lg.forfeit("illegal_move")
        return
    try:
        lg.game.push_usi(usi)
    except IllegalMoveError:
        lg.forfeit("illegal_move")


async def _tell_game_over(lg: LiveGame) -> None:
    """Send each engine ``gameover win|lose|draw`` from its own point of view (errors are not results)."""
    result = lg.record().result
    if result == "error":
        return
    flipped = {"win": "lose", "loss": "win", "draw": "draw"}[result]
    for side, outcome in ((lg.a, {"win": "win", "loss": "lose", "draw": "draw"}[result]), (lg.b, flipped)):
        if side.is_engine:
            await side.engine.game_over(outcome)


async def _play_engine_game(
    lg: LiveGame, executor: Executor, locks: dict[int, asyncio.Lock], on_done: Callable[[LiveGame], None]
) -> None:
    """One game with at least one engine side, holding each engine's lock for the whole game."""
    loop = asyncio.get_running_loop()
    engines = sorted({id(s.engine): s.engine for s in (lg.a, lg.b) if s.is_engine}.items())
    held = []
    try:
        for key, _ in engines:
            await locks[key].acquire()
            held.append(locks[key])
        while not lg.done:
            side = lg.to_move()
            if not side.is_engine:
                await loop.run_in_executor(executor, step_local, [lg])
            elif not _declare_impasse(lg.game):
                await _engine_turn(lg, side.engine)
    except Exception as exc:  # noqa: BLE001 - our own failure: this game is an error
        lg.fail(exc)
    else:
        await _tell_game_over(lg)
    finally:
        for lock in held:
            lock.release()
    on_done(lg)


async def _play_local(games: list[LiveGame], executor: Executor, on_done: Callable[[LiveGame], None]) -> None:
    """All engine-free games together, one ply per step, each step in the executor."""
    loop = asyncio.get_running_loop()
    running = [lg for lg in games if not _report_if_done(lg, on_done)]
    while running:
        await loop.run_in_executor(executor, step_local, running)
        running = [lg for lg in running if not _report_if_done(lg, on_done)]


def _report_if_done(lg: LiveGame, on_done: Callable[[LiveGame], None]) -> bool:
    if lg.done:
        on_done(lg)
    return lg.done


def new_games(matchup: Matchup, max_plies: int, impasse_points: int) -> list[LiveGame]:
    """The matchup's games in schedule order: for each opening, ``a`` as black then ``a`` as white."""
    games = []
    for pair, opening in enumerate(matchup.openings):
        for a_color in COLORS:
            game = start_game(opening, max_plies=max_plies, impasse_points=impasse_points)
            games.append(LiveGame(matchup.a, matchup.b, pair, opening, a_color, game))
    return games


async def play_matchups(
    matchups: list[Matchup], *, max_plies: int, impasse_points: int, executor: Executor,
    on_game_done: OnGameDone | None = None,
) -> list[list[LiveGame]]:
    """Play every matchup; -> each matchup's finished games in schedule order.

    ``on_game_done(matchup_index, game)`` is called once per game as it finishes (on the loop's thread;
    an exception in it is logged, never fails the games)."""
    live = [new_games(m, max_plies, impasse_points) for m in matchups]
    where = {id(lg): k for k, games in enumerate(live) for lg in games}

    def done(lg: LiveGame) -> None:
        if on_game_done is not None:
            try:
                on_game_done(where[id(lg)], lg)
            except Exception:  # progress display only: never fails the games
                logger.exception("evaluation progress callback failed")

    local = [lg for games in live for lg in games if not (lg.a.is_engine or lg.b.is_engine)]
    remote = [lg for games in live for lg in games if lg.a.is_engine or lg.b.is_engine]
    locks = {id(s.engine): asyncio.Lock() for lg in remote for s in (lg.a, lg.b) if s.is_engine}
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(_play_local(local, executor, done))
        for lg in remote:
            tasks.create_task(_play_engine_game(lg, executor, locks, done))
    return live


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@=-]+", "_", name).strip("_") or "x"


def save_games(
    games: list[LiveGame], directory: Path, fmt: str, start_index: int = 0,
    labels: dict[str, str] | None = None,
) -> list[Path]:
    """Save each game as a record (``fmt``: "kif", "kifu", "csa" or "usi"); -> the paths written.

    The records name the players: ``labels`` maps a side's name to the name written (e.g. the agent with its
    version); engines are named by their spec name, which holds their options.
    """
    directory.mkdir(parents=True, exist_ok=True)
    labels = labels or {}
    paths = []
    for i, lg in enumerate(games, start=start_index):
        black, white = (lg.a.name, lg.b.name) if lg.a_color == "black" else (lg.b.name, lg.a.name)
        path = directory / f"{i:04d}_{_safe(black)}_vs_{_safe(white)}_{lg.opening.id}.{fmt}"
        names = (labels.get(black, black), labels.get(white, white))
        paths.append(save_record(lg.game, path, fmt=fmt, names=names))
    return paths
