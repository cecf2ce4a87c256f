"""Frozen weight snapshots of the training agent and an LRU cache of opponent models loaded from checkpoints.

Shared by training (the Trainer's WeightPublisher publishes snapshots through the one ModelWeightManager;
parallel actors receive them) and evaluation (which plays a published snapshot and caches opponents).

A :class:`WeightSnapshot` is a CPU copy of a model's state dict (unwrapped of torch.compile / DDP), tagged
with the model version and timestep it was taken at and a sha256 of its tensors, so a background evaluation
plays exactly the weights of that moment while the learner keeps updating the live model.

:class:`ModelWeightManager` rebuilds models from snapshots and checkpoints with ``keisei.models.build_model``
(the architecture stored in the checkpoint, never a stand-in) and caches checkpoint opponents keyed by the
file's content hash, bounded both by entry count and by bytes (least recently used evicted first).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from keisei.checkpoint import checkpoint_content_hash, load_model_from_checkpoint
from keisei.models import build_model, unwrap_model

logger = logging.getLogger(__name__)

WRAPPER_PREFIXES = ("_orig_mod.", "module.")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


def strip_wrapper_prefixes(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Remove leading ``_orig_mod.`` (torch.compile) and ``module.`` (DP/DDP) key prefixes, in any nesting."""
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        name = key
        while name.startswith(WRAPPER_PREFIXES):
            name = name.split(".", 1)[1]
        if name in out:
            raise ValueError(f"state dict keys {key!r} and another key both unwrap to {name!r}")
        out[name] = value
    return out


def tensors_sha256(state_dict: Mapping[str, Tensor]) -> str:
    """sha256 over (name, dtype, shape, raw bytes) of every tensor, in sorted-name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode() + b"\0")
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def state_nbytes(state_dict: Mapping[str, Tensor]) -> int:
    """Total bytes held by the tensors of a state dict."""
    return sum(t.numel() * t.element_size() for t in state_dict.values())


@dataclass(frozen=True, eq=False)
class WeightSnapshot:
    """An immutable-by-convention CPU copy of a model's weights at one moment of training."""

    model_name: str
    model_arch: dict[str, Any]
    state_dict: dict[str, Tensor]
    model_version: int
    timestep: int
    sha256: str

    @property
    def nbytes(self) -> int:
        """Bytes held by the snapshot's tensors."""
        return state_nbytes(self.state_dict)

    @property
    def label(self) -> str:
        """A short human-readable tag, e.g. ``v12@t50000``."""
        return f"v{self.model_version}@t{self.timestep}"


@dataclass
class _CacheEntry:
    model: nn.Module
    snapshot: WeightSnapshot
    nbytes: int


def _model_nbytes(model: nn.Module) -> int:
    return state_nbytes(model.state_dict())


class ModelWeightManager:
    """Snapshots the training agent and caches opponent models by checkpoint content (thread-safe).

    The cache is an LRU over ``(file sha256, device)`` bounded by ``max_entries`` and ``max_bytes``: after
    each insertion the least recently used entries are evicted until both bounds hold. A modified file has a
    new hash, hence a new entry; a hit returns the very same model object.
    """

    def __init__(self, max_entries: int = 8, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError(f"weight cache bounds must be >= 1, got entries={max_entries} bytes={max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, str], _CacheEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    # -- snapshots -----------------------------------------------------------------------------------------
    def snapshot(
        self,
        model: nn.Module,
        model_version: int,
        timestep: int,
        model_name: str,
        model_arch: Mapping[str, Any],
    ) -> WeightSnapshot:
        """Clone ``model``'s (unwrapped) weights to CPU and tag them; later in-place updates do not leak in."""
        arch = dict(model_arch)
        if arch.setdefault("name", model_name) != model_name:
            raise ValueError(f"snapshot: model_name {model_name!r} disagrees with model_arch name {arch['name']!r}")
        with torch.no_grad():
            state = {
                k: v.detach().to("cpu", copy=True).contiguous()
                for k, v in strip_wrapper_prefixes(unwrap_model(model).state_dict()).items()
            }
        return WeightSnapshot(
            model_name=model_name,
            model_arch=arch,
            state_dict=state,
            model_version=int(model_version),
            timestep=int(timestep),
            sha256=tensors_sha256(state),
        )

    def build(self, snapshot: WeightSnapshot, device: str | torch.device = "cpu") -> nn.Module:
        """A fresh model of the snapshot's architecture holding its weights, in eval mode on ``device``."""
        try:
            model = build_model(snapshot.model_arch)
            model.load_state_dict(snapshot.state_dict, strict=True)
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"snapshot {snapshot.label} does not fit {snapshot.model_arch}: {exc}") from exc
        return model.to(device).eval().requires_grad_(False)

    # -- checkpoint opponents ------------------------------------------------------------------------------
    def load_checkpoint(
        self, path: str | Path, device: str | torch.device = "cpu"
    ) -> tuple[nn.Module, WeightSnapshot]:
        """The checkpoint's model (eval mode on ``device``) and its snapshot; cached by file content hash.

        Raises CheckpointError (naming the file) when it is missing, corrupt, or its weights do not fit the
        architecture recorded in it.
        """
        path = Path(path)
        key = (checkpoint_content_hash(path), str(torch.device(device)))
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return entry.model, entry.snapshot
            self.misses += 1
            entry = self._load(path, device)
            self._cache[key] = entry
            self._evict()
            return entry.model, entry.snapshot

    def _load(self, path: Path, device: str | torch.device) -> _CacheEntry:
        model, payload = load_model_from_checkpoint(path, device="cpu")
        model.requires_grad_(False)
        state = {k: v.detach() for k, v in model.state_dict().items()}  # shares storage with the CPU model
        snapshot = WeightSnapshot(
            model_name=payload["model_name"],
            model_arch={"name": payload["model_name"], **payload["model_arch"]},
            state_dict=state,
            model_version=payload["model_version"],
            timestep=payload["counters"]["timesteps"],
            sha256=tensors_sha256(state),
        )
        nbytes = snapshot.nbytes
        if torch.device(device).type != "cpu":
            model = model.to(device)  # the snapshot keeps the CPU tensors; the model gets device copies
            nbytes += _model_nbytes(model)
        logger.debug("loaded opponent %s (%s, %d bytes)", path, snapshot.label, nbytes)
        return _CacheEntry(model=model.eval(), snapshot=snapshot, nbytes=nbytes)

    def _evict(self) -> None:
        while self._cache and (len(self._cache) > self.max_entries or self.cached_bytes > self.max_bytes):
            _key, entry = self._cache.popitem(last=False)
            logger.debug("weight cache: evicted %s (%d bytes)", entry.snapshot.label, entry.nbytes)

    # -- introspection -------------------------------------------------------------------------------------
    @property
    def cached_bytes(self) -> int:
        """Bytes held by cached entries."""
        return sum(e.nbytes for e in self._cache.values())

    def cached_keys(self) -> list[tuple[str, str]]:
        """Cache keys ``(file sha256, device)``, least recently used first."""
        with self._lock:
            return list(self._cache)


__all__ = [
    "ModelWeightManager",
    "WeightSnapshot",
    "state_nbytes",
    "strip_wrapper_prefixes",
    "tensors_sha256",
]
