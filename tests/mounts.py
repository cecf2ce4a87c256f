"""Real file systems for fault tests: a small tmpfs (full or read-only), shared by test packages."""

import contextlib
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    """Mount a small tmpfs at `path` for the block (a real full or read-only file system); skips with the
    reason when mounting is not permitted (not root, no CAP_SYS_ADMIN, no `mount`)."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=False,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip() or res.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


def remount_read_only(path: Path) -> None:
    """Turn the tmpfs mounted at `path` read-only (its files stay readable)."""
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True, timeout=30)
