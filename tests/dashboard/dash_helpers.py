"""Helpers and fixtures for the dashboard tests: a real (short) training run, and `keisei dashboard` as a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRAIN_SETS = [
    "model.blocks=1", "model.channels=16", "model.value_hidden=16", "env.num_envs=4", "env.max_plies=48",
    "ppo.num_steps=16", "ppo.update_epochs=1", "ppo.num_minibatches=2", "training.torch_threads=1",
    "display.mode=plain", "display.log_every_seconds=1000", "logging.save_selfplay_games_every=1",
    "logging.live_every_seconds=0.2", "evaluation.interval_timesteps=512", "evaluation.num_games=4",
    "evaluation.opponents=[\"random\"]", "evaluation.max_plies=48", "evaluation.save_games=true",
    "training.checkpoint_interval_timesteps=512",
]


def env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")


def train_args(run_root: Path, name: str, *extra: str) -> list[str]:
    sets = [a for s in (*TRAIN_SETS, f"logging.run_root={run_root}", f"logging.run_name={name}", *extra)
            for a in ("--set", s)]
    return [sys.executable, "-m", "keisei", "train", "--preset", "tiny", *sets]


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """A directory holding one finished run ("done"): checkpoints, self-play and evaluation games, scalars."""
    root = tmp_path_factory.mktemp("runs")
    proc = subprocess.run(train_args(root, "done", "training.total_timesteps=1024"), env=env(), cwd=REPO, check=False,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


class Dashboard:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "keisei", "dashboard", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO)
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://\S+)", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no URL from keisei dashboard: {line!r} {self.proc.stderr.read()[-2000:]}")
        self.url = m.group(1)
        self.base = self.url.split("?")[0]

    def request(self, path: str, body: object | None = None, method: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, object]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                payload = res.read()
                status = res.status
                kind = res.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            payload, status, kind = exc.read(), exc.code, exc.headers.get("Content-Type", "")
        return status, json.loads(payload) if "json" in kind else payload.decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def dashboard_of():
    started: list[Dashboard] = []

    def start(*args: str) -> Dashboard:
        d = Dashboard(*map(str, args))
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def wait_for(predicate, timeout: float = 60.0, every: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")
