"""One Elo scale that compares across runs and machines: the reference players' ratings, measured once in a
calibration tournament and shipped as data (``calibration.json`` beside this module), pin every rating fit.

Without pins, the joint fit floats with who played whom (a 10-minute run's greedy can land 600 Elo from the
README's). With ``evaluation.rating_scale = "calibrated"`` (the default) every fit fixes the reference players
it meets at their calibrated values (random = 0) plus ``evaluation.anchor_elo``; ``"joint"`` fits them freely
(only ``evaluation.anchor`` fixed, as before). `keisei ratings --calibrate` remakes the file: a round robin of
the reference players (colour-swapped pairs over the opening suite), fitted with random fixed at 0.
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keisei.config import EvaluationConfig, KeiseiConfig

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
REFERENCE_PLAYERS = (
    "random",
    "greedy",
    "usi:fairy-stockfish?Skill Level=-20&nodes=100",
    "usi:fairy-stockfish?Skill Level=-10&nodes=1000",
    "usi:fairy-stockfish?Skill Level=-5&nodes=1000",
    "usi:fairy-stockfish?Skill Level=0&nodes=1000",
)


@dataclass(frozen=True)
class Calibration:
    """The shipped scale: ``ratings`` (player name -> Elo, ``anchor`` = 0) and how they were measured."""

    scale: str
    anchor: str
    ratings: dict[str, float]
    intervals: dict[str, list[float]] = field(default_factory=dict)
    games: int = 0
    games_per_pair: int = 0
    made: str = ""
    machine: str = ""
    command: str = ""


def load_calibration(path: str | Path = CALIBRATION_FILE) -> Calibration | None:
    """The calibration in ``path`` (None when there is none: every fit is then joint)."""
    path = Path(path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Calibration(**{k: data[k] for k in Calibration.__dataclass_fields__ if k in data})


def rating_pins(ecfg: EvaluationConfig) -> tuple[str, dict[str, float]]:
    """``(anchor, fixed)`` for every rating fit of this config: the calibrated reference ratings (when
    ``rating_scale`` is "calibrated" and the anchor is the calibration's) and ``anchor_elo`` on top."""
    fixed: dict[str, float] = {}
    calibration = load_calibration() if ecfg.rating_scale == "calibrated" else None
    if calibration is not None and calibration.anchor == ecfg.anchor:
        fixed.update(calibration.ratings)
    fixed.update(ecfg.anchor_elo)
    return ecfg.anchor, fixed


def scale_name(ecfg: EvaluationConfig) -> str:
    """How a rating line names its scale: the calibration's name, or ``joint fit, <anchor> = 0``."""
    calibration = load_calibration() if ecfg.rating_scale == "calibrated" else None
    if calibration is not None and calibration.anchor == ecfg.anchor:
        return f"scale {calibration.scale}"
    return f"joint fit, anchor {ecfg.anchor} = 0 Elo"


async def _round_robin(config: KeiseiConfig, specs: list[str], games_per_pair: int,
                       report=None) -> list[tuple[str, str, str]]:
    from keisei.evaluation.engines import UnavailableEngine, open_engine
    from keisei.evaluation.match import Matchup, play_matchups
    from keisei.evaluation.openings import schedule
    from keisei.evaluation.opponents import parse_opponent
    from keisei.evaluation.sides import Side
    from keisei.shogi import GreedyPlayer, RandomPlayer

    parsed = [parse_opponent(s, config) for s in specs]
    openings = schedule(config.evaluation.opening_suite, max(1, games_per_pair // 2))
    triples: list[tuple[str, str, str]] = []
    async with AsyncExitStack() as stack:
        sides = {}
        for k, spec in enumerate(parsed):
            if spec.kind == "random":
                sides[spec.name] = Side(spec.name, player=RandomPlayer(seed=1000 + k))
            elif spec.kind == "greedy":
                sides[spec.name] = Side(spec.name, player=GreedyPlayer(seed=1000 + k))
            elif spec.kind == "usi":
                engine = await stack.enter_async_context(open_engine(spec, config))
                if isinstance(engine, UnavailableEngine):
                    raise ValueError(f"calibration player {spec.spec!r} is unavailable: {engine.reason}")
                sides[spec.name] = Side(spec.name, engine=engine)
            else:
                raise ValueError(f"calibration players are reference players (random, greedy, usi:...), got "
                                 f"{spec.spec!r}")
        names = [s.name for s in parsed]
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
        with ThreadPoolExecutor(max_workers=1) as executor:
            for a, b in pairs:  # one pair at a time: an engine thinks for one game at a time
                [games] = await play_matchups([Matchup(sides[a], sides[b], openings)],
                                              max_plies=config.evaluation.max_plies,
                                              impasse_points=config.env.impasse_points, executor=executor)
                for lg in games:
                    rec = lg.record()
                    if rec.result == "error":
                        continue
                    black, white = (a, b) if rec.agent_color == "black" else (b, a)
                    winner = {"win": rec.agent_color, "loss": "white" if rec.agent_color == "black" else "black",
                              "draw": "draw"}[rec.result]
                    triples.append((black, white, winner))
                if report is not None:
                    report(a, b, [lg.record().result for lg in games])
    return triples


def calibrate(config: KeiseiConfig, specs: list[str] | tuple[str, ...] = REFERENCE_PLAYERS,
              games_per_pair: int = 40, report=None) -> dict[str, Any]:
    """Play the round robin and fit it with ``random`` fixed at 0; -> the calibration file's content."""
    from keisei.evaluation.ratings import fit_ratings

    started = time.time()
    triples = asyncio.run(_round_robin(config, list(specs), games_per_pair, report))
    table = fit_ratings(triples, anchor="random")
    ratings = {r.player: round(float(r.elo), 1) for r in table}
    intervals = {r.player: [round(float(r.low), 1), round(float(r.high), 1)] for r in table}
    return {
        "scale": time.strftime("keisei-%Y%m%d", time.gmtime(started)), "anchor": "random", "ratings": ratings,
        "intervals": intervals, "games": len(triples), "games_per_pair": games_per_pair,
        "made": time.strftime("%Y-%m-%d", time.gmtime(started)),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "command": "keisei ratings --calibrate --games " + str(games_per_pair),
    }
