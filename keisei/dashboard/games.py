"""A run's recorded games: self-play samples (``games/``) and evaluation games (``eval_games/``), as a
filterable index and as replays (every position, the moves, the result) with KIF/CSA downloads.

The index is built in a background thread and kept per file (modification time and size): a run with
10,000 records serves its first page at once and fills in the rest; a new record is indexed on the next
listing. A record that cannot be read is listed with its error, never dropped silently.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keisei.dashboard.runs import NotFound, PathRefused, inside
from keisei.shogi import load_record, record_text
from keisei.shogi.records import FORMATS

GAME_DIRS = (("games", "selfplay"), ("eval_games", "evaluation"))
SUFFIXES = tuple(f".{f}" for f in FORMATS)
HEADER_BYTES = 4096
_NAME_LINES = (re.compile(r"^先手[：:](.*)$"), re.compile(r"^後手[：:](.*)$"))
_CSA_NAMES = (re.compile(r"^N\+(.*)$"), re.compile(r"^N-(.*)$"))


@dataclass
class Entry:
    id: str  # the path relative to the run directory
    kind: str
    mtime: float
    size: int
    info: dict[str, Any] | None = None  # None until indexed


def _text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def record_names(path: Path) -> tuple[str, str]:
    """(black, white) from a KIF or CSA header ("" when absent)."""
    try:
        with path.open("rb") as fh:
            head = _text(fh.read(HEADER_BYTES))
    except OSError:
        return "", ""
    names = ["", ""]
    patterns = _CSA_NAMES if path.suffix == ".csa" else _NAME_LINES
    for line in head.splitlines():
        for k, pattern in enumerate(patterns):
            m = pattern.match(line.strip())
            if m and not names[k]:
                names[k] = m.group(1).strip()
    return names[0], names[1]


def describe(path: Path) -> dict[str, Any]:
    """What the list shows of one record: players, result, reason, plies (or the error reading it)."""
    black, white = record_names(path)
    try:
        game = load_record(path)
    except (ValueError, OSError) as exc:
        return {"black": black, "white": white, "result": "unreadable", "reason": "", "plies": 0,
                "error": str(exc).splitlines()[0][:300]}
    r = game.result
    return {"black": black, "white": white, "result": "unfinished" if r is None else (r.winner or "draw"),
            "reason": "" if r is None else r.reason, "plies": game.ply}


class GameIndex:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _scan(self) -> list[Entry]:
        found: dict[str, Entry] = {}
        for sub, kind in GAME_DIRS:
            directory = self.run_dir / sub
            if not directory.is_dir():
                continue
            for path in directory.rglob("*"):
                if path.suffix not in SUFFIXES or path.is_symlink() or not path.is_file():
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                rel = path.relative_to(self.run_dir).as_posix()
                old = self.entries.get(rel)
                keep = old is not None and old.mtime == st.st_mtime and old.size == st.st_size
                found[rel] = old if keep else Entry(rel, kind, st.st_mtime, st.st_size)
        with self._lock:
            self.entries = found
        return [e for e in found.values() if e.info is None]

    def _index(self, todo: list[Entry]) -> None:
        for entry in todo:
            entry.info = describe(self.run_dir / entry.id)

    def refresh(self, wait: bool = False) -> None:
        """Rescan the directories; index new records in the background (``wait``: in this thread)."""
        if self._thread is not None and self._thread.is_alive():
            if wait:
                self._thread.join()
            else:
                return
        todo = self._scan()
        if not todo:
            return
        if wait:
            self._index(todo)
            return
        self._thread = threading.Thread(target=self._index, args=(todo,), name="game-index", daemon=True)
        self._thread.start()

    def listing(self, *, kind: str = "", player: str = "", result: str = "", reason: str = "", min_plies: int = 0,
                max_plies: int | None = None, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        with self._lock:
            entries = list(self.entries.values())
        done = [e for e in entries if e.info is not None]
        rows = []
        for e in sorted(done, key=lambda e: (-e.mtime, e.id)):
            info = e.info or {}
            if kind and e.kind != kind:
                continue
            if player and player.lower() not in (info.get("black", "") + "\n" + info.get("white", "")).lower():
                continue
            if result and info.get("result") != result:
                continue
            if reason and info.get("reason") != reason:
                continue
            if info.get("plies", 0) < min_plies or (max_plies is not None and info.get("plies", 0) > max_plies):
                continue
            rows.append({"id": e.id, "kind": e.kind, "mtime": e.mtime, **info})
        return {"total": len(rows), "indexed": len(done), "records": len(entries), "offset": offset,
                "games": rows[offset: offset + limit],
                "reasons": sorted({(e.info or {}).get("reason", "") for e in done} - {""}),
                "results": sorted({(e.info or {}).get("result", "") for e in done} - {""})}


def game_path(run_dir: Path, game_id: str) -> Path:
    """The record file ``game_id`` names (a path under games/ or eval_games/), or NotFound/PathRefused."""
    if not game_id.startswith(tuple(f"{d}/" for d, _ in GAME_DIRS)) or not game_id.endswith(SUFFIXES):
        raise PathRefused(f"game {game_id!r}: not a record under games/ or eval_games/")
    path = inside(run_dir, game_id)
    if not path.is_file():
        raise NotFound(f"game {game_id!r}: no such record")
    return path


def replay(run_dir: Path, game_id: str) -> dict[str, Any]:
    """Every position of a recorded game (SFEN after each ply), its moves and result."""
    from keisei.shogi import Game

    path = game_path(run_dir, game_id)
    try:
        game = load_record(path)
    except (ValueError, OSError) as exc:
        raise ValueError(f"game {game_id!r}: {str(exc).splitlines()[0]}") from None
    black, white = record_names(path)
    walk = Game(game.start_sfen, max_plies=max(game.max_plies, game.ply + 1))
    sfens = [walk.sfen()]
    for move in game.moves:
        walk.push_usi(move)
        sfens.append(walk.sfen())
    r = game.result
    return {"id": game_id, "black": black, "white": white, "start_sfen": game.start_sfen, "moves": game.moves,
            "sfens": sfens, "result": None if r is None else (r.winner or "draw"),
            "reason": None if r is None else r.reason}


def download(run_dir: Path, game_id: str, fmt: str) -> tuple[bytes, str]:
    """The game as a KIF (UTF-8, "kifu") or CSA file: (bytes, file name)."""
    if fmt not in ("kif", "csa"):
        raise ValueError(f"fmt {fmt!r}: use kif or csa")
    path = game_path(run_dir, game_id)
    try:
        game = load_record(path)
    except (ValueError, OSError) as exc:
        raise ValueError(f"game {game_id!r}: {str(exc).splitlines()[0]}") from None
    names = record_names(path)
    out_fmt = "kifu" if fmt == "kif" else "csa"
    text = record_text(game, out_fmt, names if any(names) else None)
    return text.encode("utf-8"), f"{path.stem}.{'kifu' if fmt == 'kif' else 'csa'}"

