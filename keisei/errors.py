"""Errors that the CLI reports as one clear line (no traceback unless --debug), and the CLI's exit codes.

Exit codes of every `keisei` subcommand:
  0  success (`keisei train` also after SIGINT/SIGTERM: the update is finished and a checkpoint saved)
  1  an unexpected internal error (a bug: the traceback is printed)
  2  a usage, config or input error, or an operating-system error (permission denied, no space, missing
     directory, a path that is a file, a run directory already being trained, `keisei evaluate`'s store that
     cannot be opened for writing) - one line naming the thing
  3  no game completed (`EXIT_NO_GAMES`): `keisei evaluate` against some opponent (every game errored, e.g. an
     engine that would not start; the table, JSON and stored games are still written, errors listed), or
     `keisei records generate` (every game failed; the errors are listed in OUT/errors.jsonl)
  4  a durable write failed (`EXIT_WRITE_FAILED`): a checkpoint, the `latest` pointer, config.toml, the opponent
     pool or the evaluation store (also from a background evaluation) could not be written; training stops at
     once and what is on disk is the last state that was written completely (`latest` still names the last
     valid checkpoint)
  5  distributed training (torchrun) lost a rank: a collective failed or timed out (`EXIT_PEER_LOST`)
  130 interrupted (a second SIGINT/SIGTERM)
"""

from __future__ import annotations

import os
from pathlib import Path

EXIT_USAGE = 2
EXIT_NO_GAMES = 3
EXIT_WRITE_FAILED = 4
EXIT_PEER_LOST = 5


class KeiseiError(Exception):
    """A usage, config or input error with a message meant for the user."""

    exit_code = EXIT_USAGE


class DurableWriteError(KeiseiError):
    """A file the run depends on could not be written; `path` names it, `reason` is the OS error's text."""

    exit_code = EXIT_WRITE_FAILED

    def __init__(self, path: str | os.PathLike, reason: str | BaseException, note: str = "") -> None:
        self.path = Path(path)
        if isinstance(reason, OSError) and reason.strerror:
            reason = reason.strerror
        self.reason = str(reason)
        self.note = note
        super().__init__(f"cannot write {self.path}: {self.reason}" + (f"; {note}" if note else ""))

    def with_note(self, note: str) -> DurableWriteError:
        """The same error with `note` (e.g. where training stopped) appended to the message."""
        return DurableWriteError(self.path, self.reason, note)


class PeerLostError(KeiseiError):
    """A collective of a distributed run failed or timed out: another rank died, hangs or was stopped."""

    exit_code = EXIT_PEER_LOST


def os_error_line(exc: OSError) -> str:
    """`<path>: <strerror>` for an OSError (both paths for a rename), else its text."""
    if exc.strerror and exc.filename is not None:
        names = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
        return f"{names}: {exc.strerror}"
    return exc.strerror or str(exc)


def check_output_file(path: str | os.PathLike, flag: str, *, makes_dirs: bool = False) -> Path:
    """Before any work: ``path`` (the value of ``flag``) can be written as a new or replaced file (with
    ``makes_dirs``, its missing directories created first); else the KeiseiError that writing it would have
    raised, in the same words: ``PATH: No such file or directory``."""
    import errno

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if makes_dirs:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if path.is_dir():
        code = errno.EISDIR
    elif not parent.is_dir():
        code = errno.ENOENT if not parent.exists() else errno.ENOTDIR
    elif not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        code = errno.EACCES
    else:
        return path
    raise KeiseiError(f"{path}: {os.strerror(code)}")
