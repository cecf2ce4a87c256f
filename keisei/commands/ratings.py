"""`keisei ratings [RUN_DIR]`: the joint Elo table of a run's evaluation games and a plot of the agent's rating."""

from __future__ import annotations

import argparse
from pathlib import Path

from keisei.errors import KeiseiError

STORE_FILE = "evaluation.sqlite"
PLOT_FILE = "ratings.png"


def register(sub) -> None:
    p = sub.add_parser("ratings", help="rating table of a run's evaluation games, and the agent's rating plot")
    p.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR",
                   help="run directory holding evaluation.sqlite (default: the newest such run under --run-root)")
    p.add_argument("--run-root", default="runs", help="where to look for runs when RUN_DIR is omitted")
    p.add_argument("--anchor", default="random", help="player fixed at 0 Elo (default: random)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help=f"PNG of the agent's rating against timesteps (default: RUN_DIR/{PLOT_FILE})")
    p.set_defaults(func=run)


def find_store(run_dir: str | None, run_root: str) -> Path:
    """RUN_DIR/evaluation.sqlite, or that of the most recently updated run under ``run_root``."""
    if run_dir is not None:
        store = Path(run_dir) / STORE_FILE
        if not store.is_file():
            raise KeiseiError(f"no evaluation store: {store} does not exist (has this run been evaluated?)")
        return store
    root = Path(run_root)
    stores = sorted(root.glob(f"*/{STORE_FILE}"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not stores:
        raise KeiseiError(f"no run with {STORE_FILE} under {root}/; pass RUN_DIR")
    return stores[-1]


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from keisei.evaluation.ratings import fit_ratings
    from keisei.evaluation.report import AGENT_PREFIX, plot_rating_history, rating_table
    from keisei.evaluation.store import GameStore

    store_path = find_store(args.run_dir, args.run_root)
    with GameStore(store_path) as store:
        games = store.games()
        history = store.rating_history(AGENT_PREFIX)
    console = Console()
    if not games:
        console.print(f"{store_path}: no games recorded yet")
    else:
        table = fit_ratings(games, anchor=args.anchor)
        if table.get(args.anchor) is None:
            raise KeiseiError(f"anchor {args.anchor!r} has no games in {store_path}; choose one of: "
                              + ", ".join(r.player for r in table))
        console.print(rating_table(table, title=f"{store_path.parent.name}: ratings (anchor {args.anchor} = 0 Elo)"))
    plot = Path(args.plot) if args.plot else store_path.parent / PLOT_FILE
    plot_rating_history(history, plot, title=f"{store_path.parent.name}: agent rating")
    console.print(f"rating plot ({len(history)} points): {plot}")
    return 0
