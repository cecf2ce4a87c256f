"""SPRT: does a candidate beat a champion? Fishtest's GSPRT approximation on logistic Elo.

H0: elo = elo0, H1: elo = elo1 (``elo1 > elo0``), error rates ``alpha`` (accepting H1 under H0) and ``beta``.
The log-likelihood ratio uses only the mean and variance of the observed score distribution
(``N * (s1 - s0) * (2 * mean - s0 - s1) / (2 * var)`` with ``s = 1 / (1 + 10 ** (-elo / 400))``), over:

* ``trinomial``: single games (loss, draw, win);
* ``pentanomial``: game pairs, the two games of one opening with colours swapped (schedule indices 2k and
  2k+1), scored 0, 1/2, 1, 3/2 or 2 points. Pairing removes the opening's bias from the variance.

Empty cells get 1e-3 pseudo-counts (as fishtest does) so the variance is never zero.

Results are fed in any order, tagged with their schedule index; only the contiguous prefix of the schedule
is consumed (whole pairs in pentanomial mode), so the outcome does not depend on which game finished first.
A ``None`` result (a game that errored) is void: it is skipped, and voids its whole pair in pentanomial
mode. The first crossing of a bound with at least ``min_games`` games decides; later results are ignored.
The approximation degenerates on tiny samples (one win alone gives llr ~ 26: the variance is almost zero),
hence ``min_games`` (default 20).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from keisei.evaluation.ratings import los, score_of_elo

MODES = ("pentanomial", "trinomial")
SCORES = {"win": 1.0, "draw": 0.5, "loss": 0.0}
_PSEUDO_COUNT = 1e-3


def gsprt_llr(counts: Sequence[float], elo0: float, elo1: float) -> float:
    """GSPRT log-likelihood ratio of H1 (elo1) over H0 (elo0).

    ``counts``: 3 trinomial counts (losses, draws, wins) or 5 pentanomial pair counts (0 .. 2 points).
    """
    raw = np.asarray(counts, dtype=float)
    if raw.shape not in ((3,), (5,)) or np.any(raw < 0):
        raise ValueError(f"gsprt_llr: counts must be 3 or 5 non-negative numbers, got {list(counts)}")
    if raw.sum() == 0:
        return 0.0
    regular = np.where(raw == 0, _PSEUDO_COUNT, raw)
    n = regular.sum()
    values = np.linspace(0.0, 1.0, len(regular))
    probs = regular / n
    mean = float(values @ probs)
    var = float(((values - mean) ** 2) @ probs)
    s0, s1 = score_of_elo(elo0), score_of_elo(elo1)
    return float(n * (s1 - s0) * (2 * mean - s0 - s1) / (2 * var))


@dataclass(frozen=True)
class SPRTStatus:
    """A snapshot: the llr, its bounds, the verdict ("H1", "H0" or None to continue) and the counts."""

    llr: float
    lower: float
    upper: float
    verdict: str | None
    games: int
    los: float
    trinomial: tuple[int, int, int]  # losses, draws, wins of the consumed games
    pentanomial: tuple[int, int, int, int, int]  # pairs scoring 0, 1/2, 1, 3/2, 2 points
    pending: int  # results received but not yet consumed (waiting for an earlier schedule index)


class SPRT:
    """A sequential probability ratio test of candidate vs champion, fed game results in schedule order."""

    def __init__(
        self,
        elo0: float,
        elo1: float,
        alpha: float = 0.05,
        beta: float = 0.05,
        mode: str = "pentanomial",
        min_games: int = 20,
    ) -> None:
        if not elo1 > elo0:
            raise ValueError(f"SPRT: elo1 must be greater than elo0, got elo0={elo0}, elo1={elo1}")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not 0 < value < 0.5:
                raise ValueError(f"SPRT: {name} must be in (0, 0.5), got {value}")
        if mode not in MODES:
            raise ValueError(f"SPRT: mode must be one of {MODES}, got {mode!r}")
        if min_games < 0:
            raise ValueError(f"SPRT: min_games must be >= 0, got {min_games}")
        self.elo0, self.elo1, self.mode, self.min_games = elo0, elo1, mode, min_games
        self.lower = math.log(beta / (1 - alpha))
        self.upper = math.log((1 - beta) / alpha)
        self.verdict: str | None = None
        self.llr = 0.0
        self.games = 0
        self._trinomial = [0, 0, 0]
        self._pentanomial = [0, 0, 0, 0, 0]
        self._pending: dict[int, float | None] = {}
        self._next = 0

    def add(self, index: int, result: str | float | None) -> str | None:
        """Record the result ("win"/"draw"/"loss" or 1/0.5/0 for the candidate; None = void) of schedule
        game ``index``; -> the verdict so far. ValueError on a repeated index or a bad result."""
        if index < 0 or index < self._next or index in self._pending:
            raise ValueError(f"SPRT: a result for schedule index {index} was already given")
        self._pending[index] = _score(result)
        self._consume()
        return self.verdict

    def status(self) -> SPRTStatus:
        wins, losses = self._trinomial[2], self._trinomial[0]
        return SPRTStatus(
            self.llr, self.lower, self.upper, self.verdict, self.games, los(wins, losses),
            tuple(self._trinomial), tuple(self._pentanomial), len(self._pending),  # type: ignore[arg-type]
        )

    @property
    def los(self) -> float:
        return los(self._trinomial[2], self._trinomial[0])

    def _consume(self) -> None:
        step = 2 if self.mode == "pentanomial" else 1
        while self.verdict is None and all(self._next + k in self._pending for k in range(step)):
            scores = [self._pending.pop(self._next + k) for k in range(step)]
            self._next += step
            if any(s is None for s in scores):
                continue
            for s in scores:
                self._trinomial[int(2 * s)] += 1
            self.games += step
            if step == 2:
                self._pentanomial[int(2 * (scores[0] + scores[1]))] += 1
            counts = self._pentanomial if step == 2 else self._trinomial
            self.llr = gsprt_llr(counts, self.elo0, self.elo1)
            if self.games >= self.min_games:
                if self.llr >= self.upper:
                    self.verdict = "H1"
                elif self.llr <= self.lower:
                    self.verdict = "H0"


def _score(result: str | float | None) -> float | None:
    if result is None:
        return None
    score = SCORES.get(result) if isinstance(result, str) else result
    if score not in (0.0, 0.5, 1.0):
        raise ValueError(f"SPRT: a result must be 'win', 'draw', 'loss', 1, 0.5, 0 or None, got {result!r}")
    return float(score)
