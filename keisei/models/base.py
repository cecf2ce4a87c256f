"""The actor-critic interface and a base class deriving sampling/evaluation from forward()."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from keisei.models.constants import NUM_ACTIONS
from keisei.models.masking import (
    check_actions_legal,
    check_legal_mask,
    log_prob_and_entropy,
    masked_entropy,
    masked_log_probs,
    select_from_log_probs,
)


@runtime_checkable
class ActorCriticProtocol(Protocol):
    """What training and evaluation call. Values are in [-1, 1] from the side to move's point of view."""

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """obs f32[N,119,9,9] -> (policy logits f32[N,2187], value f32[N])."""
        ...

    def get_action_and_value(
        self, obs: Tensor, legal_mask: Tensor, deterministic: bool = False
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """-> (action i64[N], log_prob f32[N], entropy f32[N], value f32[N])."""
        ...

    def evaluate_actions(
        self, obs: Tensor, legal_mask: Tensor, actions: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """-> (log_prob f32[N], entropy f32[N], value f32[N]) of the given actions."""
        ...


class ActorCriticBase(nn.Module):
    """Implements the two masked-policy helpers on top of a subclass's forward()."""

    num_actions: int = NUM_ACTIONS

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_action_and_value(
        self,
        obs: Tensor,
        legal_mask: Tensor,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample (or argmax if deterministic) a legal action; -> (action, log_prob, entropy, value)."""
        check_legal_mask(legal_mask, self.num_actions)
        logits, value = self(obs)
        log_probs = masked_log_probs(logits, legal_mask)
        action = select_from_log_probs(log_probs, deterministic=deterministic, generator=generator)
        log_prob = log_probs.gather(1, action.unsqueeze(-1)).squeeze(-1)
        return action, log_prob, masked_entropy(log_probs, legal_mask), value

    def evaluate_actions(
        self, obs: Tensor, legal_mask: Tensor, actions: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Log-prob and entropy of `actions` under the masked policy, plus the value; -> (log_prob, entropy, value)."""
        check_legal_mask(legal_mask, self.num_actions)
        check_actions_legal(legal_mask, actions)
        logits, value = self(obs)
        log_prob, entropy = log_prob_and_entropy(logits, legal_mask, actions)
        return log_prob, entropy, value
