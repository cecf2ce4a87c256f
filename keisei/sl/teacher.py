"""Teacher records: USI engines play each other and every finished game is written as a CSA record.

``generate(specs, games, out_dir, ...)`` plays game indices 0..N-1 that have no ``game-NNNNNN.csa`` yet, so a
rerun appends up to N (resume). Game i starts from opening ``i % len(suite)`` of the versioned opening suite
followed by ``random_plies`` random legal moves (seeded by ``seed`` and i); the record starts from that
position (``PI`` is replaced by the board), so the random moves are never learned as teacher moves. With two
specs, engine A is black in even games and white in odd ones; with one spec the engine plays itself.

``jobs`` games run at once, each with its own engine processes (the engines do the work, on their own cores;
Python only relays moves). A record is written atomically once the game has ended: by the rules, by a
resignation, by an entering-king declaration, or truncated at ``max_plies`` (%CHUDAN). A game where an engine
fails (crash, timeout, illegal move) or our code fails is not a result: it is appended to ``errors.jsonl`` in
the output directory (hidden, so record readers do not list it) and the index is retried on the next run.
This module never imports torch.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from keisei.atomic import atomic_write_text
from keisei.evaluation.openings import load_suite, start_game
from keisei.shogi import Game
from keisei.shogi.records import record_text
from keisei.usi import EngineFault, EngineResigned, EngineSpec, UsiPlayer

__all__ = ["ERRORS_FILE", "GameOutcome", "game_path", "generate"]

ERRORS_FILE = "errors.jsonl"  # visible; record readers skip it (keisei.shogi.record_sources.SIDE_FILES)


def game_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"game-{index:06d}.csa"


@dataclass
class GameOutcome:
    index: int
    black: str
    white: str
    plies: int
    winner: str | None = None
    reason: str = ""
    error: str | None = None

    def line(self, total: int) -> str:
        head = f"game {self.index + 1}/{total}: {self.black} vs {self.white}"
        if self.error is not None:
            return f"{head}: ERROR after {self.plies} plies: {self.error}"
        who = "draw" if self.winner is None else f"{self.winner} wins"
        return f"{head}: {who} by {self.reason} in {self.plies} plies"


def _opening_game(index: int, suite: str, random_plies: int, seed: int, max_plies: int) -> tuple[Game, str]:
    openings = load_suite(suite)
    opening = openings[index % len(openings)]
    game = start_game(opening, max_plies=10_000)
    rng = random.Random(f"{seed}:{index}")
    played = 0
    for _ in range(random_plies):
        legal = game.legal_moves()
        if not legal or game.result is not None:
            break
        game.push_usi(rng.choice(sorted(legal)))
        played += 1
    return Game(game.sfen(), max_plies=max_plies), f"{opening.id} + {played} random plies"


def _record(game: Game, names: tuple[str, str], specs: tuple[EngineSpec, EngineSpec], note: str) -> str:
    text = record_text(game, "csa", names=names)
    lines = text.split("\n")
    header = ["$EVENT:keisei records generate", f"'opening: {note}",
              f"'black_engine: {specs[0].to_spec()}", f"'white_engine: {specs[1].to_spec()}",
              f"'max_plies: {game.max_plies}"]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("N-")) + 1
    return "\n".join(lines[:at] + header + lines[at:])


async def _play(index: int, black: UsiPlayer, white: UsiPlayer, game: Game) -> GameOutcome:
    outcome = GameOutcome(index, black.name, white.name, 0)
    while game.result is None:
        side, other = (black, "white") if game.turn == "black" else (white, "black")
        try:
            usi = await side.choose(game)
        except EngineResigned:
            game.adjudicate(other, "resign")
            break
        if usi == "win":
            if not game.declare_win():
                raise EngineFault("illegal_move", "refused entering-king declaration", engine=side.name)
            continue
        game.push_usi(usi)
    result = game.result
    outcome.plies, outcome.winner, outcome.reason = game.ply, result.winner, result.reason
    for player, color in ((black, "black"), (white, "white")):
        said = "draw" if result.winner is None else ("win" if result.winner == color else "lose")
        await player.game_over(said)
    return outcome


async def _lane(queue: asyncio.Queue, specs: tuple[EngineSpec, ...], out_dir: Path, settings: dict,
                report: Callable[[GameOutcome], None]) -> None:
    players = [UsiPlayer(s, **settings["engine_options"]) for s in specs]
    try:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            a, b = players[0], players[-1]
            black, white = (a, b) if index % 2 == 0 else (b, a)
            spec_pair = (black.spec, white.spec)
            game, note = _opening_game(index, settings["suite"], settings["random_plies"], settings["seed"],
                                       settings["max_plies"])
            try:
                outcome = await _play(index, black, white, game)
            except EngineFault as fault:
                outcome = GameOutcome(index, black.name, white.name, game.ply, error=str(fault))
            except Exception as exc:  # noqa: BLE001 - our own failure is that game's error, never a result
                outcome = GameOutcome(index, black.name, white.name, game.ply, error=f"{type(exc).__name__}: {exc}")
            if outcome.error is None:
                text = _record(game, (black.name, white.name), spec_pair, note)
                atomic_write_text(game_path(out_dir, index), text)
            else:
                with (out_dir / ERRORS_FILE).open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"index": index, "black": black.spec.to_spec(), "white": white.spec.to_spec(),
                                         "plies": outcome.plies, "moves": game.moves, "start_sfen": game.start_sfen,
                                         "error": outcome.error, "time": time.time()}) + "\n")
            report(outcome)
    finally:
        for p in players:
            await p.close()


def generate(specs: Sequence[str | EngineSpec], games: int, out_dir: str | Path, *, jobs: int = 2,
             random_plies: int = 4, max_plies: int = 320, suite: str = "v1", seed: int = 0,
             engine_options: dict | None = None, report: Callable[[GameOutcome], None] | None = None) -> Counter:
    """Play the missing games among 0..games-1 into ``out_dir``; -> counts (played, errors, already, by result)."""
    if not 1 <= len(specs) <= 2:
        raise ValueError(f"give one or two engine specs, got {len(specs)}")
    if games < 1 or jobs < 1 or random_plies < 0 or max_plies < 2:
        raise ValueError("--games and --jobs must be >= 1, --random-plies >= 0, --max-plies >= 2")
    parsed = tuple(s if isinstance(s, EngineSpec) else EngineSpec.parse(s) for s in specs)
    load_suite(suite)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(games) if not game_path(out_dir, i).exists()]
    counts: Counter = Counter(already=games - len(todo))
    if not todo:
        return counts

    def note(outcome: GameOutcome) -> None:
        counts["errors" if outcome.error else "played"] += 1
        if outcome.error is None:
            counts["draws" if outcome.winner is None else f"{outcome.winner}_wins"] += 1
        if report is not None:
            report(outcome)

    settings = {"suite": suite, "random_plies": random_plies, "seed": seed, "max_plies": max_plies,
                "engine_options": engine_options or {}}

    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        for i in todo:
            queue.put_nowait(i)
        await asyncio.gather(*(_lane(queue, parsed, out_dir, settings, note) for _ in range(min(jobs, len(todo)))))

    asyncio.run(main())
    return counts
