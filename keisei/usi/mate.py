"""df-pn mate search for the USI engine (cshogi.DfPn), stoppable from the protocol.

cshogi's ``DfPn.search`` holds the GIL and cannot be interrupted, and a new search starts from scratch (the
table is not kept). Two ways around it:

* ``search_mate`` (the small root check before each search, bounded by ``MateSearchNodes``) runs node-limited
  chunks of growing size with ``should_stop`` checked in between;
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cshogi

from keisei.shogi import Game

CHUNK_S = 0.05
FIRST_CHUNK = 2_000
MIN_CHUNK = 100
PRIOR_RATE = 40_000.0  # df-pn nodes/s assumed before the first chunk is measured (a slow, busy CPU)
MAX_NODES = 1 << 31


@dataclass(frozen=True)
class MateOutcome:
    """``checkmate`` with its moves, ``nomate`` (proved) or ``timeout``."""

    status: Literal["checkmate", "nomate", "timeout"]
    pv: tuple[str, ...]


def _checked_pv(game: Game, moves: list[int]) -> tuple[str, ...]:
    """The df-pn PV as USI, cut at the first move that is not legal (never trust it blindly)."""
    board = game.board.copy()
    out: list[str] = []
    for move in moves:
        if not board.is_legal(move):
            break
        out.append(cshogi.move_to_usi(move))
        board.push(move)
    return tuple(out)


def _checked_usi_pv(game: Game, moves: list[str]) -> tuple[str, ...]:
    """A USI line cut at the first move that is not legal."""
    board = game.board.copy()
    out: list[str] = []
    for usi in moves:
        move = board.move_from_usi(usi)
        if not move or not board.is_legal(move):
            break
        out.append(usi)
        board.push(move)
    return tuple(out)


def search_mate(
    game: Game,
    should_stop: Callable[[], bool],
    max_nodes: int = MAX_NODES,
    time_left: Callable[[], float | None] | None = None,
) -> MateOutcome:
    """Look for a mate by the side to move until proved, disproved, ``should_stop`` or ``max_nodes``.

    ``time_left()`` (seconds, or None for no limit) bounds each chunk before it starts: a chunk is cut to what
    the measured speed (at first ``PRIOR_RATE``) fits in the time left, and the search gives up (``timeout``)
    when that is no more than the last chunk (a chunk starts from scratch: a smaller one would learn nothing).
    """
    board = game.board.copy()
    nodes = min(FIRST_CHUNK, max_nodes)
    rate, last = PRIOR_RATE, 0
    while True:
        left = time_left() if time_left is not None else None
        if left is not None:
            nodes = min(nodes, int(left * rate))
            if nodes < MIN_CHUNK or nodes <= last:
                return MateOutcome("timeout", ())
        dfpn = cshogi.DfPn(nodes=nodes)
        started = time.perf_counter()
        found = dfpn.search(board)
        elapsed = time.perf_counter() - started
        if found:
            pv = _checked_pv(game, list(dfpn.get_pv(board)))
            return MateOutcome("checkmate", pv) if pv else MateOutcome("timeout", ())
        if dfpn.searched_node < nodes:
            return MateOutcome("nomate", ())
        if nodes >= max_nodes or should_stop():
            return MateOutcome("timeout", ())
        rate, last = dfpn.searched_node / max(elapsed, 1e-6), nodes
        nodes = min(max_nodes, max(nodes * 2, int(rate * CHUNK_S) + nodes))


def root_mate(
    game: Game, max_nodes: int, should_stop: Callable[[], bool], time_left: Callable[[], float | None] | None = None
) -> list[str] | None:
    """The mating line of the side to move if df-pn finds one within ``max_nodes`` (and ``time_left``)."""
    outcome = search_mate(game, should_stop, max_nodes=max(1, max_nodes), time_left=time_left)
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

    def search(self, game: Game, should_stop: Callable[[], bool], max_nodes: int = MAX_NODES) -> MateOutcome:
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
                    return MateOutcome("timeout", ())
            line = proc.stdout.readline()
        except (OSError, ValueError) as exc:
            self._kill()
            raise RuntimeError(f"the df-pn process failed: {exc}") from None
        words = line.split()
        if not words:
            self._kill()
            raise RuntimeError(f"the df-pn process ended (exit status {proc.poll()})")
        if words[0] == "checkmate":
            pv = _checked_usi_pv(game, words[1:])
            return MateOutcome("checkmate", pv) if pv else MateOutcome("timeout", ())
        return MateOutcome("nomate" if words[0] == "nomate" else "timeout", ())

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
