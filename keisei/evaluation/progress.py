"""Progress of an evaluation while it plays: games done / total per opponent, and the ETA as a duration.

``EvalProgress`` shows a rich live progress display (one bar per opponent and one for all games) when its
stream is a terminal, and otherwise prints plain lines: one each time another tenth of all games is done,
at least every ``every_s`` seconds while games finish, and a last one when the evaluation ends. The
manager drives it from the event loop's thread: ``start`` once with (label, games) per matchup, then
``game_done`` per finished game, then ``close``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from keisei.timefmt import eta_text, format_duration


def eta_seconds(done: int, total: int, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far: 0 when done, None before the first game is done."""
    if done >= total:
        return 0.0
    if done <= 0 or elapsed_s <= 0:
        return None
    return elapsed_s * (total - done) / done


class ProgressSink(Protocol):
    def start(self, rows: list[tuple[str, int]]) -> None: ...
    def game_done(self, index: int, result: str) -> None: ...
    def close(self) -> None: ...


class EvalProgress:
    """Progress on ``stream`` (default stdout): rich on a TTY (or ``rich=True``), plain lines otherwise."""

    def __init__(
        self, stream: TextIO | None = None, *, rich: bool | None = None, every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.rich = self.stream.isatty() if rich is None else rich
        self.every_s = every_s
        self.clock = clock
        self.labels: list[str] = []
        self.totals: list[int] = []
        self.done: list[int] = []
        self.errors = 0
        self._t0 = 0.0
        self._last_line = 0.0
        self._last_tenth = 0
        self._live = None
        self._tasks: list[int] = []
        self._overall = -1  # the rich task id of "all opponents", once added

    # ----------------------------------------------------------------------------------------------- sink
    def start(self, rows: list[tuple[str, int]]) -> None:
        self.labels = [label for label, _ in rows]
        self.totals = [total for _, total in rows]
        self.done = [0] * len(rows)
        self._t0 = self._last_line = self.clock()
        if self.rich:
            self._start_rich()
        else:
            self._print(f"evaluate: {self.total} games against {len(rows)} opponent(s)")

    def game_done(self, index: int, result: str) -> None:
        self.done[index] += 1
        self.errors += result == "error"
        if self._live is not None:
            self._live.update(self._tasks[index], advance=1)
            self._live.update(self._overall, advance=1)
            return
        tenth = 10 * sum(self.done) // max(self.total, 1)
        now = self.clock()
        if tenth > self._last_tenth or now - self._last_line >= self.every_s:
            self._last_tenth = tenth
            self._last_line = now
            self._print(self.line())

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self.labels and self._last_tenth < 10:
            self._print(self.line())
            self._last_tenth = 10

    # ---------------------------------------------------------------------------------------------- text
    @property
    def total(self) -> int:
        return sum(self.totals)

    def eta(self) -> str:
        """Time left: the slowest opponent's, each at its own rate so far (``?`` until every unfinished
        opponent has finished a game). Opponents' games run side by side (one engine plays its games one
        after another, games between networks run together), so the evaluation ends with the slowest."""
        elapsed = self.clock() - self._t0
        left = [eta_seconds(done, total, elapsed) for done, total in zip(self.done, self.totals)]
        if any(x is None for x in left):
            return "?"
        return format_duration(max(left, default=0.0))

    def line(self) -> str:
        """``evaluate: 12/40 games | greedy 4/20 | 1 of 2 opponents done | 1 error | ETA 3 min 20 s``
        (the opponents still playing, with their games done / total)."""
        playing = [f"{label} {done}/{total}" for label, done, total in zip(self.labels, self.done, self.totals)
                   if done < total]
        finished = len(self.labels) - len(playing)
        parts = [f"evaluate: {sum(self.done)}/{self.total} games", *([", ".join(playing)] if playing else [])]
        if finished:
            parts.append(f"{finished} of {len(self.labels)} opponents done")
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        return " | ".join([*parts, f"ETA {self.eta()}"])

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
        from rich.table import Column
        from rich.text import Text

        outer = self

        class EtaColumn(ProgressColumn):
            def render(self, task) -> Text:
                if task.id == outer._overall:
                    return Text(f"ETA {outer.eta()}")
                return Text(f"ETA {eta_text(task.completed, task.total or 0, task.elapsed or 0.0)}")

        self._live = Progress(
            TextColumn("{task.description}", table_column=Column(overflow="fold")), BarColumn(bar_width=20), MofNCompleteColumn(), TextColumn("games"), EtaColumn(),
            console=Console(file=self.stream), transient=False,
        )
        self._live.start()
        self._tasks = [self._live.add_task(escape(label), total=total) for label, total in zip(self.labels, self.totals)]
        self._overall = self._live.add_task("[bold]all opponents[/bold]", total=self.total)
