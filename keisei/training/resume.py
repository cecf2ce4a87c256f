"""Where a `--resume latest|PATH` continues: the run directory and the checkpoint file."""

from __future__ import annotations

from pathlib import Path

from keisei.checkpoint import CheckpointError
from keisei.run.checkpoints import LATEST


def find_resume_run_dir(resume: str, run_dir: str | Path | None, run_root: str | Path) -> Path | None:
    """The run directory a resume belongs to (None = start a new one).

    An explicit run_dir wins; `PATH` inside `<run>/checkpoints/` resumes in `<run>`; `latest` without a
    run directory picks the most recently updated run under `run_root` that has a checkpoint pointer.
    """
    if run_dir is not None:
        return Path(run_dir)
    if resume != LATEST:
        path = Path(resume)
        return path.parent.parent if path.parent.name == "checkpoints" else None
    root = Path(run_root)
    pointers = sorted(root.glob(f"*/checkpoints/{LATEST}"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not pointers:
        raise CheckpointError(root, "--resume latest: no run with a checkpoint here; pass --run-dir or a PATH")
    return pointers[-1].parent.parent
