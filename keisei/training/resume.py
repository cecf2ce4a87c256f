"""Where a `--resume latest|PATH` continues, decided once: ``resolve_resume -> ResumePoint``.

`keisei train` resolves it before it reads the run's config.toml (under torchrun on rank 0 only) and hands the
point to the ``Trainer``; a ``Trainer`` given ``"latest"`` or a path resolves it the same way. The checkpoint
file itself is read off the point by the Trainer once it holds the run directory's lock
(``ResumePoint.checkpoint()``), so a second process on a live run is refused before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keisei.checkpoint import CheckpointError
from keisei.run.checkpoints import LATEST, latest_checkpoint


@dataclass(frozen=True)
class ResumePoint:
    """The run directory a resume writes to (None: a new one) and what it loads: ``latest`` or a file."""

    run_dir: Path | None
    spec: str

    def checkpoint(self) -> Path:
        """The checkpoint file (``latest``: the one the run's pointer names); ``CheckpointError`` if none."""
        if self.spec == LATEST:
            assert self.run_dir is not None
            path = latest_checkpoint(self.run_dir / "checkpoints")
            if path is None:
                raise CheckpointError(self.run_dir / "checkpoints" / LATEST, "no checkpoint found to resume from")
            return path
        path = Path(self.spec)
        if not path.is_file():
            raise CheckpointError(path, "file not found")
        return path


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


def resolve_resume(
    resume: ResumePoint | str | Path, run_dir: str | Path | None, run_root: str | Path
) -> ResumePoint:
    """``latest`` continues the run ``run_dir`` (else the newest run with a checkpoint under ``run_root``); a
    path continues the run whose checkpoints/ holds it (unless ``run_dir`` is given; else a new run)."""
    if isinstance(resume, ResumePoint):
        return resume
    spec = str(resume)
    return ResumePoint(find_resume_run_dir(spec, run_dir, run_root), spec)
