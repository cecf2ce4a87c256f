"""PPO learner: clipped surrogate, optional value clipping, entropy bonus, target-KL early stop, AMP on CUDA.

The learner only calls the (possibly compiled / DDP-wrapped) model's forward(); masking and log-probs are
applied here with keisei.models.masking, so wrappers keep working.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from keisei.config import PPOConfig
from keisei.models import amp_dtype
from keisei.models.masking import check_actions_legal, check_legal_mask, log_prob_and_entropy
from keisei.rl.buffer import PPOBatch, RolloutBuffer
from keisei.rl.learner import GradientSync
from keisei.rl.losses import PPOLosses, explained_variance, normalize_advantages, ppo_losses
from keisei.rl.schedule import lr_lambda

log = logging.getLogger(__name__)

_STATE_KEYS = ("optimizer", "scheduler", "scaler", "generator")


class PPOLearner:
    """Owns the optimizer (Adam), the LR scheduler (per optimizer step), the AMP scaler and the minibatch RNG.

    Implements keisei.rl.learner.Learner[PPOBatch]: ``learn(batch)`` computes the negamax GAE returns and runs
    ``update``; the importance ratio uses the behaviour log-probs stored with the batch.

    ``grad_sync`` (data-parallel runs): gradients are averaged over ranks after every backward (before the AMP
    unscale, so an inf on any rank skips the step on all), the target-KL early stop uses the mean KL over
    ranks, rank 0's BatchNorm buffers are copied to all ranks after the update, and the metrics are means
    over ranks. Every rank thus holds the same weights after every update.
    """

    checkpoint_keys = tuple(f"{k}_state" for k in _STATE_KEYS)

    def __init__(
        self,
        model: nn.Module,
        cfg: PPOConfig,
        total_updates: int,
        device: torch.device | str | None = None,
        grad_sync: GradientSync | None = None,
        *,
        seed: int = 1,
        amp: str = "off",
    ) -> None:
        if total_updates < 1:
            raise ValueError(f"total_updates must be >= 1, got {total_updates}")
        self.model, self.cfg = model, cfg
        self.grad_sync = grad_sync
        self._params = list(model.parameters())
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.amp_dtype = amp_dtype(amp, self.device)
        if amp != "off" and self.amp_dtype is None:
            log.warning("training.amp=%s ignored: mixed precision is only used on CUDA (device is %s)",
                        amp, self.device)
        self.total_steps = total_updates * cfg.update_epochs * cfg.num_minibatches
        self.optimizer = torch.optim.Adam(
            model.parameters(), lr=cfg.learning_rate, eps=1e-5, weight_decay=cfg.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_lambda(cfg.lr_schedule, self.total_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.generator = torch.Generator().manual_seed(seed)

    def _optimizer_step(self, mb: dict[str, torch.Tensor]) -> dict[str, float]:
        """One minibatch step; -> its statistics by name (the PPOLosses terms and grad_norm)."""
        cfg = self.cfg
        check_legal_mask(mb["masks"], mb["masks"].shape[-1])
        check_actions_legal(mb["masks"], mb["actions"])
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits, new_value = self.model(mb["obs"])
        new_logprob, entropy = log_prob_and_entropy(logits, mb["masks"], mb["actions"])
        adv = normalize_advantages(mb["advantages"]) if cfg.norm_adv else mb["advantages"]
        out: PPOLosses = ppo_losses(
            new_logprob=new_logprob, old_logprob=mb["logprobs"], advantages=adv, new_value=new_value.float(),
            old_value=mb["values"], returns=mb["returns"], entropy=entropy, clip_coef=cfg.clip_coef,
            clip_vloss=cfg.clip_vloss, vf_coef=cfg.vf_coef, ent_coef=cfg.ent_coef,
        )
        if not bool(torch.isfinite(out.loss)):
            raise FloatingPointError(f"PPO loss is not finite ({float(out.loss)}); training diverged")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        if self.grad_sync is not None:
            self.grad_sync.average_gradients(self._params)
        self.scaler.unscale_(self.optimizer)
        grad_norm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        stats = {name: value for name, value in out._asdict().items() if name != "loss"}
        stats["grad_norm"] = grad_norm
        values = torch.stack([v.detach().float() for v in stats.values()]).tolist()  # one device sync
        return dict(zip(stats, values))

    def learn(self, batch: PPOBatch) -> dict[str, float]:
        """GAE returns (ppo.gamma, ppo.gae_lambda) on the batch, then one PPO update."""
        batch.buffer.compute_returns(batch.next_values.clone(), self.cfg.gamma, self.cfg.gae_lambda)
        return self.update(batch.buffer)

    def update(self, buffer: RolloutBuffer) -> dict[str, float]:
        """Run up to update_epochs epochs of minibatch PPO on `buffer`; returns CleanRL-named metrics."""
        cfg = self.cfg
        lr = self.optimizer.param_groups[0]["lr"]
        rows: list[dict[str, float]] = []
        epochs_run = 0
        self.model.train()
        try:
            for _ in range(cfg.update_epochs):
                epoch_rows = [
                    self._optimizer_step(mb) for mb in buffer.minibatches(cfg.num_minibatches, self.generator)
                ]
                rows += epoch_rows
                epochs_run += 1
                epoch_kl = sum(r["approx_kl"] for r in epoch_rows) / len(epoch_rows)
                if cfg.target_kl is not None and self._mean([epoch_kl])[0] > cfg.target_kl:
                    break  # every rank agrees: they all stop after the same epoch
            if self.grad_sync is not None:
                self.grad_sync.sync_buffers(self.model)
        finally:
            self.model.eval()
        # an early stop skips optimizer steps: advance the schedule so LR keeps tracking the update count
        for _ in range((cfg.update_epochs - epochs_run) * cfg.num_minibatches):
            self.scheduler.step()
        means = {name: sum(r[name] for r in rows) / len(rows) for name in rows[0]}
        means["explained_variance"] = explained_variance(buffer.values.flatten(), buffer.returns.flatten())
        means = dict(zip(means, self._mean(list(means.values()))))  # over ranks, by name
        metrics = {f"losses/{name}": value for name, value in means.items()}
        metrics["charts/learning_rate"] = lr
        metrics["ppo/epochs_run"] = float(epochs_run)
        return metrics

    def set_total_updates(self, total_updates: int) -> None:
        """A new horizon for the LR schedule (a resume with another world size changes the global batch): the
        schedule continues from the optimizer steps already taken and reaches its end at ``total_updates``."""
        if total_updates < 1:
            raise ValueError(f"total_updates must be >= 1, got {total_updates}")
        cfg = self.cfg
        self.total_steps = total_updates * cfg.update_epochs * cfg.num_minibatches
        self.scheduler.lr_lambdas = [lr_lambda(cfg.lr_schedule, self.total_steps)] * len(self.optimizer.param_groups)

    def _mean(self, values: list[float]) -> list[float]:
        """``values`` averaged over the ranks of a data-parallel run (unchanged when training alone)."""
        if self.grad_sync is None:
            return values
        return self.grad_sync.average(torch.tensor(values, dtype=torch.float64)).tolist()

    def state_dict(self) -> dict[str, Any]:
        """Optimizer, scheduler, scaler and minibatch-generator states (weights_only-safe)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
        }

    def checkpoint_state(self) -> dict[str, Any]:
        """The payload entries ``<key>_state`` (optimizer_state, scheduler_state, scaler_state, generator_state)."""
        return {f"{k}_state": v for k, v in self.state_dict().items()}

    def load_checkpoint_state(self, payload: dict[str, Any]) -> None:
        missing = [k for k in self.checkpoint_keys if k not in payload]
        if missing:
            raise ValueError(f"{', '.join(missing)} missing")
        self.load_state_dict({k: payload[f"{k}_state"] for k in _STATE_KEYS})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"PPOLearner state is missing: {', '.join(missing)}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.generator.set_state(state["generator"].cpu())
