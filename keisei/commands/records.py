"""`keisei records generate`: teacher records from USI engine games (CSA, resumable).
`keisei records export`: games (records, runs, search self-play shards) in dlshogi's hcpe3 or hcpe format."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("records", help="game records: generate teacher games with USI engines, export for dlshogi")
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
    e = verbs.add_parser("export", help="games as dlshogi hcpe3 (per game, with visit counts) or hcpe (per position)",
                         description=export_doc(), formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="record files or directories (.csa .kif .kifu .hcpe .hcpe3, replay .npz shards); a run "
                   "directory means its games/, eval_games/ and replay/")
    e.add_argument("--format", choices=("hcpe3", "hcpe"), default="hcpe3", help="default hcpe3")
    e.add_argument("--out", required=True, metavar="FILE", help="the file to write (atomically)")
    e.set_defaults(func=run_export)


def export_doc() -> str:
    from keisei.shogi import record_export

    return record_export.__doc__ or ""


def run_export(args: argparse.Namespace) -> int:
    from keisei.atomic import atomic_write
    from keisei.errors import DurableWriteError, KeiseiError, check_output_file
    from keisei.shogi.record_export import NoGamesError, export_records

    out = check_output_file(args.out, "--out")
    for source in args.sources:
        if not Path(source).exists():
            raise KeiseiError(f"{source}: No such file or directory")
    start = time.monotonic()
    try:
        counts = export_records(args.sources, args.format, lambda writer: atomic_write(out, writer))
    except DurableWriteError as exc:
        raise KeiseiError(str(exc)) from None
    except NoGamesError as exc:
        for skip in exc.counts.skips:
            print(f"skipped {skip.line()}", file=sys.stderr, flush=True)
        raise KeiseiError(f"no game to export in {', '.join(args.sources)} ({len(exc.counts.skips)} skipped"
                          f"{', all without a result' if exc.counts.truncated_skipped else ''}); "
                          f"{out} was not written") from None
    for skip in counts.skips:
        print(f"skipped {skip.line()}", file=sys.stderr, flush=True)
    note = (f", {counts.truncated_skipped} games without a result left out (hcpe has no 'unknown')"
            if counts.truncated_skipped else "")
    print(f"wrote {out} ({args.format}): {counts.games} games, {counts.positions} positions, "
          f"{len(counts.skips)} skipped{note} in {time.monotonic() - start:.1f} s", flush=True)
    return 0


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
