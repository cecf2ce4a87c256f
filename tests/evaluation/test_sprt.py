"""SPRT: hand-checked llr values, H1/H0 decisions, open tests, out-of-order arrival, min_games, voids."""

import math
import random

import pytest

from keisei.evaluation.ratings import los
from keisei.evaluation.sprt import SPRT, gsprt_llr

BOUND = math.log(0.95 / 0.05)  # alpha = beta = 0.05


def test_trinomial_llr_by_hand() -> None:
    # L, D, W = 2, 4, 4: mean 0.6, var 0.2*0.36 + 0.4*0.01 + 0.4*0.16 = 0.14
    s1 = 1 / (1 + 10 ** (-100 / 400))  # 0.640065
    expected = 10 * (s1 - 0.5) * (2 * 0.6 - 0.5 - s1) / (2 * 0.14)
    assert expected == pytest.approx(0.29981, abs=1e-5)
    assert gsprt_llr([2, 4, 4], 0, 100) == pytest.approx(expected, rel=1e-12)


def test_pentanomial_llr_by_hand() -> None:
    # pairs scoring 0, 1/2, 1, 3/2, 2 points: 1, 2, 4, 2, 1 -> mean 0.5, var (2*0.25 + 4*0.0625) / 10 = 0.075
    s1 = 1 / (1 + 10 ** (-100 / 400))
    expected = 10 * (s1 - 0.5) * (1 - 0.5 - s1) / (2 * 0.075)
    assert expected == pytest.approx(-1.30788, abs=1e-5)
    assert gsprt_llr([1, 2, 4, 2, 1], 0, 100) == pytest.approx(expected, rel=1e-12)


def test_llr_edge_cases() -> None:
    assert gsprt_llr([0, 0, 0], 0, 5) == 0.0
    assert gsprt_llr([0, 0, 3], 0, 5) > 0  # empty cells are regularised, the variance is not zero
    with pytest.raises(ValueError, match="3 or 5 non-negative"):
        gsprt_llr([1, 2], 0, 5)


def _feed(sprt: SPRT, results: list[str]) -> int | None:
    """Feed in order; -> the number of games consumed when the verdict came (None if none came)."""
    for index, result in enumerate(results):
        if sprt.add(index, result) is not None:
            return sprt.games
    return None


@pytest.mark.parametrize("mode", ["pentanomial", "trinomial"])
def test_clearly_winning_reaches_h1(mode: str) -> None:
    sprt = SPRT(0, 50, mode=mode)
    decided_at = _feed(sprt, ["win", "draw", "win", "loss"] * 100)  # scores 62.5%
    assert sprt.verdict == "H1" and sprt.llr >= BOUND
    assert decided_at is not None and 20 <= decided_at <= 200


@pytest.mark.parametrize("mode", ["pentanomial", "trinomial"])
def test_clearly_losing_reaches_h0(mode: str) -> None:
    sprt = SPRT(0, 50, mode=mode)
    _feed(sprt, ["loss", "draw", "loss", "win"] * 100)  # scores 37.5%
    assert sprt.verdict == "H0" and sprt.llr <= -BOUND


def test_even_score_between_symmetric_hypotheses_stays_open() -> None:
    sprt = SPRT(-10, 10)
    results = ["win", "loss", "draw", "draw", "loss", "win", "win", "draw", "loss", "draw"] * 40
    assert _feed(sprt, results) is None
    assert sprt.games == 400 and sprt.verdict is None
    assert sprt.llr == pytest.approx(0.0, abs=1e-9)  # mean 0.5 and s(-10) + s(10) = 1


def test_out_of_order_arrival_gives_the_same_llr() -> None:
    rng = random.Random(5)
    results = [rng.choice(["win", "win", "draw", "loss"]) for _ in range(60)]
    in_order = SPRT(0, 30, min_games=200)
    _feed(in_order, results)
    shuffled = SPRT(0, 30, min_games=200)
    order = list(range(60))
    rng.shuffle(order)
    for index in order:
        shuffled.add(index, results[index])
    assert shuffled.llr == in_order.llr != 0
    assert shuffled.status().pentanomial == in_order.status().pentanomial


def test_only_the_contiguous_prefix_is_consumed() -> None:
    sprt = SPRT(0, 50, mode="pentanomial")
    sprt.add(1, "win")
    sprt.add(2, "win")
    assert sprt.games == 0 and sprt.status().pending == 2
    sprt.add(0, "draw")  # completes pair 0; pair 1 still waits for game 3
    status = sprt.status()
    assert status.games == 2 and status.pending == 1
    assert status.pentanomial == (0, 0, 0, 1, 0) and status.trinomial == (0, 1, 1)


def test_min_games_is_respected() -> None:
    results = ["win"] * 60
    early = SPRT(0, 50, min_games=2)
    assert _feed(early, results) == 2  # the degenerate tiny-sample llr already crosses
    late = SPRT(0, 50, min_games=40)
    assert _feed(late, results) == 40
    assert late.verdict == "H1"


def test_verdict_is_final_and_later_results_are_ignored() -> None:
    sprt = SPRT(0, 50, mode="trinomial", min_games=20)
    _feed(sprt, ["win"] * 20)
    llr = sprt.llr
    for index in range(20, 60):
        assert sprt.add(index, "loss") == "H1"
    assert sprt.llr == llr and sprt.games == 20


def test_void_results_drop_their_pair() -> None:
    sprt = SPRT(0, 50, min_games=100)
    sprt.add(0, "win")
    sprt.add(1, None)
    sprt.add(2, 1.0)
    sprt.add(3, 0.5)
    status = sprt.status()
    assert status.games == 2 and status.pentanomial == (0, 0, 0, 1, 0)
    tri = SPRT(0, 50, mode="trinomial", min_games=100)
    for index, result in enumerate(["win", None, "loss", "loss"]):
        tri.add(index, result)
    assert tri.games == 3 and tri.status().trinomial == (2, 0, 1)


def test_los_matches_wins_and_losses() -> None:
    sprt = SPRT(0, 50, mode="trinomial", min_games=1000)
    _feed(sprt, ["win", "win", "draw", "loss", "win"] * 4)
    assert sprt.los == pytest.approx(los(12, 4))
    assert sprt.status().los == sprt.los


def test_bad_inputs() -> None:
    sprt = SPRT(0, 50)
    sprt.add(0, "win")
    with pytest.raises(ValueError, match="schedule index 0 was already given"):
        sprt.add(0, "win")
    with pytest.raises(ValueError, match="a result must be"):
        sprt.add(1, "won")
    with pytest.raises(ValueError, match="elo1 must be greater than elo0"):
        SPRT(10, 10)
    with pytest.raises(ValueError, match="mode must be one of"):
        SPRT(0, 10, mode="binomial")
    with pytest.raises(ValueError, match="alpha must be in"):
        SPRT(0, 10, alpha=0)
