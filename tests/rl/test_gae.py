"""Negamax GAE against hand-computed games (values always from the side to move's view)."""

import pytest
import torch

from keisei.rl import compute_gae


def col(*xs):
    return torch.tensor(xs, dtype=torch.float32).unsqueeze(1)  # [T, 1]


def flags(*xs):
    return torch.tensor(xs, dtype=torch.bool).unsqueeze(1)


def gae(rewards, values, term, trunc, boot=None, nv=0.0, gamma=1.0, lam=1.0):
    boot = boot if boot is not None else torch.zeros_like(rewards)
    return compute_gae(rewards, values, term, trunc, boot, torch.tensor([nv]), gamma, lam)


def test_three_ply_mate_winner_plus_one_loser_minus_one():
    # black, white, black; black's 3rd move mates (reward +1 to the mover, terminated)
    for values in (col(0, 0, 0), col(0.3, -0.7, 0.9)):  # gamma = lam = 1: values cancel out of the returns
        adv, ret = gae(col(0, 0, 1), values, flags(0, 0, 1), flags(0, 0, 0), nv=0.5)
        assert ret.flatten().tolist() == pytest.approx([1, -1, 1], abs=1e-6)
        assert adv.flatten().tolist() == pytest.approx((col(1, -1, 1) - values).flatten().tolist(), abs=1e-6)


def test_four_ply_mate_by_white():
    _, ret = gae(col(0, 0, 0, 1), col(0, 0, 0, 0), flags(0, 0, 0, 1), flags(0, 0, 0, 0))
    assert ret.flatten().tolist() == [-1, 1, -1, 1]


def test_discounted_mate_with_values_by_hand():
    # gamma=0.9, lam=0.8 (gamma*lam=0.72), V=[0.2,-0.1,0.5], rewards [0,0,1], mate at t=2
    # d2 = 1 - 0.5 = 0.5                       A2 = 0.5
    # d1 = -0.9*0.5 - (-0.1) = -0.35           A1 = -0.35 - 0.72*0.5 = -0.71
    # d0 = -0.9*(-0.1) - 0.2 = -0.11           A0 = -0.11 - 0.72*(-0.71) = 0.4012
    # returns = A + V = [0.6012, -0.81, 1.0]
    adv, ret = gae(
        col(0, 0, 1), col(0.2, -0.1, 0.5), flags(0, 0, 1), flags(0, 0, 0), nv=0.3, gamma=0.9, lam=0.8
    )
    assert adv.flatten().tolist() == pytest.approx([0.4012, -0.71, 0.5], abs=1e-6)
    assert ret.flatten().tolist() == pytest.approx([0.6012, -0.81, 1.0], abs=1e-6)


@pytest.mark.parametrize("b,expected_adv", [(0.5, [0.06, -0.25]), (-0.5, [-0.588, 0.65])])
def test_truncated_game_bootstraps_from_final_obs_value(b, expected_adv):
    # V=[0.3,-0.2], game truncated after white's move at t=1; b = V(final_obs), black to move there
    # d1 = -0.9*b + 0.2              -> b=0.5: -0.25   b=-0.5: 0.65      (A1 = d1)
    # d0 = -0.9*(-0.2) - 0.3 = -0.12 -> A0 = -0.12 - 0.72*A1: 0.06 / -0.588
    # t=2 is a new game (V=0.9, next_values=0.4) and must not leak into A1
    rewards, values = col(0, 0, 0), col(0.3, -0.2, 0.9)
    boot = col(0, b, 0)
    adv, ret = gae(rewards, values, flags(0, 0, 0), flags(0, 1, 0), boot, nv=0.4, gamma=0.9, lam=0.8)
    assert adv.flatten()[:2].tolist() == pytest.approx(expected_adv, abs=1e-6)
    assert adv[2].item() == pytest.approx(-0.9 * 0.4 - 0.9, abs=1e-6)  # crosses the rollout end
    assert ret[:2].flatten().tolist() == pytest.approx(
        [0.3 + expected_adv[0], -0.2 + expected_adv[1]], abs=1e-6
    )


def test_game_crossing_rollout_end_uses_next_values():
    # V=[0.1,0.2], no end, next_values=0.3 (side to move after t=1, i.e. the t=0 mover again)
    # d1 = -0.9*0.3 - 0.2 = -0.47; d0 = -0.9*0.2 - 0.1 = -0.28; A0 = -0.28 - 0.72*(-0.47) = 0.0584
    adv, ret = gae(col(0, 0), col(0.1, 0.2), flags(0, 0), flags(0, 0), nv=0.3, gamma=0.9, lam=0.8)
    assert adv.flatten().tolist() == pytest.approx([0.0584, -0.47], abs=1e-6)
    assert ret.flatten().tolist() == pytest.approx([0.1584, -0.27], abs=1e-6)
    _, ret = gae(col(0, 0), col(0, 0), flags(0, 0), flags(0, 0), nv=0.6)
    assert ret.flatten().tolist() == pytest.approx([0.6, -0.6], abs=1e-6)


def test_two_envs_interleaved_are_independent():
    # env0: black mates at t=2, new game at t=3 crossing the end (next_values 0.25)
    # env1: white mates at t=1; next game's second mover loses by its own move at t=3 (reward -1)
    rewards = torch.tensor([[0, 0], [0, 1], [1, 0], [0, -1]], dtype=torch.float32)
    term = torch.tensor([[0, 0], [0, 1], [1, 0], [0, 1]], dtype=torch.bool)
    zeros = torch.zeros(4, 2)
    _, ret = compute_gae(
        rewards, zeros, term, torch.zeros_like(term), zeros, torch.tensor([0.25, 0.8]), 1.0, 1.0
    )
    assert ret[:, 0].tolist() == pytest.approx([1, -1, 1, -0.25])
    assert ret[:, 1].tolist() == pytest.approx([-1, 1, 1, -1])
    for i in range(2):
        _, r = compute_gae(
            rewards[:, i : i + 1],
            zeros[:, :1],
            term[:, i : i + 1],
            torch.zeros(4, 1, dtype=torch.bool),
            zeros[:, :1],
            torch.tensor([[0.25, 0.8][i]]),
            1.0,
            1.0,
        )
        assert torch.equal(r[:, 0], ret[:, i])


def test_shape_errors_name_the_tensor():
    with pytest.raises(ValueError, match="values has shape"):
        gae(col(0, 0), col(0, 0, 0), flags(0, 0), flags(0, 0))
    with pytest.raises(ValueError, match="next_values"):
        compute_gae(col(0), col(0), flags(0), flags(0), col(0), torch.zeros(2), 1.0, 1.0)
