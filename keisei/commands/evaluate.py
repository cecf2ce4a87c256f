"""`keisei evaluate`: play a checkpoint against opponents and report W/D/L, score, Elo, LOS (and SPRT)."""

from __future__ import annotations

import json
from pathlib import Path


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
    p.add_argument("--json", default=None, metavar="FILE", help="write the result as JSON ('-' for stdout)")
    p.add_argument("--save-games", default=None, metavar="DIR", help="save every game as a record here")
    p.add_argument("--sprt", action="store_true", help="run the SPRT (evaluation.elo0/elo1/alpha/beta)")
    p.add_argument("--config", default=None, metavar="FILE", help="TOML config file")
    p.add_argument("--preset", default=None, help="config preset: tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--run-dir", default=None, metavar="DIR", help="record games in DIR/evaluation.sqlite")
    p.set_defaults(func=run)


def run(args) -> int:
    from keisei.config import load_config
    from keisei.evaluation.manager import EvaluationManager

    config = load_config(args.config, args.preset, args.overrides)
    manager = EvaluationManager(config, run_dir=args.run_dir)
    result = manager.evaluate_checkpoint(
        Path(args.checkpoint), opponents=args.opponents, num_games=args.games, strategy=args.strategy,
        sprt=args.sprt, save_games_dir=args.save_games, sims=args.sims,
    )
    if args.json == "-":
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_table(result)
        if args.json:
            Path(args.json).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return 0


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(result) -> None:
    """A rich table with one row per opponent, then the errors, if any."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    sprt = (result.sprt or {}).get("opponents", {})
    title = escape(f"{result.agent} (model v{result.model_version}, {result.timestep} timesteps)")
    table = Table(title=title)
    for col in ("opponent", "games", "W", "D", "L", "errors", "score", "Elo", "95% interval", "LOS"):
        table.add_column(col, justify="left" if col == "opponent" else "right")
    if result.sprt is not None:
        table.add_column("SPRT")
    for s in result.opponents:
        interval = f"[{_fmt(s.elo_low, '.0f')}, {_fmt(s.elo_high, '.0f')}]"
        row = [escape(s.name), str(s.games), str(s.wins), str(s.draws), str(s.losses), str(s.errors),
               _fmt(s.score, ".3f"), _fmt(s.elo, "+.0f"), interval, _fmt(s.los, ".3f")]
        if result.sprt is not None:
            verdict = sprt.get(s.name)
            row.append("-" if verdict is None else f"{verdict['verdict']} (llr {verdict['llr']:+.2f})")
        table.add_row(*row)
    console = Console()
    console.print(table)
    for error in result.errors:
        console.print(f"[red]error:[/red] {escape(error)}", highlight=False)
