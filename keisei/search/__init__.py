"""Batched tree search (PUCT and Gumbel root selection) over Keisei networks, with mate checks.

This package never imports ``keisei.training``; only ``evaluator`` touches torch and onnxruntime (lazily).
"""

from keisei.search.config import SearchConfig
from keisei.search.evaluator import Evaluator, NetworkEvaluator, UniformEvaluator, make_evaluator
from keisei.search.mcts import BatchedMCTS, SearchResult
from keisei.shogi.mate import MateResult, mate_search

__all__ = [
    "BatchedMCTS",
    "Evaluator",
    "MateResult",
    "NetworkEvaluator",
    "SearchConfig",
    "SearchResult",
    "UniformEvaluator",
    "make_evaluator",
    "mate_search",
]
