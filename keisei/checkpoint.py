"""Keisei's checkpoint file format (shared by training and evaluation): atomic save, validated load.

A checkpoint is a torch.save'd dict loadable with torch.load(weights_only=True), so only tensors and plain
python containers/scalars are allowed (numpy objects are rejected at save time). Payload keys:
format_version, model_name, model_arch (ModelConfig dump), model_state, model_version, counters
{timesteps, updates, games} (all required), and optionally optimizer_state, scheduler_state, scaler_state,
rng {python, numpy, torch, cuda} (see capture_rng_state) and config (the effective config dict).
"""

from __future__ import annotations

import logging
import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from keisei.atomic import atomic_write
from keisei.checkpoint_path import file_sha256, resolve_checkpoint_path
from keisei.errors import KeiseiError
from keisei.models import build_model

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "model_name", "model_arch", "model_state", "model_version", "counters")
COUNTER_KEYS = ("timesteps", "updates", "games")
_SAFE_LEAVES = (str, int, float, bool, type(None), torch.Size, torch.dtype, torch.device)

log = logging.getLogger(__name__)


class CheckpointError(KeiseiError, ValueError):
    """A checkpoint problem; the message names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"checkpoint {path}: {problem}")
        self.path = Path(path)


def _check_safe(obj: Any, where: str, path: Path) -> None:
    """Reject values that torch.load(weights_only=True) could not read back (exact types: np.float64 is a float)."""
    if isinstance(obj, torch.Tensor) or type(obj) in _SAFE_LEAVES:
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_safe(key, f"{where} key", path)
            _check_safe(value, f"{where}[{key!r}]", path)
    elif type(obj) in (list, tuple):
        for i, value in enumerate(obj):
            _check_safe(value, f"{where}[{i}]", path)
    else:
        raise CheckpointError(
            path, f"{where} has type {type(obj).__name__}, not loadable with weights_only=True"
        )


def _validate(payload: Any, path: Path) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"payload is a {type(payload).__name__}, expected a dict")
    version = payload.get("format_version")
    if version is None:
        raise CheckpointError(path, "format_version is missing (not a Keisei checkpoint?)")
    if type(version) is not int or version < 1:
        raise CheckpointError(path, f"format_version {version!r} is invalid")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            path,
            f"format_version {version} is newer than this Keisei supports ({FORMAT_VERSION}); upgrade Keisei",
        )
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(path, f"required keys missing: {', '.join(missing)}")
    for key, kind in (("model_name", str), ("model_arch", dict), ("model_state", dict), ("counters", dict)):
        if not isinstance(payload[key], kind):
            raise CheckpointError(path, f"{key} must be a {kind.__name__}, got {type(payload[key]).__name__}")
    if type(payload["model_version"]) is not int:
        raise CheckpointError(path, f"model_version must be an int, got {payload['model_version']!r}")
    bad = [k for k in COUNTER_KEYS if type(payload["counters"].get(k)) is not int]
    if bad:
        raise CheckpointError(path, f"counters missing or not int: {', '.join(bad)}")
    return payload


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Atomically write `payload` (format_version added if absent): temp file in the same dir, fsync, rename."""
    path = Path(path)
    payload = {"format_version": FORMAT_VERSION, **payload}
    _validate(payload, path)
    _check_safe(payload, "payload", path)
    return atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """torch.load(weights_only=True) and validate; any problem raises CheckpointError naming the file.
    A run's ``checkpoints/latest`` pointer loads the checkpoint it names."""
    path = resolve_checkpoint_path(path)
    if not path.is_file():
        raise CheckpointError(path, "file not found" if not path.exists() else "not a regular file")
    if path.suffix != ".pt" and not zipfile.is_zipfile(path):
        raise CheckpointError(path, f"not a Keisei checkpoint (checkpoints are the .pt zip files that training "
                                    f"writes){_valid_siblings(path, prefix='; ')}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # zip, unpickling, EOF and weights_only refusals all mean an unusable file
        raise CheckpointError(path, f"{_load_failure(exc)}{_valid_siblings(path, prefix='; ')}") from exc
    return _validate(payload, path)


def _load_failure(exc: BaseException) -> str:
    """What is wrong with an unloadable file, without torch's advice (loading with weights_only=False would
    run arbitrary code from the file: never the way out of a corrupt checkpoint)."""
    text = str(exc).strip()
    if "Weights only load failed" in text:
        after = text.partition("WeightsUnpickler error:")[2]
        detail = next((line.strip() for line in after.splitlines() if line.strip()), "refused by the safe loader")
        detail = detail.split(". Please use")[0][:200]
        if "Unsupported global" in detail:
            return f"file holds objects a checkpoint cannot hold ({detail})"
        return f"file is corrupt or truncated (not a checkpoint: {detail})"
    detail = (text.splitlines() or [""])[0].split(". This is an internal")[0][:200]
    return f"file is corrupt or truncated ({type(exc).__name__}: {detail})"


def _valid_siblings(path: Path, limit: int = 10, prefix: str = "") -> str:
    """Which other checkpoints in `path`'s directory load (newest first, at most `limit` checked), after
    ``prefix``; empty when there are none (nothing to suggest)."""
    directory = path.parent
    try:
        candidates = sorted((p for p in directory.glob("*.pt") if p.is_file() and p != path),
                            key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    except OSError:
        candidates = []
    valid = [p.name for p in candidates if _loads(p)]
    if not valid:
        return ""
    return f"{prefix}valid checkpoints in {directory}: {', '.join(valid)}"


def _loads(path: Path) -> bool:
    """True when `path` is a complete zip whose payload loads with weights_only and validates."""
    try:
        with zipfile.ZipFile(path) as zf:
            if zf.testzip() is not None:  # CRC of every member: a truncated or damaged file fails here
                return False
        _validate(torch.load(path, map_location="cpu", weights_only=True, mmap=True), path)
    except Exception:  # noqa: BLE001 - any failure means "not a valid checkpoint"
        return False
    return True


def _state_mismatch(expected: dict[str, torch.Tensor], saved: dict[str, Any]) -> str:
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = [
        f"{k} {tuple(saved[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in saved and isinstance(saved[k], torch.Tensor) and saved[k].shape != v.shape
    ]
    parts = []
    for label, items in (
        ("missing keys", missing),
        ("unexpected keys", unexpected),
        ("shape mismatch", shapes),
    ):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            parts.append(f"{label}: {', '.join(items[:5])}{more}")
    return "; ".join(parts)


def load_model_from_checkpoint(
    path: str | os.PathLike, device: Any = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the stored architecture, load the weights strictly; -> (model in eval mode on device, payload)."""
    path = resolve_checkpoint_path(path)
    payload = load_checkpoint(path, map_location="cpu")
    arch = dict(payload["model_arch"])
    if arch.setdefault("name", payload["model_name"]) != payload["model_name"]:
        raise CheckpointError(
            path, f"model_name {payload['model_name']!r} disagrees with model_arch {arch['name']!r}"
        )
    try:
        model = build_model(arch)
    except ValueError as exc:
        raise CheckpointError(path, f"cannot build the model: {exc}") from exc
    mismatch = _state_mismatch(model.state_dict(), payload["model_state"])
    if mismatch:
        raise CheckpointError(path, f"model_state does not match architecture {arch}: {mismatch}")
    model.load_state_dict(payload["model_state"], strict=True)
    return model.to(device).eval(), payload


def checkpoint_content_hash(path: str | os.PathLike) -> str:
    """sha256 hex digest of the file's bytes (cache key for loaded weights); a pointer hashes what it names."""
    path = resolve_checkpoint_path(path)
    if not path.is_file():
        raise CheckpointError(path, "file not found")
    return file_sha256(path)


def capture_rng_state() -> dict[str, Any]:
    """python `random`, numpy global, torch CPU and CUDA RNG states as weights_only-safe values."""
    version, internal, gauss_next = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
        "numpy": {
            "bit_generator": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of capture_rng_state; CUDA states are restored for the devices present (warns on mismatch)."""
    missing = [k for k in ("python", "numpy", "torch") if k not in state]
    if missing:
        raise ValueError(f"rng state is missing: {', '.join(missing)}")
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))
    npy = state["numpy"]
    keys = np.asarray(npy["keys"].cpu().numpy() if isinstance(npy["keys"], torch.Tensor) else npy["keys"])
    np.random.set_state(
        (npy["bit_generator"], keys.astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda = list(state.get("cuda") or [])
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if len(cuda) != available and cuda:
        log.warning("rng state has %d CUDA generator(s) but %d device(s) are present", len(cuda), available)
    for i, s in enumerate(cuda[:available]):
        torch.cuda.set_rng_state(s.cpu(), device=i)
