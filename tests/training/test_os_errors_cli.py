"""Operating-system errors are one line naming the path and the OS error, exit 2, on every subcommand
(real subprocesses, real file systems: a path that is a file, a missing directory, a read-only and a full tmpfs).
`--debug` adds the traceback."""

import pytest
from training_helpers import fill_disk, remount_read_only, run_cli, sets, tmpfs

from keisei.checkpoint import save_checkpoint
from keisei.config import ModelConfig
from keisei.evaluation.store import GameStore
from keisei.models import build_model


def one_error_line(res, command: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"keisei {command}: error: "), lines[0]
    assert "Traceback" not in res.stderr
    return lines[0]


@pytest.fixture
def checkpoint(tmp_path):
    arch = ModelConfig(blocks=1, channels=8, value_hidden=8)
    payload = {"model_name": "resnet", "model_arch": arch.model_dump(), "model_state": build_model(arch).state_dict(),
               "model_version": 3, "counters": {"timesteps": 96, "updates": 3, "games": 0}}
    return save_checkpoint(tmp_path / "ckpt_96.pt", payload)


def test_train_run_dir_that_is_a_file(tmp_path):
    path = tmp_path / "not_a_dir"
    path.write_text("x")
    line = one_error_line(run_cli("train", "--preset", "tiny", *sets(), "--run-dir", str(path)), "train")
    assert line == f"keisei train: error: {path}: is not a directory"
    debug = run_cli("train", "--debug", "--preset", "tiny", *sets(), "--run-dir", str(path))
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "NotADirectoryError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == line


def test_train_on_a_read_only_file_system(tmp_path):
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as ro:
        line = one_error_line(run_cli("train", "--preset", "tiny", *sets(), "--run-dir", str(ro / "run")), "train")
    assert line == f"keisei train: error: {ro / 'run'}: Read-only file system"


def test_train_on_a_full_disk_before_anything_is_trained(tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        (disk / "run").mkdir()
        fill_disk(disk, leave_bytes=0)
        line = one_error_line(run_cli("train", "--preset", "tiny", *sets(), "--run-dir", str(disk / "run")), "train")
    assert line == f"keisei train: error: {disk / 'run' / 'train.lock'}: No space left on device"


def test_bench_learn_run_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    line = one_error_line(run_cli("bench", "learn", "--minutes", "0.01", "--points", "0.01", "--games", "2",
                                  *sets(), "--run-dir", str(path)), "bench")
    assert line == f"keisei bench: error: {path}: is not a directory"


def test_evaluate_json_into_a_missing_directory(tmp_path, checkpoint):
    out = tmp_path / "missing" / "result.json"
    res = run_cli("evaluate", "--checkpoint", str(checkpoint), "--opponent", "random", "--games", "2",
                  "--set", "env.max_plies=20", "--set", "evaluation.max_plies=20", "--json", str(out))
    assert one_error_line(res, "evaluate") == f"keisei evaluate: error: {out}: No such file or directory"


def test_evaluate_store_on_a_read_only_file_system(tmp_path, checkpoint):
    with tmpfs(tmp_path / "ro", "1m") as ro:
        (ro / "run").mkdir()
        remount_read_only(ro)
        res = run_cli("evaluate", "--checkpoint", str(checkpoint), "--opponent", "random", "--games", "2",
                      "--set", "evaluation.max_plies=20", "--run-dir", str(ro / "run"))
    line = one_error_line(res, "evaluate")
    assert str(ro / "run" / "evaluation.sqlite") in line, line


def test_ratings_plot_into_a_path_that_is_a_file(tmp_path):
    run = tmp_path / "run"
    with GameStore(run / "evaluation.sqlite") as store:
        for i in range(4):
            store.record_game(black="agent@v1", white="random", result="black" if i % 2 else "white",
                              reason="checkmate", plies=30, timestep=96)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    plot = blocker / "ratings.png"
    line = one_error_line(run_cli("ratings", str(run), "--plot", str(plot)), "ratings")
    assert line.startswith(f"keisei ratings: error: {blocker}") and line.endswith(("File exists", "Not a directory"))
