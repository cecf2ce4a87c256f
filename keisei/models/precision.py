"""Mixed precision: the one map from a config's ``amp`` setting to the autocast dtype."""

from __future__ import annotations

import torch

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def amp_dtype(amp: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype of ``training.amp`` ("off" | "bf16" | "fp16") on ``device``: None off CUDA or when off."""
    if amp != "off" and amp not in AMP_DTYPES:
        raise ValueError(f"training.amp: expected off, bf16 or fp16, got {amp!r}")
    return AMP_DTYPES.get(amp) if torch.device(device).type == "cuda" else None
