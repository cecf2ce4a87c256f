"""The opponent pool: past checkpoints of this run (plus permanent anchors) to evaluate the agent against.

* Every checkpoint the CheckpointManager saves joins through ``add_checkpoint`` (a checkpoint listener). The
  pool hard-links (or copies) the file into ``run_dir/opponent_pool/`` so that the CheckpointManager's own
  keep-last-K pruning cannot remove a member; the link is deleted when the member leaves the pool. The
  file keeps its name, so its store/player name (``ckpt:<stem>``) is the same as the original's.
* Bounded: the ``size`` most recent checkpoints, plus up to ``keep_best`` best-rated older ones, plus the
  anchors (non-checkpoint specs such as ``random``, ``greedy`` or ``usi:...``), which are never removed.
* Sampling: ``uniform``; ``recent`` (weight grows linearly with recency); ``rating`` (Gaussian in the Elo
  difference to ``agent_elo``, sigma ``RATING_SIGMA``; unrated members count as level with the agent, so
  new checkpoints get rated).
* Persisted atomically in ``run_dir/opponent_pool.json``; on load, members whose file vanished are pruned
  with a warning.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from keisei.atomic import atomic_write_text
from keisei.evaluation.opponents import agent_player_name, checkpoint_player_name, parse_opponent

logger = logging.getLogger(__name__)

POOL_FILE = "opponent_pool.json"
POOL_DIR = "opponent_pool"
FORMAT = 1
RATING_SIGMA = 200.0
SAMPLING_MODES = ("uniform", "recent", "rating")
Sampling = Literal["uniform", "recent", "rating"]


@dataclass(frozen=True)
class PoolEntry:
    """One pool member: ``spec`` is what EvaluationManager plays (``checkpoint:PATH`` or an anchor spec)."""

    spec: str
    name: str  # the store/player name
    kind: Literal["checkpoint", "anchor"]
    seq: int  # insertion order (higher = more recent)
    timesteps: int | None = None
    model_version: int | None = None
    elo: float | None = None
    file: str | None = None  # checkpoint file, relative to run_dir when inside it
    sha256: str | None = None  # the member's weights (tensors_sha256), as published at its model_version


def parse_pool_spec(spec: str) -> int | None:
    """``pool`` -> 1, ``pool:K`` -> K (opponents to sample); None when ``spec`` is not a pool spec."""
    if spec == "pool":
        return 1
    if not spec.startswith("pool:"):
        return None
    raw = spec[len("pool:"):]
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"opponent spec {spec!r}: expected pool or pool:K with K >= 1")
    return int(raw)


def _atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


class OpponentPool:
    """A bounded, persistent set of opponents for periodic evaluation (thread-safe)."""

    def __init__(
        self,
        run_dir: str | Path,
        size: int = 10,
        keep_best: int = 3,
        sampling: Sampling = "recent",
        anchors: tuple[str, ...] | list[str] = (),
    ) -> None:
        if size < 1 or keep_best < 0:
            raise ValueError(f"pool bounds: size must be >= 1 and keep_best >= 0, got {size}, {keep_best}")
        if sampling not in SAMPLING_MODES:
            raise ValueError(f"pool sampling {sampling!r}: expected one of {', '.join(SAMPLING_MODES)}")
        self.run_dir = Path(run_dir)
        self.size = size
        self.keep_best = keep_best
        self.sampling: Sampling = sampling
        self._lock = threading.RLock()
        self._entries: list[PoolEntry] = []
        self._next_seq = 0
        self._load()
        for spec in anchors:
            self.add_anchor(spec)

    @property
    def path(self) -> Path:
        """The pool's JSON file."""
        return self.run_dir / POOL_FILE

    @property
    def files_dir(self) -> Path:
        """Where member checkpoints are linked."""
        return self.run_dir / POOL_DIR

    # -- membership ----------------------------------------------------------------------------------------
    def add_checkpoint(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> PoolEntry:
        """Add a saved checkpoint (CheckpointManager listener signature); re-adding a path refreshes it."""
        meta = dict(meta or {})
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"opponent pool: checkpoint file not found: {source}")
        with self._lock:
            target = self._link(source)
            name = checkpoint_player_name(target)
            self._entries = [e for e in self._entries if e.name != name]
            entry = PoolEntry(
                spec=f"checkpoint:{target}",
                name=name,
                kind="checkpoint",
                seq=self._take_seq(),
                timesteps=meta.get("timesteps"),
                model_version=meta.get("model_version"),
                sha256=meta.get("sha256"),
                file=self._relative(target),
            )
            self._entries.append(entry)
            self._prune()
            self.save()
            return entry

    def add_anchor(self, spec: str) -> PoolEntry:
        """Add a permanent non-checkpoint member (``random``, ``greedy``, ``usi:...``, an engine name)."""
        parsed = parse_opponent(spec)
        if parsed.kind in ("checkpoint", "current"):
            raise ValueError(f"pool anchor {spec!r} must not be a checkpoint or 'current'")
        with self._lock:
            for entry in self._entries:
                if entry.spec == spec:
                    return entry
            entry = PoolEntry(spec=spec, name=parsed.name, kind="anchor", seq=self._take_seq())
            self._entries.append(entry)
            self.save()
            return entry

    def set_rating(self, key: str | Path, elo: float) -> bool:
        """Set the Elo of the member whose player name is ``key``; False when none matches."""
        return self.set_ratings({str(key): elo}) > 0

    def set_ratings(self, ratings: Mapping[str, float]) -> int:
        """Set Elo for members matched by player name (e.g. a fit's table), a checkpoint
        also by the agent name of its model version (``agent@vN``: the same weights); -> count set."""
        with self._lock:
            changed = 0
            for i, entry in enumerate(self._entries):
                elo = self._lookup(entry, ratings)
                if elo is not None and math.isfinite(elo) and elo != entry.elo:
                    self._entries[i] = replace(entry, elo=float(elo))
                    changed += 1
            if changed:
                self._prune()
                self.save()
            return changed

    def _lookup(self, entry: PoolEntry, ratings: Mapping[str, float]) -> float | None:
        """A member's rating is keyed by its player name; a checkpoint's weights were also rated when they
        were the agent, under that model version's agent name (used when the member itself is unrated)."""
        if entry.name in ratings:
            return ratings[entry.name]
        if entry.model_version is not None:
            return ratings.get(agent_player_name(entry.model_version))
        return None

    def entries(self) -> list[PoolEntry]:
        """All members, oldest first."""
        with self._lock:
            return sorted(self._entries, key=lambda e: e.seq)

    # -- sampling ------------------------------------------------------------------------------------------
    def sample(
        self,
        k: int,
        rng: random.Random,
        agent_elo: float | None = None,
        sampling: Sampling | None = None,
        exclude: tuple[str, ...] | list[str] = (),
    ) -> list[str]:
        """Up to ``k`` distinct member specs (fewer when the pool is smaller), weighted by ``sampling``.

        ``exclude`` lists specs or names not to draw (e.g. opponents already scheduled). ``rating`` without
        ``agent_elo`` falls back to uniform.
        """
        mode = sampling or self.sampling
        if mode not in SAMPLING_MODES:
            raise ValueError(f"pool sampling {mode!r}: expected one of {', '.join(SAMPLING_MODES)}")
        skip = set(exclude)
        members = [e for e in self.entries() if e.spec not in skip and e.name not in skip]
        weights = self._weights(members, mode, agent_elo)
        chosen: list[str] = []
        while members and len(chosen) < k:
            i = rng.choices(range(len(members)), weights=weights)[0]
            chosen.append(members.pop(i).spec)
            weights.pop(i)
        return chosen

    @staticmethod
    def _weights(members: list[PoolEntry], mode: str, agent_elo: float | None) -> list[float]:
        if mode == "recent":
            return [float(rank) for rank in range(1, len(members) + 1)]  # members are oldest first
        if mode == "rating" and agent_elo is not None:
            return [
                max(math.exp(-0.5 * (((e.elo if e.elo is not None else agent_elo) - agent_elo) / RATING_SIGMA) ** 2),
                    1e-12)
                for e in members
            ]
        return [1.0] * len(members)

    # -- bounds and files ----------------------------------------------------------------------------------
    def _prune(self) -> None:
        checkpoints = sorted((e for e in self._entries if e.kind == "checkpoint"), key=lambda e: e.seq)
        keep = {e.name for e in checkpoints[-self.size:]}
        rated = sorted((e for e in checkpoints if e.elo is not None), key=lambda e: (-e.elo, -e.seq))
        keep |= {e.name for e in rated[: self.keep_best]}
        for entry in checkpoints:
            if entry.name not in keep:
                self._entries.remove(entry)
                self._unlink(entry)
                logger.info("opponent pool: dropped %s", entry.name)

    def _link(self, source: Path) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        target = self.files_dir / source.name
        if target.exists() and target.resolve() == source.resolve():
            return target
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copy2(source, tmp)
        os.replace(tmp, target)
        return target

    def _unlink(self, entry: PoolEntry) -> None:
        if entry.file is None:
            return
        path = self._absolute(entry.file)
        if path.parent.resolve() == self.files_dir.resolve():
            path.unlink(missing_ok=True)

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.run_dir.resolve()))
        except ValueError:
            return str(path.resolve())

    def _absolute(self, file: str) -> Path:
        path = Path(file)
        return path if path.is_absolute() else self.run_dir / path

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    # -- persistence ---------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the pool to ``run_dir/opponent_pool.json`` atomically."""
        with self._lock:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            data = {"format": FORMAT, "next_seq": self._next_seq, "entries": [asdict(e) for e in self.entries()]}
            _atomic_write_json(self.path, data)

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = [PoolEntry(**raw) for raw in data["entries"]]
            next_seq = int(data["next_seq"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.path}: unreadable opponent pool ({exc})") from None
        kept = []
        for entry in entries:
            if entry.kind == "checkpoint":
                path = self._absolute(entry.file or "")
                if not path.is_file():
                    logger.warning("opponent pool: %s is missing; dropping %s from the pool", path, entry.name)
                    continue
                entry = replace(entry, spec=f"checkpoint:{path}")  # the run dir may have moved
            kept.append(entry)
        self._entries = kept
        self._next_seq = max([next_seq, *(e.seq + 1 for e in kept)])
        if len(kept) != len(entries):
            self.save()
