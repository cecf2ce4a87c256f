"""What the search asks for a batch of leaves: policy logits and a value for the side to move.

``NetworkEvaluator`` (torch), ``OnnxEvaluator`` (onnxruntime) and ``AutoEvaluator`` (each call to the faster
of the two for its batch size) are built by ``make_evaluator`` from ``search.backend``; this is the only module
of keisei.search that touches torch (lazily). ``UniformEvaluator`` is a stub network (uniform logits, value 0)
that measures the search's own Python-side cost and serves tests.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from keisei.shogi import NUM_ACTIONS

_BOARD_PLANES = 62  # dlshogi's input1 (keisei.models.export.BOARD_PLANES); input2 is the other 57 planes

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["AutoEvaluator", "Evaluator", "NetworkEvaluator", "OnnxEvaluator", "UniformEvaluator", "make_evaluator"]


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


class OnnxEvaluator:
    """The same network through onnxruntime (CPU): exported in dlshogi's layout (``keisei.models.export``),
    run by an ``InferenceSession`` with ``threads`` intra-op threads (default: torch's current count, so the
    process's thread budget holds). ``refresh()`` re-exports after the model's weights changed."""

    def __init__(self, model: nn.Module, threads: int | None = None) -> None:
        import torch

        self.model = model
        self.threads = threads if threads is not None else torch.get_num_threads()
        self.calls = 0
        self.seconds = 0.0
        self.exports = 0
        self._session = None
        self.refresh()

    def refresh(self) -> None:
        """Export the model's current weights and open a new session on them."""
        import onnxruntime as ort

        from keisei.models.export import onnx_bytes

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, self.threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(onnx_bytes(self.model), options, providers=["CPUExecutionProvider"])
        self.exports += 1

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        split = _BOARD_PLANES
        policy, win = self._session.run(None, {"input1": np.ascontiguousarray(obs[:, :split], dtype=np.float32),
                                               "input2": np.ascontiguousarray(obs[:, split:], dtype=np.float32)})
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return policy, win.reshape(-1) * 2.0 - 1.0


class AutoEvaluator:
    """torch and onnxruntime side by side, each call sent to the one that is faster at its size: onnxruntime
    for batches of at most ``onnx_max_batch`` positions (where its lower per-call cost wins on a CPU), torch
    above. The choice depends only on the batch size, so a search is as reproducible as with one backend.
    ``refresh()`` marks the exported copy stale; it is re-exported at the next small batch."""

    def __init__(self, model: nn.Module, device: torch.device | str = "cpu", onnx_max_batch: int = 8,
                 threads: int | None = None) -> None:
        self.torch = NetworkEvaluator(model, device)
        self.onnx_max_batch = onnx_max_batch
        self._threads = threads
        self._onnx: OnnxEvaluator | None = None
        self._stale = True

    @property
    def calls(self) -> int:
        return self.torch.calls + (self._onnx.calls if self._onnx else 0)

    @property
    def seconds(self) -> float:
        return self.torch.seconds + (self._onnx.seconds if self._onnx else 0.0)

    def refresh(self) -> None:
        self._stale = True

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if obs.shape[0] > self.onnx_max_batch:
            return self.torch(obs, mask)
        if self._stale:
            if self._onnx is None:
                self._onnx = OnnxEvaluator(self.torch.model, self._threads)
            else:
                self._onnx.refresh()
            self._stale = False
        return self._onnx(obs, mask)


def make_evaluator(model: nn.Module, device: torch.device | str = "cpu", backend: str = "auto",
                   onnx_max_batch: int = 8, threads: int | None = None) -> Evaluator:
    """The network evaluator ``search.backend`` names: ``torch``; ``onnx`` (onnxruntime on the CPU for every
    call); ``auto`` (CUDA: torch; CPU: onnxruntime for batches up to ``onnx_max_batch``, torch above).

    ValueError for ``onnx`` on a CUDA device (onnxruntime here is the CPU build) or an unknown name."""
    import torch

    dev = torch.device(device)
    if backend == "torch" or (backend == "auto" and (dev.type != "cpu" or onnx_max_batch < 1)):
        return NetworkEvaluator(model, dev)
    if backend == "onnx":
        if dev.type != "cpu":
            raise ValueError(f"search.backend = 'onnx' runs on the CPU; the network's device is {dev}")
        return OnnxEvaluator(model, threads)
    if backend == "auto":
        return AutoEvaluator(model, dev, onnx_max_batch, threads)
    raise ValueError(f"search.backend {backend!r}: expected one of torch, onnx, auto")
