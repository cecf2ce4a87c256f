"""`keisei export CHECKPOINT --out FILE`: the network as ONNX in dlshogi's layout (or TorchScript).

CHECKPOINT is a checkpoint file or a run directory (its best net, else its latest). The ONNX file has inputs
``input1`` (62 board planes) and ``input2`` (57 hand planes), float32 [N, C, 9, 9], and outputs
``output_policy`` (2,187 logits, dlshogi's label order) and ``output_value`` (the side to move's win
probability in [0, 1], shape [N, 1]): what dlshogi's engines and ONNX players read. The file is written
atomically: on any error nothing is left at FILE.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("export", help="the network as ONNX (dlshogi's layout) or TorchScript",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint, or a run directory (its best net)")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default onnx")
    p.add_argument("--opset", type=int, default=17, metavar="N", help="ONNX opset (default 17)")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="a fixed batch size (default: a dynamic batch axis)")
    p.add_argument("--fp16", action="store_true", help="half-precision weights (inputs and outputs stay float32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keisei.errors import KeiseiError, check_output_file

    if args.batch is not None and args.batch < 1:
        raise KeiseiError(f"--batch {args.batch}: must be >= 1")
    if not 7 <= args.opset <= 21:
        raise KeiseiError(f"--opset {args.opset}: must be between 7 and 21")
    out = check_output_file(args.out, "--out")
    info = export_file(args.checkpoint, out, fmt=args.format, opset=args.opset, batch=args.batch, fp16=args.fp16)
    from keisei.models.export import describe

    print(describe(out, info), flush=True)
    return 0


def export_file(checkpoint: str | Path, out: Path, *, fmt: str = "onnx", opset: int = 17, batch: int | None = None,
                fp16: bool = False) -> dict:
    """Load ``checkpoint``, export it, write ``out`` atomically; -> what was written (format, bytes, seconds)."""
    from keisei.atomic import atomic_write
    from keisei.checkpoint import load_model_from_checkpoint
    from keisei.errors import DurableWriteError, KeiseiError
    from keisei.models.export import check_policy_value, onnx_bytes, torchscript_bytes

    start = time.perf_counter()
    model, _ = load_model_from_checkpoint(checkpoint, "cpu")
    try:
        check_policy_value(model)
    except ValueError as exc:
        raise KeiseiError(f"{checkpoint}: {exc}") from None
    try:
        data = (onnx_bytes(model, opset=opset, batch=batch, fp16=fp16) if fmt == "onnx"
                else torchscript_bytes(model, batch=batch, fp16=fp16))
    except Exception as exc:  # noqa: BLE001 - the exporter's own errors (an op, an opset): one line
        raise KeiseiError(f"{checkpoint}: the {fmt} export failed: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                          ) from None
    try:
        atomic_write(out, lambda fh: fh.write(data))
    except DurableWriteError as exc:  # a usage-level failure here (exit 2): nothing of the run depends on it
        raise KeiseiError(str(exc)) from None
    return {"format": fmt, "bytes": len(data), "batch": batch, "fp16": fp16, "opset": opset,
            "seconds": time.perf_counter() - start}
