"""CPU threads of a training process: torch's intra-op threads, its inter-op threads, OpenMP's wait policy.

Why this matters: torch's CPU kernels run on OpenMP worker threads. When a worker has nothing to do it first
spin-waits (burns its core) before it sleeps. On a machine where another process wants the same cores, the
spinning workers and the descheduled ones wait on each other at every kernel's barrier, and a 2-thread
trainer can fall to a tenth of its 1-thread speed. So:

- ``prepare_openmp_env()`` runs first thing in the CLI, before anything imports torch (torch's bundled
  libgomp reads ``OMP_*`` variables once, when torch is loaded): it sets ``OMP_WAIT_POLICY=PASSIVE``
  (workers sleep instead of spinning) unless the user set ``OMP_WAIT_POLICY`` themselves.
- ``training.torch_threads = "auto"`` is ``$OMP_NUM_THREADS`` when set, else ``auto_torch_threads(cores,
  passive)``: every core (at most AUTO_MAX_THREADS) when the wait policy is PASSIVE, else half of them; an
  integer is used as given; 0 leaves torch's default (one thread per core). Measured with `keisei bench train`
  on 2 cores (tiny preset, steps/s, idle / one busy process / two): 1 thread 391 / 383 / 262; 2 threads
  PASSIVE 519 / 367 / 353; 2 threads spinning (libgomp's default) 668 / 78 - the collapse.
- ``training.interop_threads``: eager-mode training launches no inter-op work, so 1 (0 = torch's default).

``ThreadSettings.line()`` is the ``threads:`` line of the start banner and train.log; ``parse_line`` reads it
back (``keisei bench train`` reads it from each child run).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass

logger = logging.getLogger(__name__)

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
DEFAULT_WAIT_POLICY = "PASSIVE"
AUTO_MAX_THREADS = 4

# How OMP_WAIT_POLICY got its value in this process (recorded by prepare_openmp_env; None: never called).
_wait_policy_source: str | None = None


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_torch_threads(cores: int, passive: bool = False) -> int:
    """The ``auto`` thread count without $OMP_NUM_THREADS, at least 1, at most AUTO_MAX_THREADS: every core
    when OpenMP's workers sleep instead of spinning (``passive``: they yield the core to whatever else runs),
    else half the cores (spinning workers on a shared core collapse under load)."""
    return max(1, min(AUTO_MAX_THREADS, cores if passive else cores // 2))


def resolve_torch_threads(setting: int | str, cores: int | None = None, environ=None) -> int:
    """``training.torch_threads`` as a number: "auto" -> $OMP_NUM_THREADS or auto_torch_threads(cores,
    OMP_WAIT_POLICY is PASSIVE); an int as given (0: leave torch's default)."""
    if setting != "auto":
        return int(setting)
    environ = os.environ if environ is None else environ
    raw = environ.get("OMP_NUM_THREADS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    passive = environ.get(WAIT_POLICY_ENV, "").strip().upper() == DEFAULT_WAIT_POLICY
    return auto_torch_threads(available_cores() if cores is None else cores, passive)


def prepare_openmp_env(environ=None) -> str:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user set it; call before torch is imported. -> how it was set."""
    global _wait_policy_source
    environ = os.environ if environ is None else environ
    if environ.get(WAIT_POLICY_ENV):
        source = "from the environment"
    elif "torch" in sys.modules:
        source = "unset: torch was loaded before keisei could set it"
    else:
        environ[WAIT_POLICY_ENV] = DEFAULT_WAIT_POLICY
        source = "set by keisei"
    if environ is os.environ:
        _wait_policy_source = source
    return source


@dataclass(frozen=True)
class ThreadSettings:
    """What the process runs with (read back from torch, not what was asked for)."""

    torch_threads: int
    interop_threads: int
    wait_policy: str  # OMP_WAIT_POLICY's value, or "default"
    wait_policy_source: str
    cores: int

    def line(self) -> str:
        return (f"torch {self.torch_threads}, inter-op {self.interop_threads}, "
                f"{WAIT_POLICY_ENV}={self.wait_policy} ({self.wait_policy_source}), {self.cores} cores")


_LINE_RE = re.compile(rf"torch (\d+), inter-op (\d+), {WAIT_POLICY_ENV}=(\S+) \((.*)\), (\d+) cores")


def parse_line(text: str) -> ThreadSettings | None:
    """The ThreadSettings of the first ``ThreadSettings.line()`` in ``text``, or None."""
    m = _LINE_RE.search(text)
    if m is None:
        return None
    return ThreadSettings(int(m[1]), int(m[2]), m[3], m[4], int(m[5]))


def effective_thread_settings() -> ThreadSettings:
    import torch

    value = os.environ.get(WAIT_POLICY_ENV, "").strip()
    source = _wait_policy_source or ("from the environment" if value else "unset")
    if _wait_policy_source == "set by keisei" and value != DEFAULT_WAIT_POLICY:
        source = "changed after keisei set it"
    return ThreadSettings(torch.get_num_threads(), torch.get_num_interop_threads(), value or "default", source,
                          available_cores())


def apply_thread_settings(torch_threads: int | str, interop_threads: int) -> ThreadSettings:
    """Apply ``training.torch_threads`` / ``training.interop_threads``; -> what is in effect afterwards.

    torch accepts the inter-op count once per process, before any inter-op work: when it was already set
    (a second Trainer in one process) the current count stays and is what the settings report.
    """
    import torch

    threads = resolve_torch_threads(torch_threads)
    if threads > 0:
        torch.set_num_threads(threads)
    if interop_threads > 0 and torch.get_num_interop_threads() != interop_threads:
        try:
            torch.set_num_interop_threads(interop_threads)
        except RuntimeError as exc:
            logger.info("training.interop_threads=%d not applied (%s); torch keeps %d", interop_threads,
                        str(exc).strip().splitlines()[0], torch.get_num_interop_threads())
    return effective_thread_settings()
