"""GameStore on real SQLite files: WAL mode, round trips, validation, concurrent writers, rating history."""

import math
import sqlite3
import threading
from pathlib import Path

import pytest

from keisei.evaluation.store import GameRow, GameStore, RatingPoint


def test_wal_mode_is_on_and_persistent(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "games.sqlite"
    with GameStore(path) as store:
        assert store.journal_mode == "wal"
        store.record_game(black="a", white="b", result="draw", reason="max_plies", plies=10)
        assert path.with_name("games.sqlite-wal").exists()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_rows_round_trip_and_filter(tmp_path: Path) -> None:
    path = tmp_path / "games.sqlite"
    with GameStore(path) as store:
        first = store.record_game(
            black="agent@v3", white="random", result="black", reason="checkmate", plies=57, opening="op1",
            evaluation_id="ev-1", black_version=3, timestep=4096, extra={"moves": ["7g7f"], "x": 1.5},
            timestamp=1000.0,
        )
        second = store.record_game(black="greedy", white="random", result="error", reason="error", plies=0)
    with GameStore(path) as store:  # reopened: the rows were committed
        rows = store.games()
        assert [r.id for r in rows] == [first, second] and second > first
        assert rows[0] == GameRow(
            id=first, timestamp=1000.0, black="agent@v3", white="random", result="black", reason="checkmate",
            plies=57, opening="op1", evaluation_id="ev-1", black_version=3, white_version=None, timestep=4096,
            extra={"moves": ["7g7f"], "x": 1.5},
        )
        assert rows[1].extra == {} and rows[1].timestamp > 1000.0
        assert [r.id for r in store.games("agent@v3")] == [first]
        assert [r.id for r in store.games("random")] == [first, second]
        assert store.games("nobody") == []
        assert store.players() == ["agent@v3", "greedy", "random"]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("result", {"result": "win"}),
        ("black", {"black": ""}),
        ("reason", {"reason": None}),
        ("plies", {"plies": -1}),
        ("plies", {"plies": 2.5}),
        ("timestep", {"timestep": -5}),
        ("extra", {"extra": {"bad": object()}}),
    ],
)
def test_bad_rows_are_rejected_naming_the_field(tmp_path: Path, field: str, kwargs: dict) -> None:
    good = {"black": "a", "white": "b", "result": "white", "reason": "resign", "plies": 3}
    with GameStore(tmp_path / "g.sqlite") as store:
        with pytest.raises(ValueError, match=rf"record_game: {field} must be"):
            store.record_game(**{**good, **kwargs})
        assert store.games() == []


def test_concurrent_writes_from_threads_and_connections(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    shared = GameStore(path)
    other = GameStore(path)  # a second connection to the same file, like another process
    per_writer = 150
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def writer(store: GameStore, name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                store.record_game(black=name, white="random", result="black", reason="checkmate", plies=i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(shared, "t1")),
        threading.Thread(target=writer, args=(shared, "t2")),
        threading.Thread(target=writer, args=(other, "t3")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = shared.games()
    assert len(rows) == 3 * per_writer
    assert len({r.id for r in rows}) == len(rows)
    for name in ("t1", "t2", "t3"):
        assert sorted(r.plies for r in shared.games(name)) == list(range(per_writer))
    shared.close()
    other.close()


def test_rating_history_by_prefix(tmp_path: Path) -> None:
    with GameStore(tmp_path / "g.sqlite") as store:
        store.record_rating("agent@v2", 2000, 150.0, 100.0, 200.0)
        store.record_rating("agent@v1", 1000, 50.0)
        store.record_rating("Agent@v9", 500, 1.0)
        store.record_rating("agent_x", 700, 2.0, float("nan"), float("inf"))
        store.record_rating("agentxv", 800, 3.0)
        history = store.rating_history("agent@")
        assert [(p.player, p.timestep, p.elo, p.low, p.high) for p in history] == [
            ("agent@v1", 1000, 50.0, None, None),
            ("agent@v2", 2000, 150.0, 100.0, 200.0),
        ]
        assert isinstance(history[0], RatingPoint)
        assert [p.player for p in store.rating_history("agent_")] == ["agent_x"]  # '_' is literal
        assert len(store.rating_history()) == 5
        with pytest.raises(ValueError, match="elo must be finite"):
            store.record_rating("agent@v3", 3000, math.nan)
        with pytest.raises(ValueError, match="timestep must be a non-negative integer"):
            store.record_rating("agent@v3", -1, 0.0)


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match=rf"game store {path}: cannot open"):
        GameStore(path)
