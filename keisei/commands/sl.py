"""`keisei sl`: build a training set from game records, then train a network on it (supervised warm start)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("sl", help="supervised learning from game records (CSA, KIF/KIFU, hcpe, hcpe3)")
    p.add_argument("--records", nargs="+", required=True, metavar="DIR_OR_FILE",
                   help="record files or directories (walked recursively)")
    p.add_argument("--run-dir", required=True, help="run directory: data/, checkpoints/, TensorBoard logs")
    p.add_argument("--config", default=None, help="TOML config file")
    p.add_argument("--preset", default=None, help="tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set sl.min_plies=40 (repeatable)")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="overrides training.device")
    p.add_argument("--build-only", action="store_true", help="build the training set, do not train")
    p.add_argument("--rebuild", action="store_true", help="rebuild the training set even if it is up to date")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keisei.config import load_config
    from keisei.run.session import SessionManager
    from keisei.sl.dataset import DatasetError, check_record_inputs

    config = load_config(args.config, args.preset, args.overrides)
    check_record_inputs(args.records)  # bad input creates nothing
    if args.device is not None:
        config.training.device = args.device
    # one `keisei sl` or `keisei train` per run directory, from the data set build to the last checkpoint
    created = args.run_dir is None or not Path(args.run_dir).exists()
    session = SessionManager(config, args.run_dir, holder="keisei sl")
    session.acquire()
    try:
        return _build_and_train(args, config, session)
    except DatasetError:
        if created:  # nothing usable: leave no empty run directory behind
            session.close()
            shutil.rmtree(session.run_dir, ignore_errors=True)
        raise
    finally:
        session.close()


def _build_and_train(args: argparse.Namespace, config, session) -> int:
    from keisei.atomic import atomic_write_text
    from keisei.sl.dataset import build_dataset

    run_dir = session.run_dir
    data_dir = run_dir / "data"
    _manifest, report = build_dataset(args.records, data_dir, config.sl, rebuild=args.rebuild)
    print(f"training set:  {data_dir}" + (" (up to date, reused)" if report.reused else ""), flush=True)
    for line in report.lines():
        print(f"  {line}", flush=True)
    for line in report.first_skips:
        print(f"  skipped: {line}", flush=True)
    if report.skipped:
        print(f"  every skipped record is listed in {data_dir / 'skipped.tsv'}", flush=True)
    if args.build_only:
        return 0
    from keisei.sl.train import SLTrainer

    trainer = SLTrainer(config, data_dir, run_dir, session=session)
    print(f"model:         {config.model.name}, {trainer.num_parameters:,} parameters on {trainer.device}; "
          f"{trainer.total_steps:,} steps of {config.sl.batch_size}", flush=True)
    print(f"TensorBoard:   tensorboard --logdir {run_dir}", flush=True)
    summary = trainer.run(report=lambda line: print(line, flush=True))
    atomic_write_text(run_dir / "sl_summary.json", json.dumps(
        {"steps": summary.steps, "samples": summary.samples, "seconds": summary.seconds, **summary.val,
         "checkpoint": str(summary.checkpoint)}, indent=1) + "\n")
    print(summary.line(), flush=True)
    return 0
