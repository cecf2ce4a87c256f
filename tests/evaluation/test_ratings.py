"""Ratings: the joint Davidson fit recovers known Elos, anchoring, draws, perfect scores, head-to-head numbers."""

import math
from pathlib import Path

import numpy as np
import pytest

from keisei.evaluation.ratings import ELO_PER_NAT, elo_from_score, fit_ratings, los
from keisei.evaluation.store import GameStore

TRUE = {"random": 0.0, "a": 300.0, "b": 600.0, "c": -200.0, "d": 800.0}


def synthetic_games(n: int, nu: float = 0.5, seed: int = 0) -> list[tuple[str, str, str]]:
    """Games drawn from Davidson's model with the TRUE ratings and draw parameter ``nu``."""
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    games = []
    for _ in range(n):
        p, q = rng.choice(len(names), 2, replace=False)
        half = (TRUE[names[p]] - TRUE[names[q]]) / ELO_PER_NAT / 2
        weights = np.array([math.exp(half), math.exp(-half), nu])
        outcome = rng.choice(3, p=weights / weights.sum())
        games.append((names[p], names[q], ("black", "white", "draw")[outcome]))
    return games


@pytest.fixture(scope="module")
def games() -> list[tuple[str, str, str]]:
    return synthetic_games(3000)


def test_known_ratings_are_recovered_within_intervals(games: list) -> None:
    table = fit_ratings(games)
    assert [r.player for r in table] == ["d", "b", "a", "random", "c"]
    for row in table:
        assert row.low <= TRUE[row.player] <= row.high, row
        assert row.connected
    anchor = table.get("random")
    assert anchor is not None and anchor.fixed and anchor.elo == anchor.low == anchor.high == 0.0
    assert all(0 < r.high - r.low < 130 for r in table if not r.fixed)
    assert table.draw_nu == pytest.approx(0.5, abs=0.08)
    assert sum(r.games for r in table) == 2 * len(games)


def test_anchor_choice_only_shifts_ratings(games: list) -> None:
    by_random = fit_ratings(games).elos()
    by_a = fit_ratings(games, anchor="a").elos()
    assert by_a["a"] == 0.0
    for player, elo in by_random.items():
        assert by_a[player] == pytest.approx(elo - by_random["a"], abs=1e-3)


def test_second_fixed_player(games: list) -> None:
    free = fit_ratings(games)
    pinned = fit_ratings(games, fixed={"d": 900.0})
    d = pinned.get("d")
    assert d is not None and d.elo == d.low == d.high == 900.0 and d.fixed
    assert pinned.get("random").elo == 0.0
    assert pinned.get("b").elo > free.get("b").elo  # pulled up towards the raised pin
    assert pinned.get("b").high - pinned.get("b").low < free.get("b").high - free.get("b").low


def test_draws_count_as_half_points() -> None:
    only_draws = fit_ratings([("a", "random", "draw")] * 50)
    a = only_draws.get("a")
    assert a is not None and a.elo == pytest.approx(0.0, abs=1e-6)
    assert a.score == 0.5 and a.draws == 50
    assert math.isfinite(only_draws.draw_nu) and only_draws.draw_nu > 10
    mixed = fit_ratings([("a", "random", "black")] * 20 + [("random", "a", "draw")] * 20)
    assert mixed.get("a").score == 0.75 and 0 < mixed.get("a").elo < fit_ratings(
        [("a", "random", "black")] * 20 + [("random", "a", "white")] * 20
    ).get("a").elo


def test_perfect_scores_stay_finite_and_grow_with_evidence() -> None:
    ten = fit_ratings([("a", "random", "black")] * 10).get("a")
    hundred = fit_ratings([("random", "a", "white")] * 100).get("a")
    for row in (ten, hundred):
        assert row is not None
        assert all(math.isfinite(v) for v in (row.elo, row.low, row.high))
        assert row.low < row.elo < row.high and row.score == 1.0
    assert 300 < ten.elo < hundred.elo < 1500
    loser = fit_ratings([("a", "random", "white")] * 10).get("a")
    assert loser.elo == pytest.approx(-ten.elo, abs=1e-3)


def test_unconnected_players_are_flagged() -> None:
    games = [("a", "random", "black"), ("random", "a", "draw"), ("x", "y", "black"), ("y", "x", "draw")]
    table = fit_ratings(games)
    assert sorted(table.unconnected) == ["x", "y"]
    x = table.get("x")
    assert x is not None and not x.connected and x.games == 2
    assert math.isnan(x.elo) and math.isnan(x.low) and math.isnan(x.high)
    assert set(table.elos()) == {"a", "random"}
    assert [r.player for r in table][-2:] == ["x", "y"]
    assert fit_ratings(games, anchor="nobody").unconnected == ["a", "random", "x", "y"]


def test_errors_and_self_games_are_excluded(games: list) -> None:
    noisy = games[:300] + [("a", "b", "error")] * 40 + [("c", "c", "black")] * 5
    base = fit_ratings(games[:300])
    table = fit_ratings(noisy)
    assert table.elos() == pytest.approx(base.elos())
    assert [r.games for r in table] == [r.games for r in base]


def test_store_rows_fit_directly(tmp_path: Path) -> None:
    with GameStore(tmp_path / "g.sqlite") as store:
        for black, white, result in synthetic_games(200, seed=1):
            store.record_game(black=black, white=white, result=result, reason="checkmate", plies=30)
        store.record_game(black="a", white="random", result="error", reason="error", plies=0)
        rows = store.games()
    from_rows = fit_ratings(rows)
    from_tuples = fit_ratings((r.black, r.white, r.result) for r in rows)
    assert from_rows.elos() == from_tuples.elos() and len(from_rows) == 5


def test_empty_and_bad_input() -> None:
    assert len(fit_ratings([])) == 0
    assert len(fit_ratings([("a", "b", "error")])) == 0
    with pytest.raises(ValueError, match=r"game result must be one of .* got 'win'"):
        fit_ratings([("a", "b", "win")])
    with pytest.raises(ValueError, match=r"a game must be \(black, white, result\)"):
        fit_ratings([{"black": "a"}])
    with pytest.raises(ValueError, match=r"fixed rating of 'x' must be finite"):
        fit_ratings([("a", "b", "draw")], fixed={"x": math.inf})


def test_elo_from_score_by_hand() -> None:
    # 5 wins, 2 draws, 3 losses: score 0.6 over 10 games. Wilson (z = 1.96, z^2 = 3.8415): centre
    # (0.6 + 0.19207) / 1.38415 = 0.57224, half-width 1.41601 * sqrt(0.024 + 0.0096036) = 0.25957
    est = elo_from_score(5, 2, 3)
    assert est.elo == pytest.approx(-400 * math.log10(1 / 0.6 - 1))
    assert est.elo == pytest.approx(70.44, abs=0.01)
    assert est.low == pytest.approx(-400 * math.log10(1 / 0.31267 - 1), abs=0.05)  # -136.83
    assert est.high == pytest.approx(-400 * math.log10(1 / 0.83182 - 1), abs=0.05)  # +277.70
    mirrored = elo_from_score(3, 2, 5)
    assert mirrored == pytest.approx((-est.elo, -est.high, -est.low))


@pytest.mark.parametrize("counts", [(3, 0, 0), (10, 0, 0), (1, 0, 0), (40, 0, 0), (2, 1, 0), (0, 0, 5), (0, 4, 0),
                                    (0, 1, 0), (5, 2, 3), (39, 1, 0)])
def test_elo_estimate_is_strictly_inside_a_real_interval(counts) -> None:
    # the bug seen before: 3 straight wins printed +338 with the interval [117, 338] (the estimate on its edge)
    est = elo_from_score(*counts)
    assert est.low < est.elo < est.high
    assert est.high - est.low > 100  # never [0, 0], not even for all draws


def test_elo_from_score_perfect_scores_leave_one_side_open() -> None:
    best = elo_from_score(10, 0, 0)  # one virtual draw: score 10.5 / 11
    assert best.elo == pytest.approx(400 * math.log10(21))
    assert best.high == math.inf and math.isfinite(best.low)
    assert best.low == pytest.approx(-400 * math.log10(1 / (10 / (10 + 1.959964**2)) - 1), abs=0.01)
    assert elo_from_score(3, 0, 0).elo == pytest.approx(338.04, abs=0.01)  # 3.5 / 4
    worst = elo_from_score(0, 0, 10)
    assert worst == pytest.approx((-best.elo, -best.high, -best.low))
    elo, low, high = elo_from_score(0, 4, 0)  # all draws: 0 inside a real interval
    assert elo == 0.0 and low == pytest.approx(-high) and high > 250
    with pytest.raises(ValueError, match="no games"):
        elo_from_score(0, 0, 0)
    with pytest.raises(ValueError, match="non-negative integers"):
        elo_from_score(-1, 0, 3)


def test_los() -> None:
    assert los(10, 5) == pytest.approx(0.90165, abs=1e-5)  # Phi(5 / sqrt(15))
    assert los(5, 10) == pytest.approx(1 - los(10, 5))
    assert los(0, 0) == 0.5
    with pytest.raises(ValueError, match="non-negative"):
        los(-1, 2)
