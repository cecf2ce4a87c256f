"""Evaluation strategies: which matchups an evaluation plays.

Each strategy maps a ``StrategyContext`` to a ``Plan``: the pairings to play (the agent, marked ``None``,
against an opponent; or, in a tournament, two opponents against each other) and errors to report (e.g.
benchmark engines that are not installed). ``STRATEGIES`` is the registry; ``get_strategy`` names the
known ones when asked for an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keisei.evaluation.opponents import OpponentSpec, agent_version, parse_opponent, parse_opponents
from keisei.usi.spec import resolve_executable

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig

TOURNAMENT_MAX_PLAYERS = 6  # agent included: 15 pairings at most
LADDER_SIZE = 3
BENCHMARK_ENGINE = "fairy-stockfish"
BENCHMARK_ENGINE_LEVELS = ("Skill Level=-20&nodes=100", "Skill Level=0&nodes=1000")


@dataclass
class StrategyContext:
    """What a strategy may use: the config, the requested specs, the agent's store name and ratings."""

    config: KeiseiConfig
    requested: list[str]
    agent_name: str
    ratings: dict[str, float] = field(default_factory=dict)  # name -> Elo from the run's store, if any


@dataclass
class Plan:
    """Pairings to play (``None`` is the agent) and problems to report in ``EvaluationResult.errors``."""

    pairings: list[tuple[OpponentSpec | None, OpponentSpec]]
    errors: list[str] = field(default_factory=list)

    @property
    def opponents(self) -> list[OpponentSpec]:
        """The agent's opponents in pairing order."""
        return [b for a, b in self.pairings if a is None]


def _requested(ctx: StrategyContext) -> list[OpponentSpec]:
    specs = parse_opponents(ctx.requested, ctx.config)
    if not specs:
        raise ValueError("no opponents given: pass opponents=[...] / --opponent SPEC or set evaluation.opponents")
    return specs


def single_opponent(ctx: StrategyContext) -> Plan:
    """The first requested opponent only."""
    return Plan([(None, _requested(ctx)[0])])


def custom(ctx: StrategyContext) -> Plan:
    """Every requested opponent, in the order given."""
    return Plan([(None, spec) for spec in _requested(ctx)])


def tournament(ctx: StrategyContext) -> Plan:
    """Round robin over the agent and the requested opponents (the agent's games are the summary)."""
    specs = _requested(ctx)
    if len(specs) + 1 > TOURNAMENT_MAX_PLAYERS:
        raise ValueError(
            f"tournament: {len(specs) + 1} players (agent included); at most {TOURNAMENT_MAX_PLAYERS} allowed"
        )
    players: list[OpponentSpec | None] = [None, *specs]
    pairings = [(players[i], players[j]) for i in range(len(players)) for j in range(i + 1, len(players))]
    return Plan(pairings)  # type: ignore[arg-type]


def ladder(ctx: StrategyContext) -> Plan:
    """The requested opponents rated nearest to the agent's current rating; all of them without ratings.

    The agent's rating is its own name's if rated, else that of its most recent rated version
    (``agent@v<N>`` with the largest N).
    """
    specs = _requested(ctx)
    agent_elo = _agent_rating(ctx)
    rated = [s for s in specs if s.name in ctx.ratings]
    if agent_elo is None or not rated:
        return Plan([(None, s) for s in specs])
    nearest = sorted(rated, key=lambda s: (abs(ctx.ratings[s.name] - agent_elo), s.name))[:LADDER_SIZE]
    return Plan([(None, s) for s in specs if s in nearest])


def _agent_rating(ctx: StrategyContext) -> float | None:
    if ctx.agent_name in ctx.ratings:
        return ctx.ratings[ctx.agent_name]
    versions = []
    for name, elo in ctx.ratings.items():
        version = agent_version(name)
        if version is not None:
            versions.append((version, elo))
    return max(versions)[1] if versions else None


def benchmark(ctx: StrategyContext) -> Plan:
    """Fixed anchors: random, greedy, and Fairy-Stockfish at two levels when it is installed."""
    pairings: list[tuple[OpponentSpec | None, OpponentSpec]] = [
        (None, parse_opponent("random", ctx.config)),
        (None, parse_opponent("greedy", ctx.config)),
    ]
    errors = []
    installed = resolve_executable(BENCHMARK_ENGINE) is not None
    for level in BENCHMARK_ENGINE_LEVELS:
        spec = f"usi:{BENCHMARK_ENGINE}?{level}"
        if installed:
            pairings.append((None, parse_opponent(spec, ctx.config)))
        else:
            errors.append(f"benchmark: {spec} omitted: {BENCHMARK_ENGINE} is not installed")
    return Plan(pairings, errors)


STRATEGIES: dict[str, Callable[[StrategyContext], Plan]] = {
    "single_opponent": single_opponent,
    "tournament": tournament,
    "ladder": ladder,
    "benchmark": benchmark,
    "custom": custom,
}


def get_strategy(name: str) -> Callable[[StrategyContext], Plan]:
    """The strategy registered as ``name``; ValueError naming the known strategies otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown evaluation strategy {name!r}; choose one of {', '.join(STRATEGIES)}") from None
