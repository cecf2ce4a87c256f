"""Helpers for the USI engine tests: a tiny real checkpoint, a launcher, and line drivers for the engine.

``EngineProcess`` drives a real ``keisei usi`` subprocess (through its launcher); ``InProcessEngine`` runs
``UsiServer`` on a thread over real OS pipes. Both read the engine's output on a thread, so a test can wait
for a line with a timeout and never hangs.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from keisei.checkpoint import save_checkpoint
from keisei.commands.usi import write_launcher
from keisei.config import ModelConfig
from keisei.models import build_model
from keisei.usi.server import UsiServer

TINY = ModelConfig(name="resnet", blocks=1, channels=8, se=True, se_ratio=4, value_hidden=8)


def tiny_checkpoint(path: Path, *, seed: int = 0, value_bias: float | None = None) -> Path:
    """A real Keisei checkpoint of the tests' tiny ResNet; ``value_bias`` forces the value head's output."""
    torch.manual_seed(seed)
    arch = TINY.model_dump(mode="json")
    model = build_model(arch)
    if value_bias is not None:
        with torch.no_grad():
            model.value_out.bias.fill_(value_bias)
    return save_checkpoint(path, {
        "model_name": "resnet", "model_arch": arch, "model_state": model.state_dict(), "model_version": 1,
        "counters": {"timesteps": 0, "updates": 0, "games": 0},
    })


def tiny_launcher(tmp_path: Path, *options: str) -> Path:
    """A launcher script for a tiny checkpoint (Threads=1 always: tests share two cores)."""
    checkpoint = tiny_checkpoint(tmp_path / "tiny net.pt")  # a space in the path on purpose
    return write_launcher(tmp_path / "keisei-engine", checkpoint, ["Threads=1", *options])


class _Lines:
    """Output lines of an engine, read on a thread into a queue."""

    def __init__(self) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []

    def _pump(self, read_line: Callable[[], str]) -> None:
        while line := read_line():
            self.queue.put(line.rstrip("\r\n"))
        self.queue.put(None)

    def read_until(self, first_word: str, timeout: float = 60.0) -> list[str]:
        """Lines up to and including the first whose first word is ``first_word``; AssertionError on timeout."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {first_word!r} within {timeout}s; got {lines[-20:]}") from None
            if line is None:
                raise AssertionError(f"engine output ended before {first_word!r}; got {lines[-20:]}")
            self.transcript.append(line)
            lines.append(line)
            if line.split()[:1] == [first_word]:
                return lines

    def drain(self, seconds: float) -> list[str]:
        """Whatever the engine writes within ``seconds``."""
        lines: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.transcript.append(line)
            lines.append(line)
        return lines


class EngineProcess(_Lines):
    """A real engine subprocess (e.g. the launcher) with line-level send / read_until."""

    def __init__(self, argv: list[str], env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env=None if env is None else {**os.environ, **env},
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout.readline,), daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def threads(self) -> int:
        """The engine process's thread count (its /proc tasks: Python's and torch's alike)."""
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def maps(self) -> str:
        return Path(f"/proc/{self.proc.pid}/maps").read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


class InProcessEngine(_Lines):
    """``UsiServer`` on a thread of this process, talking over real pipes."""

    def __init__(self, factory: Callable[[Mapping[str, object]], object], model_file: str = "") -> None:
        super().__init__()
        in_r, self._in_w = os.pipe()
        out_r, self._out_w = os.pipe()
        self._in_r = in_r
        self.server = UsiServer(factory, model_file=model_file, in_fd=in_r, out_fd=self._out_w)  # type: ignore[arg-type]
        self.rc: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        out = os.fdopen(out_r, "r", encoding="utf-8")
        self._out = out
        threading.Thread(target=self._pump, args=(out.readline,), daemon=True).start()

    def _run(self) -> None:
        self.rc = self.server.run()
        os.close(self._out_w)

    def send(self, line: str) -> None:
        os.write(self._in_w, (line + "\n").encode())

    def close(self) -> None:
        if self.thread.is_alive():
            self.send("quit")
            self.thread.join(timeout=10)
        for fd in (self._in_w, self._in_r):
            try:
                os.close(fd)
            except OSError:
                pass
