"""Checkpoint files of one run: run_dir/checkpoints/ckpt_<timesteps>.pt, a `latest` pointer, keep-last-K + best."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keisei.atomic import atomic_write_text
from keisei.checkpoint import CheckpointError, save_checkpoint
from keisei.errors import DurableWriteError
from keisei.models import state_dict_for_save
from keisei.run.callbacks import MetricsSink
from keisei.weights import tensors_sha256

logger = logging.getLogger(__name__)

CKPT_RE = re.compile(r"^ckpt_(\d+)\.pt$")
LATEST = "latest"
BEST = "best.json"

Listener = Callable[[Path, dict[str, Any]], None]


def model_payload(config: Any, model: Any, counters: dict[str, int], **extra: Any) -> dict[str, Any]:
    """The part of a keisei.checkpoint payload every trainer writes: the model (architecture + CPU copy of its
    weights), ``counters`` ({timesteps, updates, games}; model_version = updates) and the effective config;
    ``extra`` adds the trainer's own keys (learner state, env games, RNG, ``source``, ``parent``)."""
    return {
        "model_name": config.model.name,
        "model_arch": config.model.model_dump(mode="json"),
        "model_state": {k: v.detach().clone().cpu() for k, v in state_dict_for_save(model).items()},
        "counters": dict(counters),
        "model_version": int(counters["updates"]),
        "config": config.to_dict(),
        **extra,
    }


def checkpoint_files(directory: Path) -> list[Path]:
    """All ckpt_<timesteps>.pt files in ``directory``, oldest (fewest timesteps) first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := CKPT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: Path) -> Path | None:
    """The file named by ``directory``/latest, else the newest ckpt file there, else None."""
    pointer = directory / LATEST
    if pointer.is_file():
        target = directory / pointer.read_text(encoding="utf-8").strip()
        if target.is_file():
            return target
        logger.warning("%s names missing file %s; using the newest checkpoint", pointer, target.name)
    files = checkpoint_files(directory)
    return files[-1] if files else None


class CheckpointManager:
    """Saves, prunes and finds the checkpoints of one run directory."""

    def __init__(self, run_dir: str | Path, keep_last: int, metrics: MetricsSink | None = None) -> None:
        if keep_last < 1:
            raise ValueError(f"training.keep_checkpoints must be >= 1, got {keep_last}")
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / "checkpoints"
        self.keep_last = keep_last
        self.metrics = metrics
        self._listeners: list[Listener] = []

    # -- queries -------------------------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """All ckpt_<timesteps>.pt files, oldest (fewest timesteps) first."""
        return checkpoint_files(self.dir)

    def latest(self) -> Path | None:
        """The file named by checkpoints/latest, else the newest ckpt file, else None."""
        return latest_checkpoint(self.dir)

    def best(self) -> set[str]:
        path = self.dir / BEST
        if not path.is_file():
            return set()
        try:
            return set(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as exc:
            raise CheckpointError(path, f"unreadable best-checkpoint list ({exc})") from None

    # -- changes -------------------------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        """`fn(path, meta)` is called after every successful save (e.g. the opponent pool)."""
        self._listeners.append(fn)

    def save(self, payload: dict[str, Any], timesteps: int) -> Path:
        """Write ckpt_<timesteps>.pt atomically, repoint `latest`, prune, then notify listeners.

        A write that fails raises DurableWriteError (listeners' OS errors too); `latest` then still names the
        last checkpoint that was written completely."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = save_checkpoint(self.dir / f"ckpt_{timesteps}.pt", payload)
        atomic_write_text(self.dir / LATEST, path.name + "\n")
        self._prune(keep=path.name)
        state = payload.get("model_state")
        meta = {"timesteps": timesteps, "model_version": payload.get("model_version"),
                "model_name": payload.get("model_name"), **payload.get("counters", {}),
                "sha256": tensors_sha256(state) if state is not None else None}
        for fn in self._listeners:
            try:
                fn(path, meta)
            except DurableWriteError:
                raise
            except OSError as exc:  # e.g. the opponent pool's copy of the checkpoint: the disk is full
                raise DurableWriteError(exc.filename or path, exc) from exc
            except Exception:
                logger.exception("checkpoint listener %r failed for %s", fn, path)
                if self.metrics is not None:
                    self.metrics.increment("callbacks/errors")
        return path

    def mark_best(self, path: str | Path) -> None:
        """Protect `path` from pruning (recorded in checkpoints/best.json)."""
        path = Path(path)
        if path.parent.resolve() != self.dir.resolve() or not path.is_file():
            raise CheckpointError(path, f"mark_best: not a checkpoint file in {self.dir}")
        names = self.best() | {path.name}
        atomic_write_text(self.dir / BEST, json.dumps(sorted(names)) + "\n")

    def _prune(self, keep: str) -> None:
        files = self.checkpoints()
        kept = {p.name for p in files[-self.keep_last:]} | self.best() | {keep}
        for p in files:
            if p.name not in kept:
                p.unlink(missing_ok=True)
