"""`keisei train`: self-play PPO training (SIGINT/SIGTERM finish the update, checkpoint and exit 0)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keisei.config import KeiseiConfig, load_config


def register(sub) -> None:
    p = sub.add_parser("train", help="train by self-play PPO (resumable)")
    p.add_argument("--config", default=None, help="TOML config file")
    p.add_argument("--preset", default=None, help="tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set training.learning_rate=1e-4 (repeatable)")
    p.add_argument("--run-dir", default=None, help="run directory (default: <logging.run_root>/<run name>)")
    p.add_argument("--resume", default=None, metavar="latest|PATH", help="continue from a checkpoint")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="overrides training.device")
    p.add_argument("--init-from", default=None, metavar="CKPT",
                   help="start from these weights (e.g. a keisei sl checkpoint) with a fresh optimizer and counters")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="seed of a new run's random streams (overrides training.seed, default 1); stored in "
                        "config.toml and every checkpoint")
    p.set_defaults(func=run)


def resume_config(args: argparse.Namespace) -> tuple[KeiseiConfig, Path | None]:
    """The config and run directory: a resume without --config/--preset reuses the run's config.toml."""
    from keisei.training.resume import find_resume_run_dir

    run_dir = Path(args.run_dir) if args.run_dir else None
    config_path = args.config
    if args.seed is not None:
        args.overrides = [*args.overrides, f"training.seed={args.seed}"]
    if args.resume:
        run_root = load_config(args.config, args.preset, args.overrides).logging.run_root
        run_dir = find_resume_run_dir(args.resume, run_dir, run_root)
        saved = run_dir / "config.toml" if run_dir is not None else None
        if not args.config and not args.preset and saved is not None and saved.is_file():
            config_path = saved
    return load_config(config_path, args.preset, args.overrides), run_dir


@contextmanager
def stop_on_signals(request_stop, already_requested) -> Iterator[None]:
    """SIGINT/SIGTERM ask training to stop cleanly; a second signal aborts. Handlers restored on exit."""

    def handler(signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if already_requested():
            raise KeyboardInterrupt(name)
        request_stop(f"{name} received")
        print(f"keisei train: {name}: finishing the current update and saving a checkpoint "
              "(send it again to abort)", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run(args: argparse.Namespace) -> int:
    from keisei.config import ConfigError
    from keisei.training.trainer import Trainer

    if args.init_from and args.resume:
        raise ConfigError("--init-from starts a new run; it cannot be combined with --resume")
    if args.seed is not None and args.resume:
        raise ConfigError("--seed starts a new run; a resumed run continues the random state of its checkpoint")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    config, run_dir = resume_config(args)
    init = None
    if args.init_from:
        from keisei.training.model_manager import load_init_checkpoint

        init = load_init_checkpoint(args.init_from, config)  # checked before anything is written
    trainer = Trainer(config, run_dir=run_dir, resume=args.resume, device=args.device)
    if init is not None:
        try:
            trainer.models.init_from(init)
        except BaseException:
            trainer.close()
            raise
    with stop_on_signals(trainer.request_stop, lambda: trainer.stop.requested is not None):
        print(f"run directory: {trainer.run_dir}", flush=True)
        print(f"TensorBoard:   tensorboard --logdir {trainer.run_dir}", flush=True)
        print(f"model:         {config.model.name}, {trainer.models.num_parameters:,} parameters on "
              f"{trainer.device}", flush=True)
        print(f"seed:          {trainer.config.training.seed}", flush=True)
        print(f"threads:       {trainer.session.threads.line()}", flush=True)
        if trainer.resumed_from is not None:
            print(f"resuming from: {trainer.resumed_from} at {trainer.counters.timesteps:,} steps", flush=True)
        if init is not None:
            print(f"initial weights: {args.init_from} (sha256 {init['parent']['sha256'][:12]}); "
                  "fresh optimizer and counters", flush=True)
        summary = trainer.run()
    print(summary.line(), flush=True)
    return 0
