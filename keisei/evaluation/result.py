"""Evaluation results: one record per game, one summary per opponent, and the whole evaluation's result.

An error is never a draw: games that failed in our own code have ``result == "error"``, are counted in
``OpponentSummary.errors`` and listed in ``EvaluationResult.errors``, and are left out of score and Elo.

Draws are split by how they came about, with ``Game``'s reason names: draws by rule (``repetition``, an
``impasse`` declaration under the 24-point rule) and games truncated at the ply limit (``max_plies``), which
are scored as draws but are not draws by any rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from keisei.evaluation.ratings import elo_from_score, los

RESULTS = ("win", "draw", "loss", "error")
TRUNCATED = "max_plies"  # GameResult.reason of a game stopped at the ply limit (scored as a draw)


@dataclass
class GameRecord:
    """One game from ``player``'s point of view (``player`` is the evaluated agent unless noted)."""

    opponent: str
    agent_color: str  # "black" | "white": the colour ``player`` played
    result: str  # "win" | "draw" | "loss" | "error"
    reason: str  # GameResult.reason, or "error"
    plies: int  # plies played in total, the opening's included
    opening: str  # opening id, e.g. "v1-03"
    moves: list[str] = field(default_factory=list)
    start_sfen: str = ""
    error: str | None = None
    player: str = "agent"
    pair: int = 0  # index of the colour-swapped pair in schedule order

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"GameRecord result must be one of {RESULTS}, got {self.result!r}")
        if self.agent_color not in ("black", "white"):
            raise ValueError(f"GameRecord agent_color must be 'black' or 'white', got {self.agent_color!r}")
        if (self.result == "error") != (self.error is not None):
            raise ValueError("GameRecord: an error message is required exactly when result is 'error'")

    def summary_dict(self) -> dict[str, Any]:
        """The per-game object of the ``--json`` output (moves included)."""
        return asdict(self)


def _finite(x: float | None) -> float | None:
    """JSON has no NaN/inf: map them to None (and -0.0 to 0.0)."""
    return None if x is None or not math.isfinite(x) else float(x) + 0.0


@dataclass
class OpponentSummary:
    """Totals against one opponent; score, Elo and LOS come from the completed games (not the errors).

    ``draws == draws_rule + draws_max_plies``; ``draw_reasons`` counts the draws per reason. ``elo_low`` /
    ``elo_high`` are the 95% interval (Wilson, on the score); an end a 0% or 100% score leaves open is
    -inf / +inf here and null in JSON (``elo`` is then finite, from one virtual draw).
    """

    name: str
    games: int
    wins: int
    draws: int
    losses: int
    errors: int
    score: float | None
    elo: float | None
    elo_low: float | None
    elo_high: float | None
    los: float | None
    draws_rule: int = 0  # draws by a rule: repetition, impasse
    draws_max_plies: int = 0  # games truncated at evaluation.max_plies (scored as draws)
    draw_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def played(self) -> int:
        """Completed games (wins + draws + losses): what score and Elo are computed from."""
        return self.wins + self.draws + self.losses

    def to_json(self) -> dict[str, Any]:
        return {k: (_finite(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_games(cls, name: str, games: list[GameRecord]) -> OpponentSummary:
        """Count ``games`` (all against ``name``) and derive score, Elo with its 95% interval, and LOS."""
        wins = sum(g.result == "win" for g in games)
        draws = sum(g.result == "draw" for g in games)
        losses = sum(g.result == "loss" for g in games)
        errors = sum(g.result == "error" for g in games)
        reasons: dict[str, int] = {}
        for g in games:
            if g.result == "draw":
                reasons[g.reason] = reasons.get(g.reason, 0) + 1
        truncated = reasons.get(TRUNCATED, 0)
        played = wins + draws + losses
        score = elo = low = high = likelihood = None
        if played:
            score = (wins + 0.5 * draws) / played
            elo, low, high = elo_from_score(wins, draws, losses)
            likelihood = _finite(los(wins, losses))
        return cls(name, len(games), wins, draws, losses, errors, score, elo, low, high, likelihood,
                   draws - truncated, truncated, dict(sorted(reasons.items())))


@dataclass
class EvaluationResult:
    """What an evaluation returns; ``to_json()`` is the ``keisei evaluate --json`` object."""

    opponents: list[OpponentSummary]
    games: list[GameRecord]
    errors: list[str]
    model_version: int | None = None
    timestep: int | None = None
    checkpoint: str | None = None
    sprt: dict | None = None
    agent: str = "agent"
    strategy: str = "custom"
    side_games: list[GameRecord] = field(default_factory=list)  # tournament games without the agent
    evaluation_id: str | None = None  # the store's evaluation_id of these games
    seed: int | None = None  # the base seed of the players (evaluation.seed, else training.seed)
    sha256: str | None = None  # hash of the agent's weights (keisei.weights.tensors_sha256), when known

    def opponent(self, name: str) -> OpponentSummary:
        """The summary for opponent ``name`` (KeyError naming the known ones otherwise)."""
        for summary in self.opponents:
            if summary.name == name:
                return summary
        raise KeyError(f"no opponent {name!r} in this result; have {[s.name for s in self.opponents]}")

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "model_version": self.model_version,
            "sha256": self.sha256,
            "timestep": self.timestep,
            "agent": self.agent,
            "strategy": self.strategy,
            "evaluation_id": self.evaluation_id,
            "seed": self.seed,
            "opponents": [s.to_json() for s in self.opponents],
            "games": [g.summary_dict() for g in self.games],
            "side_games": [g.summary_dict() for g in self.side_games],
            "errors": list(self.errors),
            "sprt": self.sprt,
        }


def summarise(games: list[GameRecord], order: list[str]) -> list[OpponentSummary]:
    """One summary per opponent name in ``order`` (names without games get an all-zero summary)."""
    return [OpponentSummary.from_games(name, [g for g in games if g.opponent == name]) for name in order]
