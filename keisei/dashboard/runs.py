"""Runs the dashboard serves: discovery under the given directories, safe paths inside them, run summaries.

Read-only: nothing here opens a file for writing. A run is a directory holding ``config.toml`` (what
`keisei train` writes first). Paths that come from requests are resolved inside a run directory only:
``..``, absolute paths and symlinks that lead outside are refused (``PathRefused``).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keisei.run.checkpoints import checkpoint_files
from keisei.training.live import LIVE_FILE

RUN_MARKER = "config.toml"
NAME_RE = re.compile(r"^[A-Za-z0-9._@=+-]{1,200}$")
LIVE_STALE_S = 60.0  # a live.json older than this, with no trainer holding the lock, is a finished run


class NotFound(LookupError):
    """An unknown run, game or checkpoint: a 404 with this message."""


class PathRefused(ValueError):
    """A path outside the served directories: a 400/404 with this message."""


def inside(root: Path, relative: str) -> Path:
    """``root/relative`` resolved (symlinks followed) when it stays inside ``root``; else PathRefused."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise PathRefused(f"path {relative!r}: not a path inside the run")
    parts = Path(relative).parts
    if any(p in ("..", "") for p in parts):
        raise PathRefused(f"path {relative!r}: '..' is not allowed")
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise PathRefused(f"path {relative!r}: leads outside the run directory")
    return target


@dataclass(frozen=True)
class Run:
    name: str  # the id in URLs (unique among the served runs)
    path: Path  # resolved


class RunIndex:
    """The runs under ``sources`` (run directories, or directories of runs), found again on each ``runs()``
    call (a new run appears without restarting the dashboard)."""

    def __init__(self, sources: list[Path]) -> None:
        self.sources = [Path(s) for s in sources]
        self._runs: dict[str, Run] = {}
        self._scanned = 0.0

    def runs(self, max_age_s: float = 2.0) -> list[Run]:
        if time.monotonic() - self._scanned > max_age_s:
            self._scan()
        return list(self._runs.values())

    def _scan(self) -> None:
        found: list[Path] = []
        for source in self.sources:
            if (source / RUN_MARKER).is_file():
                found.append(source.resolve())
            elif source.is_dir():
                try:
                    children = sorted(source.iterdir())
                except OSError:
                    continue
                for child in children:
                    # a run linked in from elsewhere is served only when it resolves inside this source
                    if child.is_dir() and (child / RUN_MARKER).is_file() and _within(child, source):
                        found.append(child.resolve())
        runs: dict[str, Run] = {}
        for path in dict.fromkeys(found):
            name = path.name if NAME_RE.match(path.name) else re.sub(r"[^A-Za-z0-9._@=+-]", "_", path.name)[:200]
            base, k = name, 1
            while name in runs:
                k += 1
                name = f"{base}~{k}"
            runs[name] = Run(name, path)
        self._runs = runs
        self._scanned = time.monotonic()

    def get(self, name: str) -> Run:
        if not NAME_RE.match(name or ""):
            raise NotFound(f"run {name!r}: not a run name")
        run = self._runs.get(name)
        if run is None:
            self._scan()
            run = self._runs.get(name)
        if run is None:
            raise NotFound(f"run {name!r}: no such run (see /api/runs)")
        return run


def _within(child: Path, source: Path) -> bool:
    try:
        child.resolve().relative_to(source.resolve())
    except ValueError:
        return False
    return True


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file (live.json), or None when missing or unreadable (being replaced, truncated)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_config(run: Run) -> dict[str, Any]:
    try:
        return tomllib.loads((run.path / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def trainer_alive(run: Run) -> bool:
    """True when the run's train.lock names a live process on this host (the lock's holder)."""
    info = read_json(run.path / "train.lock")
    if not info or info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return False
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checkpoints(run: Run) -> list[dict[str, Any]]:
    """Checkpoints newest first: file name, timesteps, size, mtime (plus best.pt when present)."""
    directory = run.path / "checkpoints"
    out = []
    try:
        files = checkpoint_files(directory) if directory.is_dir() else []
    except OSError:
        files = []
    for path in reversed(files):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append({"name": path.name, "timesteps": int(path.stem.split("_")[1]), "bytes": st.st_size,
                    "mtime": st.st_mtime})
    best = directory / "best.pt"
    if best.is_file():
        out.append({"name": "best.pt", "timesteps": None, "bytes": best.stat().st_size, "mtime": best.stat().st_mtime})
    return out


def summary(run: Run) -> dict[str, Any]:
    """One row of the runs table (and the head of a run's page)."""
    cfg = read_config(run)
    training, parallel = cfg.get("training", {}), cfg.get("parallel", {})
    live = read_json(run.path / LIVE_FILE) or {}
    progress = live.get("progress", {}) if isinstance(live.get("progress"), dict) else {}
    alive = trainer_alive(run)
    ckpts = checkpoints(run)
    numbered = [c for c in ckpts if c["timesteps"] is not None]
    timesteps = progress.get("timesteps", numbered[0]["timesteps"] if numbered else 0)
    total = progress.get("total_timesteps", training.get("total_timesteps"))
    sps = progress.get("sps")
    eta = None
    if alive and sps and total:
        eta = max(total - timesteps, 0) / sps
        wall = progress.get("max_wall_seconds") or 0
        if wall and progress.get("started"):
            eta = min(eta, max(0.0, wall - (time.time() - progress["started"])))
    try:
        started = (run.path / RUN_MARKER).stat().st_mtime
    except OSError:
        started = 0.0
    return {
        "name": run.name, "state": "live" if alive else "finished", "algorithm": training.get("algorithm", "ppo"),
        "timesteps": timesteps, "total_timesteps": total, "sps": sps, "eta_s": eta,
        "actors": parallel.get("num_workers", 0) if parallel.get("enabled") else 0,
        "threads": training.get("torch_threads"), "last_checkpoint": ckpts[0]["name"] if ckpts else None,
        "last_evaluation": last_evaluation(run), "updated": live.get("time") or started, "started": started,
        "live_file": bool(live),
    }


def last_evaluation(run: Run) -> dict[str, Any] | None:
    from keisei.dashboard.evaluation import latest_rating

    return latest_rating(run.path)
