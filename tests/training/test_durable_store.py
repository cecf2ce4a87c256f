"""The run's SQLite evaluation store and opponent pool are durable files: a write that fails raises
DurableWriteError naming the file, and a background evaluation that cannot write the store stops training
(one line, exit 4, `latest` kept).

Real faults: a full tmpfs and a read-only tmpfs (skip with the reason where mounting is not allowed),
RLIMIT_FSIZE in a child process, a store path that is a directory, and a read-only file (chmod; not for root,
whom file permissions do not stop)."""

import os
import re
import subprocess
import sys

import pytest
from training_helpers import (
    REPO,
    cli_env,
    fill_disk,
    fsize_limit,
    remount_read_only,
    run_cli,
    sets,
    tmpfs,
)

from keisei.checkpoint import load_checkpoint
from keisei.errors import EXIT_WRITE_FAILED, DurableWriteError
from keisei.evaluation.store import GameStore

BIG = {"pad": "x" * 300_000}  # a game row that needs new pages (and WAL frames) on disk


def record(store: GameStore, extra=None) -> int:
    return store.record_game(black="agent", white="random", result="black", reason="checkmate", plies=40,
                             extra=extra)


def test_full_disk_raises_naming_the_store_and_keeps_the_rows_written(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as disk:
        path = disk / "evaluation.sqlite"
        with GameStore(path) as store:
            record(store)
            filler = fill_disk(disk, leave_bytes=0)
            with pytest.raises(DurableWriteError) as info:
                record(store, BIG)
            assert str(info.value) == (f"cannot write {path}: No space left on device "
                                       "(database or disk is full)")
            filler.unlink()
            assert [g.extra for g in store.games()] == [{}]  # the failed game left no partial row
            record(store)  # space again: the store works on
        with GameStore(path) as store:
            assert len(store.games()) == 2


def test_read_only_file_system_raises_naming_the_store(tmp_path):
    with tmpfs(tmp_path / "ro", "1m") as ro:
        path = ro / "evaluation.sqlite"
        with GameStore(path) as store:
            record(store)
        remount_read_only(ro)
        with (pytest.raises(DurableWriteError, match=rf"^cannot write {re.escape(str(path))}: Read-only file system"),
              GameStore(path) as store):
            record(store)


def test_file_size_limit_raises_naming_the_store_without_a_mount(tmp_path):
    path = tmp_path / "evaluation.sqlite"
    code = ("import sys\nfrom keisei.errors import DurableWriteError\nfrom keisei.evaluation.store import GameStore\n"
            f"store = GameStore({str(path)!r})\n"
            "try:\n"
            "    for _ in range(20):\n"
            "        store.record_game(black='a', white='b', result='draw', reason='repetition', plies=9,"
            " extra={'pad': 'x' * 100000})\n"
            "except DurableWriteError as exc:\n"
            "    print(exc)\n"
            "    sys.exit(4)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=cli_env(), capture_output=True, text=True,
                         timeout=120, check=False, preexec_fn=fsize_limit(256 * 1024))
    assert res.returncode == 4, res.stderr
    assert res.stdout.strip() == f"cannot write {path}: disk I/O error"  # SQLite's name for EFBIG
    with GameStore(path) as store:  # what was committed before the limit is intact
        assert 0 < len(store.games()) < 20


def test_store_path_that_is_a_directory_raises_naming_it(tmp_path):
    path = tmp_path / "evaluation.sqlite"
    path.mkdir()
    with pytest.raises(DurableWriteError, match=rf"^cannot write {re.escape(str(path))}: Is a directory "
                                                r"\(unable to open database file\)$"):
        GameStore(path)


def test_read_only_store_file_raises_naming_it(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root's writes (the tmpfs and RLIMIT_FSIZE "
                    "tests cover this)")
    path = tmp_path / "evaluation.sqlite"
    with GameStore(path) as store:
        record(store)
    for p in tmp_path.iterdir():
        p.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(DurableWriteError, match=rf"^cannot write {re.escape(str(path))}: "), GameStore(path) as store:
            record(store)
    finally:
        tmp_path.chmod(0o755)


EVAL = ("evaluation.enable_periodic_evaluation=true", "evaluation.interval_timesteps=32", "evaluation.num_games=2",
        "evaluation.max_plies=12", 'evaluation.opponents=["random"]', "training.checkpoint_interval_timesteps=32",
        "training.total_timesteps=96")


def assert_training_stopped_by_the_store(res, run, store) -> None:
    assert res.returncode == EXIT_WRITE_FAILED, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    m = re.fullmatch(rf"keisei train: error: cannot write {re.escape(str(store))}: (.+); training stopped at "
                     r"(\d+) steps; latest checkpoint: (ckpt_\d+\.pt)", lines[0])
    assert m is not None, lines[0]
    latest = (run / "checkpoints" / "latest").read_text().strip()
    assert latest == m[3]
    assert load_checkpoint(run / "checkpoints" / latest)["counters"]["timesteps"] <= int(m[2])
    assert "done:" not in res.stdout
    assert "could not write the store" in (run / "train.log").read_text()  # the traceback is in the log
    return m[1]


@pytest.mark.slow
def test_background_evaluation_that_cannot_write_the_store_stops_training(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    store = run / "evaluation.sqlite"
    store.mkdir()  # a directory where the store belongs: every open for writing fails
    res = run_cli("train", "--preset", "tiny", *sets(*EVAL), "--run-dir", str(run))
    assert assert_training_stopped_by_the_store(res, run, store) == "Is a directory (unable to open database file)"


@pytest.mark.slow
def test_background_evaluation_on_a_read_only_store_stops_training(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with tmpfs(tmp_path / "ro", "1m") as ro:
        target = ro / "evaluation.sqlite"
        with GameStore(target) as s:
            record(s)
        remount_read_only(ro)
        (run / "evaluation.sqlite").symlink_to(target)  # the run's store lives on a read-only file system
        res = run_cli("train", "--preset", "tiny", *sets(*EVAL), "--run-dir", str(run))
        why = assert_training_stopped_by_the_store(res, run, run / "evaluation.sqlite")
        assert why.startswith("Read-only file system (")


@pytest.mark.slow
def test_opponent_pool_that_cannot_be_written_during_training_stops_it(tmp_path):
    run = tmp_path / "run"
    (run / "opponent_pool.json").mkdir(parents=True)  # the pool's file cannot replace a directory
    res = run_cli("train", "--preset", "tiny", *sets(*EVAL), "--run-dir", str(run))
    assert res.returncode == EXIT_WRITE_FAILED, (res.returncode, res.stderr)
    assert res.stderr.strip().splitlines() == [
        (f"keisei train: error: cannot write {run / 'opponent_pool.json'}: Is a directory; training stopped at "
         "32 steps; latest checkpoint: ckpt_32.pt")]
    assert (run / "checkpoints" / "latest").read_text().strip() == "ckpt_32.pt"
    assert not list(run.glob(".opponent_pool.json.*"))  # no temp file left behind
