"""A learning curve of a whole run: every kept checkpoint played against the same anchors, colour-balanced,
with Wilson intervals, as a table, JSON and a PNG (`keisei curve RUN_DIR`).

Each checkpoint plays ``games`` games (whole colour-swapped pairs over the opening suite) against each anchor
with the same seeds, so two checkpoints differ only by their weights. Scores count draws as half a point; the
interval is Wilson's at 95% over the completed games.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig

DEFAULT_ANCHORS = ("random", "greedy")


@dataclass(frozen=True)
class CurvePoint:
    """One checkpoint against one anchor."""

    checkpoint: str
    timesteps: int
    model_version: int
    opponent: str
    games: int
    wins: int
    draws: int
    losses: int
    errors: int
    score: float | None
    low: float | None
    high: float | None


def run_checkpoints(run_dir: Path) -> list[Path]:
    """The kept checkpoints of ``run_dir`` (its checkpoints/ directory), fewest timesteps first."""
    from keisei.run.checkpoints import checkpoint_files

    return checkpoint_files(Path(run_dir) / "checkpoints")


def learning_curve(config: KeiseiConfig, checkpoints: Sequence[Path], anchors: Sequence[str], games: int,
                   report: Callable[[list[CurvePoint]], None] | None = None) -> list[CurvePoint]:
    """Evaluate every checkpoint against every anchor; ``report`` gets each checkpoint's points as they come."""
    from keisei.evaluation.manager import EvaluationManager, EvaluationRequest
    from keisei.evaluation.ratings import wilson_interval

    manager = EvaluationManager(config)
    points: list[CurvePoint] = []
    for path in checkpoints:
        result = manager.evaluate(path, EvaluationRequest(opponents=list(anchors), num_games=games))
        batch = []
        for s in result.opponents:
            played = s.wins + s.draws + s.losses
            low, high = wilson_interval(s.score, played) if played and s.score is not None else (None, None)
            batch.append(CurvePoint(str(path), int(result.timestep or 0), int(result.model_version or 0), s.name,
                                    s.games, s.wins, s.draws, s.losses, s.errors, s.score, low, high))
        points += batch
        if report is not None:
            report(batch)
    return points


def to_json(points: Sequence[CurvePoint]) -> list[dict]:
    return [asdict(p) for p in points]


def plot_curve(points: Sequence[CurvePoint], path: Path, title: str) -> Path:
    """Score against timesteps, one line per anchor with its 95% band; -> ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for opponent in dict.fromkeys(p.opponent for p in points):
        mine = [p for p in points if p.opponent == opponent and p.score is not None]
        xs = [p.timesteps for p in mine]
        ax.plot(xs, [p.score for p in mine], marker="o", label=opponent)
        ax.fill_between(xs, [p.low for p in mine], [p.high for p in mine], alpha=0.2)
    ax.set_ylim(0, 1)
    ax.set_xlabel("timesteps")
    ax.set_ylabel("score (Wilson 95%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
