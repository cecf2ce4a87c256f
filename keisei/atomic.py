"""Crash-safe file writes: a temp file in the same directory, flushed and fsynced, then renamed over the target.

A reader sees the old file or the new one, never a partial write. Used for checkpoints, the `latest` pointer,
the opponent pool and the effective config. A write that fails for an operating-system reason (no space, file
too large, read-only file system, permission) raises `DurableWriteError` naming the target file and the OS
error, after removing its temp file; the target is left as it was. Temp files left by a process killed
mid-write (`.<name>.<random>.tmp`) are removed by `remove_stale_temps` when the next run starts.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, TypeVar

from keisei.errors import DurableWriteError

E = TypeVar("E", bound=BaseException)

__all__ = ["atomic_write", "atomic_write_text", "find_in_chain", "remove_stale_temps", "underlying_os_error"]

_TEMP_RE = re.compile(r"^\..+\.tmp$")  # .<name>.<random>.tmp (atomic_write) and .<name>.tmp (pool links)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(fh)` on a temp file beside `path`, fsync it, rename it to `path`, fsync the directory."""
    path = Path(path)
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~current_umask())  # as open() would create it: mkstemp's 0600 ignores the umask
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        _fsync_dir(path.parent)
    except BaseException as exc:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        os_error = underlying_os_error(exc)
        if os_error is not None:
            raise DurableWriteError(path, os_error) from exc
        raise
    return path


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_START_UMASK = _read_umask()  # at import, on the main thread (setting the umask to read it is process-wide)


def current_umask() -> int:
    """The process's umask: /proc/self/status on Linux (read without changing it), else the one at import."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _START_UMASK


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write` of UTF-8 text."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def find_in_chain(exc: BaseException, kind: type[E]) -> E | None:
    """`exc` if it is a ``kind``, else the first ``kind`` it was raised from or during, else None."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, kind):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


def underlying_os_error(exc: BaseException) -> OSError | None:
    """`exc` if it is an OSError, else the OSError it was raised from or during (torch.save wraps ENOSPC in a
    RuntimeError whose context is the OSError), else None."""
    return find_in_chain(exc, OSError)


def remove_stale_temps(directories: Iterable[str | os.PathLike]) -> list[Path]:
    """Delete the temp files of interrupted atomic writes in `directories`; -> the files removed.

    Only call this while holding the run directory's lock (no other writer can have a write in progress).
    """
    removed = []
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for p in sorted(directory.iterdir()):
            if _TEMP_RE.match(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def _fsync_dir(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # e.g. Windows: directories cannot be fsync'd
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
