"""Optional SPRT gating of an evaluation: each opponent's game pairs, in schedule order, through sprt.SPRT."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keisei.evaluation.result import GameRecord
from keisei.evaluation.sprt import SPRT

if TYPE_CHECKING:
    from keisei.config import EvaluationConfig


def run_sprt(games: list[GameRecord], opponents: list[str], ecfg: EvaluationConfig) -> dict[str, Any]:
    """The pentanomial SPRT (elo0/elo1/sprt_alpha/sprt_beta from ``ecfg``) per opponent.

    ``games`` are in schedule order (pair by pair, agent black first); an error game voids its pair.
    Verdicts: "H1" (the agent is at least elo1 stronger), "H0" (at most elo0), "inconclusive".
    """
    per_opponent = {}
    for name in opponents:
        test = SPRT(ecfg.elo0, ecfg.elo1, ecfg.sprt_alpha, ecfg.sprt_beta, mode="pentanomial")
        for index, game in enumerate(g for g in games if g.opponent == name):
            test.add(index, None if game.result == "error" else game.result)
        status = test.status()
        per_opponent[name] = {
            "llr": status.llr, "lower": status.lower, "upper": status.upper,
            "verdict": status.verdict or "inconclusive", "games": status.games,
            "pentanomial": list(status.pentanomial), "los": status.los,
        }
    return {
        "elo0": ecfg.elo0, "elo1": ecfg.elo1, "alpha": ecfg.sprt_alpha, "beta": ecfg.sprt_beta,
        "mode": "pentanomial", "opponents": per_opponent,
    }
