"""A run's evaluation for the dashboard: the joint rating table, results per opponent at each evaluated
timestep (with 95% intervals), and the agent's rating history with the anchors (as `keisei ratings`).

The store is opened read-only (SQLite ``mode=ro``), so a training run writing it is never blocked.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from keisei.evaluation.store import STORE_FILE, GameStore


def _open(run_dir: Path) -> GameStore | None:
    """Read-only. With no trainer alive and no unmerged WAL, SQLite's immutable mode writes nothing at all
    (plain read-only mode would create the WAL index file, -shm, beside the store)."""
    from keisei.dashboard.runs import Run, trainer_alive

    path = run_dir / STORE_FILE
    if not path.is_file():
        return None
    wal = path.with_name(path.name + "-wal")
    quiet = not trainer_alive(Run(run_dir.name, run_dir)) and (not wal.exists() or wal.stat().st_size == 0)
    try:
        return GameStore(path, readonly=True, immutable=quiet)
    except (sqlite3.Error, OSError, ValueError):
        return None


def latest_rating(run_dir: Path) -> dict[str, Any] | None:
    store = _open(run_dir)
    if store is None:
        return None
    try:
        history = store.rating_history()
    except sqlite3.Error:
        return None
    finally:
        store.close()
    if not history:
        return None
    p = history[-1]
    return {"timestep": p.timestep, "elo": _num(p.elo), "low": _num(p.low), "high": _num(p.high), "player": p.player}


def evaluation(run_dir: Path, anchor: str = "random") -> dict[str, Any]:
    """Everything the Evaluation panel draws; empty lists when the run has not been evaluated."""
    from keisei.config import load_config
    from keisei.evaluation.calibration import rating_pins, scale_name
    from keisei.evaluation.ratings import elo_from_score, fit_ratings
    from keisei.evaluation.report import anchors_of, series_name

    store = _open(run_dir)
    if store is None:
        return {"games": 0, "table": [], "per_opponent": [], "history": [], "anchors": {}, "scale": None}
    try:
        games = store.games()
        history = store.rating_history()
    finally:
        store.close()
    table_rows: list[dict[str, Any]] = []
    anchors: dict[str, float] = {}
    scale = None
    if games:
        ecfg = load_config(overrides=[f"evaluation.anchor={anchor}"]).evaluation
        pin, fixed = rating_pins(ecfg)
        table = fit_ratings(games, anchor=pin, fixed=fixed)
        scale = scale_name(ecfg)
        anchors = {k: _num(v) for k, v in anchors_of(table).items()}
        table_rows = [{"player": r.player, "elo": _num(r.elo), "low": _num(r.low), "high": _num(r.high),
                       "games": r.games, "wins": r.wins, "draws": r.draws, "losses": r.losses,
                       "score": _num(r.score), "fixed": r.fixed} for r in table]
    groups: dict[tuple[int | None, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for g in games:
        agent, color = _agent_side(g)
        if agent is None:
            continue
        opponent = g.white if color == "black" else g.black
        tally = groups[(g.timestep, agent, opponent)]
        if g.result == color:
            tally[0] += 1
        elif g.result == "draw":
            tally[1] += 1
        elif g.result == "error":
            tally[3] += 1
        else:
            tally[2] += 1
    per_opponent = []
    for (timestep, agent, opponent), (w, d, lost, err) in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][2])):
        est = elo_from_score(w, d, lost)
        n = w + d + lost
        per_opponent.append({"timestep": timestep, "agent": agent, "opponent": opponent, "wins": w, "draws": d,
                             "losses": lost, "errors": err, "score": (w + d / 2) / n if n else None,
                             "elo": _num(est.elo), "low": _num(est.low), "high": _num(est.high)})
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in history:
        series[series_name(p.player)].append({"timestep": p.timestep, "elo": _num(p.elo), "low": _num(p.low),
                                              "high": _num(p.high), "time": p.timestamp})
    return {"games": len(games), "table": table_rows, "per_opponent": per_opponent, "history": dict(series),
            "anchors": anchors, "scale": scale}


def _agent_side(game: Any) -> tuple[str | None, str | None]:
    """The agent's name and colour in a stored game: the side with a model version (the run's network)."""
    if game.black_version is not None and game.white_version is None:
        return game.black, "black"
    if game.white_version is not None and game.black_version is None:
        return game.white, "white"
    for name, color in ((game.black, "black"), (game.white, "white")):
        if name.startswith(("agent", "ckpt:")):
            return name, color
    return None, None


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)
