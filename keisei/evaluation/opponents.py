"""Opponent specs: one string syntax for the CLI (``--opponent``) and Python (``opponents=[...]``).

* ``random`` / ``greedy``: the simple players from keisei.shogi.players;
* ``checkpoint:PATH``: a saved Keisei checkpoint (played by its network); ``checkpoint:PATH?sims=N`` plays it
  with a tree search of N simulations per move (named ``ckpt:<stem>[sims=N]``, so it rates apart);
* ``current``: the evaluated agent itself (a self-play mirror);
* ``usi:PATH[?name=value&...]``: a USI engine (parsed by keisei.usi.EngineSpec);
* any name defined in ``config.evaluation.engines`` (name -> one of the specs above).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keisei.usi import EngineSpec

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig

KINDS = ("random", "greedy", "checkpoint", "current", "usi")
SIMPLE = ("random", "greedy", "current")


@dataclass(frozen=True)
class OpponentSpec:
    """A parsed opponent: ``kind`` (one of KINDS), the display/store ``name`` and the original ``spec``."""

    kind: str
    name: str
    spec: str
    path: Path | None = None  # checkpoint file
    engine: EngineSpec | None = None  # for kind "usi"
    sims: int = 0  # kind "checkpoint": simulations per move (0 = the raw policy, no search)

    @property
    def is_network(self) -> bool:
        """True when the opponent is played by a network (batched with the agent's games)."""
        return self.kind in ("checkpoint", "current")


AGENT_NAME = "agent"


def agent_player_name(model_version: int | None) -> str:
    """The store name of the evaluated agent: ``agent@v<N>`` at a model version, plain ``agent`` without one."""
    return AGENT_NAME if model_version is None else f"{AGENT_NAME}@v{int(model_version)}"


def agent_version(name: str) -> int | None:
    """The model version in an agent name (``agent@v7`` -> 7); None for any other name."""
    prefix, sep, version = name.partition("@v")
    return int(version) if prefix == AGENT_NAME and sep and version.isdigit() else None


def checkpoint_player_name(path: str | Path) -> str:
    """The store/display name of a checkpoint player: ``ckpt:<file stem>`` (of the file a ``latest`` pointer
    names)."""
    from keisei.checkpoint import resolve_checkpoint_path

    return f"ckpt:{resolve_checkpoint_path(path).stem}"


def search_player_name(name: str, sims: int) -> str:
    """The name of a player that searches: ``<name>[sims=N]`` (unchanged when sims is 0)."""
    return f"{name}[sims={sims}]" if sims else name


def _checkpoint_query(spec: str, path: str) -> tuple[str, int]:
    """Split ``PATH?sims=N`` -> (PATH, N); a path without a ``?`` query has sims 0."""
    base, sep, query = path.rpartition("?")
    if not sep:
        return path, 0
    key, eq, value = query.partition("=")
    if key.strip() != "sims" or not eq:
        raise ValueError(f"opponent spec {spec!r}: unknown checkpoint option {query!r}; expected ?sims=N")
    try:
        sims = int(value)
    except ValueError:
        sims = -1
    if sims < 1:
        raise ValueError(f"opponent spec {spec!r}: sims must be an integer >= 1, got {value!r}")
    return base.strip(), sims


def parse_opponent(spec: str, config: KeiseiConfig | None = None) -> OpponentSpec:
    """Parse one opponent spec; ValueError naming the spec when it is not valid."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"opponent spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    engines = dict(config.evaluation.engines) if config is not None else {}
    if spec in SIMPLE:
        return OpponentSpec(kind=spec, name=spec, spec=spec)
    if spec.startswith("checkpoint:"):
        path = spec[len("checkpoint:"):].strip()
        path, sims = _checkpoint_query(spec, path)
        if not path:
            raise ValueError(f"opponent spec {spec!r}: checkpoint needs a path, e.g. checkpoint:runs/x/ckpt.pt")
        name = search_player_name(checkpoint_player_name(path), sims)
        return OpponentSpec(kind="checkpoint", name=name, spec=spec, path=Path(path), sims=sims)
    if spec.startswith("usi:"):
        try:
            engine = EngineSpec.parse(spec)
        except ValueError as exc:
            raise ValueError(f"opponent spec {spec!r}: {exc}") from None
        return OpponentSpec(kind="usi", name=engine.name, spec=spec, engine=engine)
    if spec in engines:
        target = engines[spec]
        if target in engines or not isinstance(target, str):
            raise ValueError(f"evaluation.engines.{spec} = {target!r} must be a spec, not another engine name")
        parsed = parse_opponent(target, None)
        return OpponentSpec(
            kind=parsed.kind, name=spec, spec=target, path=parsed.path, engine=parsed.engine, sims=parsed.sims
        )
    known = ", ".join([*SIMPLE, "checkpoint:PATH[?sims=N]", "usi:PATH[?option=value&...]", *sorted(engines)])
    raise ValueError(f"unknown opponent spec {spec!r}; expected one of: {known}")


def parse_opponents(specs: list[str], config: KeiseiConfig | None = None) -> list[OpponentSpec]:
    """Parse a list of specs; ValueError when two specs would share a name (their games would mix)."""
    parsed = [parse_opponent(s, config) for s in specs]
    names = [p.name for p in parsed]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"opponents listed more than once: {', '.join(dupes)}")
    return parsed
