"""`keisei bench learn`: train a preset from scratch; at wall-clock points score it vs random and greedy.

The training clock pauses while evaluating. Evaluation plays `games` games per opponent through the
EvaluationManager (colour-swapped pairs over the v1 opening suite, batched inference; the network samples
from its policy, as in self-play). An evaluation with errors stops the bench with an error: an error is never
scored. The report adds throughput and the fraction of training wall time spent outside network calls
(rollout forwards and PPO updates are timed; everything else is env stepping, encoding, sampling, buffers).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from keisei.config import ConfigError, load_config
from keisei.errors import KeiseiError
from keisei.evaluation import EvaluationManager, EvaluationRequest
from keisei.models import unwrap_model
from keisei.run.callbacks import Callback, CallbackContext

OPPONENTS = ("random", "greedy")

BENCH_DEFAULTS = ["training.total_timesteps=1000000000000", "training.max_wall_seconds=0",
                  "evaluation.enable_periodic_evaluation=false"]


@dataclass
class CurvePoint:
    minutes: float          # the requested point
    train_minutes: float    # training time actually elapsed (first update end past the point)
    timesteps: int
    updates: int
    vs_random: float
    vs_greedy: float


def parse_points(points: str, minutes: float) -> list[float]:
    """'5,10,20,30' -> sorted minutes <= `minutes` (always ending with `minutes`)."""
    try:
        values = sorted({float(p) for p in points.split(",") if p.strip()})
    except ValueError:
        raise ConfigError(f"--points {points!r}: expected comma-separated minutes like 5,10,20,30") from None
    if minutes <= 0 or any(v <= 0 for v in values):
        raise ConfigError("--minutes and --points must be > 0")
    return [v for v in values if v < minutes] + [minutes]


class LearningCurveCallback(Callback):
    """Evaluates at each training-clock point (clock paused meanwhile) and stops training after the last."""

    def __init__(self, points_min: list[float], games: int, request_stop, evaluator: EvaluationManager) -> None:
        self.pending = list(points_min)
        self.games = games
        self.request_stop = request_stop
        self.evaluator = evaluator
        self.failure: str | None = None
        self.curve: list[CurvePoint] = []
        self.eval_seconds = 0.0
        self.final_seconds: float | None = None  # training clock when the last point was evaluated
        self.started = time.perf_counter()

    def train_seconds(self) -> float:
        return time.perf_counter() - self.started - self.eval_seconds

    def on_training_start(self, ctx: CallbackContext) -> None:
        self.started = time.perf_counter()

    def on_update_end(self, ctx: CallbackContext) -> None:
        if not self.pending or self.train_seconds() < self.pending[0] * 60:
            return
        train_min = self.train_seconds() / 60
        while self.pending and train_min >= self.pending[0]:
            point = self.pending.pop(0)
        begin = time.perf_counter()
        try:
            request = EvaluationRequest(list(OPPONENTS), self.games, model_version=ctx.model_version,
                                        timestep=ctx.timesteps)
            result = self.evaluator.evaluate(unwrap_model(ctx.model), request)
            if result.errors:
                raise KeiseiError(f"evaluation at {point} min had errors: {result.errors[:3]}")
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            self.request_stop("bench learn: evaluation failed")
            raise
        finally:
            self.eval_seconds += time.perf_counter() - begin
        scores = {s.name: s.score for s in result.opponents}
        self.curve.append(CurvePoint(point, train_min, ctx.timesteps, ctx.updates, scores["random"],
                                     scores["greedy"]))
        ctx.display.set_status("bench", f"{train_min:.1f} min: vs random {scores['random']:.3f}, "
                                        f"vs greedy {scores['greedy']:.3f}")
        if not self.pending:
            self.final_seconds = train_min * 60
            self.request_stop("bench learn: last point reached")


def format_report(result: dict) -> str:
    lines = [f"{'minutes':>8} {'steps':>12} {'updates':>8} {'vs random':>10} {'vs greedy':>10}"]
    for p in result["curve"]:
        lines.append(f"{p['train_minutes']:8.1f} {p['timesteps']:12,} {p['updates']:8} "
                     f"{p['vs_random']:10.3f} {p['vs_greedy']:10.3f}")
    lines.append(f"throughput: {result['env_steps_per_s']:,.0f} env steps/s, "
                 f"{result['samples_per_s']:,.0f} learner samples/s ({result['device']})")
    lines.append(f"wall time outside network forward/backward: {100 * result['outside_network_fraction']:.1f}%")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Train args.preset for args.minutes, evaluating args.games games per opponent at args.points."""
    from keisei.training.trainer import Trainer

    points = parse_points(args.points, args.minutes)
    if args.games < 2:
        raise ConfigError(f"--games must be >= 2 (colour-balanced pairs), got {args.games}")
    config = load_config(preset=args.preset, overrides=[*BENCH_DEFAULTS, *args.overrides])
    trainer = Trainer(config, run_dir=args.run_dir)
    bench = LearningCurveCallback(points, args.games, trainer.request_stop, EvaluationManager(config))
    trainer.callbacks.add(bench)
    print(f"bench learn: preset {args.preset}, run {trainer.run_dir}, evaluating at {points} min", flush=True)
    summary = trainer.run()
    train_s = max(bench.final_seconds or bench.train_seconds(), 1e-9)
    result = {
        "preset": args.preset, "device": str(trainer.device), "games_per_opponent": args.games,
        "curve": [asdict(p) for p in bench.curve],
        "timesteps": summary.timesteps, "updates": summary.updates, "train_seconds": train_s,
        "env_steps_per_s": summary.timesteps / train_s,
        "samples_per_s": summary.timesteps * config.ppo.update_epochs / train_s,
        "network_seconds": trainer.net_time.seconds,
        "outside_network_fraction": max(0.0, 1.0 - trainer.net_time.seconds / train_s),
        "run_dir": str(trainer.run_dir),
    }
    print(format_report(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if bench.failure:
        raise KeiseiError(f"bench learn stopped early: {bench.failure}")
    return 0
