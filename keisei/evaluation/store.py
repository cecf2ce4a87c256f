"""The game store: every evaluation game and the agent's rating snapshots in one SQLite file (WAL mode).

One transaction per recorded game. A ``GameStore`` may be shared by threads (one connection behind a lock);
several processes may open the same file: in WAL mode readers never block the writer and see only committed
transactions, and writers wait for each other (busy timeout). A write that fails because the file
cannot be written (disk full, file too large, read-only file or file system, cannot be created, I/O error)
raises ``DurableWriteError`` naming the file (the CLI's exit 4; fatal to training): the store is a durable
file of the run, like its checkpoints. When it cannot even be opened for writing that is ``StoreOpenError``
(exit 2 in `keisei evaluate`, like other OS errors at the start; still fatal to training).
``GameStore(path, readonly=True)`` opens an
existing store for reading only (``keisei ratings`` on a run directory it cannot write): SQLite's
``mode=ro``, and on a read-only file system, where the WAL index cannot be created, ``immutable=1`` when no
WAL file shows a writer.
"""

from __future__ import annotations

import errno
import json
import math
import operator
import os
import sqlite3
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from keisei.errors import EXIT_USAGE, DurableWriteError

STORE_FILE = "evaluation.sqlite"  # a run directory's game store
RESULTS = ("black", "white", "draw", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS games (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp REAL NOT NULL,
    black TEXT NOT NULL,
    white TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('black', 'white', 'draw', 'error')),
    reason TEXT NOT NULL,
    plies INTEGER NOT NULL,
    opening TEXT,
    evaluation_id TEXT,
    black_version INTEGER,
    white_version INTEGER,
    timestep INTEGER,
    extra_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS games_black ON games (black);
CREATE INDEX IF NOT EXISTS games_white ON games (white);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp REAL NOT NULL,
    player TEXT NOT NULL,
    timestep INTEGER NOT NULL,
    elo REAL NOT NULL,
    low REAL,
    high REAL,
    games INTEGER,
    model_version INTEGER,
    sha256 TEXT
);
CREATE INDEX IF NOT EXISTS ratings_player ON ratings (player, timestep);
"""

_GAME_COLUMNS = (
    "id, timestamp, black, white, result, reason, plies, opening, evaluation_id, "
    "black_version, white_version, timestep, extra_json"
)


class StoreOpenError(DurableWriteError):
    """The store cannot be opened for writing (created, or its WAL files made): like any OS error at the start
    of a command, exit 2 (`keisei evaluate`); training stops on it as on every DurableWriteError (exit 4)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class GameRow:
    """One stored game; ``result`` is the winner's colour, "draw" or "error"."""

    id: int
    timestamp: float
    black: str
    white: str
    result: str
    reason: str
    plies: int
    opening: str | None
    evaluation_id: str | None
    black_version: int | None
    white_version: int | None
    timestep: int | None
    extra: dict[str, Any]


@dataclass(frozen=True)
class RatingPoint:
    """A rating snapshot of ``player`` at training ``timestep`` (``low``/``high``: 95% interval or None;
    ``games``: the player's games in the fit, None in stores written before it was recorded)."""

    player: str
    timestep: int
    elo: float
    low: float | None
    high: float | None
    timestamp: float
    games: int | None = None
    model_version: int | None = None  # the rated weights' version and hash, when recorded
    sha256: str | None = None


class GameStore:
    """A SQLite game store at ``path`` (created with its tables when missing); a context manager."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0, readonly: bool = False,
                 immutable: bool = False) -> None:
        """``immutable`` (with ``readonly``): the caller knows no process writes the store now (SQLite's
        ``immutable=1``: no lock, no -shm index file created: not one byte written next to the store)."""
        self.path = Path(path)
        self.immutable = immutable
        self.readonly = readonly
        self._lock = threading.Lock()
        if readonly:
            self._conn = self._open_readonly(busy_timeout)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise _write_failure(self.path, exc, StoreOpenError) or ValueError(
                f"game store {self.path}: cannot open ({exc})") from None
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"journal_mode is {mode!r}, WAL was refused")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                _add_missing_columns(self._conn, "ratings",
                                     {"games": "INTEGER", "model_version": "INTEGER", "sha256": "TEXT"})
        except (sqlite3.DatabaseError, DurableWriteError) as exc:
            self._conn.close()
            if isinstance(exc, DurableWriteError):
                raise StoreOpenError(exc.path, exc.reason) from exc
            raise _write_failure(self.path, exc, StoreOpenError) or ValueError(
                f"game store {self.path}: cannot open ({exc})") from None

    def _open_readonly(self, busy_timeout: float) -> sqlite3.Connection:
        if not self.path.is_file():
            raise ValueError(f"game store {self.path}: cannot open read-only (no such file)")
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        wal = self.path.with_name(self.path.name + "-wal")
        if self.immutable:
            attempts = [uri + "&immutable=1"]
        else:
            attempts = [uri] if wal.exists() else [uri, uri + "&immutable=1"]  # no WAL file: no writer
        error: sqlite3.Error | None = None
        for target in attempts:
            conn = None
            try:
                conn = sqlite3.connect(target, uri=True, timeout=busy_timeout, check_same_thread=False,
                                       isolation_level=None)
                conn.execute("SELECT count(*) FROM games").fetchone()
                return conn
            except sqlite3.Error as exc:
                error = exc
                if conn is not None:
                    conn.close()
        raise ValueError(f"game store {self.path}: cannot open read-only ({error})") from None

    def _rating_columns(self) -> set[str]:
        return {row[1] for row in self._conn.execute("PRAGMA table_info(ratings)").fetchall()}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    @property
    def journal_mode(self) -> str:
        with self._lock:
            return self._conn.execute("PRAGMA journal_mode").fetchone()[0]

    def record_game(
        self,
        *,
        black: str,
        white: str,
        result: str,
        reason: str,
        plies: int,
        opening: str | None = None,
        evaluation_id: str | None = None,
        black_version: int | None = None,
        white_version: int | None = None,
        timestep: int | None = None,
        extra: dict[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> int:
        """Store one game in its own transaction; -> its id. ValueError naming a bad field."""
        self._writable("record_game")
        for field, value in (("black", black), ("white", white), ("reason", reason)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"record_game: {field} must be a non-empty string, got {value!r}")
        if result not in RESULTS:
            raise ValueError(f"record_game: result must be one of {RESULTS}, got {result!r}")
        plies = _non_negative_int("record_game", "plies", plies)
        if timestep is not None:
            timestep = _non_negative_int("record_game", "timestep", timestep)
        try:
            extra_json = json.dumps(extra or {}, sort_keys=True)
        except TypeError as exc:
            raise ValueError(f"record_game: extra must be JSON-serialisable ({exc})") from None
        row = (
            time.time() if timestamp is None else timestamp, black, white, result, reason, plies, opening,
            evaluation_id, black_version, white_version, timestep, extra_json,
        )
        with self._lock, self._transaction():
            cursor = self._conn.execute(
                f"INSERT INTO games ({_GAME_COLUMNS.removeprefix('id, ')}) VALUES ({', '.join('?' * 12)})", row
            )
            return int(cursor.lastrowid)

    def games(self, player: str | None = None) -> list[GameRow]:
        """All games in insertion order, or those where ``player`` had either colour."""
        query = f"SELECT {_GAME_COLUMNS} FROM games"
        args: tuple[str, ...] = ()
        if player is not None:
            query += " WHERE black = ? OR white = ?"
            args = (player, player)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id", args).fetchall()
        return [GameRow(*row[:-1], extra=json.loads(row[-1])) for row in rows]

    def players(self) -> list[str]:
        """Every player name in the games, sorted."""
        with self._lock:
            rows = self._conn.execute("SELECT black FROM games UNION SELECT white FROM games").fetchall()
        return sorted(name for (name,) in rows)

    def record_rating(
        self, player: str, timestep: int, elo: float, low: float | None = None, high: float | None = None,
        games: int | None = None, *, model_version: int | None = None, sha256: str | None = None,
    ) -> None:
        """Store a rating snapshot of ``player`` at training ``timestep`` (``games``: its games in the fit; the
        rated weights' version and hash when known)."""
        self._writable("record_rating")
        if not isinstance(player, str) or not player:
            raise ValueError(f"record_rating: player must be a non-empty string, got {player!r}")
        step = _non_negative_int("record_rating", "timestep", timestep)
        if not math.isfinite(elo):
            raise ValueError(f"record_rating: elo must be finite, got {elo!r} (is {player} connected?)")
        if games is not None:
            games = _non_negative_int("record_rating", "games", games)
        with self._lock, self._transaction():
            self._conn.execute(
                "INSERT INTO ratings (timestamp, player, timestep, elo, low, high, games, model_version, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), player, step, float(elo), _finite_or_none(low), _finite_or_none(high), games,
                 None if model_version is None else int(model_version), sha256),
            )

    def rating_history(self, player_prefix: str = "") -> list[RatingPoint]:
        """Rating snapshots of players whose name starts with ``player_prefix``, by timestep then time."""
        with self._lock:
            have = self._rating_columns()  # a read-only store from an older Keisei may lack some columns
            optional = ", ".join(c if c in have else "NULL" for c in ("games", "model_version", "sha256"))
            rows = self._conn.execute(
                f"SELECT player, timestep, elo, low, high, timestamp, {optional} FROM ratings "
                "WHERE substr(player, 1, ?) = ? ORDER BY timestep, id",
                (len(player_prefix), player_prefix),
            ).fetchall()
        return [RatingPoint(*row) for row in rows]

    def _writable(self, where: str) -> None:
        if self.readonly:
            raise ValueError(f"{where}: game store {self.path} was opened read-only")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn, self.path)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection; a failed write raises
    DurableWriteError naming the store file."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    def __enter__(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _write_failure(self._path, exc) or exc

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            if exc_type is not None:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            else:
                self._conn.execute("COMMIT")
        except sqlite3.Error as commit_exc:
            if exc is None:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise _write_failure(self._path, commit_exc) or commit_exc from None
        if isinstance(exc, sqlite3.Error) and (failure := _write_failure(self._path, exc)) is not None:
            raise failure from exc


# SQLite result codes (primary: the extended ones share the prefix) that mean "this file cannot be written".
_WRITE_FAILURES = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")


def _write_failure(path: Path, exc: sqlite3.Error,
                   kind: type[DurableWriteError] = DurableWriteError) -> DurableWriteError | None:
    """DurableWriteError naming ``path`` when ``exc`` means the file cannot be written, else None. SQLite's
    message does not say why (it has the same words for ENOSPC and EFBIG): a file system with no space left,
    a read-only one and a directory in the store's place are named before it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])
    if primary not in _WRITE_FAILURES:
        return None
    cause = None
    try:
        st = os.statvfs(path.resolve().parent)  # a symlinked store: the file system it really is on
        if primary == "SQLITE_FULL" and st.f_bavail * st.f_frsize < 64 * 1024:
            cause = errno.ENOSPC
        elif primary in ("SQLITE_CANTOPEN", "SQLITE_READONLY") and st.f_flag & os.ST_RDONLY:
            cause = errno.EROFS
        elif primary == "SQLITE_CANTOPEN" and path.is_dir():
            cause = errno.EISDIR
    except (OSError, AttributeError):
        pass
    return kind(path, f"{os.strerror(cause)} ({exc})" if cause else str(exc))


def _add_missing_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Bring a store written by an older Keisei up to the current schema (new columns are NULL there)."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, sql_type in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def _finite_or_none(value: float | None) -> float | None:
    """NaN/inf bounds (an unidentified interval) are stored as NULL."""
    return float(value) if value is not None and math.isfinite(value) else None


def _non_negative_int(where: str, field: str, value: Any) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        number = -1
    if number < 0:
        raise ValueError(f"{where}: {field} must be a non-negative integer, got {value!r}")
    return number
