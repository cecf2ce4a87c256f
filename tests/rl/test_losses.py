import math

import pytest
import torch

from keisei.rl import explained_variance, lr_lambda, normalize_advantages, ppo_losses

LN15, LN09 = math.log(1.5), math.log(0.9)


def _inputs():
    old = torch.tensor([-1.0, -2.0])
    new = (old + torch.tensor([LN15, LN09])).requires_grad_()  # ratio = [1.5, 0.9]
    return {
        "new_logprob": new,
        "old_logprob": old,
        "advantages": torch.tensor([1.0, -2.0]),
        "new_value": torch.tensor([0.5, -0.3]),
        "old_value": torch.tensor([0.2, 0.0]),
        "returns": torch.tensor([1.0, -1.0]),
        "entropy": torch.tensor([2.0, 1.0]),
        "clip_coef": 0.2,
        "vf_coef": 0.5,
        "ent_coef": 0.01,
    }


def test_ppo_losses_by_hand_with_value_clipping():
    args = _inputs()
    out = ppo_losses(clip_vloss=True, **args)
    # pg1 = -A*r = [-1.5, 1.8]; pg2 = -A*clip(r,.8,1.2) = [-1.2, 1.8]; max -> [-1.2, 1.8]; mean 0.3
    assert out.policy_loss.item() == pytest.approx(0.3, abs=1e-6)
    # unclipped (v-R)^2 = [0.25, 0.49]; clipped v = [0.4, -0.2] -> [0.36, 0.64]; 0.5*mean(max) = 0.25
    assert out.value_loss.item() == pytest.approx(0.25, abs=1e-6)
    assert out.entropy.item() == pytest.approx(1.5)
    assert out.loss.item() == pytest.approx(0.3 - 0.01 * 1.5 + 0.5 * 0.25, abs=1e-6)  # 0.41
    # old_approx_kl = mean(-logratio) = (-0.405465 + 0.105361)/2; approx_kl = mean((r-1) - logratio)
    assert out.old_approx_kl.item() == pytest.approx(-0.1500523, abs=1e-6)
    assert out.approx_kl.item() == pytest.approx((0.5 - LN15 + -0.1 - LN09) / 2, abs=1e-6)  # 0.0499477
    assert out.clipfrac.item() == 0.5  # |r-1| = [0.5, 0.1]
    out.policy_loss.backward()
    # sample 0 sits on the clipped branch (no gradient); sample 1: d/dlogp(-A*r/2) = 2*0.9/2 = 0.9
    assert args["new_logprob"].grad.tolist() == pytest.approx([0.0, 0.9], abs=1e-6)


def test_ppo_losses_by_hand_without_value_clipping():
    out = ppo_losses(clip_vloss=False, **_inputs())
    assert out.value_loss.item() == pytest.approx(0.5 * (0.25 + 0.49) / 2, abs=1e-6)  # 0.185
    assert out.loss.item() == pytest.approx(0.3 - 0.015 + 0.5 * 0.185, abs=1e-6)  # 0.3775


def test_normalize_advantages_population_std():
    assert normalize_advantages(torch.tensor([1.0, 2.0, 3.0])).tolist() == pytest.approx(
        [-1.2247449, 0.0, 1.2247449], abs=1e-5
    )  # std = sqrt(2/3)
    assert normalize_advantages(torch.tensor([4.0])).tolist() == [0.0]


def test_explained_variance_by_hand():
    # Var(y) = 42/27, Var(y - p) = 6/27 -> 1 - 1/7
    ev = explained_variance(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
    assert ev == pytest.approx(6 / 7, abs=1e-6)
    assert math.isnan(explained_variance(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 3.0])))


def test_lr_lambda_values_and_horizon():
    linear, cosine, constant = (lr_lambda(s, 12) for s in ("linear", "cosine", "constant"))
    assert [linear(s) for s in (0, 3, 6, 12, 15)] == pytest.approx([1, 0.75, 0.5, 0, 0])
    assert [cosine(s) for s in (0, 3, 6, 12, 15)] == pytest.approx([1, 0.8535534, 0.5, 0, 0], abs=1e-6)
    assert constant(100) == 1.0
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'"):
        lr_lambda("step", 12)
