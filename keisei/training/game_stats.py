"""Health statistics over finished self-play games (a window that is reset after each summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from keisei.shogi import EXTERNAL_REASONS, REASONS

SELFPLAY_REASONS = REASONS - EXTERNAL_REASONS  # how a self-play game can end (no engine resigns or forfeits)


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
        self.truncated += game.truncated and game.winner is None
        self.reasons[game.reason] += 1

    def summary(self) -> dict[str, float]:
        """Rates over the window, then reset the window.

        Every game is exactly one of: a black win, a white win, a draw by rule (``games/draw_rule_rate``:
        repetition, or an impasse declaration under the 24-point rule) or truncated at ``env.max_plies``
        (``games/truncated_rate``: no result, not a draw). ``games/draw_rate`` is the rule-draw rate (the same
        value as ``games/draw_rule_rate``; truncated games are not counted as draws).
        """
        if self.count == 0:
            return {}
        n = float(self.count)
        rule_draws = self.count - self.black - self.white - self.truncated
        out = {
            "games/mean_length": self.plies / n,
            "games/black_win_rate": self.black / n,
            "games/white_win_rate": self.white / n,
            "games/draw_rate": rule_draws / n,
            "games/draw_rule_rate": rule_draws / n,
            "games/truncated_rate": self.truncated / n,
        }
        # every reason in every window (0 when it did not occur): a chart's mean is then the real share
        reasons = sorted({*SELFPLAY_REASONS, *self.reasons})
        out.update({f"games/reason/{r}": self.reasons.get(r, 0) / n for r in reasons})
        self.count = self.plies = self.black = self.white = self.truncated = 0
        self.reasons = Counter()
        return out
