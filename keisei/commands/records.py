"""`keisei records generate`: teacher records from USI engine games (CSA, resumable)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("records", help="game records: generate teacher games with USI engines")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    g = verbs.add_parser("generate", help="engine-vs-engine games written as CSA records (rerun = resume)")
    g.add_argument("--engine", dest="engines", action="append", required=True, metavar="SPEC",
                   help="usi:PATH[?option=value&nodes=N|byoyomi=MS...] or a name from evaluation.engines; "
                   "once (self-play) or twice (A vs B, colours alternate)")
    g.add_argument("--games", type=int, required=True, metavar="N", help="games wanted in DIR in total")
    g.add_argument("--out", required=True, metavar="DIR", help="directory of game-NNNNNN.csa records")
    g.add_argument("--jobs", type=int, default=2, metavar="J", help="games played at once (default 2)")
    g.add_argument("--random-plies", type=int, default=4, metavar="K",
                   help="random legal plies after the opening, for variety (default 4)")
    g.add_argument("--max-plies", type=int, default=320, help="truncate games at this many plies (default 320)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random plies")
    g.add_argument("--opening-suite", default=None, help="opening suite (default evaluation.opening_suite)")
    g.add_argument("--config", default=None, metavar="FILE", help="TOML config (evaluation.engines, timeouts)")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keisei.config import load_config
    from keisei.errors import EXIT_NO_GAMES
    from keisei.evaluation.engines import engine_options
    from keisei.sl.teacher import ERRORS_FILE, generate

    config = load_config(args.config, None, args.overrides)
    specs = [config.evaluation.engines.get(e, e) for e in args.engines]
    start = time.monotonic()

    def report(outcome) -> None:
        print(outcome.line(args.games), flush=True)

    counts = generate(specs, args.games, args.out, jobs=args.jobs, random_plies=args.random_plies,
                      max_plies=args.max_plies, suite=args.opening_suite or config.evaluation.opening_suite,
                      seed=args.seed, engine_options=engine_options(config), report=report)
    minutes = (time.monotonic() - start) / 60
    results = ", ".join(f"{k} {counts[k]}" for k in ("black_wins", "white_wins", "draws") if counts[k])
    print(f"done: {counts['played']} games played in {minutes:.1f} min ({results or 'none'}), "
          f"{counts['errors']} errors, {counts['already']} already in {args.out}", flush=True)
    if counts["errors"]:
        print(f"engine or game errors are listed in {Path(args.out) / ERRORS_FILE}; rerun to retry them",
              file=sys.stderr, flush=True)
    return EXIT_NO_GAMES if counts["errors"] and not counts["played"] and not counts["already"] else 0
