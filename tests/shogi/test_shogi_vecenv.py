"""VecEnv: masks and observations, auto-reset, final_obs, rewards, truncation, seeding, openings, bad actions."""

from __future__ import annotations

import numpy as np
import pytest

from keisei.shogi import (
    NUM_ACTIONS,
    OBS_SHAPE,
    Game,
    IllegalMoveError,
    VecEnv,
    action_of,
    encode,
    legal_mask,
    random_legal_actions,
)

MATE_IN_ONE = "4k4/9/4P4/9/9/9/9/9/4K4 b G 1"
CHECKING_CYCLE = "R7k/9/9/9/9/9/9/9/4K4 w - 1"  # black completes a perpetual check on ply 12


def _replay(info: dict) -> Game:
    game = Game(info["start_sfen"], max_plies=10_000)
    for usi in info["moves"]:
        game.push_usi(usi)
    return game


def _assert_consistent(env: VecEnv, obs: np.ndarray, mask: np.ndarray) -> None:
    for i, game in enumerate(env.games):
        assert np.array_equal(obs[i], encode(game))
        assert np.array_equal(mask[i], legal_mask(game))


def test_reset_shapes_and_consistency() -> None:
    env = VecEnv(5, seed=1)
    obs, mask = env.reset()
    assert obs.shape == (5, *OBS_SHAPE) and obs.dtype == np.float32
    assert mask.shape == (5, NUM_ACTIONS) and mask.dtype == np.bool_
    assert env.num_envs == 5 and len(env.games) == 5 and mask.sum(1).tolist() == [30] * 5
    _assert_consistent(env, obs, mask)


def test_random_play_keeps_masks_and_obs_exact_and_autoresets() -> None:
    env = VecEnv(6, max_plies=40, seed=3)
    obs, mask = env.reset()
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(90):
        res = env.step(random_legal_actions(mask, rng))
        assert res.obs is obs and res.mask is mask  # reused buffers
        for i, info in res.infos.items():
            finished += 1
            assert res.terminated[i] or res.truncated[i]
            final = _replay(info)
            assert final.ply == info["plies"] and info["plies"] <= 40
            assert np.array_equal(res.final_obs[i], encode(final))
            assert env.games[i].ply == 0  # already reset
        done = res.terminated | res.truncated
        assert sorted(res.infos) == np.flatnonzero(done).tolist()
        assert not res.final_obs[~done].any()
        _assert_consistent(env, obs, mask)
    assert finished >= 6


def test_truncation_is_not_termination() -> None:
    env = VecEnv(3, max_plies=4, seed=0)
    env.reset()
    opening = ["7g7f", "3c3d", "2g2f", "8c8d"]
    for ply, usi in enumerate(opening):
        res = env.step(np.array([action_of(g, usi) for g in env.games]))
        assert not res.terminated.any()
        assert res.truncated.all() == (ply == 3)
    assert res.reward.tolist() == [0.0] * 3
    assert all(info["reason"] == "max_plies" and info["winner"] is None for info in res.infos.values())
    assert res.infos[0]["moves"] == opening and res.infos[0]["plies"] == 4


def test_checkmate_terminates_with_reward_and_final_obs() -> None:
    env = VecEnv(2, openings=[MATE_IN_ONE])
    env.reset()
    mate = action_of(env.games[0], "G*5b")
    quiet = action_of(env.games[1], "5i4i")
    res = env.step(np.array([mate, quiet]))
    assert res.terminated.tolist() == [True, False] and not res.truncated.any()
    assert res.reward.tolist() == [1.0, 0.0]
    assert res.infos[0] == {
        "winner": "black",
        "reason": "checkmate",
        "plies": 1,
        "start_sfen": MATE_IN_ONE,
        "moves": ["G*5b"],
    }
    mated = Game(MATE_IN_ONE)
    mated.push_usi("G*5b")
    assert np.array_equal(res.final_obs[0], encode(mated)) and not res.final_obs[1].any()
    assert env.games[0].sfen() == MATE_IN_ONE and env.games[1].ply == 1


def test_losing_move_gets_negative_reward() -> None:
    env = VecEnv(1, openings=[CHECKING_CYCLE])
    env.reset()
    for usi in ["1a1b", "9a9b", "1b1a", "9b9a"] * 3:
        res = env.step(np.array([action_of(env.games[0], usi)]))
    assert res.infos[0]["reason"] == "perpetual_check" and res.infos[0]["winner"] == "white"
    assert res.reward.tolist() == [-1.0]  # black made the move and lost


def test_same_seed_same_games_and_openings_drawn() -> None:
    openings = ["7g7f 3c3d", "2g2f", MATE_IN_ONE, "5g5f 5c5d 2h5h"]

    def run(seed: int) -> tuple[list, list]:
        env = VecEnv(4, max_plies=30, seed=seed, openings=openings)
        obs, mask = env.reset()
        starts = [(g.start_sfen, tuple(g.moves)) for g in env.games]
        rng = np.random.default_rng(seed)
        trace = []
        for _ in range(40):
            res = env.step(random_legal_actions(mask, rng))
            trace.append((obs.sum(), sorted((i, tuple(v["moves"])) for i, v in res.infos.items())))
        return starts, trace

    assert run(11) == run(11)
    starts = {s for seed in range(6) for s in run(seed)[0]}
    assert len(starts) >= 3  # several openings drawn across seeds


def test_opening_forms_and_validation() -> None:
    env = VecEnv(2, openings=["7g7f 3c3d"])
    env.reset()
    assert env.games[0].moves == ["7g7f", "3c3d"] and env.games[0].turn == "black"
    with pytest.raises(ValueError, match="opening '7g7f 7g7f'.*illegal move '7g7f'"):
        VecEnv(2, openings=["7g7f 7g7f"])
    with pytest.raises(ValueError, match="opening 'bad/sfen b - 1'.*malformed SFEN"):
        VecEnv(2, openings=["bad/sfen b - 1"])
    with pytest.raises(ValueError, match="already over"):
        VecEnv(2, openings=["4k4/4G4/4P4/9/9/9/9/9/4K4 w - 1"])
    with pytest.raises(ValueError, match="non-empty list"):
        VecEnv(2, openings=[])


def test_illegal_action_moves_no_env() -> None:
    env = VecEnv(4, seed=5)
    obs, mask = env.reset()
    rng = np.random.default_rng(1)
    for _ in range(3):
        env.step(random_legal_actions(mask, rng))
    before = [g.sfen() for g in env.games]
    snapshot = (obs.copy(), mask.copy())
    actions = random_legal_actions(mask, rng)
    actions[2] = int(np.flatnonzero(~mask[2])[0])
    with pytest.raises(IllegalMoveError, match=f"action {actions[2]}.*env 2"):
        env.step(actions)
    for bad in (-1, NUM_ACTIONS):
        actions[3] = bad
        with pytest.raises(IllegalMoveError, match="env 2"):  # env 2 is still the first bad one
            env.step(actions)
    assert [g.sfen() for g in env.games] == before
    assert np.array_equal(obs, snapshot[0]) and np.array_equal(mask, snapshot[1])
    with pytest.raises(ValueError, match="shape"):
        env.step(actions[:3])
    with pytest.raises(ValueError, match="integer"):
        env.step(actions.astype(np.float32))


def test_step_before_reset_and_bad_sizes() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        VecEnv(1).step(np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match="num_envs"):
        VecEnv(0)
    with pytest.raises(ValueError, match="no legal action"):
        random_legal_actions(np.zeros((2, NUM_ACTIONS), bool), np.random.default_rng(0))
