"""RunLock: one trainer per run directory (an exclusive `flock` on run_dir/train.lock for the run's life).

The lock file holds the holder's pid, host and start time as JSON. The kernel releases a `flock` when its
holder exits, however it exits, so the lock itself is never stale; what can be stale is the *file content*
left by a process that was killed. A run that gets the lock and finds another holder's details in the file
takes it over with a warning naming that holder (and whether that pid is gone on this host). On a clean exit
the content is cleared (the file is kept: unlinking it would let two processes lock two different inodes).

Readers (`keisei evaluate`, `keisei ratings`) never take the lock.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Self

from keisei.errors import KeiseiError

LOCK_FILE = "train.lock"


class RunLockedError(KeiseiError):
    """The run directory is locked by another live trainer."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(info: dict[str, Any]) -> str:
    """`pid 123 on host h since 2026-12-02 10:00:00 UTC` (what is known of it)."""
    parts = [f"pid {info.get('pid', '?')}", f"on host {info.get('host', '?')}"]
    if isinstance(info.get("started"), (int, float)):
        parts.append("since " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info["started"])))
    if info.get("state"):
        parts.append(f"({info['state']})")
    return " ".join(parts)


class RunLock:
    """`RunLock(run_dir).acquire()` ... `release()`; raises RunLockedError when another process holds it."""

    def __init__(self, run_dir: str | os.PathLike, holder: str = "keisei train") -> None:
        self.run_dir = Path(run_dir)
        self.holder = holder  # the command that takes it, named to a second one
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None
        self.taken_over: dict[str, Any] | None = None  # the stale holder's details, when there was one

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if sys.platform == "win32":  # pragma: no cover - no flock there; the run is not locked
            return self
        import fcntl

        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is not a directory", str(self.run_dir))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = describe_holder(self._read())
            raise RunLockedError(f"run directory {self.run_dir} is in use by another {self.holder} "
                                 f"({holder}; lock file {self.path})") from None
        self._fd = fd
        previous = self._read()
        if previous.get("pid") is not None:
            same_host = previous.get("host") == socket.gethostname()
            gone = same_host and isinstance(previous["pid"], int) and not _pid_alive(previous["pid"])
            self.taken_over = {**previous, "state": "no longer running" if gone else "no longer holding the lock"}
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                "command": " ".join(sys.argv)}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
            os.fsync(fd)
        except OSError as exc:  # e.g. no space left: name the file
            self.release()
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        return self

    def release(self) -> None:
        """Clear the file's content and drop the lock (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:  # e.g. the file system went read-only; the flock is released anyway
            pass
        os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
