"""Rating reports: the rich table of a joint rating fit and the PNG plot of the agent's rating over training.

Tables never lose a player's settings: names are plain ``rich.text.Text`` (no markup, so
``gpsusi[byoyomi=100]`` keeps its brackets) in a column that folds onto more lines instead of cutting
(``overflow="fold"``), so two engine settings that differ only at the end of a long name stay apart at any
console width. Every Elo is shown with the number of games it rests on.

The plot shows the agent's rating against training timesteps with its 95% band and the number of games
beside each point, and every anchor (random, greedy, each engine setting: the players that are neither an
``agent`` nor a ``ckpt:``) as a labelled horizontal line at its Elo in the same fit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from keisei.evaluation.ratings import RatingTable
from keisei.evaluation.store import RatingPoint

AGENT_PREFIX = "agent"
NETWORK_PREFIXES = ("agent", "ckpt:")
TRUNCATED = "max_plies"
DRAWS_HEADER = "D rule/ply"
DRAWS_LEGEND = (f"{DRAWS_HEADER}: draws by a rule (repetition, impasse) / games stopped at the ply limit "
                "(scored as draws)")


def compact_table(title: str) -> Table:
    """A table that spends few columns on borders (tables must stay legible in an 80-column terminal)."""
    return Table(title=Text(title), collapse_padding=True, pad_edge=False)


def elo_text(value: float | None) -> str:
    """``+120``, ``0``, ``-35``; ``-`` when unknown; ``+inf`` / ``-inf`` for an open end."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return "0" if round(value) == 0 else f"{value:+.0f}"


def interval_text(low: float | None, high: float | None) -> str:
    """``[-12, +140]``; an open end reads ``[+166, +inf)`` (a perfect score bounds one side only)."""
    if low is None and high is None:
        return "-"
    left = "(" if low is not None and math.isinf(low) else "["
    right = ")" if high is not None and math.isinf(high) else "]"
    return f"{left}{elo_text(low)}, {elo_text(high)}{right}"


def elo_games_text(elo: float | None, games: int) -> str:
    """An Elo with the number of games it rests on: ``+120 (40)``."""
    return f"{elo_text(elo)} ({games})"


def name_cell(name: str) -> Text:
    """A player name as plain text: brackets kept, never read as markup."""
    return Text(name)


def add_name_column(table: Table, header: str) -> None:
    """The player column: folds long names onto more lines rather than cutting them."""
    table.add_column(header, overflow="fold", min_width=10)


def draw_split(games: Iterable[Any]) -> dict[str, tuple[int, int]]:
    """``{player: (draws by rule, games truncated at the ply limit)}`` from GameRow-likes."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g in games:
        if g.result != "draw" or g.black == g.white:
            continue
        k = 1 if g.reason == TRUNCATED else 0
        out[g.black][k] += 1
        out[g.white][k] += 1
    return {p: (a, b) for p, (a, b) in out.items()}


def rating_table(table: RatingTable, title: str | None = None,
                 draws: Mapping[str, tuple[int, int]] | None = None) -> Table:
    """A rich table: player, Elo (games), 95% interval, W/D/L, draws by rule / at the ply limit, score."""
    draws = draws or {}
    out = compact_table(title or f"Ratings (anchor {table.anchor} = 0 Elo)")
    add_name_column(out, "player")
    out.add_column("Elo (games)", justify="right")
    out.add_column("95% interval", justify="right")
    out.add_column("W/D/L", justify="right")
    out.add_column(DRAWS_HEADER, justify="right")
    out.add_column("score", justify="right")
    for r in table:
        if not r.connected:
            interval = "not connected to the anchor"
        elif r.fixed:
            interval = "fixed"
        else:
            interval = interval_text(r.low, r.high)
        rule, limit = draws.get(r.player, (0, 0))
        out.add_row(name_cell(r.player), elo_games_text(r.elo, r.games), interval, f"{r.wins}/{r.draws}/{r.losses}",
                    f"{rule}/{limit}", f"{r.score:.3f}")
    return out


def series_name(player: str) -> str:
    """The plot series of a rated player: ``agent@v12`` and ``ckpt:ckpt_000010`` are the run's agent
    (``agent``); a searching agent keeps its setting (``ckpt:x[sims=64]`` -> ``agent[sims=64]``)."""
    setting = player[player.index("["):] if player.endswith("]") and "[" in player else ""
    return AGENT_PREFIX + setting


def anchors_of(table: RatingTable) -> dict[str, float]:
    """The reference players of a fit (not an agent, not a checkpoint) that could be placed, with their Elo."""
    return {r.player: r.elo for r in table if r.connected and not r.player.startswith(NETWORK_PREFIXES)}


def rating_figure(points: list[RatingPoint], anchors: Mapping[str, float] | None = None,
                  title: str = "Agent rating", empty_reason: str | None = None):
    """The rating plot as a matplotlib Figure (Agg); the caller closes it (``plot_rating_history`` saves it)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5.5), dpi=100)
    ax = fig.add_subplot()
    series: dict[str, list[RatingPoint]] = defaultdict(list)
    for p in points:
        series[series_name(p.player)].append(p)
    for name, pts in sorted(series.items()):
        pts.sort(key=lambda p: (p.timestep, p.timestamp))
        xs = [p.timestep for p in pts]
        (line,) = ax.plot(xs, [p.elo for p in pts], marker="o", label=f"{name} (95% band)", zorder=3)
        lows = [math.nan if p.low is None else p.low for p in pts]
        highs = [math.nan if p.high is None else p.high for p in pts]
        ax.fill_between(xs, lows, highs, alpha=0.2, color=line.get_color(), linewidth=0)
        below = [0.0 if math.isnan(lo) else p.elo - lo for p, lo in zip(pts, lows)]
        above = [0.0 if math.isnan(hi) else hi - p.elo for p, hi in zip(pts, highs)]
        ax.errorbar(xs, [p.elo for p in pts], yerr=[below, above], fmt="none", ecolor=line.get_color(),
                    alpha=0.6, capsize=4, linewidth=1)  # the 95% interval, visible even for a single point
        for p in pts:
            if p.games is not None:
                ax.annotate(f"{p.games} g", (p.timestep, p.elo), textcoords="offset points", xytext=(6, 6),
                            ha="left", fontsize=8, color=line.get_color())
    ordered = sorted((anchors or {}).items(), key=lambda kv: (kv[1], kv[0]))
    for k, (name, elo) in enumerate(ordered):
        ax.axhline(elo, linestyle="--", linewidth=1, color=f"C{(k + len(series)) % 10}", alpha=0.8,
                   label=f"_anchor {name}")
    _label_anchors(ax, ordered, len(series))
    if not series:
        reason = empty_reason or "no rating recorded yet"
        ax.text(0.5, 0.5, reason, ha="center", va="center", transform=ax.transAxes, wrap=True, fontsize=10)
    else:
        ax.legend(loc="upper left", fontsize=8)
        ax.text(0.0, -0.16, "points: the agent's Elo in a joint fit of all games (n g: its games); "
                "dashed: reference players", transform=ax.transAxes, fontsize=8, va="top")
    ax.set_xlabel("training timesteps")
    ax.set_ylabel("Elo")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.08, right=0.70, bottom=0.18)
    return fig


def _wrap_name(name: str, width: int = 34) -> str:
    """Break a long player name after its commas (engine settings), one setting group per line."""
    lines, line = [], ""
    for part in name.replace(",", ",\0").split("\0"):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join([*lines, line])


def _label_anchors(ax, ordered: list[tuple[str, float]], offset: int) -> None:
    """Each anchor's name and Elo right of the axes at its line, pushed apart where lines are close."""
    if not ordered:
        return
    ys = [elo for _, elo in ordered] + [y for line in ax.lines for y in line.get_ydata()]
    for coll in ax.collections:
        for path in coll.get_paths():
            ys.extend(v for v in path.vertices[:, 1] if math.isfinite(v))
    low, high = min(ys), max(ys)
    pad = max(0.08 * (high - low), 50.0)
    ax.set_ylim(low - pad, high + pad)
    span = (high - low) + 2 * pad
    place = float("-inf")
    for k, (name, elo) in enumerate(ordered):
        text = _wrap_name(f"{name} {elo_text(elo)}")
        lines = text.count("\n") + 1
        step = 0.035 * span * lines
        y = max(elo, place + step / 2)
        place = y + step / 2
        ax.annotate(text, xy=(1.0, elo), xycoords=ax.get_yaxis_transform(), xytext=(1.02, y),
                    textcoords=ax.get_yaxis_transform(), va="center", ha="left", fontsize=7,
                    color=f"C{(k + offset) % 10}", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "linewidth": 0.5, "color": "0.6"})


def plot_rating_history(points: list[RatingPoint], path: str | Path, title: str = "Agent rating",
                        anchors: Mapping[str, float] | None = None, empty_reason: str | None = None) -> Path:
    """Write the rating plot (see ``rating_figure``) as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = rating_figure(points, anchors, title, empty_reason)
    fig.savefig(path, format="png")
    return path
