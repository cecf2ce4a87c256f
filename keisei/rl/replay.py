"""The search learner's replay window over the shards on disk (keisei.shogi.replay), and its batches.

``ReplayWindow.refresh()`` scans the directory for shards it has not read (in name order, so a resumed learner
reads the same files in the same order) and keeps, of the N training positions written so far, the newest
``window_size(N)`` (KataGo's power law: all of them up to ``window_min``, then
``window_min * (1 + growth * ((N / window_min) ** exponent - 1) / exponent)``). Every ``val_every``-th game
(by game id) is held out for validation instead. Opening positions (ply <= ``duplicate_plies``) that repeat
are capped at ``duplicate_cap`` copies in the window (the newest kept), so the start position does not
dominate. A shard that cannot be read is skipped with one warning naming the file (it is never deleted).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cshogi
import numpy as np
import torch

from keisei.config import AlphaZeroConfig
from keisei.shogi import NUM_ACTIONS
from keisei.shogi.encoding import get_feature_set
from keisei.shogi.replay import FLAG_TRUNCATED, REPLAY_DTYPE, ShardError, list_shards, read_shard

__all__ = ["ReplayBatch", "ReplayWindow", "window_size"]

log = logging.getLogger(__name__)


def window_size(n: int, window_min: int, exponent: float, growth: float) -> int:
    """Positions in the window when ``n`` have been written (KataGo's power law, see the module doc)."""
    if n <= window_min:
        return n
    size = window_min * (1.0 + growth * ((n / window_min) ** exponent - 1.0) / exponent)
    return max(window_min, min(n, int(size)))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + n) for every (s, n), without a Python loop."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


class ReplayBatch:
    """Decoded training tensors: obs f32[B,119,9,9], policy f32[B,2187], value target z f32[B], weight f32[B]
    (0: no value target), versions int64[B]."""

    def __init__(self, obs: torch.Tensor, policy: torch.Tensor, z: torch.Tensor, weight: torch.Tensor,
                 versions: torch.Tensor) -> None:
        self.obs, self.policy, self.z, self.weight, self.versions = obs, policy, z, weight, versions


class _Split:
    """Positions and their policy pairs, concatenated over shards."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.positions = np.zeros(0, REPLAY_DTYPE)
        self.labels = np.zeros(0, np.uint16)
        self.probs = np.zeros(0, np.float32)
        self.starts = np.zeros(0, np.int64)

    def add(self, positions: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> None:
        self.parts.append((positions, labels, probs))

    def build(self, keep: int) -> None:
        """Concatenate the newest parts covering ``keep`` positions (older parts are dropped)."""
        total, first = 0, len(self.parts)
        while first > 0 and total < keep:
            first -= 1
            total += len(self.parts[first][0])
        self.parts = self.parts[first:]
        if not self.parts:
            return
        self.positions = np.concatenate([p for p, _, _ in self.parts])
        self.labels = np.concatenate([lab for _, lab, _ in self.parts])
        self.probs = np.concatenate([pr for _, _, pr in self.parts])
        offsets = np.cumsum([0] + [len(lab) for _, lab, _ in self.parts[:-1]])
        sizes = [len(p) for p, _, _ in self.parts]
        self.starts = self.positions["policy_start"].astype(np.int64) + np.repeat(offsets, sizes)


class ReplayWindow:
    """See the module doc. ``written`` counts the training positions read so far (not held out)."""

    def __init__(self, directory: str | Path, cfg: AlphaZeroConfig, value_mix: float = 0.0) -> None:
        self.directory = Path(directory)
        self.cfg = cfg
        self.value_mix = value_mix
        self.seen: set[str] = set()
        self.train, self.val = _Split(), _Split()
        self.written = 0
        self.val_written = 0
        self.skipped: list[str] = []
        self.stale = 0  # rows not added: older than the policy lag allows (actor processes)
        self.ingested: list[tuple[str, int, int]] = []  # (shard, learner version when read, oldest row version)
        self.eligible = np.zeros(0, np.int64)  # indices into train.positions that may be sampled
        self.fs = get_feature_set("dlshogi")
        self.board = cshogi.Board()

    def refresh(self, min_version: int | None = None, now: int = 0) -> int:
        """Read shards not read before; -> positions added to the training split. With ``min_version``, rows
        made by an older policy version are not added (counted in ``stale``): actor processes' records must be
        within the run's policy lag when the learner takes them. ``now`` (the learner's version) is kept with
        each shard's rows as ``ingested``."""
        added = 0
        for path in list_shards(self.directory):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            try:
                shard = read_shard(path)
            except ShardError as exc:
                log.warning("replay: skipping %s", exc)
                self.skipped.append(path.name)
                continue
            pos = shard.positions
            if min_version is not None:
                fresh = pos["version"] >= min_version
                self.stale += int((~fresh).sum())
                pos = pos[fresh]
            held = (pos["game_id"] % self.cfg.val_every == 0) if self.cfg.val_every else np.zeros(len(pos), bool)
            if (~held).any():
                self._add(self.train, pos, ~held, shard.labels, shard.probs)
                self.ingested.append((path.name, now, int(pos["version"][~held].min())))
                added += int((~held).sum())
            if held.any():
                self._add(self.val, pos, held, shard.labels, shard.probs)
                self.val_written += int(held.sum())
        self.written += added
        if added or not len(self.eligible):
            self._rebuild()
        return added

    @staticmethod
    def _add(split: _Split, pos: np.ndarray, sel: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> None:
        rows = pos[sel].copy()
        idx = _ranges(rows["policy_start"].astype(np.int64), rows["policy_len"].astype(np.int64))
        rows["policy_start"] = np.cumsum(rows["policy_len"].astype(np.int64)) - rows["policy_len"]
        split.add(rows, labels[idx], probs[idx])

    @property
    def size(self) -> int:
        """Positions the learner samples from (the window after the duplicate cap)."""
        return len(self.eligible)

    def _rebuild(self) -> None:
        c = self.cfg
        keep = window_size(self.written, c.window_min, c.window_exponent, c.window_growth)
        self.train.build(keep)
        self.val.build(max(1, keep // max(c.val_every, 1)))
        n = len(self.train.positions)
        first = max(0, n - keep)
        idx = np.arange(first, n)
        pos = self.train.positions[first:]
        opening = np.flatnonzero(pos["ply"] <= c.duplicate_plies)
        if len(opening):
            keys = np.ascontiguousarray(pos["hcp"][opening]).view(np.dtype((np.void, 32))).reshape(-1)
            order = np.lexsort((-opening, keys))  # by position, newest first within a position
            sk = keys[order]
            group_start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
            rank = np.arange(len(sk)) - np.repeat(group_start, np.diff(np.r_[group_start, len(sk)]))
            drop = opening[order[rank >= c.duplicate_cap]]
            mask = np.ones(len(idx), bool)
            mask[drop] = False
            idx = idx[mask]
        self.eligible = idx

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """``batch_size`` indices of the training split drawn uniformly from the window (with replacement)."""
        if not len(self.eligible):
            raise ValueError("the replay window is empty")
        return self.eligible[rng.integers(0, len(self.eligible), size=batch_size)]

    def batch(self, idx: np.ndarray, device: torch.device | str = "cpu", split: str = "train") -> ReplayBatch:
        """Decode positions ``idx`` of a split into training tensors."""
        s = self.train if split == "train" else self.val
        rows = s.positions[idx]
        obs = np.zeros((len(idx), *self.fs.shape), dtype=np.float32)
        for i in range(len(idx)):
            self.board.set_hcp(rows["hcp"][i])
            self.fs.encode_into(self.board, obs[i])
        policy = np.zeros((len(idx), NUM_ACTIONS), dtype=np.float32)
        lengths = rows["policy_len"].astype(np.int64)
        flat = _ranges(s.starts[idx], lengths)
        policy[np.repeat(np.arange(len(idx)), lengths), s.labels[flat]] = s.probs[flat]
        z, weight = self.value_targets(rows)
        return ReplayBatch(torch.from_numpy(obs).to(device), torch.from_numpy(policy).to(device),
                           torch.from_numpy(z).to(device), torch.from_numpy(weight).to(device),
                           torch.from_numpy(rows["version"].astype(np.int64)))

    def value_targets(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, weight): the outcome mixed with the root value by ``value_mix``; a game cut at the ply limit has no
        outcome: weight 0 (or, with value_mix > 0, the root value alone)."""
        outcome = rows["outcome"].astype(np.float32)
        root = rows["root_value"].astype(np.float32)
        m = self.value_mix
        z = (1.0 - m) * outcome + m * root
        truncated = (rows["flags"] & FLAG_TRUNCATED) != 0
        z = np.where(truncated, root, z).astype(np.float32)
        weight = np.where(truncated, 1.0 if m > 0 else 0.0, 1.0).astype(np.float32)
        return z, weight

    def val_indices(self, limit: int) -> np.ndarray:
        n = len(self.val.positions)
        return np.arange(max(0, n - limit), n)
