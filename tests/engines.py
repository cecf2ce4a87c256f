"""Test helpers for USI engines: find a real engine (skip, or fail under CI) and build fake engines."""

from __future__ import annotations

import os
import sys
import urllib.parse
from pathlib import Path

import pytest

from keisei.usi.spec import ENGINE_DIRS_ENV, resolve_executable, search_dirs

FAKE_USI = Path(__file__).parent / "fake_engines" / "fake_usi.py"


def require_engine(name: str, *, ci_required: bool = True) -> str:
    """The path of engine ``name`` (PATH, then /usr/games or $KEISEI_ENGINE_DIRS); skip the test when absent.

    ``PATH=/usr/bin:/bin KEISEI_ENGINE_DIRS= make test`` runs the suite as on a machine without engines.

    Under CI (env var CI set) a missing engine fails the test instead, unless ``ci_required`` is False
    (engines that .ci/run does not install).
    """
    path = resolve_executable(name)
    if path is None:
        where = ", ".join(search_dirs()) or f"no other directory (${ENGINE_DIRS_ENV} is empty)"
        message = f"USI engine {name!r} not found on PATH or in {where}"
        if ci_required and os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: engine tests must run)")
        pytest.skip(message)
    return path


def fake_engine(directory: Path, name: str = "fake-usi", startup: str = "", **options: str | int) -> str:
    """A ``usi:`` spec for tests/fake_engines/fake_usi.py run by this Python (see that file for options).

    Writes an executable wrapper ``directory/name`` (exec, so the engine keeps the wrapper's pid).
    """
    wrapper = directory / name
    env = f"FAKE_USI_STARTUP={startup} " if startup else ""
    wrapper.write_text(f'#!/bin/sh\n{env}exec "{sys.executable}" "{FAKE_USI}" "$@"\n')
    wrapper.chmod(0o755)
    query = urllib.parse.urlencode({k: str(v) for k, v in options.items()})
    return f"usi:{wrapper}" + (f"?{query}" if query else "")
