"""Networks in the dashboard: per-position analysis (policy and value, or a capped search) and games against
a run's checkpoint (the Play page). Models are loaded read-only and cached (a few at most); searches run
one at a time on one thread, so the dashboard never takes more than a core from a training run beside it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keisei.dashboard.runs import NotFound, PathRefused, inside

MODEL_CACHE = 3
PLAY_IDLE_S = 1800.0


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 800  # simulations per engine move (and per analysis search)
    max_games: int = 4  # concurrent Play games
    move_seconds: float = 5.0  # wall clock per engine move


def checkpoint_path(run_dir: Path, name: str) -> Path:
    if "/" in name or "\\" in name or not name.endswith(".pt"):
        raise PathRefused(f"checkpoint {name!r}: a file name in the run's checkpoints/ (e.g. best.pt)")
    path = inside(run_dir, f"checkpoints/{name}")
    if not path.is_file():
        raise NotFound(f"checkpoint {name!r}: not in {run_dir.name}/checkpoints")
    return path


class Networks:
    """Loaded checkpoints (LRU) and the one lock every network call takes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lock = threading.Lock()
        self._models: OrderedDict[tuple[str, float], Any] = OrderedDict()

    def thinker(self, path: Path, nodes: int):
        """A NetworkThinker over the checkpoint: raw policy (``nodes`` 0) or Gumbel search with ``nodes``."""
        from keisei.checkpoint import load_model_from_checkpoint
        from keisei.config import SearchConfig
        from keisei.engine.thinker import NetworkThinker

        key = (str(path), path.stat().st_mtime)
        model = self._models.get(key)
        if model is None:
            model, _ = load_model_from_checkpoint(path)  # CheckpointError names the file and the problem
            self._models[key] = model
            while len(self._models) > MODEL_CACHE:
                self._models.popitem(last=False)
        self._models.move_to_end(key)
        search = SearchConfig(algorithm="gumbel", max_nodes=max(65_536, 4 * nodes)) if nodes > 0 else None
        return NetworkThinker(model, search=search, threads=1)

    def analyse(self, path: Path, sfen: str, moves: list[str], nodes: int, multipv: int = 5) -> dict[str, Any]:
        from keisei.shogi import Game

        nodes = _cap(nodes, self.limits.max_nodes, "nodes")
        try:
            game = Game.from_moves(sfen or None, moves)
        except ValueError as exc:
            raise ValueError(f"position: {str(exc).splitlines()[0]}") from None
        if game.result is not None:
            return {"over": True, "result": game.result.winner or "draw", "reason": game.result.reason, "lines": []}
        with self.lock:
            report = think(self.thinker(path, nodes), game, nodes, multipv, self.limits.move_seconds)
        return {"over": False, **report}


def think(thinker, game, nodes: int, multipv: int, seconds: float) -> dict[str, Any]:
    from keisei.usi.thinking import ThinkRequest

    deadline = time.monotonic() + seconds
    report = thinker.think(ThinkRequest(game=game.copy(), nodes=nodes or None, multipv=multipv,
                                        should_stop=lambda: time.monotonic() > deadline))
    return {"lines": [{"move": ln.move, "value": round(float(ln.value), 4), "pv": list(ln.pv), "mate": ln.mate}
                      for ln in report.lines], "nodes": report.nodes, "searched": report.searched}


def _cap(value: Any, cap: int, name: str) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: an integer, got {value!r}") from None
    if value < 0:
        raise ValueError(f"{name}: must be >= 0, got {value}")
    return min(value, cap)


@dataclass
class PlayGame:
    id: str
    run: str
    checkpoint: str
    path: Path
    human: str  # "black" or "white"
    nodes: int
    game: Any
    thinker: Any
    last_used: float = field(default_factory=time.monotonic)
    engine_lines: list[dict[str, Any]] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        r = self.game.result
        return {"id": self.id, "run": self.run, "checkpoint": self.checkpoint, "human": self.human, "nodes": self.nodes,
                "sfen": self.game.sfen(), "moves": self.game.moves, "turn": self.game.turn, "ply": self.game.ply,
                "legal": self.game.legal_moves() if r is None else [],
                "result": None if r is None else (r.winner or "draw"), "reason": None if r is None else r.reason,
                "engine": self.engine_lines[:3]}


class PlayGames:
    """The Play page's games (in memory: nothing is written into a run; a record is a download)."""

    def __init__(self, networks: Networks) -> None:
        self.networks = networks
        self.games: dict[str, PlayGame] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        now = time.monotonic()
        for gid in [g.id for g in self.games.values() if now - g.last_used > PLAY_IDLE_S]:
            del self.games[gid]

    def new(self, run: str, run_dir: Path, checkpoint: str, human: str, nodes: Any) -> PlayGame:
        from keisei.shogi import Game

        if human not in ("black", "white"):
            raise ValueError(f"side {human!r}: black or white")
        limits = self.networks.limits
        nodes = _cap(nodes, limits.max_nodes, "nodes")
        path = checkpoint_path(run_dir, checkpoint)
        with self._lock:
            self._expire()
            if len(self.games) >= limits.max_games:
                raise OverflowError(f"{len(self.games)} games are being played (the cap is {limits.max_games}); "
                                    "finish or resign one first")
            with self.networks.lock:
                thinker = self.networks.thinker(path, nodes)
            pg = PlayGame(secrets.token_hex(8), run, checkpoint, path, human, nodes, Game(), thinker)
            self.games[pg.id] = pg
        if human == "white":
            self._engine_move(pg)
        return pg

    def get(self, gid: str) -> PlayGame:
        pg = self.games.get(gid)
        if pg is None:
            raise NotFound(f"play game {gid!r}: no such game (it may have expired)")
        pg.last_used = time.monotonic()
        return pg

    def move(self, gid: str, move: str) -> PlayGame:
        pg = self.get(gid)
        game = pg.game
        if game.result is not None:
            raise ValueError(f"move {move!r}: the game is over ({game.result.reason})")
        if game.turn != pg.human:
            raise ValueError(f"move {move!r}: it is the engine's turn")
        if not isinstance(move, str) or move not in game.legal_moves():
            raise ValueError(f"move {move!r}: not a legal move in this position")
        game.push_usi(move)
        if game.result is None:
            self._engine_move(pg)
        return pg

    def resign(self, gid: str) -> PlayGame:
        pg = self.get(gid)
        if pg.game.result is None:
            winner = "white" if pg.human == "black" else "black"
            pg.game.adjudicate(winner, "resign")
        return pg

    def _engine_move(self, pg: PlayGame) -> None:
        with self.networks.lock:
            report = think(pg.thinker, pg.game, pg.nodes, 3, self.networks.limits.move_seconds)
        pg.engine_lines = report["lines"]
        pg.game.push_usi(report["lines"][0]["move"])

    def record(self, gid: str, fmt: str) -> tuple[bytes, str]:
        from keisei.shogi import record_text

        if fmt not in ("kif", "csa"):
            raise ValueError(f"fmt {fmt!r}: use kif or csa")
        pg = self.get(gid)
        engine = f"Keisei {pg.run}/{pg.checkpoint}" + (f" ({pg.nodes} nodes)" if pg.nodes else " (policy)")
        names = ("You", engine) if pg.human == "black" else (engine, "You")
        text = record_text(pg.game, "kifu" if fmt == "kif" else "csa", names)
        return text.encode("utf-8"), f"play_{pg.id}.{'kifu' if fmt == 'kif' else 'csa'}"
