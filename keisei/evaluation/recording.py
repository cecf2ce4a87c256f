"""Writing evaluation games to the run's GameStore and reading the store's ratings back (for the ladder)."""

from __future__ import annotations

from pathlib import Path

from keisei.evaluation.ratings import Rating, fit_ratings
from keisei.evaluation.result import GameRecord
from keisei.evaluation.store import GameStore


def store_result(record: GameRecord) -> str:
    """The store's result column: the winner's colour, "draw" or "error"."""
    if record.result in ("draw", "error"):
        return record.result
    other = "white" if record.agent_color == "black" else "black"
    return record.agent_color if record.result == "win" else other


def record_games(
    path: Path, games: list[GameRecord], *, timestep: int | None, evaluation_id: str,
    versions: dict[str, int] | None = None, hashes: dict[str, str] | None = None, seed: int | None = None,
) -> int:
    """Store every game (players by name and colour, result, reason, plies, opening, timestep); -> count.

    ``versions`` maps player names to model versions (stored as black_version / white_version), ``hashes``
    to weight hashes (stored in the row's extra as black_sha256 / white_sha256); ``seed`` (the evaluation's
    base seed) and a game's error go to the row's extra JSON too.
    """
    versions, hashes = versions or {}, hashes or {}
    with GameStore(path) as store:
        for g in games:
            black, white = (g.player, g.opponent) if g.agent_color == "black" else (g.opponent, g.player)
            store.record_game(
                black=black, white=white, result=store_result(g), reason=g.reason, plies=g.plies,
                opening=g.opening, evaluation_id=evaluation_id, black_version=versions.get(black),
                white_version=versions.get(white), timestep=timestep,
                extra=_extra(g, hashes.get(black), hashes.get(white), seed),
            )
    return len(games)


def _extra(g: GameRecord, black_sha256: str | None, white_sha256: str | None, seed: int | None) -> dict | None:
    extra = {"error": g.error} if g.error is not None else {}
    if seed is not None:
        extra["seed"] = seed
    if black_sha256 is not None:
        extra["black_sha256"] = black_sha256
    if white_sha256 is not None:
        extra["white_sha256"] = white_sha256
    return extra or None


def store_ratings(path: Path, anchor: str, fixed: dict[str, float] | None = None) -> dict[str, float]:
    """Every placed player's Elo from a joint fit of the store's games ({} without a store or games)."""
    if not path.is_file():
        return {}
    with GameStore(path) as store:
        games = store.games()
    if not games:
        return {}
    return fit_ratings(games, anchor=anchor, fixed=fixed).elos()


def record_agent_rating(
    path: Path, agent: str, timestep: int | None, anchor: str, fixed: dict[str, float] | None = None,
    *, model_version: int | None = None, sha256: str | None = None,
) -> tuple[Rating | None, dict[str, float]]:
    """Fit all of the store's games jointly and add ``agent``'s rating at ``timestep`` to its history.

    -> (the agent's rating, or None when it cannot be placed - not connected to the anchor, or no
    timestep to plot it at - and then nothing is recorded; every placed player's Elo).
    """
    with GameStore(path) as store:
        table = fit_ratings(store.games(), anchor=anchor, fixed=fixed)
        rating = table.get(agent)
        if rating is None or not rating.connected or timestep is None:
            return None, table.elos()
        store.record_rating(agent, timestep, rating.elo, rating.low, rating.high, games=rating.games,
                            model_version=model_version, sha256=sha256)
    return rating, table.elos()
