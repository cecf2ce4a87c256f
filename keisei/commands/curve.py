"""`keisei curve RUN_DIR`: the learning curve of a whole run - every kept checkpoint against the same anchors
(colour-balanced games, Wilson 95% intervals) as a table, JSON and a PNG (RUN_DIR/curve.png)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keisei.errors import EXIT_NO_GAMES, KeiseiError, check_output_file


def register(sub) -> None:
    p = sub.add_parser("curve", help="learning curve of a run: every kept checkpoint vs the same anchors",
                       description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory (its checkpoints/ are played)")
    p.add_argument("--opponent", dest="opponents", action="append", default=None, metavar="SPEC",
                   help="an anchor (repeatable; any evaluate opponent spec); default: random and greedy")
    p.add_argument("--games", type=int, default=200, help="games per checkpoint and anchor (whole colour pairs)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the points as JSON")
    p.add_argument("--plot", default=None, metavar="FILE", help="the PNG (default: RUN_DIR/curve.png)")
    p.add_argument("--config", default=None, metavar="FILE", help="TOML config ([evaluation], [search])")
    p.add_argument("--preset", default=None, help="config preset")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keisei.config import load_config
    from keisei.evaluation.curve import DEFAULT_ANCHORS, learning_curve, plot_curve, run_checkpoints, to_json

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise KeiseiError(f"no run directory {run_dir}")
    if args.games < 2:
        raise KeiseiError(f"--games {args.games}: at least 2 (one colour-swapped pair)")
    checkpoints = run_checkpoints(run_dir)
    if not checkpoints:
        raise KeiseiError(f"{run_dir / 'checkpoints'}: no checkpoint to play")
    plot = Path(args.plot) if args.plot else run_dir / "curve.png"
    check_output_file(plot, "--plot", makes_dirs=True)
    if args.json:
        check_output_file(args.json, "--json")
    config = load_config(args.config, args.preset, args.overrides)
    anchors = args.opponents or list(DEFAULT_ANCHORS)
    print(f"{'timesteps':>10} {'opponent':<36} {'W/D/L':>11} {'score':>6}  95% interval", flush=True)

    def report(batch) -> None:
        for p in batch:
            interval = "-" if p.low is None else f"[{p.low:.3f}, {p.high:.3f}]"
            score = "-" if p.score is None else f"{p.score:.3f}"
            errors = f" ({p.errors} errors)" if p.errors else ""
            print(f"{p.timesteps:>10,} {p.opponent:<36} {p.wins:>3}/{p.draws}/{p.losses:<3} {score:>6}  "
                  f"{interval}{errors}", flush=True)

    points = learning_curve(config, checkpoints, anchors, args.games, report)
    plot_curve(points, plot, f"{run_dir.name}: score of every kept checkpoint")
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(points), indent=1) + "\n", encoding="utf-8")
    print(f"curve of {len(checkpoints)} checkpoints x {len(anchors)} anchors: {plot}", flush=True)
    return EXIT_NO_GAMES if any(p.score is None for p in points) else 0
