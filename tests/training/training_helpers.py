"""Shared helpers for tests/training (imported by name; conftest only holds fixtures)."""

import os
import resource
import subprocess
import sys
from pathlib import Path

from mounts import remount_read_only, tmpfs  # noqa: F401 - re-exported for the training tests

from keisei.config import KeiseiConfig, load_config

REPO = Path(__file__).resolve().parents[2]

# Tiny everything: 2-core CI; one torch thread (two oversubscribe badly when other tests run).
TINY = [
    "model.blocks=1", "model.channels=16", "model.value_hidden=16",
    "env.num_envs=4", "env.max_plies=40",
    "ppo.num_steps=8", "ppo.update_epochs=1", "ppo.num_minibatches=2",
    "training.torch_threads=1", "training.device=cpu",
    "evaluation.enable_periodic_evaluation=false",
    "display.mode=plain", "display.log_every_seconds=1000",
]


def tiny_config(*overrides: str) -> KeiseiConfig:
    """The tiny preset shrunk for tests, then `overrides` (KEY=VALUE strings)."""
    return load_config(preset="tiny", overrides=[*TINY, *overrides])


def run_cli(*args: str, timeout: float = 240, cwd: Path | None = None, preexec_fn=None) -> subprocess.CompletedProcess:
    """`python -m keisei.cli ARGS` in a subprocess (text output captured)."""
    return subprocess.run([sys.executable, "-m", "keisei.cli", *args], check=False, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or REPO, env=cli_env(), preexec_fn=preexec_fn)


def cli_env() -> dict[str, str]:
    """The subprocess environment: this checkout importable, one OpenMP thread."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")


def fill_disk(directory: Path, leave_bytes: int) -> Path:
    """Write a filler file so that about `leave_bytes` stay free on `directory`'s file system."""
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    filler = directory / "filler.bin"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(free - leave_bytes, 0))
    return filler


def fsize_limit(limit_bytes: int):
    """A preexec_fn: every file this process writes is capped at `limit_bytes` (writes past it fail with
    EFBIG, `File too large`: Python ignores SIGXFSZ)."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def sets(*items: str) -> list[str]:
    """`--set` arguments for the tiny test config plus ``items``."""
    out = []
    for item in (*TINY, *items):
        out += ["--set", item]
    return out
