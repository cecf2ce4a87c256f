"""`keisei evaluate`: play a checkpoint against opponents and report W/D/L, score, Elo, LOS (and SPRT).

Progress is shown while it plays (rich on a terminal, plain lines otherwise; on stderr when ``--json -``).
Exit 0 when every opponent had at least one completed game; ``EXIT_NO_GAMES`` (3) when against some
opponent every game errored (an engine that would not start, say) - the table, the JSON and the stored games
are still written, and the errors are listed. With ``--run-dir R`` the games go to R/evaluation.sqlite and
the agent's rating from a joint fit of all of R's games is added to R's rating history (``keisei ratings R``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keisei.errors import EXIT_NO_GAMES


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint against opponents")
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="Keisei checkpoint to evaluate")
    p.add_argument(
        "--opponent", dest="opponents", action="append", default=None, metavar="SPEC",
        help="random | greedy | current | checkpoint:PATH[?sims=N] | usi:PATH[?opt=val&...] | a name from "
        "evaluation.engines (repeatable; default: evaluation.opponents)",
    )
    p.add_argument(
        "--sims", type=int, default=0, metavar="N",
        help="the agent searches N simulations per move (config [search]; batched across games); 0 = raw policy",
    )
    p.add_argument("--strategy", default=None, help="single_opponent | tournament | ladder | benchmark | custom")
    p.add_argument("--games", type=int, default=None, metavar="N", help="games per opponent, rounded up to whole colour-swapped pairs")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="base seed of the players (default: evaluation.seed, else training.seed = 1); "
                   "printed and stored with the result")
    p.add_argument("--json", default=None, metavar="FILE", help="write the result as JSON ('-' for stdout)")
    p.add_argument("--save-games", default=None, metavar="DIR", help="save every game as a record here")
    p.add_argument("--sprt", action="store_true", help="run the SPRT (evaluation.elo0/elo1/alpha/beta)")
    p.add_argument("--config", default=None, metavar="FILE", help="TOML config file")
    p.add_argument("--preset", default=None, help="config preset: tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="record games in DIR/evaluation.sqlite and the agent's rating in DIR's rating history")
    p.set_defaults(func=run)


def run(args) -> int:
    from keisei.config import load_config
    from keisei.evaluation.manager import EvaluationManager, EvaluationRequest
    from keisei.evaluation.progress import EvalProgress

    overrides = list(args.overrides)
    if args.seed is not None:
        if args.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {args.seed}")
        overrides.append(f"evaluation.seed={args.seed}")
    config = load_config(args.config, args.preset, overrides)
    if args.json and args.json != "-":
        from keisei.errors import check_output_file

        check_output_file(args.json, "--json")  # before the games, not after them
    manager = EvaluationManager(config, run_dir=args.run_dir)
    progress = EvalProgress(sys.stderr if args.json == "-" else sys.stdout)
    result = manager.evaluate(Path(args.checkpoint), EvaluationRequest(
        opponents=args.opponents, num_games=args.games, strategy=args.strategy,
        sprt=args.sprt, save_games_dir=args.save_games, sims=args.sims, progress=progress,
    ))
    rating_line = _record_rating(manager, result) if manager.store_path is not None else None
    if args.json == "-":
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_table(result)
        if rating_line:
            print(rating_line, flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return no_games_exit(result)


def no_games_exit(result) -> int:
    """0, or ``EXIT_NO_GAMES`` after one line naming the opponents against which no game completed."""
    empty = [s for s in result.opponents if s.played == 0]
    if not empty:
        return 0
    names = ", ".join(f"{s.name} ({s.errors} of {s.games} games errored)" for s in empty)
    print(f"keisei evaluate: error: no completed game against {names}", file=sys.stderr, flush=True)
    return EXIT_NO_GAMES


def _record_rating(manager, result) -> str:
    """Add the agent's joint-fit rating to the run's history; -> the line that says so (or why not)."""
    from keisei.evaluation.calibration import rating_pins, scale_name
    from keisei.evaluation.recording import record_agent_rating
    from keisei.evaluation.report import elo_games_text, interval_text

    ecfg = manager.config.evaluation
    rating, _ = record_agent_rating(manager.store_path, result.agent, result.timestep, *rating_pins(ecfg))
    run_dir = manager.run_dir
    if rating is None:
        why = ("the checkpoint has no timestep" if result.timestep is None
               else f"{result.agent} is not connected to the anchor {ecfg.anchor}")
        return f"no rating recorded in {run_dir}: {why}"
    return (f"rating of {result.agent} at {result.timestep:,} timesteps: {elo_games_text(rating.elo, rating.games)} "
            f"{interval_text(rating.low, rating.high)} ({scale_name(ecfg)}, fit of {manager.store_path}); "
            f"plot: keisei ratings {run_dir}")


def print_table(result, console=None) -> None:
    """A rich table with one row per opponent, the legend, then the errors, if any.

    Columns: W/D/L of the completed games, draws by rule / at the ply limit, errored games, score, Elo with
    the number of games it rests on, its 95% interval, LOS; with ``--sprt`` a verdict line per opponent follows."""
    from rich.console import Console
    from rich.markup import escape

    from keisei.evaluation.report import (
        DRAWS_HEADER,
        DRAWS_LEGEND,
        add_name_column,
        compact_table,
        elo_games_text,
        interval_text,
        name_cell,
    )

    sprt = (result.sprt or {}).get("opponents", {})
    facts = [f"model v{result.model_version}" if result.model_version is not None else "",
             f"{result.timestep:,} timesteps" if result.timestep is not None else "", f"seed {result.seed}"]
    title = f"{result.agent} ({', '.join(f for f in facts if f)})"
    table = compact_table(title)
    add_name_column(table, "opponent")
    for col in ("W/D/L", DRAWS_HEADER, "err", "score", "Elo (games)", "95% interval", "LOS"):
        table.add_column(col, justify="right")
    for s in result.opponents:
        row = [name_cell(s.name), f"{s.wins}/{s.draws}/{s.losses}",
               f"{s.draws_rule}/{s.draws_max_plies}", str(s.errors), _fmt(s.score, ".3f"),
               "-" if s.elo is None else elo_games_text(s.elo, s.played), interval_text(s.elo_low, s.elo_high),
               _fmt(s.los, ".3f")]
        table.add_row(*row)
    console = console or Console()
    console.print(table)
    console.print(DRAWS_LEGEND, highlight=False, markup=False)
    for s in result.opponents:
        if s.played and s.wins + s.losses == 0:
            console.print(f"note: no decisive game against {s.name} ({s.draws} draws): its Elo interval rests on "
                          "draws alone; play more games for a real estimate", highlight=False, markup=False)
    if result.sprt is not None:  # below the table, so that it stays within 80 columns
        for s in result.opponents:
            verdict = sprt.get(s.name)
            text = "-" if verdict is None else f"{verdict['verdict']} (llr {verdict['llr']:+.2f})"
            console.print(f"SPRT vs {s.name}: {text}", highlight=False, markup=False)
    for error in result.errors:
        console.print(f"[red]error:[/red] {escape(error)}", highlight=False)


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)
