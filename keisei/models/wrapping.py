"""Unwrapping torch.compile / DataParallel / DDP wrappers so saved state dicts carry no prefixes."""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel


def unwrap_model(module: nn.Module) -> nn.Module:
    """Strip torch.compile (`_orig_mod`) and DataParallel/DDP (`.module`) wrappers, in any nesting."""
    while True:
        inner = getattr(module, "_orig_mod", None)
        if isinstance(inner, nn.Module):
            module = inner
        elif isinstance(module, (DataParallel, DistributedDataParallel)):
            module = module.module
        else:
            return module


def state_dict_for_save(module: nn.Module) -> dict[str, Any]:
    """The unwrapped model's state dict (no `_orig_mod.` / `module.` key prefixes)."""
    return unwrap_model(module).state_dict()
