"""The on-disk supervised training set: filtered positions from game records in memory-mapped .npy shards.

Layout of ``DIR`` (normally ``<run>/data``)::

    manifest.json     format, record dtype, shards per split, counts, filters, records digest
    train/00000.npy   numpy arrays of SL_DTYPE (np.load(..., mmap_mode="r")), shard_positions records each
    val/00000.npy     the validation split: whole games, never single positions of a training game
    skipped.tsv       file <TAB> where <TAB> reason <TAB> detail, one line per record or file not used

A record (``SL_DTYPE``, 40 bytes): ``hcp`` the position (cshogi HuffmanCodedPos, 32 bytes), ``move16`` the move
played there, ``label`` its dlshogi move label (0..2186), ``result`` the game result from the side to move
(1 win, 0 draw, -1 loss), ``flags`` (bit 0: ``eval`` is set), ``eval`` an engine evaluation in centipawns from
the side to move (hcpe/hcpe3 only).

Building streams: one record file at a time, positions buffered up to one shard per split, so memory is
bounded by the shard size plus the duplicate filter's set of 64-bit position keys (about 60 bytes per kept
position). Everything is written into a temporary directory beside ``DIR`` that is renamed into place at the
end: a crash leaves the old set (or none), never a half-written one. The split is by game: a game goes to
validation when the first 64 bits of a hash of its content fall below ``val_fraction`` (hcpe files have no
games; blocks of HCPE_BLOCK consecutive records stand in for them).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keisei.atomic import atomic_write, atomic_write_text
from keisei.config import SLConfig
from keisei.errors import KeiseiError
from keisei.shogi.labels import move_labels
from keisei.shogi.record_sources import RecordGame, RecordSkip, iter_records, record_files

__all__ = ["FLAG_EVAL", "FORMAT", "SL_DTYPE", "BuildReport", "DatasetError", "build_dataset", "load_manifest"]

FORMAT = "keisei-sl-v1"
SL_DTYPE = np.dtype([("hcp", np.uint8, 32), ("move16", "<u2"), ("label", "<u2"), ("result", "i1"),
                     ("flags", "u1"), ("eval", "<i2")])
FLAG_EVAL = 1
SPLITS = ("train", "val")
_FILTER_KEYS = ("min_plies", "min_rating", "keep_draws", "dedup", "val_fraction", "shard_positions")


class DatasetError(KeiseiError, ValueError):
    """The records give no usable training set, or a dataset directory is unusable."""


@dataclass
class BuildReport:
    """What a build read, kept and skipped (also stored in manifest.json under ``counts``)."""

    games_read: int = 0
    games_kept: int = 0
    positions_read: int = 0
    positions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    games: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    skipped: Counter = field(default_factory=Counter)  # records/files/games not used, by reason
    dropped_positions: Counter = field(default_factory=Counter)  # positions of kept games not used, by reason
    first_skips: list[str] = field(default_factory=list)
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"games_read": self.games_read, "games_kept": self.games_kept, "positions_read": self.positions_read,
                "positions": dict(self.positions), "games": dict(self.games), "skipped": dict(self.skipped),
                "dropped_positions": dict(self.dropped_positions)}

    def lines(self) -> list[str]:
        kept = self.positions["train"] + self.positions["val"]
        out = [(f"read {self.games_read:,} games ({self.positions_read:,} positions); kept {self.games_kept:,} games, "
               f"{kept:,} positions (train {self.positions['train']:,} in {self.games['train']:,} games, "
               f"validation {self.positions['val']:,} in {self.games['val']:,} games)")]
        if self.skipped:
            out.append("skipped: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items())))
        if self.dropped_positions:
            out.append("positions dropped: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.dropped_positions.items())))
        return out


class _ShardWriter:
    """Buffers records of one split and writes a .npy shard each time ``size`` have accumulated."""

    def __init__(self, directory: Path, size: int) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.buf = np.zeros(size, dtype=SL_DTYPE)
        self.n = 0
        self.shards: list[dict[str, Any]] = []

    def add(self, recs: np.ndarray) -> None:
        while len(recs):
            take = min(len(recs), len(self.buf) - self.n)
            self.buf[self.n: self.n + take] = recs[:take]
            self.n += take
            recs = recs[take:]
            if self.n == len(self.buf):
                self.flush()

    def flush(self) -> None:
        if self.n == 0:
            return
        name = f"{len(self.shards):05d}.npy"
        data = self.buf[: self.n]
        atomic_write(self.dir / name, lambda fh: np.save(fh, data, allow_pickle=False))
        self.shards.append({"file": f"{self.dir.name}/{name}", "positions": int(self.n)})
        self.n = 0


def records_digest(paths: Sequence[str | Path]) -> tuple[str, int]:
    """sha256 over the bytes of every record file under ``paths`` (in reading order); -> (hex, file count)."""
    digest, count = hashlib.sha256(), 0
    for item in record_files(paths):
        if isinstance(item, RecordSkip):
            continue
        count += 1
        with item.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest(), count


def load_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a built dataset; DatasetError naming the file when missing or not ours."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise DatasetError(f"{path}: no dataset manifest (build one with keisei sl --records ...)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def _build_key(digest: str, cfg: SLConfig) -> str:
    filters = {k: getattr(cfg, k) for k in _FILTER_KEYS}
    return hashlib.sha256(json.dumps([digest, filters], sort_keys=True).encode()).hexdigest()


def _positions(game: RecordGame, keep: np.ndarray) -> np.ndarray:
    recs = np.zeros(int(keep.sum()), dtype=SL_DTYPE)
    colors = game.colors[keep]
    winners = game.winners[keep]
    recs["hcp"] = game.hcps[keep]
    recs["move16"] = game.moves[keep]
    recs["label"] = move_labels(game.moves[keep].astype(np.int64), colors.astype(np.int64))
    recs["result"] = np.where(winners < 0, 0, np.where(winners == colors, 1, -1))
    if game.evals is not None:
        recs["eval"] = game.evals[keep]
        recs["flags"] = FLAG_EVAL
    return recs


def _game_filter(game: RecordGame, cfg: SLConfig) -> str | None:
    """The reason a whole game is not used, or None."""
    if game.kind in ("hcpe",):
        return None
    if game.truncated:
        return "truncated"
    if game.plies < cfg.min_plies:
        return "short"
    if cfg.min_rating > 0 and any(r is not None and r < cfg.min_rating for r in game.ratings):
        return "low_rating"
    if game.draw and not cfg.keep_draws:
        return "draw"
    return None


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True, disable=not sys.stderr.isatty())


def check_record_inputs(paths: Sequence[str | Path]) -> list[Path | RecordSkip]:
    """The record files under ``paths`` (and the skips); DatasetError naming the path when there are none or a
    file has an unknown type. ``keisei sl`` calls it before it creates anything."""
    items = list(record_files(paths))
    if not any(not isinstance(p, RecordSkip) for p in items):
        raise DatasetError(f"no record files (.csa .kif .kifu .hcpe .hcpe3) in {', '.join(map(str, paths))}")
    return items


def build_dataset(paths: Sequence[str | Path], out_dir: str | Path, cfg: SLConfig, *,
                  rebuild: bool = False) -> tuple[dict[str, Any], BuildReport]:
    """Build (or reuse, when built from the same records and filters) the training set at ``out_dir``."""
    out_dir = Path(out_dir)
    items = check_record_inputs(paths)
    files = [p for p in items if not isinstance(p, RecordSkip)]
    digest, _ = records_digest(paths)
    key = _build_key(digest, cfg)
    if out_dir.exists() and not rebuild:
        try:
            old = load_manifest(out_dir)
        except DatasetError:
            old = {}
        if old.get("build_key") == key:
            report = BuildReport(reused=True)
            c = old["counts"]
            report.games_read, report.games_kept, report.positions_read = c["games_read"], c["games_kept"], c["positions_read"]
            report.positions, report.games = c["positions"], c["games"]
            report.skipped, report.dropped_positions = Counter(c["skipped"]), Counter(c["dropped_positions"])
            return old, report
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        manifest, report = _build_into(paths, tmp, cfg, len(items))
        manifest.update(build_key=key, records_digest=digest, record_files=len(files))
        atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=1) + "\n")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest, report


def _replace_dir(new: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{new.name[-8:]}"
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build_into(paths: Sequence[str | Path], tmp: Path, cfg: SLConfig, nfiles: int) -> tuple[dict, BuildReport]:
    report = BuildReport()
    writers = {s: _ShardWriter(tmp / s, cfg.shard_positions) for s in SPLITS}
    seen: set[int] = set()
    threshold = int(cfg.val_fraction * 2**64)
    with open(tmp / "skipped.tsv", "w", encoding="utf-8") as skipped, _progress() as bar:
        task = bar.add_task("reading records", total=nfiles)
        current = None
        for item in iter_records(paths):
            if item.source != current:
                if current is not None:
                    bar.advance(task)
                current = item.source
            if isinstance(item, RecordSkip):
                _skip(report, skipped, item)
                continue
            report.games_read += 1
            report.positions_read += len(item.moves)
            reason = _game_filter(item, cfg)
            if reason is not None:
                _skip(report, skipped, RecordSkip(item.source, item.where, reason))
                continue
            keep = np.ones(len(item.moves), dtype=bool)
            if not cfg.keep_draws and item.kind == "hcpe":
                draws = item.winners < 0
                report.dropped_positions["draw"] += int(draws.sum())
                keep &= ~draws
            if cfg.dedup:
                for i, k in enumerate(item.keys.tolist()):
                    if keep[i]:
                        if k in seen:
                            keep[i] = False
                            report.dropped_positions["duplicate"] += 1
                        else:
                            seen.add(k)
            if not keep.any():
                _skip(report, skipped, RecordSkip(item.source, item.where, "all_positions_dropped"))
                continue
            split = "val" if int.from_bytes(item.split_key[:8], "little") < threshold else "train"
            writers[split].add(_positions(item, keep))
            report.games_kept += 1
            report.games[split] += 1
            report.positions[split] += int(keep.sum())
        if current is not None:
            bar.advance(task)
    for w in writers.values():
        w.flush()
    if report.positions["train"] == 0:
        first = f"; first: {report.first_skips[0]}" if report.first_skips else ""
        why = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "no positions"
        raise DatasetError(f"no training positions from {', '.join(map(str, paths))} ({why}){first}")
    manifest = {"format": FORMAT, "dtype": SL_DTYPE.descr, "record_bytes": SL_DTYPE.itemsize,
                "shards": {s: writers[s].shards for s in SPLITS}, "counts": report.to_json(),
                "filters": {k: getattr(cfg, k) for k in _FILTER_KEYS}}
    return manifest, report


def _skip(report: BuildReport, out: io.TextIOBase, skip: RecordSkip) -> None:
    report.skipped[skip.reason] += 1
    if len(report.first_skips) < 5:
        report.first_skips.append(skip.line())
    detail = skip.detail.replace("\t", " ").replace("\n", " ")
    out.write(f"{skip.source}\t{skip.where}\t{skip.reason}\t{detail}\n")
