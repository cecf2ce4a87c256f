"""Legal-move masking of policy logits: finite fill values, entropy over legal moves only."""

from __future__ import annotations

import torch
from torch import Tensor


def check_legal_mask(legal_mask: Tensor, num_actions: int) -> Tensor:
    """Validate a [N, num_actions] boolean mask; raise ValueError naming rows without any legal move."""
    if legal_mask.dtype != torch.bool:
        raise ValueError(f"legal_mask must be a bool tensor, got {legal_mask.dtype}")
    if legal_mask.dim() != 2 or legal_mask.shape[1] != num_actions:
        raise ValueError(f"legal_mask must have shape [N, {num_actions}], got {tuple(legal_mask.shape)}")
    empty = ~legal_mask.any(dim=1)
    if bool(empty.any()):
        rows = empty.nonzero().flatten().tolist()
        raise ValueError(
            f"legal_mask rows {rows[:10]} have no legal move (finished games must not reach the model)"
        )
    return legal_mask


def mask_logits(logits: Tensor, legal_mask: Tensor) -> Tensor:
    """Float32 logits with illegal entries set to a large negative finite number (never -inf, never NaN)."""
    logits = logits.float()
    fill = torch.finfo(logits.dtype).min / 2
    return logits.masked_fill(~legal_mask, fill)


def masked_log_probs(logits: Tensor, legal_mask: Tensor) -> Tensor:
    """Log-probabilities over legal moves; illegal entries are very negative (probability exactly 0)."""
    return torch.log_softmax(mask_logits(logits, legal_mask), dim=-1)


def select_actions(
    logits: Tensor, legal_mask: Tensor, *, deterministic: bool, generator: torch.Generator | None = None
) -> Tensor:
    """One legal action per row of raw ``logits``: the argmax when ``deterministic``, else a sample of the
    masked policy (``generator`` seeds it; it must live on the logits' device)."""
    return select_from_log_probs(masked_log_probs(logits, legal_mask), deterministic=deterministic,
                                 generator=generator)


def select_from_log_probs(
    log_probs: Tensor, *, deterministic: bool, generator: torch.Generator | None = None
) -> Tensor:
    """``select_actions`` on already masked log-probabilities (illegal entries have probability 0)."""
    if deterministic:
        return log_probs.argmax(dim=-1)
    return torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)


def masked_entropy(log_probs: Tensor, legal_mask: Tensor) -> Tensor:
    """Entropy summed over legal moves only (0 * log 0 contributes 0)."""
    p_log_p = torch.where(legal_mask, log_probs.exp() * log_probs, torch.zeros_like(log_probs))
    return -p_log_p.sum(dim=-1)


def check_actions_legal(legal_mask: Tensor, actions: Tensor) -> None:
    """Raise ValueError if any action is illegal under its row of legal_mask."""
    if actions.shape != legal_mask.shape[:1]:
        raise ValueError(f"actions must have shape ({legal_mask.shape[0]},), got {tuple(actions.shape)}")
    if not bool(legal_mask.gather(1, actions.long().unsqueeze(-1)).all()):
        raise ValueError("some actions are illegal under legal_mask")


def log_prob_and_entropy(logits: Tensor, legal_mask: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
    """Masked-policy log-probability of `actions` and entropy from raw logits (inputs already validated)."""
    log_probs = masked_log_probs(logits, legal_mask)
    log_prob = log_probs.gather(1, actions.long().unsqueeze(-1)).squeeze(-1)
    return log_prob, masked_entropy(log_probs, legal_mask)
