"""Files Keisei writes follow the user's umask (issue 18: checkpoints and config.toml were 0600 beside 0644 logs)."""

import os
import stat
import subprocess
import sys

import pytest

from keisei.atomic import atomic_write_text, current_umask


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_writes_follow_the_umask(tmp_path, umask):
    code = ("import os, sys; os.umask(int(sys.argv[2], 8)); from keisei.atomic import atomic_write_text; "
            "atomic_write_text(sys.argv[1], 'x')")
    target = tmp_path / "f.txt"
    subprocess.run([sys.executable, "-c", code, str(target), oct(umask)], check=True)
    assert _mode(target) == 0o666 & ~umask


def test_current_umask_reads_the_process_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        atomic_write_text(tmp_path / "g", "y")
        assert _mode(tmp_path / "g") == 0o640
    finally:
        os.umask(old)


def test_a_training_run_writes_checkpoints_and_config_like_its_logs(tmp_path):
    from training.training_helpers import REPO, cli_env, sets

    run = tmp_path / "run"
    env = cli_env()
    code = "import os, sys; os.umask(0o022); from keisei.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "train", "--preset", "tiny", *sets("training.total_timesteps=32"),
                           "--run-dir", str(run)], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for path in (run / "config.toml", run / "checkpoints" / "ckpt_32.pt", run / "checkpoints" / "latest",
                 run / "train.log"):
        assert _mode(path) == 0o644, (path, oct(_mode(path)))
