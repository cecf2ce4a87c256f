"""PPO loss terms (CleanRL formulation) as pure functions of tensors."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class PPOLosses(NamedTuple):
    loss: Tensor
    policy_loss: Tensor
    value_loss: Tensor
    entropy: Tensor
    old_approx_kl: Tensor
    approx_kl: Tensor
    clipfrac: Tensor


def normalize_advantages(advantages: Tensor, eps: float = 1e-8) -> Tensor:
    """(A - mean) / (std + eps) with the population std (a single sample gives 0, not NaN)."""
    return (advantages - advantages.mean()) / (advantages.std(correction=0) + eps)


def ppo_losses(
    new_logprob: Tensor,
    old_logprob: Tensor,
    advantages: Tensor,
    new_value: Tensor,
    old_value: Tensor,
    returns: Tensor,
    entropy: Tensor,
    clip_coef: float,
    clip_vloss: bool,
    vf_coef: float,
    ent_coef: float,
) -> PPOLosses:
    """Clipped surrogate + (optionally clipped) 0.5*MSE value loss - entropy bonus; advantages used as given."""
    logratio = new_logprob - old_logprob
    ratio = logratio.exp()
    with torch.no_grad():
        old_approx_kl = (-logratio).mean()
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean()
    pg_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
    v_unclipped = (new_value - returns) ** 2
    if clip_vloss:
        v_clipped = old_value + (new_value - old_value).clamp(-clip_coef, clip_coef)
        v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - returns) ** 2).mean()
    else:
        v_loss = 0.5 * v_unclipped.mean()
    entropy_mean = entropy.mean()
    loss = pg_loss - ent_coef * entropy_mean + vf_coef * v_loss
    return PPOLosses(loss, pg_loss, v_loss, entropy_mean, old_approx_kl, approx_kl, clipfrac)


def explained_variance(predicted: Tensor, target: Tensor) -> float:
    """1 - Var(target - predicted) / Var(target); NaN when the target has zero variance (as in CleanRL)."""
    var_y = target.var(correction=0)
    if float(var_y) == 0.0:
        return float("nan")
    return float(1.0 - (target - predicted).var(correction=0) / var_y)
