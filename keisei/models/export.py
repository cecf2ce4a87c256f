"""A Keisei policy-value net in dlshogi's ONNX layout (and as TorchScript), for dlshogi-family engines and
onnxruntime.

dlshogi's network takes two inputs and its ONNX files (dlshogi's ``convert_model_to_onnx.py``, read by its
``nn_onnx``/TensorRT engines and by python-dlshogi2-style ONNX players) have this signature:

* ``input1`` f32[N, 62, 9, 9]: the board and attack planes (cshogi ``make_input_features``'s ``features1``);
* ``input2`` f32[N, 57, 9, 9]: the hand and check planes (``features2``);
* ``output_policy`` f32[N, 2187]: move logits in dlshogi's label order (``cshogi.dlshogi.make_move_label``),
  unnormalised: the engine takes a softmax over the legal moves' entries;
* ``output_value`` f32[N, 1]: the probability that the side to move wins, in [0, 1] (dlshogi's exporter wraps
  its value logit in a sigmoid). A Keisei value v in [-1, 1] (tanh) is written as (v + 1) / 2, which is exactly
  sigmoid(2 x) of Keisei's pre-tanh value x.

The batch axis is dynamic unless a fixed batch size is asked for. Keisei's observation is the concatenation
``[features1, features2]`` (119 planes), so ``input1``/``input2`` are its first 62 and last 57 planes.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from keisei.models.constants import NUM_ACTIONS, OBS_SHAPE

__all__ = [
    "BOARD_PLANES",
    "HAND_PLANES",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "DlshogiLayout",
    "check_policy_value",
    "onnx_bytes",
    "torchscript_bytes",
]

BOARD_PLANES = 62
HAND_PLANES = OBS_SHAPE[0] - BOARD_PLANES  # 57
INPUT_NAMES = ("input1", "input2")
OUTPUT_NAMES = ("output_policy", "output_value")
DEFAULT_OPSET = 17
_EXPORT_LOCK = threading.Lock()  # torch.onnx keeps exporter settings in module globals: one export at a time


class DlshogiLayout(nn.Module):
    """``forward(input1, input2) -> (policy logits [N, 2187], win probability [N, 1])`` around a Keisei net."""

    def __init__(self, model: nn.Module, fp16: bool = False) -> None:
        super().__init__()
        self.model = model.half() if fp16 else model
        self.fp16 = fp16

    def forward(self, input1: Tensor, input2: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([input1, input2], dim=1)
        if self.fp16:
            x = x.half()
        logits, value = self.model(x)
        return logits.float(), ((value.float() + 1.0) * 0.5).reshape(-1, 1)


def check_policy_value(model: nn.Module) -> None:
    """ValueError unless ``model(obs)`` is (logits [N, 2187], value [N]) for a batch of two observations."""
    obs = torch.zeros((2, *OBS_SHAPE))
    try:
        with torch.inference_mode():
            out = model(obs)
    except Exception as exc:  # noqa: BLE001 - any failure means: not a net of this interface
        raise ValueError(f"not a policy-value network: forward(obs [2, 119, 9, 9]) failed: {exc}") from None
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
        raise ValueError("not a policy-value network: forward(obs) must return (policy logits, value)")
    logits, value = out
    if tuple(logits.shape) != (2, NUM_ACTIONS) or value.reshape(-1).shape[0] != 2:
        raise ValueError(f"not a policy-value network: forward(obs [2, ...]) gave shapes {tuple(logits.shape)} "
                         f"and {tuple(value.shape)}, expected (2, {NUM_ACTIONS}) and (2,)")


def _example(batch: int, fp16: bool) -> tuple[Tensor, Tensor]:
    return torch.zeros(batch, BOARD_PLANES, 9, 9), torch.zeros(batch, HAND_PLANES, 9, 9)


def onnx_bytes(model: nn.Module, *, opset: int = DEFAULT_OPSET, batch: int | None = None,
               fp16: bool = False) -> bytes:
    """The ONNX file of ``model`` (eval mode, CPU) in dlshogi's layout; ``batch`` None = a dynamic batch axis.

    Uses torch's TorchScript-based exporter (dlshogi's own exporter is the same one; it exports the tiny net in
    about 0.2 s, the torch.export-based one in several seconds).
    """
    import copy

    net = DlshogiLayout(copy.deepcopy(model).cpu().float().eval(), fp16=fp16).eval()
    dynamic = None if batch is not None else {name: {0: "batch_size"} for name in INPUT_NAMES + OUTPUT_NAMES}
    buf = io.BytesIO()
    with _EXPORT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(net, _example(batch or 1, fp16), buf, input_names=list(INPUT_NAMES),
                          output_names=list(OUTPUT_NAMES), dynamic_axes=dynamic, opset_version=opset,
                          do_constant_folding=True, dynamo=False)
    return buf.getvalue()


def torchscript_bytes(model: nn.Module, *, batch: int | None = None, fp16: bool = False) -> bytes:
    """``model`` traced as TorchScript with the same two inputs and two outputs as the ONNX file."""
    import copy

    net = DlshogiLayout(copy.deepcopy(model).cpu().float().eval(), fp16=fp16).eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, _example(batch or 1, fp16), check_trace=False)
        torch.jit.save(traced, buf)
    return buf.getvalue()


def describe(path: Path, info: dict[str, Any]) -> str:
    """The one-line summary `keisei export` prints."""
    return (f"wrote {path} ({info['format']}, {info['bytes'] / 1e6:.2f} MB, batch {info['batch'] or 'dynamic'}"
            f"{', fp16' if info['fp16'] else ''}) in {info['seconds']:.2f} s")
