"""`keisei sl`: build a training set from game records, then train a network on it (supervised warm start)."""

from __future__ import annotations

import argparse
import json
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
    from keisei.atomic import atomic_write_text
    from keisei.config import load_config
    from keisei.sl.dataset import build_dataset

    config = load_config(args.config, args.preset, args.overrides)
    run_dir = Path(args.run_dir)
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

    trainer = SLTrainer(config, data_dir, run_dir, device=args.device)
    print(f"model:         {config.model.name}, {trainer.num_parameters:,} parameters on {trainer.device}; "
          f"{trainer.total_steps:,} steps of {config.sl.batch_size}", flush=True)
    print(f"TensorBoard:   tensorboard --logdir {run_dir}", flush=True)
    summary = trainer.run(report=lambda line: print(line, flush=True))
    atomic_write_text(run_dir / "sl_summary.json", json.dumps(
        {"steps": summary.steps, "samples": summary.samples, "seconds": summary.seconds, **summary.val,
         "checkpoint": str(summary.checkpoint)}, indent=1) + "\n")
    print(summary.line(), flush=True)
    return 0
