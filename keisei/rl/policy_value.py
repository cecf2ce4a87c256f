"""The one policy-value loss and update step of Keisei: supervised training (`keisei sl`, one-hot targets) and
the search learner (`training.algorithm = "alphazero"`, improved-policy targets) both train through it.

    loss = CE(target_policy, softmax(logits)) + value_coef * mean(w * (v - z)^2) / mean(w)

``target_policy`` is a distribution over the 2,187 labels (dense float) or one label per position (int64, the
one-hot case: then CE is ``F.cross_entropy``). The cross-entropy is over all labels, unmasked, as in dlshogi.
``w`` weighs each position's value term (0: no value target, e.g. a game cut at the ply limit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from keisei.rl.learner import GradientSync

__all__ = ["PolicyValueLosses", "PolicyValueStep", "policy_value_losses"]


class PolicyValueLosses(NamedTuple):
    loss: Tensor
    policy_loss: Tensor  # cross-entropy to the target policy
    value_loss: Tensor  # weighted mean squared error
    entropy: Tensor  # of the network's policy (over all labels)
    kl: Tensor  # KL(target || network policy) = CE - H(target): how far the search moved the prior
    top1: Tensor  # share of positions whose network argmax is the target's argmax


def policy_value_losses(logits: Tensor, value: Tensor, target: Tensor, z: Tensor, value_coef: float,
                        weight: Tensor | None = None) -> PolicyValueLosses:
    """See the module doc. ``logits`` f32[B,2187]; ``value``, ``z``, ``weight`` f32[B]; ``target`` f32[B,2187]
    (rows sum to 1) or int64[B]."""
    logp = F.log_softmax(logits, dim=1)
    if target.dtype == torch.int64:
        policy_loss = F.nll_loss(logp, target)
        target_entropy = torch.zeros((), device=logits.device)
        best = target
    else:
        policy_loss = -(target * logp).sum(dim=1).mean()
        tlog = torch.where(target > 0, target * torch.log(target.clamp_min(1e-30)), torch.zeros_like(target))
        target_entropy = -tlog.sum(dim=1).mean()
        best = target.argmax(dim=1)
    sq = (value - z) ** 2
    if weight is None:
        value_loss = sq.mean()
    else:
        value_loss = (weight * sq).sum() / weight.sum().clamp_min(1.0)
    with torch.no_grad():
        entropy = -(logp.exp() * logp).sum(dim=1).mean()
        kl = policy_loss.detach() - target_entropy
        top1 = (logits.argmax(dim=1) == best).float().mean()
    return PolicyValueLosses(policy_loss + value_coef * value_loss, policy_loss, value_loss, entropy, kl, top1)


class PolicyValueStep:
    """Optimizer, LR schedule, gradient clipping and AMP around :func:`policy_value_losses`.

    ``lr_multiplier(step)`` scales the base LR after ``step`` updates (LambdaLR). With ``grad_sync`` the
    gradients are averaged over data-parallel ranks before clipping. ``state_dict`` holds optimizer,
    scheduler and scaler state for exact resumes.
    """

    def __init__(self, model: nn.Module, *, optimizer: str = "adamw", learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, momentum: float = 0.9, max_grad_norm: float = 0.0,
                 value_coef: float = 1.0, lr_multiplier: Callable[[int], float] | None = None,
                 amp_dtype: torch.dtype | None = None, grad_sync: GradientSync | None = None) -> None:
        self.model = model
        params = list(model.parameters())
        if optimizer == "adamw":
            self.optimizer: torch.optim.Optimizer = torch.optim.AdamW(params, lr=learning_rate,
                                                                      weight_decay=weight_decay)
        elif optimizer == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=momentum, nesterov=momentum > 0,
                                             weight_decay=weight_decay)
        else:
            raise ValueError(f"optimizer must be adamw or sgd, got {optimizer!r}")
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_multiplier or (lambda _s: 1.0))
        self.max_grad_norm = max_grad_norm
        self.value_coef = value_coef
        self.amp_dtype = amp_dtype
        self.device_type = next(iter(params)).device.type if params else "cpu"
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
        self.grad_sync = grad_sync
        self.steps = 0

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """The model's (logits, value) in float32 (under autocast when AMP is on)."""
        with torch.autocast(self.device_type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            logits, value = self.model(obs)
        return logits.float(), value.float().reshape(-1)

    def step(self, obs: Tensor, target: Tensor, z: Tensor, weight: Tensor | None = None) -> PolicyValueLosses:
        """One update; returns the (detached) losses of the batch before the update."""
        self.model.train()
        logits, value = self.forward(obs)
        losses = policy_value_losses(logits, value, target, z, self.value_coef, weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses.loss).backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.grad_sync is not None:
            self.grad_sync.average_gradients(params)
        if self.max_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.steps += 1
        self.model.eval()
        return PolicyValueLosses(*(t.detach() for t in losses))

    @property
    def lr(self) -> float:
        return float(self.scheduler.get_last_lr()[0])

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        missing = [k for k in ("optimizer", "scheduler", "scaler", "steps") if k not in state]
        if missing:
            raise ValueError(f"policy-value step state is missing: {', '.join(missing)}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.steps = int(state["steps"])
