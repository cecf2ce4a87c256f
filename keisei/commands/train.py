"""`keisei train`: self-play PPO training (SIGINT/SIGTERM finish the update, checkpoint and exit 0).

Under torchrun (`torchrun --nproc_per_node=N -m keisei train ...`) every rank runs this command; rank 0
resolves the config, run directory and checkpoint and shares them (keisei.training.distributed).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from keisei.config import KeiseiConfig, load_config

if TYPE_CHECKING:
    from keisei.training.distributed import World
    from keisei.training.resume import ResumePoint


def register(sub) -> None:
    p = sub.add_parser("train", help="train by self-play PPO (resumable)")
    p.add_argument("--config", default=None, help="TOML config file")
    p.add_argument("--preset", default=None, help="tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set ppo.learning_rate=1e-4 (repeatable)")
    p.add_argument("--run-dir", default=None, help="run directory (default: <logging.run_root>/<run name>)")
    p.add_argument("--resume", default=None, metavar="latest|PATH", help="continue from a checkpoint")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="overrides training.device")
    p.add_argument("--init-from", default=None, metavar="CKPT",
                   help="start from these weights (e.g. a keisei sl checkpoint) with a fresh optimizer and counters")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="seed of a new run's random streams (overrides training.seed, default 1); stored in "
                        "config.toml and every checkpoint")
    p.set_defaults(func=run)


def resume_config(args: argparse.Namespace) -> tuple[KeiseiConfig, Path | None, ResumePoint | None]:
    """The config, run directory and resume point (decided here, once): a resume without --config/--preset
    reuses the run's config.toml."""
    from keisei.training.resume import resolve_resume

    run_dir = Path(args.run_dir) if args.run_dir else None
    config_path = args.config
    if args.seed is not None:
        args.overrides = [*args.overrides, f"training.seed={args.seed}"]
    point = None
    if args.resume:
        run_root = load_config(args.config, args.preset, args.overrides).logging.run_root
        point = resolve_resume(args.resume, run_dir, run_root)
        run_dir = point.run_dir
        saved = run_dir / "config.toml" if run_dir is not None else None
        if not args.config and not args.preset and saved is not None and saved.is_file():
            config_path = saved
    return load_config(config_path, args.preset, args.overrides), run_dir, point


@contextmanager
def stop_on_signals(request_stop, already_requested, repeat_grace_s: float = 0.0) -> Iterator[None]:
    """SIGINT/SIGTERM ask training to stop cleanly; a second signal aborts. Handlers restored on exit.

    ``repeat_grace_s``: signals within this many seconds of the first count as the same request (torchrun
    forwards a Ctrl-C that the terminal already delivered to every rank)."""
    first: list[float] = []

    def handler(signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if already_requested():
            if first and time.monotonic() - first[0] < repeat_grace_s:
                return
            raise KeyboardInterrupt(name)
        first.append(time.monotonic())
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
    from keisei.training.distributed import World, dist_env

    if args.init_from and args.resume:
        raise ConfigError("--init-from starts a new run; it cannot be combined with --resume")
    if args.seed is not None and args.resume:
        raise ConfigError("--seed starts a new run; a resumed run continues the random state of its checkpoint")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    env = dist_env()
    if env is None:
        config, run_dir, point = resume_config(args)
        return train(args, config, run_dir, World.single(), point)
    from keisei.config import config_from_dict
    from keisei.run.session import resolve_device
    from keisei.training.resume import ResumePoint

    # the process group's backend and timeout come from this command line, the same on every rank (a resumed
    # run's config.toml is read by rank 0 only, after joining)
    own = load_config(args.config, args.preset, args.overrides)
    world = World.init(env, own.parallel, resolve_device(args.device or own.training.device, env.local_rank))
    ok = False
    try:
        def resolved() -> tuple[dict, str | None]:
            config, run_dir, _point = resume_config(args)
            return config.to_dict(), None if run_dir is None else str(run_dir)

        config_dict, run_dir = world.from_main(resolved, "reading the config")
        point = None if args.resume is None else ResumePoint(run_dir and Path(run_dir), args.resume)
        rc = train(args, config_from_dict(config_dict, "rank 0's config"), run_dir and Path(run_dir), world,
                   point)
        ok = True
    finally:
        if ok:  # after a lost rank the group is broken: exit without the teardown handshake
            world.close()
    _exit_rank(rc)


def _exit_rank(rc: int) -> None:
    """End a torchrun rank at once: every file is written and closed by now, and C++ teardown at interpreter
    exit (torch.distributed's and gloo's static objects, with the process group gone) could abort a rank
    whose training finished ("terminate called without an active exception", SIGABRT: seen under load)."""
    import logging
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def learner_line(config: KeiseiConfig) -> str:
    """What learns: ``ppo``, or the search learner's self-play settings (the banner's learner line)."""
    if config.training.algorithm == "alphazero":
        sp = config.selfplay
        return (f"alphazero: {sp.root} search self-play, {sp.simulations} simulations on "
                f"{100 * sp.full_search_share:.0f}% of moves ({sp.cheap_simulations} on the rest), "
                f"records in <run>/replay")
    return "ppo"


def train(args: argparse.Namespace, config: KeiseiConfig, run_dir: Path | None, world: World,
          resume: ResumePoint | None) -> int:
    """Build the Trainer (on every rank under torchrun; any rank's setup error stops them all) and run it."""
    from keisei.errors import KeiseiError
    from keisei.training.trainer import Trainer

    init = None
    trainer = error = None
    try:
        if args.init_from and world.is_main:
            from keisei.training.model_manager import load_init_checkpoint

            init = load_init_checkpoint(args.init_from, config)  # checked before anything is written
        from keisei.evaluation.callback import periodic_evaluation
        from keisei.training.distributed import rank_config

        callbacks = periodic_evaluation(rank_config(config, world.rank))  # rank 0 alone evaluates
        trainer = Trainer(config, run_dir=run_dir, resume=resume, device=args.device, world=world,
                          callbacks=callbacks)
        if init is not None:
            trainer.models.init_from(init)
    except BaseException as exc:  # noqa: BLE001 - agreed with the other ranks, then re-raised
        error = exc
        if trainer is not None:
            trainer.close()
    failed = world.failed_ranks(error is not None, "setting up the trainer")
    if error is not None:
        raise error
    if failed:
        trainer.close()
        raise KeiseiError(f"rank {failed[0]} failed while setting up the trainer (see its error); "
                          f"rank {world.rank} stops")
    with stop_on_signals(trainer.request_stop, lambda: trainer.stop.requested is not None,
                         repeat_grace_s=3.0 if world.is_distributed else 0.0):
        if not world.is_main:
            print(f"keisei train: {world.describe()}: env seed {world.rank_seed(config.training.seed)}; threads: "
                  f"{trainer.session.threads.line()}", flush=True)
            trainer.run()
            return 0
        if world.is_distributed:
            from keisei.training.algorithms import algorithm

            batch = algorithm(config).steps_per_update(config)
            print(f"distributed:   {world.world_size} ranks ({world.backend}), global batch {world.world_size} x "
                  f"{batch} = {world.world_size * batch} steps per update", flush=True)
        print(f"run directory: {trainer.run_dir}", flush=True)
        print(f"TensorBoard:   tensorboard --logdir {trainer.run_dir}", flush=True)
        print(f"model:         {config.model.name}, {trainer.models.num_parameters:,} parameters on "
              f"{trainer.device}", flush=True)
        print(f"learner:       {learner_line(config)}", flush=True)
        print(f"seed:          {trainer.config.training.seed}", flush=True)
        print(f"threads:       {trainer.session.threads.line()}", flush=True)
        if config.parallel.enabled:
            print(f"parallel:      {trainer.collector.describe()}", flush=True)
        if trainer.resumed_from is not None:
            print(f"resuming from: {trainer.resumed_from} at {trainer.counters.timesteps:,} steps", flush=True)
        if init is not None:
            print(f"initial weights: {args.init_from} (sha256 {init['parent']['sha256'][:12]}); "
                  "fresh optimizer and counters", flush=True)
        summary = trainer.run()
    print(summary.line(), flush=True)
    return 0

