import math

import pytest
import torch

from keisei.models import NUM_ACTIONS, ActorCriticBase
from keisei.models.masking import mask_logits, masked_entropy, masked_log_probs, select_actions


class FixedLogits(ActorCriticBase):
    """Returns the same logits for every row; counts forward calls."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits
        self.calls = 0

    def forward(self, obs):
        self.calls += 1
        n = obs.shape[0]
        return self.logits.expand(n, -1).clone(), torch.zeros(n)


def _mask(n: int, legal: list[int]) -> torch.Tensor:
    m = torch.zeros(n, NUM_ACTIONS, dtype=torch.bool)
    m[:, legal] = True
    return m


def test_all_but_one_masked_gives_certain_move_without_nan():
    model = FixedLogits(torch.randn(NUM_ACTIONS) * 30)
    action, logp, ent, _ = model.get_action_and_value(torch.zeros(4, 1), _mask(4, [1234]))
    assert action.tolist() == [1234] * 4
    assert torch.equal(logp, torch.zeros(4)) and torch.equal(ent, torch.zeros(4))
    assert not torch.isnan(logp).any() and not torch.isnan(ent).any()


def test_hand_computed_log_prob_and_entropy_over_legal_moves():
    logits = torch.full((NUM_ACTIONS,), 100.0)  # huge illegal logits must not leak probability
    logits[7], logits[9] = 0.0, math.log(3.0)  # legal: p = 1/4, 3/4
    model = FixedLogits(logits)
    logp, ent, _ = model.evaluate_actions(torch.zeros(2, 1), _mask(2, [7, 9]), torch.tensor([7, 9]))
    assert logp.tolist() == pytest.approx([math.log(0.25), math.log(0.75)], abs=1e-6)
    expected_entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.5623351
    assert ent.tolist() == pytest.approx([expected_entropy] * 2, abs=1e-6)


def test_illegal_moves_never_sampled():
    logits = torch.full((NUM_ACTIONS,), 50.0)
    logits[[3, 500, 2186]] = 0.0
    model = FixedLogits(logits)
    gen = torch.Generator().manual_seed(0)
    action, _, _, _ = model.get_action_and_value(
        torch.zeros(6000, 1), _mask(6000, [3, 500, 2186]), generator=gen
    )
    counts = torch.bincount(action, minlength=NUM_ACTIONS)
    assert counts.sum() == 6000 and set(counts.nonzero().flatten().tolist()) == {3, 500, 2186}
    assert all(1800 < counts[a] < 2200 for a in (3, 500, 2186))  # uniform over the 3 legal moves


def test_deterministic_picks_best_legal_move():
    logits = torch.zeros(NUM_ACTIONS)
    logits[10], logits[20], logits[30] = 9.0, 2.0, 3.0  # 10 is the global best but illegal
    action, _, _, _ = FixedLogits(logits).get_action_and_value(torch.zeros(1, 1), _mask(1, [20, 30]), True)
    assert action.tolist() == [30]


def test_row_without_legal_move_raises_before_forward():
    model = FixedLogits(torch.zeros(NUM_ACTIONS))
    mask = _mask(3, [5])
    mask[1] = False
    with pytest.raises(ValueError, match=r"rows \[1\] have no legal move"):
        model.get_action_and_value(torch.zeros(3, 1), mask)
    with pytest.raises(ValueError, match="no legal move"):
        model.evaluate_actions(torch.zeros(3, 1), mask, torch.tensor([5, 5, 5]))
    assert model.calls == 0


def test_illegal_action_and_bad_mask_rejected():
    model = FixedLogits(torch.zeros(NUM_ACTIONS))
    with pytest.raises(ValueError, match="illegal"):
        model.evaluate_actions(torch.zeros(1, 1), _mask(1, [5]), torch.tensor([6]))
    with pytest.raises(ValueError, match="bool"):
        model.get_action_and_value(torch.zeros(1, 1), _mask(1, [5]).float())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_masking_is_finite_in_low_precision(dtype):
    logits = torch.randn(2, NUM_ACTIONS).to(dtype)
    mask = _mask(2, [0, 1])
    masked = mask_logits(logits, mask)
    assert masked.dtype == torch.float32 and torch.isfinite(masked).all()
    logp = masked_log_probs(logits, mask)
    assert torch.isfinite(logp).all() and logp[:, 2:].exp().sum() == 0
    assert torch.isfinite(masked_entropy(logp, mask)).all()


def test_select_actions_picks_only_legal_moves_argmax_or_a_seeded_sample():
    logits = torch.tensor([[9.0, 0.0, 1.0, 2.0], [5.0, 5.0, -1.0, 0.0]])
    mask = torch.tensor([[False, True, True, True], [False, False, True, True]])
    assert select_actions(logits, mask, deterministic=True).tolist() == [3, 3]  # the best legal, not 0
    draws = [select_actions(logits, mask, deterministic=False, generator=torch.Generator().manual_seed(s))
             for s in range(200)]
    picked = torch.stack(draws)
    assert bool(mask.gather(1, picked.T).all())  # every sample legal
    assert {int(a) for a in picked[:, 0]} == {1, 2, 3}  # samples, not the argmax
    again = select_actions(logits, mask, deterministic=False, generator=torch.Generator().manual_seed(7))
    assert again.tolist() == draws[7].tolist()  # a seed gives the same choice
