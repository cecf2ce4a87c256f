"""df-pn mate search for the USI engine (cshogi.DfPn), stoppable from the protocol.

cshogi's ``DfPn.search`` holds the GIL and cannot be interrupted, and a new search starts from scratch (the
table is not kept). Two ways around it:

* ``root_mate`` (the small root check before each search, bounded by ``MateSearchNodes``) is
  ``keisei.shogi.mate.mate_search``: node-limited chunks of growing size with ``should_stop`` checked in between;
* ``MateProcess`` (``go mate``, which may run for minutes) runs one search in a child process
  (keisei/usi/mate_worker.py) and kills it on stop or at the deadline, so ``stop`` and ``quit`` are answered
  at once however long the search has run.

A search that ends below its node limit without a mate has proved there is none (within df-pn's depth limit).
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Callable

from keisei.shogi import Game
from keisei.shogi.mate import MAX_NODES, MateResult, checked_mate_line, mate_search


def root_mate(
    game: Game, max_nodes: int, should_stop: Callable[[], bool], time_left: Callable[[], float | None] | None = None
) -> list[str] | None:
    """The mating line of the side to move if df-pn finds one within ``max_nodes`` (and ``time_left``)."""
    outcome = mate_search(game, should_stop, max_nodes=max(1, max_nodes), time_left=time_left)
    if outcome.status == "checkmate" and len(outcome.pv) % 2 == 1:
        return list(outcome.pv)
    return None


MATE_DEPTH = 1600  # cshogi.DfPn's default
_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mate_worker.py")
POLL_S = 0.01


class MateProcess:
    """A df-pn child process for ``go mate``: ``search`` until found, disproved, ``should_stop`` or ``max_nodes``.

    The child is started by ``start`` (the server calls it at ``isready``) or at the first search, and again,
    in the background, after one was killed to stop a search; ``close`` ends it. Not thread-safe: one search at a time (the server's worker thread).
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the child now (it takes ~0.1 s to boot), so that the first ``go mate`` answers at once."""
        self._start()

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, _WORKER, str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1, close_fds=True,
            )
        return self._proc

    def search(self, game: Game, should_stop: Callable[[], bool], max_nodes: int = MAX_NODES) -> MateResult:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        request = f"{max_nodes} {MATE_DEPTH} {game.start_sfen}"
        if game.moves:
            request += " moves " + " ".join(game.moves)
        try:
            proc.stdin.write(request + "\n")
            proc.stdin.flush()
            while not select.select([proc.stdout], [], [], POLL_S)[0]:
                if should_stop():
                    self._kill()
                    self._start()  # boots while the GUI does something else: the next go mate starts at once
                    return MateResult("timeout")
            line = proc.stdout.readline()
        except (OSError, ValueError) as exc:
            self._kill()
            raise RuntimeError(f"the df-pn process failed: {exc}") from None
        words = line.split()
        if not words:
            self._kill()
            raise RuntimeError(f"the df-pn process ended (exit status {proc.poll()})")
        if words[0] == "checkmate":
            pv = checked_mate_line(game.board, words[1:])
            return MateResult("checkmate", pv) if pv else MateResult("timeout")
        return MateResult("nomate" if words[0] == "nomate" else "timeout")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def close(self) -> None:
        self._kill()
