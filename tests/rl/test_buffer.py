import numpy as np
import pytest
import torch

from keisei.models import NUM_ACTIONS, OBS_SHAPE
from keisei.rl import RolloutBuffer, compute_gae

T, N = 3, 2


def fill(buf: RolloutBuffer) -> None:
    for t in range(T):
        mask = np.zeros((N, NUM_ACTIONS), dtype=bool)
        mask[:, :5] = True
        buf.add(
            t,
            np.full((N, *OBS_SHAPE), t, dtype=np.float32),
            mask,
            np.array([t, t + 10]),
            torch.full((N,), -1.0),
            torch.tensor([0.1 * t, -0.1 * t]),
            np.array([0.0, 1.0 if t == 1 else 0.0]),
            np.array([False, t == 1]),
            np.array([t == 2, False]),
            np.array([0.5 if t == 2 else 0.0, 0.0]),
        )


def test_compute_returns_matches_compute_gae():
    buf = RolloutBuffer(T, N)
    fill(buf)
    buf.compute_returns(np.array([0.2, 0.3]), 0.9, 0.8)
    adv, ret = compute_gae(
        buf.rewards,
        buf.values,
        buf.terminated,
        buf.truncated,
        buf.bootstrap_values,
        torch.tensor([0.2, 0.3]),
        0.9,
        0.8,
    )
    assert torch.equal(buf.advantages, adv) and torch.equal(buf.returns, ret)
    assert buf.bootstrap_values[2, 0].item() == 0.5 and buf.truncated[2, 0]


def test_minibatches_cover_every_sample_once_and_follow_the_generator():
    buf = RolloutBuffer(T, N)
    fill(buf)
    buf.compute_returns(torch.zeros(N), 1.0, 1.0)
    batches = list(buf.minibatches(4, torch.Generator().manual_seed(3)))
    assert [len(b["actions"]) for b in batches] == [2, 2, 1, 1]
    assert sorted(torch.cat([b["actions"] for b in batches]).tolist()) == [0, 1, 2, 10, 11, 12]
    for b in batches:  # rows stay aligned: obs planes hold the step index t, actions are t or t+10
        assert torch.equal(b["obs"][:, 0, 0, 0].long(), b["actions"] % 10)
        assert b["masks"].shape[1:] == (NUM_ACTIONS,)
    again = list(buf.minibatches(4, torch.Generator().manual_seed(3)))
    assert all(torch.equal(a["actions"], b["actions"]) for a, b in zip(batches, again))


def test_misuse_raises_clear_errors():
    buf = RolloutBuffer(T, N)
    with pytest.raises(RuntimeError, match="call compute_returns"):
        next(buf.minibatches(1))
    with pytest.raises(ValueError, match="rewards has shape"):
        buf.add(
            0,
            torch.zeros(N, *OBS_SHAPE),
            torch.ones(N, NUM_ACTIONS, dtype=torch.bool),
            torch.zeros(N),
            torch.zeros(N),
            torch.zeros(N),
            torch.zeros(N + 1),
            torch.zeros(N),
            torch.zeros(N),
            torch.zeros(N),
        )
    with pytest.raises(IndexError, match="step 3 out of range"):
        buf.add(3, *([None] * 9))
    with pytest.raises(RuntimeError, match=r"steps \[0, 1, 2\] were not added"):
        buf.compute_returns(torch.zeros(N), 1.0, 1.0)
    fill(buf)
    buf.compute_returns(torch.zeros(N), 1.0, 1.0)
    with pytest.raises(ValueError, match="num_minibatches must be in"):
        next(buf.minibatches(7))
