"""What the search asks for a batch of leaves: policy logits and a value for the side to move.

``NetworkEvaluator`` is the only torch-using module of keisei.search; ``UniformEvaluator`` is a stub network
(uniform logits, value 0) that measures the search's own Python-side cost and serves tests.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from keisei.shogi import NUM_ACTIONS

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Evaluator", "NetworkEvaluator", "UniformEvaluator"]


class Evaluator(Protocol):
    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """obs f32[N,119,9,9], mask bool[N,2187] -> (logits f32[N,2187], value f32[N] in [-1, 1]).

        The value is from the point of view of the side to move in each position.
        """
        ...


class NetworkEvaluator:
    """A Keisei network (``forward(obs) -> (logits, value)``) under ``torch.inference_mode``.

    The caller puts the model in eval mode. ``calls``/``seconds`` count forwards and the time spent in them
    (tensor transfer included) for benchmarks.
    """

    def __init__(self, model: nn.Module, device: torch.device | str = "cpu") -> None:
        import torch

        self._torch = torch
        self.model = model
        self.device = torch.device(device)
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        start = time.perf_counter()
        with torch.inference_mode():
            logits, value = self.model(torch.from_numpy(obs).to(self.device))
            logits = logits.float().cpu().numpy()
            value = value.float().reshape(-1).cpu().numpy()
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return logits, value


class UniformEvaluator:
    """Stub network: uniform logits and value 0 for every position (``calls``/``seconds`` as above)."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._logits = np.zeros((0, NUM_ACTIONS), dtype=np.float32)

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        n = obs.shape[0]
        if self._logits.shape[0] < n:
            self._logits = np.zeros((n, NUM_ACTIONS), dtype=np.float32)
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return self._logits[:n], np.zeros(n, dtype=np.float32)
