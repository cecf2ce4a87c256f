"""Rating reports: the rich table of a joint rating fit and the PNG plot of the agent's rating over training."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from rich.table import Table

from keisei.evaluation.ratings import RatingTable
from keisei.evaluation.store import RatingPoint

AGENT_PREFIX = "agent"


def _elo(value: float) -> str:
    return f"{value:+.0f}" if math.isfinite(value) else "-"


def rating_table(table: RatingTable, title: str | None = None) -> Table:
    """A rich table: player, Elo, 95% interval, games, W/D/L and score (unplaced players show '-')."""
    out = Table(title=title or f"Ratings (anchor {table.anchor} = 0 Elo)")
    out.add_column("player")
    out.add_column("Elo", justify="right")
    out.add_column("95% interval", justify="right")
    out.add_column("games", justify="right")
    out.add_column("W/D/L", justify="right")
    out.add_column("score", justify="right")
    for r in table:
        if not r.connected:
            interval = "not connected to the anchor"
        elif r.fixed:
            interval = "fixed"
        else:
            interval = f"[{_elo(r.low)}, {_elo(r.high)}]"
        out.add_row(r.player, _elo(r.elo), interval, str(r.games), f"{r.wins}/{r.draws}/{r.losses}",
                    f"{r.score:.3f}")
    return out


def plot_rating_history(points: list[RatingPoint], path: str | Path, title: str = "Agent rating") -> Path:
    """Write a PNG of Elo against training timesteps (one line per player, 95% band when known)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    series: dict[str, list[RatingPoint]] = defaultdict(list)
    for p in points:
        series[p.player.split("@", 1)[0]].append(p)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        for name, pts in sorted(series.items()):
            pts.sort(key=lambda p: (p.timestep, p.timestamp))
            xs = [p.timestep for p in pts]
            ax.plot(xs, [p.elo for p in pts], marker="o", label=name)
            if all(p.low is not None and p.high is not None for p in pts):
                ax.fill_between(xs, [p.low for p in pts], [p.high for p in pts], alpha=0.2)
        if not series:
            ax.text(0.5, 0.5, "no ratings recorded yet", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.legend(loc="best")
        ax.set_xlabel("training timesteps")
        ax.set_ylabel("Elo")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
