"""Game records in bulk, for supervised learning: CSA, KIF/KIFU, dlshogi hcpe and hcpe3 files, search self-play
shards.

``iter_records(paths)`` walks files and directories and yields, in order, one ``RecordGame`` per game (per
block of hcpe records) or one ``RecordSkip`` per thing it could not use, naming the file, where in it (line,
byte offset or record index) and why. Nothing is dropped silently: every skip is yielded.

Formats (chosen by suffix; anything else in a directory is a ``unknown_type`` skip):

* ``.csa`` - one or more games separated by ``/`` lines, ``'`` comments, ``%`` endings; parsed per game by
  cshogi's native ``Parser`` (ratings from ``'black_rate:``/``'white_rate:`` lines).
* ``.kif`` / ``.kifu`` - one game per file, parsed by ``cshogi.KIF.Parser``. Encoding: a UTF-8 BOM or a
  ``#KIF ... encoding=`` header wins; otherwise strict UTF-8 is tried first for ``.kifu`` and Shift-JIS (cp932)
  first for ``.kif`` (the conventions), then the other one (content: valid UTF-8 is rarely valid cp932 text and
  the reverse); bytes that decode as neither are an ``encoding`` skip naming the first bad byte.
* ``.hcpe`` - dlshogi/Apery ``HuffmanCodedPosAndEval`` records of 38 bytes (hcp 32, eval i16 from the side to
  move, bestMove16, gameResult 0 draw / 1 black / 2 white, pad). Files hold positions, not games: consecutive
  ``HCPE_BLOCK`` records form one "game" for the train/validation split. A size that is not a multiple of 38
  keeps the whole records and skips the tail (``truncated_file``).
* ``.hcpe3`` - dlshogi per-game records: a 36-byte header (start hcp, moveNum u16, result u8: bits 0-1 draw 0 /
  black 1 / white 2, 4 repetition, 8 entering king, 16 max moves; opponent u8), then per move a 6-byte MoveInfo
  (selectedMove16, eval i16, candidateNum) followed by candidateNum 4-byte (move16, visits) entries. The played
  move is the policy target; visit counts are validated but not used.
* ``.npz`` - search self-play shards (keisei.shogi.replay, `<run>/replay`): one game per game id, its recorded
  positions with the move played there and the game's outcome (a game cut at the ply limit has none).

Every move is replayed on a cshogi Board and checked legal. A record with an illegal move is dropped whole
(``illegal_move``; its result is not trustworthy), naming the move's line (CSA), number (KIF) or byte offset.
This module never imports torch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cshogi
import numpy as np
from cshogi import KIF

__all__ = [
    "HCPE",
    "HCPE3_HEADER",
    "HCPE3_MOVE",
    "HCPE3_VISIT",
    "HCPE_BLOCK",
    "SUFFIXES",
    "RecordGame",
    "RecordSkip",
    "iter_records",
    "record_files",
]

SUFFIXES = {".csa": "csa", ".kif": "kif", ".kifu": "kif", ".hcpe": "hcpe", ".hcpe3": "hcpe3", ".npz": "replay"}
SIDE_FILES = frozenset({"errors.jsonl"})  # written beside records (`keisei records generate`): not records, not skips
HCPE = cshogi.HuffmanCodedPosAndEval  # 38 bytes
HCPE3_HEADER = np.dtype([("hcp", np.uint8, 32), ("moveNum", "<u2"), ("result", "u1"), ("opponent", "u1")])
HCPE3_MOVE = np.dtype([("selectedMove16", "<u2"), ("eval", "<i2"), ("candidateNum", "<u2")])
HCPE3_VISIT = np.dtype([("move16", "<u2"), ("visitNum", "<u2")])
HCPE_BLOCK = 256
_HCPE_CHUNK = 1 << 16  # records read from an hcpe file at a time (bounded memory)
_KIF_ENCODING_RE = re.compile(rb"^#KIF[^\n]*encoding=([A-Za-z0-9_-]+)", re.MULTILINE)


@dataclass
class RecordSkip:
    """Something that could not be used: ``source`` file, ``where`` in it, ``reason`` (a key), ``detail``."""

    source: str
    where: str
    reason: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.source}: {self.where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class RecordGame:
    """One game (or hcpe block) as positions: arrays of length n = positions with a played move.

    ``hcps`` u8[n,32] position before each move, ``moves`` u16[n] move16 played there, ``colors`` u8[n] side to
    move, ``keys`` u64[n] zobrist hash, ``winners`` i8[n] 0 black / 1 white / -1 draw or unknown, ``evals``
    i16[n] engine evaluation from the side to move (None when the format has none).
    """

    source: str
    where: str
    kind: str
    hcps: np.ndarray
    moves: np.ndarray
    colors: np.ndarray
    keys: np.ndarray
    winners: np.ndarray
    evals: np.ndarray | None = None
    plies: int = 0  # game length (hcpe: block length)
    truncated: bool = False  # the game has no decided result (interrupted, no ending, max moves)
    draw: bool = False
    ratings: tuple[float | None, float | None] = (None, None)
    names: tuple[str | None, str | None] = (None, None)
    split_key: bytes = field(default=b"")  # content identity, used for the train/validation split

    def __post_init__(self) -> None:
        if not self.split_key:
            h = hashlib.blake2b(digest_size=16)
            h.update(self.hcps[:1].tobytes())
            h.update(self.moves.tobytes())
            self.split_key = h.digest()


def record_files(paths: Iterable[str | Path]) -> Iterator[Path | RecordSkip]:
    """The files under ``paths`` (directories walked in sorted order); unknown suffixes in directories are skips.

    A path that does not exist, or a file named explicitly with an unknown suffix, raises ValueError.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                if sub.name.startswith(".") or sub.name in SIDE_FILES:
                    continue
                if sub.suffix.lower() in SUFFIXES:
                    yield sub
                else:
                    yield RecordSkip(str(sub), "file", "unknown_type", f"suffix {sub.suffix or '(none)'!r}")
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise ValueError(f"{path}: unknown record type {path.suffix or '(no suffix)'!r}; "
                                 f"use one of {', '.join(sorted(SUFFIXES))}")
            yield path
        else:
            raise ValueError(f"{path}: no such file or directory")


def iter_records(paths: Iterable[str | Path]) -> Iterator[RecordGame | RecordSkip]:
    """Every game of every record file under ``paths``, or a skip naming what could not be read."""
    for item in record_files(paths):
        if isinstance(item, RecordSkip):
            yield item
            continue
        kind = SUFFIXES[item.suffix.lower()]
        try:
            if item.stat().st_size == 0:
                yield RecordSkip(str(item), "file", "empty_file")
                continue
            yield from _READERS[kind](item)
        except OSError as exc:
            yield RecordSkip(str(item), "file", "unreadable", str(exc))


# -- replaying moves -----------------------------------------------------------------------------------------


class _Illegal(Exception):
    def __init__(self, index: int, detail: str) -> None:
        super().__init__(detail)
        self.index = index  # 0-based move index


def _replay(board: cshogi.Board, moves: Iterable[int], from16: bool = False) -> tuple[np.ndarray, ...]:
    """Play ``moves`` (cshogi ints or move16) from ``board``; -> (hcps, move16s, colors, keys). _Illegal if not."""
    moves = list(moves)
    n = len(moves)
    hcps = np.empty((n, 32), dtype=np.uint8)
    m16 = np.empty(n, dtype=np.uint16)
    colors = np.empty(n, dtype=np.uint8)
    keys = np.empty(n, dtype=np.uint64)
    for i, raw in enumerate(moves):
        move = (board.move_from_move16(int(raw)) if _valid16(int(raw)) else 0) if from16 else int(raw)
        if move == 0 or not board.is_legal(move):
            shown = cshogi.move_to_usi(move) if move else f"move16 {int(raw)}" if from16 else "malformed move"
            raise _Illegal(i, f"move {i + 1} {shown} is not legal in {board.sfen()}")
        board.to_hcp(hcps[i])
        m16[i] = cshogi.move16(move)
        colors[i] = board.turn
        keys[i] = board.zobrist_hash()
        board.push(move)
    return hcps, m16, colors, keys


def hcp_kings_valid(hcp: np.ndarray) -> np.ndarray:
    """Per HuffmanCodedPos (uint8 rows of 32): both king squares (bits 1-7 and 8-14) on the board and apart.

    cshogi's decoder indexes its tables with these squares unchecked: garbage there (e.g. all 0xFF bytes, a
    corrupt file) crashes the process instead of raising, so callers check this before ``Board.set_hcp``.
    """
    h = np.asarray(hcp, dtype=np.uint8).reshape(-1, 32)
    bits = h[:, 0].astype(np.uint16) | (h[:, 1].astype(np.uint16) << 8)
    black, white = (bits >> 1) & 0x7F, (bits >> 8) & 0x7F
    return (black < 81) & (white < 81) & (black != white)


def _valid16(m16: int) -> bool:
    """The move16 bit fields are in range (to < 81; from < 81, or a drop of piece type 1-7 without promotion)."""
    to, frm, promo = m16 & 0x7F, (m16 >> 7) & 0x7F, (m16 >> 14) & 1
    return m16 >> 15 == 0 and to < 81 and (frm < 81 or (81 <= frm < 88 and not promo))


def _winner_array(n: int, winner: int | None) -> np.ndarray:
    return np.full(n, -1 if winner is None else winner, dtype=np.int8)


# -- CSA -----------------------------------------------------------------------------------------------------

_CSA_TRUNCATED = {"", "%CHUDAN", "%MAX_MOVES"}
_CSA_DRAWS = {"%SENNICHITE", "%JISHOGI", "%HIKIWAKE"}


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def _read_csa(path: Path) -> Iterator[RecordGame | RecordSkip]:
    try:
        text = _decode_text(path.read_bytes())
    except UnicodeDecodeError as exc:
        yield RecordSkip(str(path), f"byte {exc.start}", "encoding", "neither UTF-8 nor Shift-JIS")
        return
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or lines[i].strip() == "/":
            chunk = lines[start:i]
            if any(ln.strip() for ln in chunk):
                yield _csa_game(path, chunk, start + 1)
            start = i + 1


def _csa_move_line(chunk: list[str], first_line: int, index: int) -> int:
    """The file line of the ``index``-th (0-based) move statement in a game chunk."""
    count = -1
    for offset, line in enumerate(chunk):
        if line.startswith("'"):
            continue
        for stmt in line.split(","):
            stmt = stmt.strip()
            if len(stmt) > 1 and stmt[0] in "+-" and stmt[1:2].isdigit():
                count += 1
                if count == index:
                    return first_line + offset
    return first_line


def _csa_game(path: Path, chunk: list[str], first_line: int) -> RecordGame | RecordSkip:
    where = f"line {first_line}"
    parser = cshogi.Parser()
    try:
        parser.parse_csa_str("\n".join(chunk) + "\n")
        sfen = parser.sfen
        board = cshogi.Board(sfen)
    except Exception as exc:  # noqa: BLE001 - cshogi raises ValueError, RuntimeError, IndexError
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return RecordSkip(str(path), where, "parse_error", detail[:200])
    try:
        hcps, m16, colors, keys = _replay(board, parser.moves)
    except _Illegal as exc:
        return RecordSkip(str(path), f"line {_csa_move_line(chunk, first_line, exc.index)}", "illegal_move", str(exc))
    endgame = parser.endgame.strip()
    winner = {cshogi.BLACK_WIN: 0, cshogi.WHITE_WIN: 1}.get(parser.win)
    truncated = endgame in _CSA_TRUNCATED
    draw = not truncated and (endgame in _CSA_DRAWS or winner is None)
    if endgame == "%TSUMI" or (truncated and board.is_game_over()):  # the side to move is mated
        winner, truncated, draw = 1 - board.turn, False, False
    if truncated or draw:
        winner = None
    ratings = tuple(float(r) if r else None for r in (list(parser.ratings) + [0.0, 0.0])[:2])
    names = tuple((list(parser.names) + ["", ""])[i] or None for i in (0, 1))
    return RecordGame(str(path), where, "csa", hcps, m16, colors, keys, _winner_array(len(m16), winner),
                      plies=len(m16), truncated=truncated, draw=draw, ratings=ratings, names=names)


# -- KIF -----------------------------------------------------------------------------------------------------


def _kif_text(path: Path, data: bytes) -> str:
    """Decode a KIF file by BOM / ``#KIF encoding=`` header / suffix convention, then by content."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    declared = _KIF_ENCODING_RE.search(data[:512])
    if declared is not None:
        name = declared.group(1).decode("ascii").lower()
        order = ["utf-8"] if name.replace("_", "-") in ("utf-8", "utf8") else ["cp932"]
    else:
        order = ["utf-8", "cp932"] if path.suffix.lower() == ".kifu" else ["cp932", "utf-8"]
    if order[0] == "cp932" and _looks_utf8(data):
        order = ["utf-8", "cp932"]  # content beats convention: real cp932 text is almost never valid UTF-8
    first_error: UnicodeDecodeError | None = None
    for encoding in order:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _looks_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(b >= 0x80 for b in data)


def _read_kif(path: Path) -> Iterator[RecordGame | RecordSkip]:
    data = path.read_bytes()
    try:
        text = _kif_text(path, data)
    except UnicodeDecodeError as exc:
        yield RecordSkip(str(path), f"byte {exc.start}", "encoding",
                         f"byte 0x{data[exc.start]:02x} is valid in neither UTF-8 nor Shift-JIS")
        return
    if "\ufffd" in text or not any(marker in text for marker in ("手数", "先手", "後手", "まで", "下手")):
        yield RecordSkip(str(path), "file", "parse_error", "no KIF header or move lines (wrong encoding or not KIF)")
        return
    try:
        parser = KIF.Parser.parse_str(text)
        board = cshogi.Board(parser.sfen)
    except Exception as exc:  # noqa: BLE001 - cshogi.KIF raises ParserException, KeyError, ValueError
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        yield RecordSkip(str(path), "file", "parse_error", detail[:200])
        return
    try:
        hcps, m16, colors, keys = _replay(board, parser.moves)
    except _Illegal as exc:
        yield RecordSkip(str(path), f"move {exc.index + 1}", "illegal_move", str(exc))
        return
    winner = {cshogi.BLACK_WIN: 0, cshogi.WHITE_WIN: 1}.get(parser.win)
    truncated = parser.win is None or parser.endgame == "%CHUDAN"
    if truncated and board.is_game_over():
        winner, truncated = 1 - board.turn, False
    draw = not truncated and winner is None
    names = tuple(n or None for n in parser.names)
    yield RecordGame(str(path), "file", "kif", hcps, m16, colors, keys, _winner_array(len(m16), winner),
                     plies=len(m16), truncated=truncated, draw=draw, names=names)


# -- hcpe ----------------------------------------------------------------------------------------------------


def _read_hcpe(path: Path) -> Iterator[RecordGame | RecordSkip]:
    size = path.stat().st_size
    count, tail = divmod(size, HCPE.itemsize)
    if count:
        data = np.memmap(path, dtype=HCPE, mode="r", shape=(count,))
        board = cshogi.Board()
        for lo in range(0, count, _HCPE_CHUNK):
            chunk = np.array(data[lo: lo + _HCPE_CHUNK])
            for b in range(0, len(chunk), HCPE_BLOCK):
                yield from _hcpe_block(path, board, chunk[b: b + HCPE_BLOCK], lo + b)
        del data
    if tail:
        yield RecordSkip(str(path), f"byte {count * HCPE.itemsize}", "truncated_file",
                         f"{size} bytes is not a multiple of the {HCPE.itemsize}-byte hcpe record; "
                         f"last {tail} bytes ignored")


def _hcpe_block(path: Path, board: cshogi.Board, recs: np.ndarray, first: int) -> Iterator[RecordGame | RecordSkip]:
    ok = np.zeros(len(recs), dtype=bool)
    colors = np.empty(len(recs), dtype=np.uint8)
    keys = np.empty(len(recs), dtype=np.uint64)
    kings_ok = hcp_kings_valid(recs["hcp"])
    for i in range(len(recs)):
        where = f"byte {(first + i) * HCPE.itemsize}"
        if not kings_ok[i]:
            yield RecordSkip(str(path), where, "bad_position", "king squares out of range (not a HuffmanCodedPos)")
            continue
        try:
            board.set_hcp(recs["hcp"][i])
        except RuntimeError as exc:
            yield RecordSkip(str(path), where, "bad_position", str(exc))
            continue
        raw = int(recs["bestMove16"][i]) & 0xFFFF
        move = board.move_from_move16(raw) if _valid16(raw) else 0
        if move == 0 or not board.is_legal(move):
            yield RecordSkip(str(path), where, "illegal_move",
                             f"bestMove16 {raw} is not legal in {board.sfen()}")
            continue
        result = int(recs["gameResult"][i])
        if result not in (0, 1, 2):
            yield RecordSkip(str(path), where, "bad_result", f"gameResult {result} (expected 0, 1 or 2)")
            continue
        ok[i] = True
        colors[i] = board.turn
        keys[i] = board.zobrist_hash()
    if not ok.any():
        return
    r = recs[ok]
    winners = np.where(r["gameResult"] == 0, -1, r["gameResult"].astype(np.int8) - 1).astype(np.int8)
    hcps = np.ascontiguousarray(r["hcp"])
    yield RecordGame(str(path), f"records {first}-{first + len(recs) - 1}", "hcpe", hcps,
                     r["bestMove16"].astype(np.uint16), colors[ok], keys[ok], winners,
                     evals=r["eval"].astype(np.int16), plies=int(ok.sum()), draw=False,
                     split_key=hashlib.blake2b(hcps.tobytes(), digest_size=16).digest())


# -- hcpe3 ---------------------------------------------------------------------------------------------------


def _read_hcpe3(path: Path) -> Iterator[RecordGame | RecordSkip]:
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    pos, size, index = 0, len(data), 0
    board = cshogi.Board()
    while pos < size:
        where = f"byte {pos} (game {index + 1})"
        if pos + HCPE3_HEADER.itemsize > size:
            yield RecordSkip(str(path), where, "truncated_file", f"{size - pos} bytes left, header needs "
                             f"{HCPE3_HEADER.itemsize}")
            return
        header = np.frombuffer(data[pos: pos + HCPE3_HEADER.itemsize].tobytes(), HCPE3_HEADER)[0]
        pos += HCPE3_HEADER.itemsize
        moves, evals = [], []
        for _ in range(int(header["moveNum"])):
            if pos + HCPE3_MOVE.itemsize > size:
                yield RecordSkip(str(path), where, "truncated_file", "game ends inside a move entry")
                return
            info = np.frombuffer(data[pos: pos + HCPE3_MOVE.itemsize].tobytes(), HCPE3_MOVE)[0]
            pos += HCPE3_MOVE.itemsize + HCPE3_VISIT.itemsize * int(info["candidateNum"])
            if pos > size:
                yield RecordSkip(str(path), where, "truncated_file", "game ends inside its visit counts")
                return
            moves.append(int(info["selectedMove16"]))
            evals.append(int(info["eval"]))
        index += 1
        yield _hcpe3_game(path, board, header, moves, evals, where)


def _hcpe3_game(path: Path, board: cshogi.Board, header: np.void, moves: list[int], evals: list[int],
                where: str) -> RecordGame | RecordSkip:
    hcp = np.array(header["hcp"], dtype=np.uint8)
    if not hcp_kings_valid(hcp)[0]:
        return RecordSkip(str(path), where, "bad_position", "king squares out of range (not a HuffmanCodedPos)")
    try:
        board.set_hcp(hcp)
    except RuntimeError as exc:
        return RecordSkip(str(path), where, "bad_position", str(exc))
    try:
        hcps, m16, colors, keys = _replay(board, moves, from16=True)
    except _Illegal as exc:
        return RecordSkip(str(path), where, "illegal_move", str(exc))
    result = int(header["result"])
    outcome = result & 3
    truncated = bool(result & 16) and outcome == 0
    winner = {1: 0, 2: 1}.get(outcome)
    return RecordGame(str(path), where, "hcpe3", hcps, m16, colors, keys, _winner_array(len(m16), winner),
                      evals=np.array(evals, dtype=np.int16), plies=len(m16), truncated=truncated,
                      draw=winner is None and not truncated)


# -- search self-play shards (keisei.shogi.replay) -------------------------------------------------------------


def _read_replay(path: Path) -> Iterator[RecordGame | RecordSkip]:
    """One RecordGame per game of a search self-play shard: its recorded (full-search) positions with the
    move played there (a playout cap leaves gaps between them) and the game's outcome."""
    from keisei.shogi.labels import LABEL_LUT
    from keisei.shogi.replay import FLAG_TRUNCATED, ShardError, read_shard

    try:
        pos = read_shard(path).positions
    except ShardError as exc:
        yield RecordSkip(str(path), "file", "bad_file", str(exc).split(": ", 1)[-1])
        return
    board = cshogi.Board()
    for game_id in np.unique(pos["game_id"]):
        rows = pos[pos["game_id"] == game_id]
        where = f"game {int(game_id)}"
        n = len(rows)
        m16, colors, keys = np.zeros(n, np.uint16), np.zeros(n, np.uint8), np.zeros(n, np.uint64)
        bad = None
        for i, row in enumerate(rows):
            if not hcp_kings_valid(row["hcp"])[0]:
                bad = RecordSkip(str(path), where, "bad_position", f"ply {int(row['ply'])}: not a HuffmanCodedPos")
                break
            board.set_hcp(row["hcp"])
            legal = np.fromiter(board.legal_moves, dtype=np.int64)
            hit = legal[LABEL_LUT[(legal & 0x7FFF) | (board.turn << 15)] == int(row["move"])]
            if len(hit) != 1:
                bad = RecordSkip(str(path), where, "illegal_move", f"ply {int(row['ply'])}: label {int(row['move'])}")
                break
            m16[i], colors[i], keys[i] = cshogi.move16(int(hit[0])), board.turn, board.zobrist_hash()
        if bad is not None:
            yield bad
            continue
        truncated = bool(rows["flags"][0] & FLAG_TRUNCATED)
        outcome = int(rows["outcome"][0])
        winner = None if truncated or outcome == 0 else (int(colors[0]) if outcome > 0 else 1 - int(colors[0]))
        yield RecordGame(str(path), where, "replay", np.ascontiguousarray(rows["hcp"]), m16, colors, keys,
                         _winner_array(n, winner), plies=int(rows["ply"].max()) + 1, truncated=truncated,
                         draw=winner is None and not truncated)


_READERS = {"csa": _read_csa, "kif": _read_kif, "hcpe": _read_hcpe, "hcpe3": _read_hcpe3, "replay": _read_replay}
