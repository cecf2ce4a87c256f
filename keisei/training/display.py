"""DisplayManager: a rich live panel on a TTY, plain periodic lines otherwise (implements DisplaySink).

Either way the progress line goes to the `keisei.training.display` logger (the run's train.log) every
``display.log_every_seconds`` and when training stops, and every status line (e.g. an evaluation) too.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from keisei.config import DisplayConfig
from keisei.timefmt import format_duration

logger = logging.getLogger(__name__)

LOSS_KEYS = (("policy", "losses/policy_loss"), ("value", "losses/value_loss"),
             ("entropy", "losses/entropy"), ("kl", "losses/approx_kl"), ("kl", "losses/kl_prior_target"),
             ("top1", "losses/top1_agreement"))


@dataclass
class Progress:
    """A snapshot of training progress for display."""

    timesteps: int = 0
    total_timesteps: int = 1
    updates: int = 0
    games: int = 0
    sps: float = 0.0
    losses: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, float] = field(default_factory=dict)  # black / white / draw (by rule) / truncated rates
    health: dict[str, float] = field(default_factory=dict)  # how games end (shares) and their mean length
    wall_left: float | None = None  # seconds until training.max_wall_seconds, when set
    wall_total: float | None = None  # training.max_wall_seconds of this run, when set
    parallel: str = ""  # actor processes: workers, per-worker SPS, policy lag, queue depth, drops, restarts

    def eta(self) -> str:
        """Time left: the sooner of the timestep budget at the current speed and the wall-clock limit."""
        left = [max(self.total_timesteps - self.timesteps, 0) / self.sps] if self.sps > 0 else []
        if self.wall_left is not None:
            left.append(max(self.wall_left, 0.0))
        return format_duration(min(left)) if left else "?"

    def wall_first(self) -> bool:
        """True when the wall-clock limit ends the run before the timestep budget at the current speed."""
        if self.wall_left is None or not self.wall_total:
            return False
        steps_left = max(self.total_timesteps - self.timesteps, 0)
        return self.sps <= 0 or self.wall_left < steps_left / self.sps

    def done_text(self) -> str:
        """Progress against whichever limit ends the run first: ``steps a/b (p%)`` or ``steps a | time t/T (p%)``."""
        if self.wall_first():
            assert self.wall_total is not None and self.wall_left is not None
            spent = max(self.wall_total - self.wall_left, 0.0)
            pct = min(100.0, 100.0 * spent / self.wall_total)
            return (f"steps {self.timesteps:,} | time {format_duration(spent)}/{format_duration(self.wall_total)} "
                    f"({pct:.1f}%)")
        pct = 100.0 * self.timesteps / max(self.total_timesteps, 1)
        return f"steps {self.timesteps:,}/{self.total_timesteps:,} ({pct:.1f}%)"

    def line(self) -> str:
        parts = [self.done_text(), f"{self.sps:,.0f} SPS",
                 f"ETA {self.eta()}", f"updates {self.updates}", f"games {self.games}"]
        if self.outcomes:
            o = self.outcomes
            parts.append(f"B/W/D/T {o['black']:.2f}/{o['white']:.2f}/{o['draw']:.2f}/{o['truncated']:.2f}")
        if self.health:
            h = self.health
            resign = f"resign {h['resign']:.2f} " if h.get("resign") else ""
            parts.append(f"ends mate {h['mate']:.2f} {resign}decl {h['decl']:.2f} rep {h['rep']:.2f} "
                         f"limit {h['limit']:.2f}, {h['length']:.0f} plies")
        if self.losses:
            parts.append(" ".join(f"{k} {v:.4g}" for k, v in self.losses.items()))
        if self.parallel:
            parts.append(self.parallel)
        return " | ".join(parts)


def game_health(metrics: dict[str, float]) -> dict[str, float]:
    """How the window's self-play games ended, from the ``games/reason/*`` shares: ``mate`` (checkmate or no
    legal move), ``resign`` (search self-play resignations), ``decl`` (entering-king declaration), ``rep`` (repetition, perpetual check), ``limit`` (the ply
    limit), and ``length`` (mean plies); {} when no game finished in the window."""
    if "games/mean_length" not in metrics:
        return {}

    def share(*reasons: str) -> float:
        return sum(metrics.get(f"games/reason/{r}", 0.0) for r in reasons)

    return {"mate": share("checkmate", "no_moves"), "resign": share("resign"), "decl": share("impasse"),
            "rep": share("repetition", "perpetual_check"), "limit": share("max_plies"),
            "length": metrics["games/mean_length"]}


def parallel_text(metrics: dict[str, float]) -> str:
    """``actors 2/2 [812 790 SPS] lag 1.2 queue 1 dropped 0 restarts 0`` from the parallel/ metrics, or ""."""
    if "parallel/workers" not in metrics:
        return ""
    m, n = metrics, int(metrics["parallel/workers"])
    rates = " ".join(f"{m.get(f'parallel/worker{w}/sps', 0.0):,.0f}" for w in range(n))
    return (f"actors {int(m['parallel/workers_running'])}/{n} [{rates} SPS] lag {m['parallel/policy_lag']:.1f} "
            f"queue {int(m['parallel/queue_depth'])} dropped {int(m['parallel/dropped_samples']):,} "
            f"restarts {int(m['parallel/restarts'])}")


class DisplayManager:
    """Shows progress; `set_status(key, text)` adds a status line (e.g. the last evaluation)."""

    def __init__(self, cfg: DisplayConfig, stream: TextIO | None = None) -> None:
        self.cfg = cfg
        self.stream = stream or sys.stdout
        self.rich = cfg.mode == "rich" or (cfg.mode == "auto" and self.stream.isatty())
        self.progress = Progress()
        self.status: dict[str, str] = {}
        self._live = None
        self._console = None
        self._last_log = float("-inf")
        self._last_line = ""
        self._running = False

    def start(self, total_timesteps: int) -> None:
        self.progress.total_timesteps = total_timesteps
        self._running = True
        if not self.rich:
            return
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=self.stream)
        self._live = Live(get_renderable=self._render, console=self._console,
                          refresh_per_second=1.0 / self.cfg.refresh_seconds, transient=False)
        self._live.start()

    def message(self, text: str) -> None:
        """Print a line above the live panel (or plainly)."""
        if self._console is not None:
            self._console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def set_status(self, key: str, text: str) -> None:
        self.status[key] = text
        logger.info("[%s] %s", key, text)
        if not self.rich:
            self.message(f"[{key}] {text}")

    def update(self, progress: Progress, metrics: dict[str, float]) -> None:
        """Take a new snapshot; every display.log_every_seconds log the progress line (and print it in plain
        mode; the rich panel shows it live)."""
        progress.losses = {name: metrics[tag] for name, tag in LOSS_KEYS if tag in metrics}
        if "games/black_win_rate" in metrics:
            progress.outcomes = {"black": metrics["games/black_win_rate"],
                                 "white": metrics["games/white_win_rate"],
                                 "draw": metrics.get("games/draw_rule_rate", metrics.get("games/draw_rate", 0.0)),
                                 "truncated": metrics.get("games/truncated_rate", 0.0)}
        elif self.progress.outcomes:
            progress.outcomes = self.progress.outcomes
        progress.health = game_health(metrics) or self.progress.health
        progress.parallel = parallel_text(metrics)
        self.progress = progress
        now = time.monotonic()
        if now - self._last_log >= self.cfg.log_every_seconds:
            self._last_log = now
            self._emit(progress.line())

    def stop(self) -> None:
        """End the live panel, or print the final progress line (once; no-op if never started); log it."""
        if not self._running:
            return
        self._running = False
        if self._live is not None:
            self._live.stop()
            self._live = None
        line = self.progress.line()
        if line != self._last_line:
            self._emit(line)

    def _emit(self, line: str) -> None:
        """The progress line to train.log, and to the stream in plain mode."""
        self._last_line = line
        logger.info(line)
        if not self.rich:
            self.message(line)

    def _render(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        p = self.progress
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan")
        table.add_column()
        table.add_row("steps", f"{p.timesteps:,} / {p.total_timesteps:,}")
        table.add_row("speed", f"{p.sps:,.0f} SPS   ETA {p.eta()}")
        table.add_row("updates / games", f"{p.updates:,} / {p.games:,}")
        if p.outcomes:
            o = p.outcomes
            table.add_row("outcomes", f"black {o['black']:.2f}  white {o['white']:.2f}  draw {o['draw']:.2f}  "
                                      f"truncated {o['truncated']:.2f}")
        if p.losses:
            table.add_row("losses", "  ".join(f"{k} {v:.4g}" for k, v in p.losses.items()))
        if p.parallel:
            table.add_row("actors", p.parallel)
        for key, text in self.status.items():
            table.add_row(key, text)
        bar = ProgressBar(total=max(p.total_timesteps, 1), completed=min(p.timesteps, p.total_timesteps))
        return Group(bar, table)
