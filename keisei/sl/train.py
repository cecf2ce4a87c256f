"""Supervised training on a built record set: policy cross-entropy to the played move plus a small value loss.

    loss = CE(logits, label) + value_coef * (v - z)^2   (keisei.rl.policy_value, shared with the search learner)  z = (1 - m) * result + m * tanh(eval / (2 * eval_scale))

``result`` is the game result from the side to move (1, 0, -1); the eval term (``m = sl.eval_mix``) is used
only for records that carry an engine evaluation (hcpe, hcpe3), as dlshogi mixes its value target. The
cross-entropy is over all 2,187 labels (unmasked, as in dlshogi); so are the validation top-1/top-5.

Batches are drawn from a fresh random permutation of the training positions each epoch; positions are
decoded from their 32-byte hcp into dlshogi planes by cshogi's native encoder (one native call per position,
no Python per square), in the trainer or, with ``sl.loader_workers`` > 0, ahead of it in DataLoader worker
processes (forked, sharing the memory-mapped shards) so that decoding does not starve a GPU. Checkpoints use the RL format (keisei.checkpoint) under ``<run>/checkpoints`` with a
``source`` entry ``{kind: "supervised", records_digest, ...}``; they carry no optimizer state, so they start
an RL run through ``keisei train --init-from`` (fresh optimizer and counters), never through ``--resume``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cshogi
import numpy as np
import torch
import torch.nn.functional as F

from keisei.config import KeiseiConfig
from keisei.models import amp_dtype, build_model, unwrap_model
from keisei.rl.policy_value import PolicyValueStep
from keisei.rl.schedule import lr_lambda
from keisei.run.checkpoints import CheckpointManager, model_payload
from keisei.run.metrics import MetricsManager
from keisei.run.session import SessionManager
from keisei.shogi.encoding import get_feature_set
from keisei.sl.dataset import FLAG_EVAL, SL_DTYPE, DatasetError, load_manifest

__all__ = ["SLSummary", "SLTrainer", "ShardSet", "value_targets"]

log = logging.getLogger(__name__)


class ShardSet:
    """The positions of one split as one index space over memory-mapped shards."""

    def __init__(self, data_dir: Path, shards: list[dict[str, Any]]) -> None:
        self.arrays = []
        for shard in shards:
            path = data_dir / shard["file"]
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise DatasetError(f"{path}: unreadable shard ({exc})") from None
            if arr.dtype != SL_DTYPE or len(arr) != shard["positions"]:
                raise DatasetError(f"{path}: expected {shard['positions']} records of {SL_DTYPE.itemsize} bytes, "
                                   f"found {len(arr)} of {arr.dtype}")
            self.arrays.append(arr)
        self.offsets = np.cumsum([0] + [len(a) for a in self.arrays])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The records at global indices ``idx`` (in that order)."""
        out = np.empty(len(idx), dtype=SL_DTYPE)
        shard = np.searchsorted(self.offsets, idx, side="right") - 1
        for s in np.unique(shard):
            sel = shard == s
            out[sel] = self.arrays[s][idx[sel] - self.offsets[s]]
        return out


def value_targets(recs: np.ndarray, eval_mix: float, eval_scale: float) -> np.ndarray:
    """f32 value targets in [-1, 1] from the side to move (see the module doc)."""
    z = recs["result"].astype(np.float32)
    has = (recs["flags"] & FLAG_EVAL) != 0
    if has.any() and eval_mix > 0:
        ev = np.tanh(recs["eval"].astype(np.float32) / (2.0 * eval_scale))
        z = np.where(has, (1.0 - eval_mix) * z + eval_mix * ev, z).astype(np.float32)
    return z


class _Encoder:
    """hcp records -> dlshogi observation planes, reusing one buffer and one Board."""

    def __init__(self, batch: int) -> None:
        self.fs = get_feature_set("dlshogi")
        self.fs.check()
        self.board = cshogi.Board()
        self.obs = np.zeros((batch, *self.fs.shape), dtype=np.float32)

    def __call__(self, recs: np.ndarray) -> np.ndarray:
        obs = self.obs[: len(recs)]
        for i in range(len(recs)):
            self.board.set_hcp(recs["hcp"][i])
            self.fs.encode_into(self.board, obs[i])
        return obs


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)


class _DecodedBatches(torch.utils.data.Dataset):
    """Batch ``i`` of an epoch, decoded to tensors (in a DataLoader worker; the memmaps are shared by fork)."""

    def __init__(self, shards: ShardSet, batches: list[np.ndarray], eval_mix: float, eval_scale: float) -> None:
        self.shards, self.batches = shards, batches
        self.eval_mix, self.eval_scale = eval_mix, eval_scale
        self.encoder: _Encoder | None = None

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        recs = self.shards.take(self.batches[i])
        if self.encoder is None:
            self.encoder = _Encoder(len(recs))
        if len(self.encoder.obs) < len(recs):
            self.encoder = _Encoder(len(recs))
        obs = torch.from_numpy(self.encoder(recs).copy())  # the encoder reuses its buffer
        return (obs, torch.from_numpy(recs["label"].astype(np.int64)),
                torch.from_numpy(value_targets(recs, self.eval_mix, self.eval_scale)))


@dataclass
class SLSummary:
    steps: int
    samples: int
    seconds: float
    val: dict[str, float]
    checkpoint: Path | None

    def line(self) -> str:
        sps = self.samples / self.seconds if self.seconds > 0 else 0.0
        val = ", ".join(f"{k} {v:.4f}" for k, v in self.val.items()) or "no validation split"
        ckpt = self.checkpoint if self.checkpoint else "none"
        return f"done: {self.steps:,} steps, {self.samples:,} samples in {self.seconds:.1f}s ({sps:,.0f} samples/s); {val}; checkpoint {ckpt}"


class SLTrainer:
    """``SLTrainer(config, data_dir, run_dir, device=None).run()`` -> SLSummary.

    The run directory is locked (one trainer per run, as ``keisei train``) from here until ``run()`` returns;
    ``session`` is one the caller already acquired (``keisei sl`` holds it while it builds the data set)."""

    def __init__(self, config: KeiseiConfig, data_dir: str | Path, run_dir: str | Path,
                 device: str | None = None, session: SessionManager | None = None) -> None:
        if device is not None:
            config = config.model_copy(deep=True)
            config.training.device = device
        self.session = session or SessionManager(config, run_dir, holder="keisei sl")
        self.session.acquire()
        try:
            self._build(config, Path(data_dir))
        except BaseException:
            self.session.close()
            raise

    def _build(self, config: KeiseiConfig, data_dir: Path) -> None:
        self.config = config
        self.cfg = config.sl
        self.data_dir = data_dir
        self.run_dir = self.session.run_dir
        self.manifest = load_manifest(self.data_dir)
        self.train_set = ShardSet(self.data_dir, self.manifest["shards"]["train"])
        self.val_set = ShardSet(self.data_dir, self.manifest["shards"]["val"])
        if len(self.train_set) == 0:
            raise DatasetError(f"{self.data_dir}: the training split is empty")
        t = config.training
        self.device = self.session.device
        self.session.setup()  # config.toml, train.log, torch threads, seeds (before the model is built)
        self.rng = np.random.default_rng(t.seed)
        self.model = build_model(config.model).to(self.device)
        if t.compile:
            self.model.compile()
        per_epoch = math.ceil(len(self.train_set) / self.cfg.batch_size)
        self.total_steps = per_epoch * self.cfg.epochs
        if self.cfg.max_steps:
            self.total_steps = min(self.total_steps, self.cfg.max_steps)
        self.amp_dtype = amp_dtype(t.amp, self.device)
        self.update = PolicyValueStep(  # the search learner's update too (keisei.rl.policy_value)
            self.model, optimizer="adamw", learning_rate=self.cfg.learning_rate, weight_decay=self.cfg.weight_decay,
            value_coef=self.cfg.value_coef, lr_multiplier=lr_lambda("cosine", self.total_steps), amp_dtype=self.amp_dtype)
        self.encoder = _Encoder(self.cfg.batch_size)
        self.checkpoints = CheckpointManager(self.run_dir, t.keep_checkpoints)
        self.steps = 0
        self.samples = 0
        self.last_val: dict[str, float] = {}

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in unwrap_model(self.model).parameters())

    def _tensors(self, recs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        obs = torch.from_numpy(self.encoder(recs)).to(self.device, non_blocking=True)
        labels = torch.from_numpy(recs["label"].astype(np.int64)).to(self.device)
        z = torch.from_numpy(value_targets(recs, self.cfg.eval_mix, self.cfg.eval_scale)).to(self.device)
        return obs, labels, z

    def _forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.update.forward(obs)

    def train_step(self, recs: np.ndarray) -> tuple[float, float]:
        return self.train_tensors(*self._tensors(recs))

    def train_tensors(self, obs: torch.Tensor, labels: torch.Tensor, z: torch.Tensor) -> tuple[float, float]:
        """One update on a decoded batch; -> (policy loss, value loss)."""
        losses = self.update.step(obs, labels, z)
        self.steps += 1
        self.samples += len(labels)
        return losses.policy_loss.item(), losses.value_loss.item()

    def _decoded(self, batches: list[np.ndarray]) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(obs, labels, z) on the device for each index batch, decoded here or by ``sl.loader_workers`` processes."""
        if self.cfg.loader_workers == 0:
            for idx in batches:
                yield self._tensors(self.train_set.take(idx))
            return
        data = _DecodedBatches(self.train_set, batches, self.cfg.eval_mix, self.cfg.eval_scale)
        loader = torch.utils.data.DataLoader(
            data, batch_size=None, shuffle=False, num_workers=self.cfg.loader_workers, prefetch_factor=4,
            pin_memory=self.device.type == "cuda", multiprocessing_context="fork", worker_init_fn=_worker_init)
        for obs, labels, z in loader:
            yield (obs.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True),
                   z.to(self.device, non_blocking=True))

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Policy top-1/top-5, policy and value loss on the first ``val_max_positions`` validation positions."""
        n = min(len(self.val_set), self.cfg.val_max_positions)
        if n == 0:
            return {}
        self.model.eval()
        top1 = top5 = ploss = vloss = 0.0
        for lo in range(0, n, self.cfg.batch_size):
            recs = self.val_set.take(np.arange(lo, min(n, lo + self.cfg.batch_size)))
            obs, labels, z = self._tensors(recs)
            logits, value = self._forward(obs)
            best = logits.topk(5, dim=1).indices
            top1 += float((best[:, 0] == labels).sum())
            top5 += float((best == labels[:, None]).any(dim=1).sum())
            ploss += float(F.cross_entropy(logits, labels, reduction="sum"))
            vloss += float(F.mse_loss(value, z, reduction="sum"))
        self.last_val = {"val_top1": top1 / n, "val_top5": top5 / n, "val_policy_loss": ploss / n,
                         "val_value_loss": vloss / n}
        return self.last_val

    def payload(self) -> dict[str, Any]:
        source = {"kind": "supervised", "records_digest": self.manifest["records_digest"],
                  "train_positions": len(self.train_set), "val_positions": len(self.val_set),
                  "steps": self.steps, "samples": self.samples, **{k: float(v) for k, v in self.last_val.items()}}
        counters = {"timesteps": self.samples, "updates": self.steps, "games": 0}
        return model_payload(self.config, self.model, counters, source=source)

    def save(self) -> Path:
        return self.checkpoints.save(self.payload(), self.samples)

    def run(self, report: Callable[[str], None] | None = None) -> SLSummary:
        """Train to the step or wall-clock limit; ``report(line)`` gets a progress line at every validation."""
        cfg = self.cfg
        metrics = MetricsManager(self.config, self.run_dir)
        start = time.monotonic()
        last_t, last_samples = start, 0
        ckpt = None
        limit = cfg.max_wall_seconds or math.inf
        try:
            while self.steps < self.total_steps and time.monotonic() - start < limit:
                perm = self.rng.permutation(len(self.train_set))
                batches = [np.sort(perm[lo: lo + cfg.batch_size]) for lo in range(0, len(perm), cfg.batch_size)]
                for obs, labels, z in self._decoded(batches):
                    if self.steps >= self.total_steps or time.monotonic() - start >= limit:
                        break
                    pl, vl = self.train_tensors(obs, labels, z)
                    if self.steps % cfg.log_interval_steps == 0:
                        now = time.monotonic()
                        rate = (self.samples - last_samples) / max(now - last_t, 1e-9)
                        last_t, last_samples = now, self.samples
                        metrics.log_dict({"sl/train_policy_loss": pl, "sl/train_value_loss": vl,
                                          "sl/samples_per_s": rate, "sl/lr": self.update.lr},
                                         self.samples)
                    if self.steps % cfg.val_interval_steps == 0:
                        val = self.validate()
                        metrics.log_dict({f"sl/{k}": v for k, v in val.items()}, self.samples)
                        if report is not None:
                            shown = " ".join(f"{k} {v:.4f}" for k, v in val.items())
                            report(f"step {self.steps:,}/{self.total_steps:,} ({self.samples:,} samples, "
                                   f"{self.samples / max(time.monotonic() - start, 1e-9):,.0f}/s): "
                                   f"train policy {pl:.4f} value {vl:.4f}; {shown}")
                    if self.steps % cfg.checkpoint_interval_steps == 0:
                        ckpt = self.save()
            metrics.log_dict({f"sl/{k}": v for k, v in self.validate().items()}, self.samples)
            ckpt = self.save()
        finally:
            metrics.close()
            self.session.close()  # torch settings restored, lock released
        return SLSummary(self.steps, self.samples, time.monotonic() - start, dict(self.last_val), ckpt)
