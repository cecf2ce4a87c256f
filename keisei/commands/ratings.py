"""`keisei ratings [RUN_DIR]`: the joint Elo table of a run's evaluation games and a plot of the agent's rating.

The store is opened read-only (never created, never written), so this works on a run directory it cannot
write and beside a training run that is writing it (SQLite WAL: readers do not block the writer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keisei.errors import KeiseiError, check_output_file, os_error_line
from keisei.evaluation.store import STORE_FILE

PLOT_FILE = "ratings.png"


def register(sub) -> None:
    p = sub.add_parser("ratings", help="rating table of a run's evaluation games, and the agent's rating plot")
    p.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR",
                   help="run directory holding evaluation.sqlite (default: the newest such run under --run-root)")
    p.add_argument("--run-root", default="runs", help="where to look for runs when RUN_DIR is omitted")
    p.add_argument("--anchor", default="random", help="player fixed at 0 Elo (default: random)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help=f"PNG of the agent's rating against timesteps (default: RUN_DIR/{PLOT_FILE})")
    p.add_argument("--scale", choices=("calibrated", "joint"), default="calibrated",
                   help="calibrated: reference players fixed at their shipped ratings (comparable across runs); "
                        "joint: only --anchor fixed")
    p.add_argument("--calibrate", action="store_true",
                   help="remake the shipped scale: a round robin of the reference players (needs fairy-stockfish)")
    p.add_argument("--games", type=int, default=40, help="--calibrate: games per pair (default 40)")
    p.add_argument("--player", dest="players", action="append", default=None, metavar="SPEC",
                   help="--calibrate: a reference player (repeatable; default: random, greedy, four "
                        "Fairy-Stockfish settings)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="--calibrate: where to write the scale (default: the shipped calibration.json)")
    p.set_defaults(func=run)


def calibrate_command(args: argparse.Namespace) -> int:
    """`keisei ratings --calibrate`: play the reference round robin, fit it, write the scale file."""
    import json

    from keisei.atomic import atomic_write_text
    from keisei.config import load_config
    from keisei.evaluation.calibration import CALIBRATION_FILE, REFERENCE_PLAYERS, calibrate

    if args.games < 2:
        raise KeiseiError(f"--games {args.games}: at least 2 (one colour-swapped pair) per pair of players")
    out = Path(args.out) if args.out else CALIBRATION_FILE

    def report(a: str, b: str, results: list[str]) -> None:
        tally = {r: results.count(r) for r in ("win", "draw", "loss", "error")}
        print(f"{a} vs {b}: W/D/L {tally['win']}/{tally['draw']}/{tally['loss']}"
              + (f", {tally['error']} errors" if tally["error"] else ""), flush=True)

    data = calibrate(load_config(), args.players or REFERENCE_PLAYERS, args.games, report)
    for player, elo in sorted(data["ratings"].items(), key=lambda kv: -kv[1]):
        low, high = data["intervals"][player]
        print(f"{player:<48} {elo:+8.1f}  [{low:+.0f}, {high:+.0f}]", flush=True)
    atomic_write_text(out, json.dumps(data, indent=1) + "\n")
    print(f"wrote {out} ({data['games']} games, scale {data['scale']})", flush=True)
    return 0


def find_store(run_dir: str | None, run_root: str) -> Path:
    """RUN_DIR/evaluation.sqlite (which may not exist yet), or that of the newest run under ``run_root``."""
    if run_dir is not None:
        directory = Path(run_dir)
        if not directory.is_dir():
            raise KeiseiError(f"no run directory {directory}" + (": it is a file" if directory.exists() else ""))
        return directory / STORE_FILE
    root = Path(run_root)
    stores = sorted(root.glob(f"*/{STORE_FILE}"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not stores:
        raise KeiseiError(f"no run with {STORE_FILE} under {root}/; pass RUN_DIR")
    return stores[-1]


def how_to_evaluate(run_dir: Path) -> str:
    """A command that works to give ``run_dir`` a rating point: evaluate its newest checkpoint (or train first
    when it has none); periodic evaluation is named only when the run's config turned it off."""
    from keisei.run.checkpoints import latest_checkpoint

    ckpt = latest_checkpoint(run_dir / "checkpoints")
    if ckpt is None:
        how = (f"{run_dir} has no checkpoint yet: train it (keisei train --run-dir {run_dir} ...), then "
               f"keisei evaluate --checkpoint {run_dir / 'checkpoints' / 'latest'} --run-dir {run_dir}")
    else:
        how = f"keisei evaluate --checkpoint {ckpt} --run-dir {run_dir}"
    if _periodic_evaluation_off(run_dir):
        how += " (this run's config.toml turned periodic evaluation off: evaluation.enable_periodic_evaluation)"
    return how


def _periodic_evaluation_off(run_dir: Path) -> bool:
    import tomllib

    try:
        saved = tomllib.loads((run_dir / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return saved.get("evaluation", {}).get("enable_periodic_evaluation") is False


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from keisei.config import load_config
    from keisei.evaluation.calibration import rating_pins, scale_name
    from keisei.evaluation.ratings import fit_ratings
    from keisei.evaluation.report import (
        DRAWS_LEGEND,
        anchors_of,
        draw_split,
        plot_rating_history,
        rating_table,
    )
    from keisei.evaluation.store import GameStore

    if args.calibrate:
        return calibrate_command(args)
    if args.plot:
        check_output_file(args.plot, "--plot", makes_dirs=True)  # before the fit, even with nothing to draw
    store_path = find_store(args.run_dir, args.run_root)
    run_dir = store_path.parent
    console = Console()
    games, history, anchors, empty = [], [], {}, None
    if not store_path.is_file():
        empty = f"no evaluation yet: {run_dir} has no {STORE_FILE}"
    else:
        with GameStore(store_path, readonly=True) as store:
            games = store.games()
            history = store.rating_history()
        if not games:
            empty = f"no evaluation yet: {store_path} holds no games"
        elif not history:
            empty = f"{store_path} holds {len(games)} games but no agent rating at a training timestep"
    if games:
        ecfg = load_config(overrides=[f"evaluation.anchor={args.anchor}",
                                      f"evaluation.rating_scale={args.scale}"]).evaluation
        anchor, fixed = rating_pins(ecfg)
        table = fit_ratings(games, anchor=anchor, fixed=fixed)
        if table.get(args.anchor) is None:
            raise KeiseiError(f"anchor {args.anchor!r} has no games in {store_path}; choose one of: "
                              + ", ".join(r.player for r in table))
        console.print(rating_table(table, title=f"{run_dir.name}: ratings ({scale_name(ecfg)})",
                                   draws=draw_split(games)))
        console.print(DRAWS_LEGEND, highlight=False, markup=False)
        anchors = anchors_of(table)
    if empty is not None:  # nothing to draw: say why and how, and write no empty picture
        console.print(f"{empty}.\nTo get a rating point: {how_to_evaluate(run_dir)}\nNo rating plot written.",
                      highlight=False, markup=False, soft_wrap=True)
        return 0
    plot = Path(args.plot) if args.plot else run_dir / PLOT_FILE
    try:
        plot_rating_history(history, plot, title=f"{run_dir.name}: agent rating", anchors=anchors)
    except OSError as exc:
        if args.plot:
            raise
        print(f"keisei ratings: rating plot not written: {os_error_line(exc)} (pass --plot FILE)",
              file=sys.stderr, flush=True)
        return 0
    console.print(f"rating plot ({len(history)} points, {len(anchors)} reference lines): {plot}",
                  highlight=False, markup=False, soft_wrap=True)
    return 0
