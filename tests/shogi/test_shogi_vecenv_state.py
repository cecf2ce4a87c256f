"""VecEnv.state_dict / load_state_dict: games in progress and the RNG survive a save/restore exactly."""

import numpy as np
import pytest

from keisei.shogi import VecEnv
from keisei.shogi.vecenv import random_legal_actions

OPENINGS = ["7g7f 3c3d", "2g2f 8c8d", "lnsgkgsnl/1r5b1/ppppppppp/9/9/2P6/PP1PPPPPP/1B5R1/LNSGKGSNL w - 2"]


def _play(env, rng, steps):
    out = []
    for _ in range(steps):
        res = env.step(random_legal_actions(env._mask, rng))
        out.append((res.obs.copy(), res.reward.copy(), res.terminated.copy(), res.truncated.copy()))
    return out


def test_restore_continues_identically():
    env = VecEnv(4, max_plies=30, seed=5, openings=OPENINGS)
    env.reset()
    rng = np.random.default_rng(1)
    _play(env, rng, 17)
    state = env.state_dict()
    rng_state = rng.bit_generator.state
    expected = _play(env, rng, 40)

    other = VecEnv(4, max_plies=30, seed=99, openings=OPENINGS)
    obs, mask = other.load_state_dict(state)
    assert mask.any(axis=1).all() and obs.shape[0] == 4
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = rng_state
    got = _play(other, rng2, 40)
    for (o1, r1, t1, u1), (o2, r2, t2, u2) in zip(expected, got):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(u1, u2)


def test_restore_rejects_wrong_size_and_bad_moves():
    env = VecEnv(2, seed=0)
    env.reset()
    state = env.state_dict()
    with pytest.raises(ValueError, match="2 envs"):
        VecEnv(3).load_state_dict(state)
    state["games"][1]["moves"] = ["5e5d"]
    with pytest.raises(ValueError, match="env 1"):
        VecEnv(2).load_state_dict(state)


def test_captured_reports_the_value_of_the_taken_piece():
    env = VecEnv(1, seed=0, openings=["7g7f 3c3d"], track_captures=True)
    env.reset()
    game = env.games[0]
    from keisei.shogi import action_of

    res = env.step(np.array([action_of(game, "8h2b+")]))  # bishop takes bishop
    assert res.captured[0] == 8.0
    res = env.step(np.array([action_of(env.games[0], "3a2b")]))  # silver takes the promoted bishop
    assert res.captured[0] == 10.0
    res = env.step(np.array([action_of(env.games[0], "B*4e")]))  # a drop captures nothing
    assert res.captured[0] == 0.0
