"""Health statistics over finished self-play games (a window that is reset after each summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FinishedGame:
    """One self-play game as reported by VecEnv.step infos, plus whether it was truncated."""

    winner: str | None
    reason: str
    plies: int
    truncated: bool
    start_sfen: str
    moves: list[str]

    @classmethod
    def from_info(cls, info: dict[str, Any], truncated: bool) -> FinishedGame:
        return cls(winner=info["winner"], reason=info["reason"], plies=int(info["plies"]),
                   truncated=bool(truncated), start_sfen=info["start_sfen"], moves=list(info["moves"]))


@dataclass
class GameStats:
    """Counts since the last `summary()`."""

    count: int = 0
    plies: int = 0
    black: int = 0
    white: int = 0
    truncated: int = 0
    reasons: Counter = field(default_factory=Counter)

    def add(self, game: FinishedGame) -> None:
        self.count += 1
        self.plies += game.plies
        self.black += game.winner == "black"
        self.white += game.winner == "white"
        self.truncated += game.truncated
        self.reasons[game.reason] += 1

    def summary(self) -> dict[str, float]:
        """Rates over the window (draw = no winner, truncated games included), then reset the window."""
        if self.count == 0:
            return {}
        n = float(self.count)
        out = {
            "games/mean_length": self.plies / n,
            "games/black_win_rate": self.black / n,
            "games/white_win_rate": self.white / n,
            "games/draw_rate": (self.count - self.black - self.white) / n,
            "games/truncation_rate": self.truncated / n,
        }
        out.update({f"games/reason/{r}": c / n for r, c in sorted(self.reasons.items())})
        self.count = self.plies = self.black = self.white = self.truncated = 0
        self.reasons = Counter()
        return out
