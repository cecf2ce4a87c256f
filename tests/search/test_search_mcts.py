"""BatchedMCTS itself: mates, legality, visit accounting, Gumbel policy improvement, determinism, reuse."""

from __future__ import annotations

import cshogi
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_helpers import MATE_IN_1, MATE_IN_3, TWO_ACTIONS, play_random

from keisei.search import BatchedMCTS, SearchConfig, UniformEvaluator, mate_search
from keisei.search import gumbel as gz
from keisei.shogi import Game, action_of


def _mcts(**kw) -> BatchedMCTS:
    max_nodes = kw.pop("max_nodes", 200_000)
    return BatchedMCTS(UniformEvaluator(), SearchConfig(**kw), max_nodes=max_nodes)


def _forced_mate_in_3(sfen: str, first: str) -> bool:
    """cshogi check: ``first`` gives check and every reply allows a mate in one."""
    board = cshogi.Board(sfen)
    board.push_usi(first)
    if not board.is_check():
        return False
    for reply in list(board.legal_moves):
        board.push(reply)
        mate = board.mate_move_in_1ply()
        ok = bool(mate) and mate in list(board.legal_moves)
        board.pop()
        if not ok:
            return False
    return True


def test_positions_are_what_the_tests_claim():
    board = cshogi.Board(MATE_IN_1)
    assert board.mate_move_in_1ply() == board.move_from_usi("G*5b")
    for sfen in MATE_IN_3:
        board = cshogi.Board(sfen)
        assert board.mate_move_in_1ply() == 0 and board.mate_move(3) != 0
    assert len(list(cshogi.Board(TWO_ACTIONS).legal_moves)) == 2


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_mate_in_one_at_the_root(algorithm):
    res = _mcts(algorithm=algorithm).search([Game(MATE_IN_1)])[0]
    assert (res.move, res.mate, res.value) == ("G*5b", 1, 1.0)


def test_mate_in_one_found_by_search_alone():
    res = _mcts(mate_depth=0, simulations=300).search([Game(MATE_IN_1)])[0]
    assert res.move == "G*5b" and res.mate == 1 and res.value == 1.0
    assert res.visits["G*5b"] == max(res.visits.values())


@pytest.mark.parametrize("sfen", MATE_IN_3)
def test_mate_in_three(sfen):
    at_root = _mcts(mate_depth=3).search([Game(sfen)])[0]
    assert at_root.mate == 3 and _forced_mate_in_3(sfen, at_root.move)
    # with only mate-in-1 checks at the leaves the tree search has to find the first move itself
    searched = _mcts(mate_depth=1, simulations=800).search([Game(sfen)])[0]
    assert _forced_mate_in_3(sfen, searched.move)
    assert searched.mate == 3  # every reply was found to allow a mate in one: proved up the tree
    assert searched.value > 0.9 and searched.visits[searched.move] == max(searched.visits.values())
    dfpn = mate_search(Game(sfen))
    assert dfpn.status == "checkmate" and len(dfpn.pv) == 3 and _forced_mate_in_3(sfen, dfpn.pv[0])


NO_QUICK_MATE = "4k4/9/9/9/9/9/9/9/4K4 b BSNLP 1"  # many checks, no mate found in millions of nodes


def test_mate_search_nomate_and_limits():
    assert mate_search(Game()).status == "nomate"
    assert mate_search(Game("4k4/9/9/9/9/9/9/9/4K4 b GSP 1")).status == "nomate"
    assert mate_search(Game(NO_QUICK_MATE), max_nodes=1000).status == "timeout"
    with pytest.raises(ValueError, match="max_nodes"):
        mate_search(Game(), max_nodes=0)


@pytest.mark.timeout(60)
def test_mate_search_time_limit_and_stop():
    # df-pn holds the GIL: the limit is kept between node-budget rounds (a broken limit runs for minutes)
    assert mate_search(Game(NO_QUICK_MATE), max_nodes=10**9, timeout_ms=100).status == "timeout"
    stops = []
    res = mate_search(Game(NO_QUICK_MATE), max_nodes=10**9, should_stop=lambda: stops.append(1) or len(stops) > 2)
    assert res.status == "timeout" and len(stops) == 3
    found = mate_search(Game(MATE_IN_3[0]), timeout_ms=1000)
    assert found.status == "checkmate" and len(found.pv) == 3


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), plies=st.integers(0, 120), algorithm=st.sampled_from(["puct", "gumbel"]),
       batch=st.sampled_from([1, 4, 16]), sims=st.integers(1, 40), noise=st.booleans())
def test_never_illegal_and_visits_add_up(seed, plies, algorithm, batch, sims, noise):
    games = [play_random(seed + k, plies) for k in range(3)]
    games = [g for g in games if g.result is None]
    if not games:
        return
    mcts = _mcts(algorithm=algorithm, batch_size=batch, seed=seed)
    for res, game in zip(mcts.search(games, simulations=sims, add_noise=noise), games):
        legal = game.legal_moves()
        assert res.move in legal
        assert res.action == action_of(game, res.move)
        if res.mate is not None and res.mate > 0 and res.nodes == 0:
            continue  # answered by the root mate check
        assert res.simulations == sims and res.reused == 0
        assert sum(res.visits.values()) == res.nodes == sims
        assert set(res.visits) == set(legal) == set(res.policy)
        assert abs(sum(res.policy.values()) - 1.0) < 1e-6
        assert -1.0 <= res.value <= 1.0
        assert res.pv[0] == res.move and res.depth == len(res.pv) <= res.seldepth
        # the PV is a legal line
        board = game.board.copy()
        for usi in res.pv:
            move = board.move_from_usi(usi)
            assert move in list(board.legal_moves)
            board.push(move)


def test_network_calls_are_batched_across_trees():
    games = [play_random(k, 10) for k in range(8)]
    evaluator = UniformEvaluator()
    mcts = BatchedMCTS(evaluator, SearchConfig(batch_size=8, mate_depth=0))
    results = mcts.search(games, simulations=32)
    assert all(r.nodes == 32 for r in results)
    # one call expands the 8 roots; then each call carries up to 8 leaves from each of the 8 trees
    assert evaluator.calls <= 1 + 32 // 8 + 2
    assert evaluator.calls < 8 * 32 / 8


def test_gumbel_completed_q_policy_prefers_the_better_action():
    logits = np.zeros(2)
    visits = np.array([4, 4])
    q = np.array([0.5, -0.5])
    sigma = gz.completed_q(q, visits, np.array([0.5, 0.5]), 0.0, 0.1, 50.0)
    policy = gz.improved_policy(logits, sigma)
    assert policy[0] > 0.9 and policy[1] < 0.1
    # an unvisited action gets the mixed value: between the visited ones here
    sigma = gz.completed_q(np.array([0.5, 0.0]), np.array([4, 0]), np.array([0.5, 0.5]), -0.5, 0.1, 50.0)
    assert sigma[0] > sigma[1]


def test_gumbel_search_two_action_position():
    # 9h8g takes the dragon; 9h9i walks into a mate in one (a terminal loss with mate checks on)
    res = _mcts(algorithm="gumbel", mate_depth=1, simulations=16).search([Game(TWO_ACTIONS)])[0]
    assert res.move == "9h8g"
    assert res.policy["9h8g"] > 0.9 > res.policy["9h9i"]
    assert sum(res.visits.values()) == 16


def test_considered_visits_schedule():
    seq = gz.considered_visits(4, 16)
    assert len(seq) == 16 and list(seq[:4]) == [0, 0, 0, 0]
    assert list(gz.considered_visits(1, 5)) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_same_seed_same_result(algorithm):
    games = [play_random(k, 20) for k in range(3)]
    a = _mcts(algorithm=algorithm, seed=7).search(games, simulations=48, add_noise=True)
    b = _mcts(algorithm=algorithm, seed=7).search(games, simulations=48, add_noise=True)
    assert a == b


def test_tree_reuse_explicit_and_automatic():
    game = play_random(3, 6)
    mcts = _mcts(simulations=200)
    first = mcts.search([game])[0]
    child = first.pv[0]
    reply_visits = mcts._roots[0].tree
    assert reply_visits.size > 1
    game.push_usi(child)
    mcts.advance(0, child)
    second = mcts.search([game], simulations=50)[0]
    assert second.reused == first.visits[child] - 1 and second.reused > 0
    assert second.nodes == second.reused + 50 and second.simulations == 50
    # automatic: the game moved on by two plies that exist in the tree
    reply = second.pv[0]
    game.push_usi(reply)
    if len(second.pv) > 1:
        game.push_usi(second.pv[1])
        third = mcts.search([game], simulations=10)[0]
        assert third.reused > 0
    # a different position rebuilds the tree
    other = mcts.search([Game()], simulations=10)[0]
    assert other.reused == 0 and other.nodes == 10


def test_should_stop_and_progress():
    calls = []
    seen = []
    mcts = _mcts(batch_size=4, mate_depth=0)

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    res = mcts.search([Game(), Game()], simulations=10_000, should_stop=stop,
                      on_progress=seen.append, progress_interval_s=0.0)[0]
    assert res.move in Game().legal_moves() and 1 <= res.simulations < 10_000
    assert seen and all(len(batch) == 2 for batch in seen)


def test_small_tree_stops_when_full_and_then_starts_afresh():
    mcts = _mcts(simulations=5000, max_nodes=1024, mate_depth=0)
    res = mcts.search([Game()])[0]
    assert res.move in Game().legal_moves() and res.simulations < 5000
    again = mcts.search([Game()], simulations=20)[0]
    assert again.reused == 0 and again.simulations == 20


def test_bad_arguments():
    with pytest.raises(ValueError, match="search.c_puct"):
        SearchConfig(c_puct=0)
    with pytest.raises(ValueError, match="mate_depth"):
        SearchConfig(mate_depth=2)
    game = Game(MATE_IN_1)
    game.push_usi("G*5b")
    with pytest.raises(ValueError, match="finished game"):
        _mcts().search([game])
    with pytest.raises(ValueError, match="simulations"):
        _mcts().search([Game()], simulations=0)


def test_virtual_loss_batches_leaves_within_one_tree():
    evaluator = UniformEvaluator()
    mcts = BatchedMCTS(evaluator, SearchConfig(batch_size=16, mate_depth=0))
    res = mcts.search([Game()], simulations=64)[0]
    assert res.nodes == 64
    # root expansion + 4 rounds of 16 distinct leaves (a rare collision may add a round)
    assert evaluator.calls <= 1 + 64 // 16 + 2
    assert sum(1 for n in res.visits.values() if n > 0) > 16  # the leaves spread over many root children


def test_dirichlet_noise_is_seeded_and_changes_root_priors():
    game = play_random(1, 4)

    def priors(seed: int, noise: bool) -> np.ndarray:
        mcts = _mcts(seed=seed, mate_depth=0)
        mcts.search([game], simulations=1, add_noise=noise)
        tree = mcts._roots[0].tree
        return tree.P[tree.children(0)].copy()

    plain = priors(0, False)
    assert np.allclose(plain, plain[0])  # uniform evaluator
    noisy = priors(0, True)
    assert not np.allclose(noisy, plain) and abs(noisy.sum() - 1.0) < 1e-5
    assert np.array_equal(noisy, priors(0, True)) and not np.array_equal(noisy, priors(1, True))


def test_trees_are_kept_per_key():
    a, b = play_random(5, 6), play_random(6, 6)
    mcts = _mcts(simulations=64, mate_depth=0)
    first = mcts.search([a, b], keys=["a", "b"])
    a.push_usi(first[0].pv[0])
    again = mcts.search([b, a], keys=["b", "a"], simulations=8)  # order changed: keys still match
    assert again[0].reused == first[1].nodes and again[1].reused > 0


def test_root_move_values_and_lines_for_multipv():
    game = play_random(seed=3, plies=10)
    mcts = BatchedMCTS(UniformEvaluator(), SearchConfig(mate_depth=0, batch_size=4))
    [result] = mcts.search([game], simulations=200)
    tree = mcts._roots[0].tree
    kids = tree.children(0)
    by_move = {cshogi.move_to_usi(int(tree.move[row])): row for row in range(kids.start, kids.stop)}
    assert set(result.q) == {m for m, n in result.visits.items() if n > 0}
    for move, value in result.q.items():
        row = by_move[move]
        assert value == pytest.approx(float(tree.W[row] / tree.N[row]))  # the mean value, side to move's view
    assert result.q[result.move] == pytest.approx(result.value)
    assert mcts.pv(0, result.move) == result.pv
    for move in sorted(result.q, key=lambda m: -result.visits[m])[:4]:
        line = mcts.pv(0, move)
        assert line[0] == move and len(line) >= 1
        board = cshogi.Board(game.sfen())
        for usi in line:  # a legal sequence from the root
            assert board.is_legal(board.move_from_usi(usi)), (move, line)
            board.push_usi(usi)
    assert mcts.pv(0, "1a1b") == ["1a1b"] and mcts.pv("other key", result.move) == [result.move]
