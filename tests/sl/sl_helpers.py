"""Small record files for the supervised-learning tests: random legal games written with cshogi's exporters."""

from __future__ import annotations

import random
from pathlib import Path

import cshogi
import numpy as np
from cshogi import CSA, KIF


def random_game(seed: int, plies: int) -> list[int]:
    """``plies`` random legal moves from the start position (fewer if the game ends first)."""
    rng = random.Random(seed)
    board = cshogi.Board()
    moves = []
    for _ in range(plies):
        legal = list(board.legal_moves)
        if not legal:
            break
        move = rng.choice(legal)
        moves.append(move)
        board.push(move)
    return moves


def write_csa(path: Path, games: list[list[int]], endgame: str = "%TORYO", names=("alice", "bob"),
              ratings: tuple[float, float] | None = None) -> Path:
    """A CSA file holding ``games`` (separated by ``/``), each ending with ``endgame`` ('' for none)."""
    exporter = CSA.Exporter(str(path))
    for moves in games:
        comment = f"black_rate:{names[0]}:{ratings[0]}\n'white_rate:{names[1]}:{ratings[1]}" if ratings else None
        exporter.info(cshogi.STARTING_SFEN, names=list(names), comment=comment, version="V2.2")
        for m in moves:
            exporter.move(m)
        if endgame:
            exporter.endgame(endgame)
    exporter.close()
    return path


def write_kif(path: Path, moves: list[int], reason: str = "resign") -> Path:
    """A KIF (.kif: cp932, .kifu: UTF-8, cshogi's convention) record of ``moves`` ending with ``reason``."""
    exporter = KIF.Exporter(str(path))
    exporter.header(["alice", "bob"])
    for m in moves:
        exporter.move(m)
    exporter.end(reason)
    exporter.close()
    return path


def write_hcpe(path: Path, games: list[list[int]], result: int = 1) -> Path:
    """An hcpe file: every position of ``games`` with its played move, eval 100 and ``gameResult``."""
    recs = []
    for moves in games:
        board = cshogi.Board()
        for m in moves:
            rec = np.zeros(1, cshogi.HuffmanCodedPosAndEval)
            board.to_hcp(rec["hcp"][0])
            rec["bestMove16"] = cshogi.move16(m)
            rec["eval"] = 100
            rec["gameResult"] = result
            recs.append(rec)
            board.push(m)
    np.concatenate(recs).tofile(path)
    return path
