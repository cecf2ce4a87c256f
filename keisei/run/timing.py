"""Accumulating stopwatch for the time spent inside network calls (forward in rollouts, PPO updates)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """`with sw.time(): ...` adds the block's wall time to `sw.seconds`."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def time(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start
