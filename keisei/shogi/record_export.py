"""Games in dlshogi's training formats: ``.hcpe`` (one 38-byte record per position) and ``.hcpe3`` (per game:
a 36-byte header, then per move a 6-byte MoveInfo and its (move16, visits) candidates).

Sources are what ``keisei.shogi.record_sources`` reads: CSA/KIF records (self-play samples under
``<run>/games``, evaluation games under ``<run>/eval_games``, teacher records), hcpe/hcpe3 files, and search
self-play shards (``<run>/replay``), whose improved policy becomes the visit distribution.

* **hcpe3.** The header holds the start position, the number of moves and the result (bits 0-1: 0 draw,
  1 black won, 2 white won; +16 when the game was cut at the ply limit, whose result is then unknown; dlshogi's
  ``GameResult`` and ``MAX_MOVES`` flag). A record game's moves each carry one candidate, the move played,
  with one visit (dlshogi's loader trains on positions with candidates only, and the played move is the
  target a record gives). A shard's position carries its improved policy as visits scaled to
  ``VISIT_SCALE`` in total (entries that round to 0 are left out); its ``eval`` is the search's root value
  converted to dlshogi's scale, ``eval = 756.08 * logit((v + 1) / 2)`` (the inverse of dlshogi's
  ``score_to_value``). A shard's recorded positions are consecutive only where every move had a full search
  (the playout cap leaves gaps), so each run of consecutive plies is one hcpe3 game.
* **hcpe.** One record per position: the position, ``eval`` (0 when the record has none), the move played
  (``bestMove16``) and the game's result (0 draw, 1 black won, 2 white won). The format has no "unknown
  result": positions of games cut at the ply limit (or interrupted) are left out and counted, never written
  as draws.

This module never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cshogi
import numpy as np

from keisei.shogi.record_sources import (
    HCPE,
    HCPE3_HEADER,
    HCPE3_MOVE,
    HCPE3_VISIT,
    RecordGame,
    RecordSkip,
    hcp_kings_valid,
    iter_records,
    record_files,
)

__all__ = ["EVAL_COEF", "VISIT_SCALE", "ExportCounts", "NoGamesError", "export_records", "run_sources",
           "value_to_eval"]

VISIT_SCALE = 10_000  # a shard policy's visits sum to about this (hcpe3 visit counts are uint16)
EVAL_COEF = 756.0864962951762  # dlshogi's score_to_value: value = sigmoid(eval / EVAL_COEF)
EVAL_LIMIT = 30_000
RUN_SUBDIRS = ("games", "eval_games", "replay")  # where a run directory keeps records


def value_to_eval(value: float) -> int:
    """A value in [-1, 1] (side to move) as dlshogi's eval (int16, side to move)."""
    p = (value + 1.0) / 2.0
    if p <= 0.0 or p >= 1.0:  # a certain loss or win (a mate found by the search)
        return EVAL_LIMIT if p >= 1.0 else -EVAL_LIMIT
    return int(max(-EVAL_LIMIT, min(EVAL_LIMIT, round(EVAL_COEF * math.log(p / (1.0 - p))))))


@dataclass
class ExportCounts:
    games: int = 0
    positions: int = 0
    truncated_skipped: int = 0  # hcpe only: games without a result, left out
    skips: list[RecordSkip] = field(default_factory=list)


def run_sources(paths: Iterable[str | Path]) -> list[Path]:
    """``paths`` with each run directory (it has config.toml or checkpoints/) replaced by its record folders."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and ((path / "config.toml").is_file() or (path / "checkpoints").is_dir()):
            out += [path / sub for sub in RUN_SUBDIRS if (path / sub).is_dir()]
        else:
            out.append(path)
    return out


@dataclass
class _Game:
    """One game to write: start position, move16s, evals, per-move candidates, result byte (hcpe3 style)."""

    hcp: np.ndarray
    hcps: np.ndarray
    moves: np.ndarray
    evals: np.ndarray
    candidates: list[tuple[np.ndarray, np.ndarray]]  # per move: (move16s, visits)
    result: int


def _result_byte(winner: int | None, truncated: bool) -> int:
    if truncated:
        return 16
    return {None: 0, 0: 1, 1: 2}[winner]


def _from_record(game: RecordGame) -> _Game:
    winner = None if game.winners[0] < 0 else int(game.winners[0])
    evals = game.evals if game.evals is not None else np.zeros(len(game.moves), np.int16)
    one = np.ones(1, np.uint16)
    return _Game(game.hcps[0], game.hcps, game.moves, evals,
                 [(np.array([m], np.uint16), one) for m in game.moves], _result_byte(winner, game.truncated))


def _from_shard(path: Path) -> Iterator[_Game | RecordSkip]:
    """Each run of consecutive recorded plies of each game of a search self-play shard."""
    from keisei.shogi.labels import LABEL_LUT
    from keisei.shogi.replay import FLAG_TRUNCATED, ShardError, read_shard

    try:
        shard = read_shard(path)
    except ShardError as exc:
        yield RecordSkip(str(path), "file", "bad_file", str(exc).split(": ", 1)[-1])
        return
    pos = shard.positions
    board = cshogi.Board()
    for game_id in np.unique(pos["game_id"]):
        idx = np.flatnonzero(pos["game_id"] == game_id)
        idx = idx[np.argsort(pos["ply"][idx], kind="stable")]
        where = f"game {int(game_id)}"
        truncated = bool(pos["flags"][idx[0]] & FLAG_TRUNCATED)
        breaks = np.flatnonzero(np.diff(pos["ply"][idx].astype(np.int64)) != 1) + 1
        for run in np.split(idx, breaks):
            rows = pos[run]
            n = len(rows)
            m16, evals, cands, bad = np.zeros(n, np.uint16), np.zeros(n, np.int16), [], None
            winner = None
            for i, row in enumerate(rows):
                if not hcp_kings_valid(row["hcp"])[0]:
                    bad = RecordSkip(str(path), where, "bad_position", f"ply {int(row['ply'])}: not a HuffmanCodedPos")
                    break
                board.set_hcp(row["hcp"])
                legal = np.fromiter(board.legal_moves, dtype=np.int64)
                labels = LABEL_LUT[(legal & 0x7FFF) | (board.turn << 15)]
                hit = legal[labels == int(row["move"])]
                if len(hit) != 1:
                    bad = RecordSkip(str(path), where, "illegal_move", f"ply {int(row['ply'])}: label {int(row['move'])}")
                    break
                m16[i] = cshogi.move16(int(hit[0]))
                evals[i] = value_to_eval(float(row["root_value"]))
                start, length = int(row["policy_start"]), int(row["policy_len"])
                visits = np.rint(shard.probs[start: start + length].astype(np.float64) * VISIT_SCALE)
                by_label = dict(zip(shard.labels[start: start + length].tolist(), visits.tolist()))
                moves16 = np.array([cshogi.move16(int(m)) for m in legal], np.uint16)
                counts = np.array([by_label.get(int(lab), 0.0) for lab in labels], np.float64)
                keep = counts >= 1
                cands.append((moves16[keep], counts[keep].astype(np.uint16)))
                outcome = int(row["outcome"])
                if i == 0 and outcome != 0:
                    winner = int(board.turn) if outcome > 0 else 1 - int(board.turn)
            if bad is not None:
                yield bad
                break
            yield _Game(rows["hcp"][0], np.ascontiguousarray(rows["hcp"]), m16, evals, cands,
                        _result_byte(winner, truncated))


def _games(paths: Iterable[str | Path], counts: ExportCounts) -> Iterator[_Game]:
    for item in record_files(run_sources(paths)):
        if isinstance(item, RecordSkip):
            counts.skips.append(item)
            continue
        source = _from_shard(item) if item.suffix.lower() == ".npz" else iter_records([item])
        for game in source:
            if isinstance(game, RecordSkip):
                counts.skips.append(game)
            else:
                yield game if isinstance(game, _Game) else _from_record(game)


def _write_hcpe3(fh: BinaryIO, game: _Game) -> None:
    header = np.zeros(1, HCPE3_HEADER)
    header["hcp"], header["moveNum"], header["result"] = game.hcp, len(game.moves), game.result
    parts = [header.tobytes()]
    for i, (moves16, visits) in enumerate(game.candidates):
        info = np.zeros(1, HCPE3_MOVE)
        info["selectedMove16"], info["eval"], info["candidateNum"] = game.moves[i], game.evals[i], len(moves16)
        cand = np.zeros(len(moves16), HCPE3_VISIT)
        cand["move16"], cand["visitNum"] = moves16, visits
        parts += [info.tobytes(), cand.tobytes()]
    fh.write(b"".join(parts))


def _write_hcpe(fh: BinaryIO, game: _Game) -> None:
    rows = np.zeros(len(game.moves), HCPE)
    rows["hcp"], rows["eval"], rows["gameResult"] = game.hcps, game.evals, game.result & 3
    rows["bestMove16"] = game.moves.astype(np.int16)  # cshogi's dtype declares it signed; the bits are move16
    fh.write(rows.tobytes())


def export_records(paths: Iterable[str | Path], fmt: str, write_to: Callable[[Callable[[BinaryIO], None]], object]
                   ) -> ExportCounts:
    """Stream every game under ``paths`` in ``fmt`` (``hcpe3`` or ``hcpe``) through ``write_to(writer)``, which
    calls ``writer(fh)`` with an open binary file (``keisei.atomic.atomic_write`` in the CLI). NoGamesError
    (raised inside the writer, so an atomic writer keeps the target as it was) when nothing was written."""
    if fmt not in ("hcpe3", "hcpe"):
        raise ValueError(f"--format {fmt!r}: expected hcpe3 or hcpe")
    counts = ExportCounts()

    def writer(fh: BinaryIO) -> None:
        for game in _games(paths, counts):
            if not len(game.moves):
                continue
            if fmt == "hcpe" and game.result & 16:
                counts.truncated_skipped += 1
                continue
            (_write_hcpe3 if fmt == "hcpe3" else _write_hcpe)(fh, game)
            counts.games += 1
            counts.positions += len(game.moves)
        if not counts.games:
            raise NoGamesError(counts)  # the writer's temp file is dropped: an existing target stays as it was

    write_to(writer)
    return counts


class NoGamesError(ValueError):
    """Nothing to export: no game had a position to write (``counts`` says what was skipped)."""

    def __init__(self, counts: ExportCounts) -> None:
        super().__init__("no game to export")
        self.counts = counts
