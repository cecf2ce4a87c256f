"""SessionManager: run directory (locked), effective config, seeding, torch process settings, the run's log file."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from keisei.atomic import remove_stale_temps
from keisei.config import ConfigError, KeiseiConfig, save_config
from keisei.run.lock import RunLock, describe_holder
from keisei.run.threads import ThreadSettings, apply_thread_settings

logger = logging.getLogger(__name__)


def new_run_dir(run_root: str | Path, run_name: str) -> Path:
    """runs/<run_name>, or runs/<timestamp>[-k] when no name is configured."""
    root = Path(run_root)
    if run_name:
        return root / run_name
    base = time.strftime("%Y%m%d-%H%M%S")
    path, k = root / base, 1
    while path.exists():
        k += 1
        path = root / f"{base}-{k}"
    return path


def resolve_device(spec: str, local_rank: int | None = None) -> torch.device:
    """auto -> cuda when available, else cpu; an explicit cuda without CUDA is a config error.
    ``local_rank`` (torchrun): CUDA device cuda:<local_rank>, one GPU per rank of a node."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda" and not torch.cuda.is_available():
        raise ConfigError("training.device: cuda was requested but CUDA is not available")
    if spec == "cuda" and local_rank is not None:
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"training.device: cuda for LOCAL_RANK {local_rank}, but this node has "
                              f"{torch.cuda.device_count()} CUDA device(s); use --nproc_per_node <= the GPUs")
        return torch.device("cuda", local_rank)
    return torch.device(spec)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class SessionManager:
    """Owns the process-level side effects of one training session and undoes them in `close()`.

    ``writes=False`` (ranks other than 0 of a torchrun job): no lock, no run directory, config.toml or
    train.log; only the torch settings and the seed. ``local_rank`` picks the rank's GPU; ``rank_threads`` is
    the torch thread count that training.torch_threads = "auto" means for a torchrun rank (its share of the
    node's cores; torchrun itself sets OMP_NUM_THREADS=1, which "auto" would otherwise follow)."""

    def __init__(self, config: KeiseiConfig, run_dir: str | Path | None = None, *, writes: bool = True,
                 local_rank: int | None = None, rank_threads: int | None = None, holder: str = "keisei train") -> None:
        self.config = config
        self.holder = holder
        self.writes = writes
        self.rank_threads = rank_threads
        self.run_dir = Path(run_dir) if run_dir is not None else new_run_dir(
            config.logging.run_root, config.logging.run_name)
        self.device = resolve_device(config.training.device, local_rank)
        self._saved_threads = torch.get_num_threads()
        self._saved_deterministic = torch.are_deterministic_algorithms_enabled()
        self._log_handler: logging.Handler | None = None
        self._lock: RunLock | None = None
        self.threads: ThreadSettings | None = None  # the thread settings in effect once setup() ran

    @property
    def config_path(self) -> Path:
        return self.run_dir / "config.toml"

    def acquire(self) -> None:
        """Lock the run directory (RunLockedError if another trainer holds it), attach train.log, and remove
        the temp files that interrupted atomic writes left (safe: no other writer holds the lock). Idempotent."""
        if not self.writes or self._lock is not None:
            return
        self._lock = RunLock(self.run_dir, self.holder).acquire()
        self._attach_log()
        if self._lock.taken_over is not None:
            logger.warning("%s: took over the stale lock of %s", self._lock.path, describe_holder(self._lock.taken_over))
        subdirs = [p for p in self.run_dir.iterdir() if p.is_dir()]
        removed = remove_stale_temps([self.run_dir, *subdirs])
        if removed:
            logger.warning("removed %d temp file(s) left by interrupted writes: %s", len(removed),
                           ", ".join(str(p.relative_to(self.run_dir)) for p in removed))

    def _attach_log(self) -> None:
        if self._log_handler is not None:
            return
        self._log_handler = _RunLogHandler(self.run_dir / "train.log")
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        pkg_logger = logging.getLogger("keisei")
        pkg_logger.addHandler(self._log_handler)
        if pkg_logger.level == logging.NOTSET:
            pkg_logger.setLevel(logging.INFO)

    def setup(self) -> None:
        """Create the run directory, write config.toml, attach train.log, apply torch settings, seed."""
        if self.writes:
            (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.config_path)
            self._attach_log()
        t = self.config.training
        threads = self.rank_threads if self.rank_threads is not None and t.torch_threads == "auto" else t.torch_threads
        self.threads = apply_thread_settings(threads, t.interop_threads)
        if t.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        seed_everything(t.seed)
        logger.info("run %s on %s (seed %d)", self.run_dir, self.device, t.seed)
        logger.info("threads: %s", self.threads.line())

    def close(self) -> None:
        """Detach the log file, restore the torch settings this session changed, release the lock."""
        if self._log_handler is not None:
            logging.getLogger("keisei").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None
        torch.set_num_threads(self._saved_threads)
        torch.use_deterministic_algorithms(self._saved_deterministic)
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class _RunLogHandler(logging.FileHandler):
    """train.log: a write failure (e.g. a full disk) is reported once on stderr, not as a traceback per record."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.failed = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            exc = sys.exc_info()[1]
            print(f"keisei: warning: cannot write {self.baseFilename} ({exc}); further log lines are dropped",
                  file=sys.stderr, flush=True)
