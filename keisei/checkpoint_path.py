"""Where a checkpoint argument points (torch-free, so the USI engine and the CLI can ask before torch loads).

A run's ``checkpoints/latest`` is a small text file naming the newest checkpoint beside it; every place that
takes a checkpoint path takes the pointer too.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

POINTER_MAX_BYTES = 4096  # a run's checkpoints/latest holds one file name
BEST_FILE = "best.pt"  # the run's best network, chosen by evaluation (keisei.evaluation.best)


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """``path``, or: the checkpoint a run's ``checkpoints/latest`` pointer names when ``path`` is that pointer
    (a small text file holding the name of a file beside it); for a run directory (or its checkpoints/), its
    ``best.pt`` when evaluation chose one, else its latest checkpoint. Anything else is returned unchanged."""
    path = Path(path)
    if path.is_dir():
        directory = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        if (directory / BEST_FILE).is_file():
            return directory / BEST_FILE
        if (directory / "latest").is_file():
            return resolve_checkpoint_path(directory / "latest")
        return path
    try:
        if not path.is_file() or path.stat().st_size > POINTER_MAX_BYTES or zipfile.is_zipfile(path):
            return path
        name = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return path
    if not name or len(name) > 255 or any(c in name for c in "/\\\n\0"):
        return path
    target = path.parent / name
    try:
        return target if target != path and target.is_file() else path
    except OSError:
        return path


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
