"""Search self-play records on disk: the replay of `training.algorithm = "alphazero"`.

A shard is one ``.npz`` file written atomically (temp file, fsync, rename) by whoever played its games, so a
reader sees whole shards only and a ``kill -9`` loses at most the games not yet written. It holds three arrays:

* ``positions``: one ``REPLAY_DTYPE`` row per recorded position (a full search's position):
  ``hcp`` (cshogi's 32-byte HuffmanCodedPos), ``ply``, ``move`` (the dlshogi label played), ``outcome``
  (+1 / 0 / -1 from the side to move: the game's result; 0 also when the game was cut, see ``flags``),
  ``flags`` (TERMINATED: the game ended by a rule or a resignation; TRUNCATED: cut at the ply limit, the
  outcome is unknown; RESIGNED: it ended by a resignation), ``root_value`` (the search's value, side to move),
  ``version`` (the policy version that searched it), ``game_id``, and the position's slice of the policy
  arrays (``policy_start``, ``policy_len``);
* ``labels`` (uint16) and ``probs`` (float32): the improved policy over every legal move of each position as
  (dlshogi label, probability) pairs, summing to 1 per position.

Names are ``<writer>-<seq>.npz``: one writer (a process) numbers its shards 0, 1, 2, ...; sorted names are
the order a resumed reader scans them in.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keisei.atomic import atomic_write

__all__ = ["FLAG_RESIGNED", "FLAG_TERMINATED", "FLAG_TRUNCATED", "REPLAY_DTYPE", "ReplayShard", "ShardError",
           "list_shards", "next_shard_name", "read_shard", "write_shard"]

FLAG_TERMINATED, FLAG_TRUNCATED, FLAG_RESIGNED = 1, 2, 4

REPLAY_DTYPE = np.dtype([
    ("hcp", np.uint8, 32), ("ply", "<u2"), ("move", "<u2"), ("outcome", "i1"), ("flags", "u1"),
    ("root_value", "<f4"), ("version", "<i4"), ("game_id", "<i8"), ("policy_start", "<u4"), ("policy_len", "<u2"),
])

_NAME = re.compile(r"^(?P<writer>[a-z0-9]+)-(?P<seq>\d{8})\.npz$")


class ShardError(ValueError):
    """A shard that cannot be read (the message names the file)."""


@dataclass
class ReplayShard:
    positions: np.ndarray  # REPLAY_DTYPE
    labels: np.ndarray  # uint16
    probs: np.ndarray  # float32


def write_shard(path: str | Path, shard: ReplayShard) -> Path:
    """Write ``shard`` to ``path`` atomically (DurableWriteError naming the file when the OS refuses)."""
    _check(shard, str(path))
    buf = io.BytesIO()
    np.savez(buf, positions=shard.positions, labels=shard.labels, probs=shard.probs)
    return atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def read_shard(path: str | Path) -> ReplayShard:
    """The shard at ``path``; ShardError (one line naming the file) when it is not a valid shard."""
    try:
        with np.load(path, allow_pickle=False) as data:
            shard = ReplayShard(data["positions"], data["labels"], data["probs"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ShardError(f"{path}: not a readable replay shard ({type(exc).__name__}: {exc})") from None
    _check(shard, str(path))
    return shard


def _check(shard: ReplayShard, where: str) -> None:
    p = shard.positions
    if p.dtype != REPLAY_DTYPE:
        raise ShardError(f"{where}: positions have dtype {p.dtype}, expected the replay record")
    if shard.labels.dtype != np.uint16 or shard.probs.dtype != np.float32 or len(shard.labels) != len(shard.probs):
        raise ShardError(f"{where}: policy arrays must be uint16 labels and float32 probs of one length")
    end = p["policy_start"].astype(np.int64) + p["policy_len"]
    if len(p) and (end.max() > len(shard.labels) or (p["policy_len"] == 0).any()):
        raise ShardError(f"{where}: a position's policy slice is empty or outside the policy arrays")
    if len(shard.labels) and shard.labels.max() >= 2187:
        raise ShardError(f"{where}: a policy label is outside 0..2186")


def list_shards(directory: str | Path) -> list[Path]:
    """The shard files of ``directory`` in scan order (by name); temp files and other files are not shards."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.match(p.name))


def next_shard_name(directory: str | Path, writer: str) -> Path:
    """``<writer>-<seq>.npz`` with seq one past the writer's last shard in ``directory`` (0 when none)."""
    if not re.fullmatch(r"[a-z0-9]+", writer):
        raise ValueError(f"writer must be lowercase letters and digits, got {writer!r}")
    seqs = [int(m["seq"]) for p in list_shards(directory) if (m := _NAME.match(p.name)) and m["writer"] == writer]
    return Path(directory) / f"{writer}-{max(seqs, default=-1) + 1:08d}.npz"
