"""Readers of a run's evaluation store: `keisei ratings` on a read-only run directory, and readers beside a
process that is writing the store (WAL: a reader never blocks the writer, never sees half a transaction)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mounts import remount_read_only, tmpfs

from keisei.evaluation.store import GameStore, StoreOpenError

REPO = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys, time
from pathlib import Path
from keisei.evaluation.store import GameStore
path, markers = sys.argv[1], Path(sys.argv[2])
def wait_for(name):
    deadline = time.monotonic() + 120
    while not (markers / name).exists():
        if time.monotonic() > deadline:
            sys.exit(f"writer: gave up waiting for {name}")
        time.sleep(0.01)
with GameStore(path) as store:
    i = 0
    def write():
        global i
        store.record_game(black="agent@v1", white="random", result="black", reason="checkmate", plies=30,
                          timestep=i)
        if i % 10 == 0:
            store.record_rating("agent@v1", i, float(i), i - 50.0, i + 50.0, games=i + 1)
        i += 1
    while i < 50:
        write()
    (markers / "A").touch()
    wait_for("B")
    while i < 300 or not (markers / "D").exists():
        write()
        if i == 300:
            (markers / "C").touch()
        time.sleep(0.002)
        if i > 200_000:
            sys.exit("writer: never told to stop")
print("wrote", i)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def test_readers_beside_a_writing_process_never_block_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    store_path, markers = run / "evaluation.sqlite", tmp_path / "markers"
    markers.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store_path), str(markers)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(markers / "A", writer)
        held = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, isolation_level=None)
        held.execute("BEGIN")
        seen = held.execute("SELECT count(*) FROM games").fetchone()[0]
        assert seen == 50
        (markers / "B").touch()  # the writer goes on while this read transaction stays open
        _wait_for(markers / "C", writer)  # 250 more commits went through: the open reader blocked nothing
        assert held.execute("SELECT count(*) FROM games").fetchone()[0] == 50  # its snapshot is unchanged
        held.execute("COMMIT")
        assert held.execute("SELECT count(*) FROM games").fetchone()[0] >= 300
        held.close()
        counts = []
        for _ in range(5):  # read-only GameStores while the writer keeps committing
            with GameStore(store_path, readonly=True) as store:
                games, history = store.games(), store.rating_history()
            counts.append(len(games))
            assert [g.timestep for g in games] == list(range(len(games)))  # whole games, in order, no gaps
            assert all(p.games == p.timestep + 1 for p in history)
        assert counts == sorted(counts)
        ratings = subprocess.run([sys.executable, "-m", "keisei.cli", "ratings", str(run), "--plot",
                                  str(tmp_path / "r.png")], env=_env(), capture_output=True, text=True, timeout=240,
                                 check=False)
        assert ratings.returncode == 0, ratings.stderr
        assert "agent@v1" in ratings.stdout and (tmp_path / "r.png").is_file()
        assert writer.poll() is None  # the writer was still writing all along
    finally:
        (markers / "D").touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    total = int(out.split()[-1])
    with GameStore(store_path) as store:
        assert len(store.games()) == total
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list(run.glob("*.png"))  # the reader wrote nothing into the run (its plot went to --plot)


def test_ratings_reads_a_run_on_a_read_only_file_system(tmp_path):
    with tmpfs(tmp_path / "ro", "2m") as ro:
        run = ro / "run"
        with GameStore(run / "evaluation.sqlite") as store:
            for i in range(6):
                store.record_game(black="agent@v1", white="random", result="black" if i % 3 else "draw",
                                  reason="checkmate" if i % 3 else "max_plies", plies=40, timestep=512)
            store.record_rating("agent@v1", 512, 150.0, -50.0, 350.0, games=6)
        remount_read_only(ro)
        with pytest.raises(StoreOpenError, match="Read-only file system"):
            GameStore(run / "evaluation.sqlite")  # read-write is refused here, naming the OS error ...
        plot = tmp_path / "plot.png"
        res = subprocess.run([sys.executable, "-m", "keisei.cli", "ratings", str(run), "--plot", str(plot)],
                             env=_env(), capture_output=True, text=True, timeout=240, check=False)
        assert res.returncode == 0, res.stderr  # ... and `keisei ratings` reads it read-only
        assert "agent@v1" in res.stdout and "0/2" in res.stdout and "rating plot (1 points" in res.stdout
        assert plot.read_bytes()[:4] == b"\x89PNG"
        res = subprocess.run([sys.executable, "-m", "keisei.cli", "ratings", str(run)], env=_env(),
                             capture_output=True, text=True, timeout=240, check=False)
        assert res.returncode == 0 and "agent@v1" in res.stdout
        assert res.stderr.strip() == (f"keisei ratings: rating plot not written: {run / 'ratings.png'}: "
                                      "Read-only file system (pass --plot FILE)")
