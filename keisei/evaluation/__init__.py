"""Evaluation: play the agent against opponents, summarise (W/D/L, Elo, LOS, SPRT), record games.

Public names are imported lazily (PEP 562), so ``import keisei.evaluation.store`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EvaluationManager": "keisei.evaluation.manager",
    "EvaluationRequest": "keisei.evaluation.manager",
    "EvaluationResult": "keisei.evaluation.result",
    "GameRecord": "keisei.evaluation.result",
    "OpponentSummary": "keisei.evaluation.result",
    "OpponentSpec": "keisei.evaluation.opponents",
    "parse_opponent": "keisei.evaluation.opponents",
    "STRATEGIES": "keisei.evaluation.strategies",
    "ModelWeightManager": "keisei.weights",
    "WeightSnapshot": "keisei.weights",
    "OpponentPool": "keisei.evaluation.pool",
}

__all__ = [
    "STRATEGIES",
    "EvaluationManager",
    "EvaluationRequest",
    "EvaluationResult",
    "GameRecord",
    "ModelWeightManager",
    "OpponentPool",
    "OpponentSpec",
    "OpponentSummary",
    "WeightSnapshot",
    "parse_opponent",
]

if TYPE_CHECKING:
    from keisei.evaluation.manager import EvaluationManager, EvaluationRequest
    from keisei.evaluation.opponents import OpponentSpec, parse_opponent
    from keisei.evaluation.pool import OpponentPool
    from keisei.evaluation.result import EvaluationResult, GameRecord, OpponentSummary
    from keisei.evaluation.strategies import STRATEGIES
    from keisei.weights import ModelWeightManager, WeightSnapshot


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keisei.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
