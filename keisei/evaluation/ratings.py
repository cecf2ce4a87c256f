"""Elo ratings from stored games: a joint maximum-likelihood fit (Davidson draws) and head-to-head estimates.

``fit_ratings`` fits every player at once (not incremental K-factor updates) with **Davidson's (1970)
extension of Bradley-Terry**: with strengths ``pi = exp(theta)`` and a fitted draw parameter ``nu``,

    P(i beats j) = pi_i / D,  P(j beats i) = pi_j / D,  P(draw) = nu * sqrt(pi_i * pi_j) / D,
    D = pi_i + pi_j + nu * sqrt(pi_i * pi_j).

Without draws this is the logistic Elo model: ``elo = theta * 400 / ln 10``, so a 400 Elo gap means the
stronger side is expected to score 10:1 in decisive games.

Regularising prior (so perfect scores and draw-free data stay finite): every pair of players that met gets
one virtual game under plain Bradley-Terry, scored half a win for each; the draw parameter gets one virtual
game at equal strength, half a draw and half decisive. With real data this moves ratings only slightly
(e.g. 100 straight wins against the anchor give about +1030 Elo instead of infinity).

95% intervals are ``elo +- 1.96 * se`` with ``se`` from the inverse observed Fisher information (the Hessian
of the penalised negative log-likelihood at its optimum), given the fixed players. The anchor (default
``random``) is fixed at 0 Elo, optionally with more fixed players (``fixed={"fairy-stockfish[...]": 1200}``).
Players whose games never connect them to a fixed player cannot be placed: their elo and interval are NaN
and ``connected`` is False. Games with result "error" and a player's games against itself are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, sparse, stats
from scipy.sparse import csgraph

ELO_PER_NAT = 400.0 / math.log(10.0)
Z95 = float(stats.norm.ppf(0.975))
RESULTS = ("black", "white", "draw", "error")


def score_of_elo(elo: float) -> float:
    """Expected score of a player ``elo`` points stronger (logistic Elo)."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def elo_of_score(score: float) -> float:
    """The logistic Elo difference that gives expected ``score`` (0 < score < 1)."""
    return -400.0 * math.log10(1.0 / score - 1.0)


class EloEstimate(NamedTuple):
    """An Elo difference with its 95% interval."""

    elo: float
    low: float
    high: float


def wilson_interval(score: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a mean score over ``n`` games (draws count half a point).

    Treating each game as a Bernoulli trial with success ``score`` over-states the variance when there are
    draws (a draw is nearer the mean than a win or a loss), so the interval can only be wider than the
    trinomial one; unlike the normal approximation it never collapses to a point (all draws) and never
    ends at the estimate (a perfect score): its ends are 0 or 1 only when the score is.
    """
    if n <= 0:
        raise ValueError(f"wilson_interval: n must be positive, got {n}")
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (score + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(score * (1.0 - score) / n + z2 / (4.0 * n * n))
    low = 0.0 if score <= 0.0 else max(center - half, 0.0)
    high = 1.0 if score >= 1.0 else min(center + half, 1.0)
    return low, high


def elo_from_score(wins: int, draws: int, losses: int) -> EloEstimate:
    """Head-to-head Elo difference with a 95% interval (the Wilson interval of the mean score, in Elo).

    The estimate is the logistic Elo of the score; a 0% or 100% score (whose Elo would be infinite) gets one
    virtual draw, so the estimate stays finite. The interval comes from the real games only: it always
    contains the estimate strictly inside, and the side a perfect score leaves open is infinite
    (``high == inf`` for 100%, ``low == -inf`` for 0%: only a bound is known).
    """
    counts = (wins, draws, losses)
    if any(not isinstance(c, int | np.integer) or c < 0 for c in counts):
        raise ValueError(f"elo_from_score: counts must be non-negative integers, got {counts}")
    n = wins + draws + losses
    if n == 0:
        raise ValueError("elo_from_score: no games (wins + draws + losses == 0)")
    score = (wins + 0.5 * draws) / n
    low, high = wilson_interval(score, n)
    if wins + draws == 0 or draws + losses == 0:
        score = (wins + 0.5 * (draws + 1)) / (n + 1)
    return EloEstimate(elo_of_score(score) + 0.0, _elo_of_bound(low), _elo_of_bound(high))


def _elo_of_bound(score: float) -> float:
    """Elo of an interval end; the ends 0 and 1 are -inf and +inf."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return elo_of_score(score)


def los(wins: int, losses: int) -> float:
    """Likelihood of superiority: P(the player is stronger) from wins and losses (draws carry no sign)."""
    if wins < 0 or losses < 0:
        raise ValueError(f"los: wins and losses must be non-negative, got {wins}, {losses}")
    if wins + losses == 0:
        return 0.5
    return float(stats.norm.cdf((wins - losses) / math.sqrt(wins + losses)))


@dataclass(frozen=True)
class Rating:
    """One player's fitted rating; ``score`` is (wins + draws/2) / games over the fitted games."""

    player: str
    elo: float
    low: float
    high: float
    games: int
    score: float
    wins: int
    draws: int
    losses: int
    connected: bool
    fixed: bool


@dataclass(frozen=True)
class RatingTable:
    """Ratings sorted by Elo (unplaced players last); ``draw_nu`` is Davidson's fitted draw parameter."""

    rows: list[Rating]
    anchor: str
    draw_nu: float

    def get(self, player: str) -> Rating | None:
        return next((r for r in self.rows if r.player == player), None)

    def elos(self) -> dict[str, float]:
        """``{player: elo}`` for the players that could be placed."""
        return {r.player: r.elo for r in self.rows if r.connected}

    @property
    def unconnected(self) -> list[str]:
        return [r.player for r in self.rows if not r.connected]

    def __iter__(self) -> Iterator[Rating]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _game_triple(game: Any) -> tuple[str, str, str]:
    """(black, white, result) from a GameRow-like object or a 3-sequence."""
    if isinstance(game, Sequence) and not isinstance(game, str) and len(game) == 3:
        black, white, result = game
    else:
        try:
            black, white, result = game.black, game.white, game.result
        except AttributeError:
            raise ValueError(f"fit_ratings: a game must be (black, white, result) or a GameRow, got {game!r}")
    if result not in RESULTS:
        raise ValueError(f"fit_ratings: game result must be one of {RESULTS}, got {result!r} in {game!r}")
    return str(black), str(white), result


class _Pairs(NamedTuple):
    i: np.ndarray  # first player index (the lower one)
    j: np.ndarray
    wins: np.ndarray  # i beat j
    losses: np.ndarray  # j beat i
    draws: np.ndarray


def _collect(games: Iterable[Any]) -> tuple[list[str], _Pairs]:
    tallies: dict[tuple[str, str], list[int]] = {}
    for game in games:
        black, white, result = _game_triple(game)
        if result == "error" or black == white:
            continue
        a, b = sorted((black, white))
        tally = tallies.setdefault((a, b), [0, 0, 0])
        if result == "draw":
            tally[2] += 1
        else:
            tally[0 if (black if result == "black" else white) == a else 1] += 1
    players = sorted({p for pair in tallies for p in pair})
    index = {p: k for k, p in enumerate(players)}
    rows = [(index[a], index[b], *t) for (a, b), t in tallies.items()]
    cols = np.array(rows, dtype=np.int64).reshape(-1, 5).T
    return players, _Pairs(cols[0], cols[1], cols[2], cols[3], cols[4])


def _neg_log_posterior(
    x: np.ndarray, theta0: np.ndarray, free: np.ndarray, pairs: _Pairs
) -> tuple[float, np.ndarray, np.ndarray]:
    """Penalised negative log-likelihood, gradient and Hessian in (theta[free], eta = log nu)."""
    theta = theta0.copy()
    theta[free] = x[:-1]
    eta = x[-1]
    n = pairs.wins + pairs.losses + pairs.draws
    h = 0.5 * (theta[pairs.i] - theta[pairs.j])
    logits = np.stack([h, -h, np.full_like(h, eta)])
    log_p = logits - np.logaddexp.reduce(logits, axis=0)
    pw, pl, pd = np.exp(log_p)
    ll = np.sum(pairs.wins * log_p[0] + pairs.losses * log_p[1] + pairs.draws * log_p[2])
    g_d = 0.5 * (pairs.wins - pairs.losses) - 0.5 * n * (pw - pl)
    h_dd = -0.25 * n * ((pw + pl) - (pw - pl) ** 2)
    h_de = 0.5 * n * (pw - pl) * pd
    g_e = np.sum(pairs.draws - n * pd)
    h_ee = -np.sum(n * pd * (pw + pl))
    # prior: one virtual Bradley-Terry game per pair, half won by each side
    d = 2 * h
    ll += np.sum(0.5 * (_log_sigmoid(d) + _log_sigmoid(-d)))
    sig = 1.0 / (1.0 + np.exp(-d))
    g_d += -0.5 * np.tanh(h)
    h_dd += -sig * (1 - sig)
    # prior: one virtual game at equal strength for nu, half a draw: 0.5*eta - log(2 + nu) + const
    nu = math.exp(eta)
    ll += 0.5 * eta - math.log(2 + nu)
    g_e += 0.5 - nu / (2 + nu)
    h_ee += -2 * nu / (2 + nu) ** 2

    size = len(theta)
    grad = np.zeros(size + 1)
    np.add.at(grad, pairs.i, g_d)
    np.add.at(grad, pairs.j, -g_d)
    grad[-1] = g_e
    hess = np.zeros((size + 1, size + 1))
    np.add.at(hess, (pairs.i, pairs.i), h_dd)
    np.add.at(hess, (pairs.j, pairs.j), h_dd)
    np.add.at(hess, (pairs.i, pairs.j), -h_dd)
    np.add.at(hess, (pairs.j, pairs.i), -h_dd)
    np.add.at(hess, (pairs.i, size), h_de)
    np.add.at(hess, (pairs.j, size), -h_de)
    hess[size, : size] = hess[: size, size]
    hess[size, size] = h_ee
    keep = np.append(free, True)
    return -ll, -grad[keep], -hess[np.ix_(keep, keep)]


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def fit_ratings(
    games: Iterable[Any], anchor: str = "random", fixed: Mapping[str, float] | None = None
) -> RatingTable:
    """Fit Elo ratings over ``games`` (GameRow-likes or ``(black, white, result)`` triples).

    ``anchor`` is fixed at 0 Elo; ``fixed`` pins more players (or the anchor) at given Elo values.
    """
    pins = {anchor: 0.0, **(fixed or {})}
    for name, value in pins.items():
        if not math.isfinite(value):
            raise ValueError(f"fit_ratings: fixed rating of {name!r} must be finite, got {value!r}")
    players, pairs = _collect(games)
    if not players:
        return RatingTable([], anchor, float("nan"))
    size = len(players)
    graph = sparse.coo_matrix((np.ones(len(pairs.i)), (pairs.i, pairs.j)), shape=(size, size))
    _, labels = csgraph.connected_components(graph, directed=False)
    pinned = np.array([p in pins for p in players])
    anchored = np.isin(labels, labels[pinned])
    theta0 = np.array([pins.get(p, 0.0) / ELO_PER_NAT for p in players])
    free = anchored & ~pinned
    use = anchored[pairs.i]
    fit_pairs = _Pairs(*(col[use] for col in pairs))

    nu, se = float("nan"), np.full(size, np.nan)
    if len(fit_pairs.i):
        x0 = np.append(theta0[free], 0.0)
        res = optimize.minimize(
            lambda x: _neg_log_posterior(x, theta0, free, fit_pairs)[0], x0, method="trust-exact",
            jac=lambda x: _neg_log_posterior(x, theta0, free, fit_pairs)[1],
            hess=lambda x: _neg_log_posterior(x, theta0, free, fit_pairs)[2],
            options={"gtol": 1e-9},
        )
        if not res.success and np.max(np.abs(res.jac)) > 1e-6:
            raise RuntimeError(f"fit_ratings: the fit did not converge ({res.message})")
        theta0[free] = res.x[:-1]
        nu = math.exp(res.x[-1])
        cov = np.linalg.inv(_neg_log_posterior(res.x, theta0, free, fit_pairs)[2])
        se[free] = np.sqrt(np.diag(cov)[:-1])
    se[pinned & anchored] = 0.0
    return RatingTable(_rows(players, pairs, theta0, se, anchored, pinned), anchor, nu)


def _rows(
    players: list[str], pairs: _Pairs, theta: np.ndarray, se: np.ndarray, anchored: np.ndarray,
    pinned: np.ndarray,
) -> list[Rating]:
    size = len(players)
    wins = np.bincount(pairs.i, pairs.wins, size) + np.bincount(pairs.j, pairs.losses, size)
    losses = np.bincount(pairs.i, pairs.losses, size) + np.bincount(pairs.j, pairs.wins, size)
    draws = np.bincount(pairs.i, pairs.draws, size) + np.bincount(pairs.j, pairs.draws, size)
    rows = []
    for k, player in enumerate(players):
        elo = theta[k] * ELO_PER_NAT if anchored[k] else float("nan")
        half = Z95 * se[k] * ELO_PER_NAT
        n = int(wins[k] + draws[k] + losses[k])
        rows.append(Rating(
            player, float(elo), float(elo - half), float(elo + half), n, float((wins[k] + 0.5 * draws[k]) / n),
            int(wins[k]), int(draws[k]), int(losses[k]), bool(anchored[k]), bool(pinned[k]),
        ))
    rows.sort(key=lambda r: (not r.connected, -r.elo if r.connected else 0.0, r.player))
    return rows
