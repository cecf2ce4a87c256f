"""Negamax GAE for alternating two-player self-play with one network playing both colours.

Every value is from the point of view of the side to move in that state, and the state after a move belongs
to the opponent, so the next state's value enters each TD error with a minus sign:
    V_next(t) = bootstrap_values[t] if truncated[t] else (values[t+1], or next_values at t = T-1)
    delta_t   = r_t - gamma * (1 - terminated_t) * V_next(t) - V_t
    A_t       = delta_t - gamma * lam * (1 - done_t) * A_{t+1},   done_t = terminated_t | truncated_t
    returns   = A + values
r_t is the reward of the player who moved at t. Truncated steps bootstrap from V(final_obs); only
terminated steps are terminal.
"""

from __future__ import annotations

import torch
from torch import Tensor


def compute_gae(
    rewards: Tensor,
    values: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    bootstrap_values: Tensor,
    next_values: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """All inputs [T, N] except next_values [N] (V of the obs after the last step, mover's view)."""
    if rewards.dim() != 2:
        raise ValueError(f"rewards must be [T, N], got shape {tuple(rewards.shape)}")
    shape = rewards.shape
    for name, t in (
        ("values", values),
        ("terminated", terminated),
        ("truncated", truncated),
        ("bootstrap_values", bootstrap_values),
    ):
        if t.shape != shape:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)} like rewards")
    if next_values.shape != shape[1:]:
        raise ValueError(f"next_values has shape {tuple(next_values.shape)}, expected ({shape[1]},)")
    if not (0.0 <= gamma <= 1.0 and 0.0 <= lam <= 1.0):
        raise ValueError(f"gamma and lam must be in [0, 1], got gamma={gamma}, lam={lam}")

    dtype = torch.promote_types(values.dtype, torch.float32)
    rewards, values = rewards.to(dtype), values.to(dtype)
    not_term = 1.0 - terminated.to(dtype)
    not_done = 1.0 - (terminated.bool() | truncated.bool()).to(dtype)
    following = torch.cat([values[1:], next_values.to(dtype).unsqueeze(0)], dim=0)
    v_next = torch.where(truncated.bool(), bootstrap_values.to(dtype), following)
    deltas = rewards - gamma * not_term * v_next - values

    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[0])
    for t in range(shape[0] - 1, -1, -1):
        running = deltas[t] - gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages, advantages + values
