"""`keisei bench parallel`: self-play SPS of the one-process trainer vs actor processes (figures, never asserted).

Each configuration trains the same preset from scratch for ``--seconds`` of loop time (no evaluation, no
periodic checkpoints, no TensorBoard): first in one process, then with ``parallel.num_workers`` = each of
``--workers``. Reported per run: SPS over the whole loop (worker start-up included) and steady SPS (from the
end of the first update to the end of the last), the learner's share of wall time (from the end of a rollout
to the end of its update: GAE, PPO epochs, callbacks), mean policy lag of the consumed data, dropped samples,
worker restarts, and the steady speed-up over the one-process run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from keisei.config import ConfigError, load_config

__all__ = ["main", "run_parallel_bench"]

QUIET = ["training.total_timesteps=1000000000000", "training.checkpoint_interval_timesteps=1000000000000",
         "evaluation.enable_periodic_evaluation=false", "logging.tensorboard=false", "logging.wandb=false",
         "display.mode=plain", "display.log_every_seconds=1000000"]


def parse_workers(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--workers {text!r}: expected comma-separated integers like 1,2,4") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"--workers {text!r}: every value must be >= 1")
    return values


def _probe_class():
    from keisei.run.callbacks import Callback

    class Probe(Callback):
        """Times each update (rollout end -> update end) and remembers the first and last update ends."""

        def __init__(self) -> None:
            self.learner_s = 0.0
            self.rollout_end = 0.0
            self.first: tuple[float, int] | None = None
            self.last: tuple[float, int] | None = None
            self.lags: list[float] = []

        def on_rollout_end(self, ctx) -> None:
            self.rollout_end = time.perf_counter()

        def on_update_end(self, ctx) -> None:
            now = time.perf_counter()
            self.learner_s += now - self.rollout_end
            self.last = (now, ctx.timesteps)
            if self.first is None:
                self.first = self.last
            lag = ctx.metrics.last.get("parallel/policy_lag")  # the Trainer's MetricsManager
            if lag is not None:
                self.lags.append(lag)

    return Probe


def run_one(preset: str, overrides: list[str], seconds: float, workers: int, run_dir: Path) -> dict[str, Any]:
    """One timed training run; workers = 0 is the one-process trainer."""
    from keisei.training.trainer import Trainer

    parallel = [f"parallel.enabled={'true' if workers else 'false'}"] + (
        [f"parallel.num_workers={workers}"] if workers else [])
    config = load_config(preset=preset, overrides=[*QUIET, *overrides, *parallel,
                                                    f"training.max_wall_seconds={seconds}"])
    trainer = Trainer(config, run_dir=run_dir)
    trainer.display.stream = sys.stderr  # stdout carries the report (or the JSON) only
    probe = _probe_class()()
    trainer.callbacks.add(probe)
    summary = trainer.run()
    last = trainer.metrics.last
    steady = 0.0
    if probe.first and probe.last and probe.last[0] > probe.first[0]:
        steady = (probe.last[1] - probe.first[1]) / (probe.last[0] - probe.first[0])
    wall = max(summary.seconds, 1e-9)
    return {
        "mode": f"{workers} workers" if workers else "one process", "workers": workers,
        "timesteps": summary.timesteps, "updates": summary.updates, "seconds": summary.seconds,
        "sps": summary.sps, "steady_sps": steady, "learner_share": probe.learner_s / wall,
        "policy_lag": sum(probe.lags) / len(probe.lags) if probe.lags else 0.0,
        "dropped_samples": int(last.get("parallel/dropped_samples", 0)),
        "restarts": int(last.get("parallel/restarts", 0)),
        "actor_sps": last.get("parallel/actor_sps"),
        "threads": getattr(trainer.collector, "threads_line", None),
    }


def run_parallel_bench(preset: str = "tiny", seconds: float = 60.0, workers: list[int] | None = None,
                       overrides: list[str] | None = None, single: bool = True,
                       run_root: Path | None = None) -> dict[str, Any]:
    if seconds <= 0:
        raise ConfigError(f"--seconds must be > 0, got {seconds}")
    workers = [1, 2, 4] if workers is None else workers
    overrides = list(overrides or [])
    with tempfile.TemporaryDirectory(prefix="keisei-bench-parallel-") as tmp:
        root = Path(run_root or tmp)
        runs = [run_one(preset, overrides, seconds, w, root / f"w{w}") for w in ([0] if single else []) + workers]
    base = runs[0]["steady_sps"] if single and runs[0]["steady_sps"] > 0 else None
    for r in runs:
        r["speedup"] = r["steady_sps"] / base if base else None
    return {"preset": preset, "seconds": seconds, "overrides": overrides, "runs": runs}


def format_report(result: dict[str, Any]) -> str:
    lines = [f"bench parallel: preset {result['preset']}, {result['seconds']:g} s per run",
             (f"{'mode':>12} {'SPS':>8} {'steady':>8} {'speedup':>8} {'learner':>8} {'lag':>5} {'dropped':>8} "
              f"{'restarts':>8}")]
    for r in result["runs"]:
        speed = f"{r['speedup']:.2f}x" if r["speedup"] is not None else "-"
        lines.append(f"{r['mode']:>12} {r['sps']:8,.0f} {r['steady_sps']:8,.0f} {speed:>8} "
                     f"{100 * r['learner_share']:7.1f}% {r['policy_lag']:5.2f} {r['dropped_samples']:8,} "
                     f"{r['restarts']:8}")
    return "\n".join(lines)


def main(args) -> int:
    result = run_parallel_bench(args.preset, args.seconds, parse_workers(args.workers), args.overrides,
                                single=not args.no_single)
    print(json.dumps(result) if args.json else format_report(result), flush=True)
    return 0
