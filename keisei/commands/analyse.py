"""`keisei analyse`: the engine's best line and score for a position, or for every move of a game record.

``keisei analyse --checkpoint NET --sfen "SFEN [moves ...]"`` (or ``--sfen startpos moves 7g7f``) prints the
best move, score and principal variation of that position (``--multipv K``: the K best). ``keisei analyse
--checkpoint NET GAME.kif`` (also .kifu, .csa, .usi) prints one line per move of the record: the move played,
the engine's best move there, the score before the move (side to move's view, the USI engine's cp scale) and
the line; ``=`` marks a move that was the engine's choice.
"""

from __future__ import annotations

import argparse
import json

from keisei.commands._terminal import Analysis, LocalEngine, add_engine_arguments
from keisei.errors import KeiseiError, check_output_file
from keisei.shogi import Game, IllegalMoveError
from keisei.shogi.sfen import parse_position


def register(sub) -> None:
    p = sub.add_parser("analyse", help="best line and score of a SFEN, or of every move of a KIF/CSA record",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_engine_arguments(p, nodes=256)
    p.add_argument("record", nargs="?", default=None, metavar="RECORD",
                   help="a game record (.kif, .kifu, .csa, .usi) to analyse move by move")
    p.add_argument("--sfen", default=None, metavar="POSITION",
                   help="a position: 'SFEN [moves ...]' or 'startpos [moves ...]' (instead of RECORD)")
    p.add_argument("--multipv", type=int, default=1, metavar="K", help="lines shown for --sfen (default 1)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the analysis as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.record is None) == (args.sfen is None):
        raise KeiseiError("give either a RECORD file or --sfen POSITION")
    if args.multipv < 1:
        raise KeiseiError(f"--multipv {args.multipv}: must be >= 1")
    if args.json:
        check_output_file(args.json, "--json")  # before the analysis, not after it
    if args.sfen is not None:
        game = position(args.sfen)
        if game.result is not None:
            raise KeiseiError(f"--sfen: the game is over there ({game.result.reason})")
        engine = LocalEngine(args)
        rows = [analyse_position(engine, game, args.multipv)]
    else:
        from keisei.shogi.records import load_record

        try:
            game = load_record(args.record)
        except (OSError, ValueError) as exc:
            text = str(exc)  # the readers name the file already: do not say it twice
            raise KeiseiError(text if str(args.record) in text else f"{args.record}: {text}") from None
        engine = LocalEngine(args)
        rows = analyse_record(engine, game)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def position(text: str) -> Game:
    """'SFEN [moves m...]' or 'startpos [moves m...]' -> Game; KeiseiError naming what is wrong."""
    try:
        sfen, moves = parse_position(text)
        return Game.from_moves(sfen, moves)
    except IllegalMoveError as exc:
        raise KeiseiError(f"--sfen: move {exc.ply} {exc.move!r} is not legal ({exc})") from None
    except ValueError as exc:
        raise KeiseiError(f"--sfen: {exc}") from None


def analyse_position(engine: LocalEngine, game: Game, multipv: int) -> dict:
    report = engine.think(game, multipv)
    print(f"position sfen {game.sfen()}")
    lines = []
    for k, line in enumerate(report.lines, 1):
        one = Analysis.of(report, line)
        print(f"{k:>3}. {one.move:<7} {one.score:<11} pv {' '.join(one.pv)}", flush=True)
        lines.append({"move": one.move, "score": one.score, "value": one.value, "pv": list(one.pv)})
    if report.nodes:
        print(f"     ({report.nodes} nodes)", flush=True)
    return {"sfen": game.sfen(), "lines": lines, "nodes": report.nodes}


def analyse_record(engine: LocalEngine, record: Game) -> list[dict]:
    """One line per move of the record (and the final position if the game is not over)."""
    game = Game(record.start_sfen, max_plies=max(record.max_plies, len(record.moves) + 1))
    print(f"{'ply':>4} {'played':<7}   {'best':<7} {'score':<11} line (score: the side to move's view)", flush=True)
    rows = []
    for ply, played in enumerate([*record.moves, None], 1):
        if game.result is not None or (played is None and record.result is not None):
            break
        analysis = engine.analyse(game)
        mark = "=" if played == analysis.move else " "
        shown = played or "-"
        print(f"{ply:>4} {shown:<7} {mark} {analysis.move:<7} {analysis.score:<11} {' '.join(analysis.pv[:10])}",
              flush=True)
        rows.append({"ply": ply, "played": played, "best": analysis.move, "score": analysis.score,
                     "value": analysis.value, "pv": list(analysis.pv), "turn": game.turn})
        if played is not None:
            game.push_usi(played)
    if record.result is not None:
        print(f"result: {record.result.winner or 'draw'} ({record.result.reason})", flush=True)
    return rows
