"""EvaluationManager: evaluate the live agent, a weight snapshot or a checkpoint against opponents.

Async at the core; the synchronous twins work from plain code, from inside a running event loop (they run
the coroutine on a dedicated worker thread with its own loop) and from worker threads. CPU-heavy work runs
in a single-worker ThreadPoolExecutor, so other coroutines keep running during an evaluation.
"""

from __future__ import annotations

import asyncio
import functools
import math
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from keisei.evaluation.asyncutil import run_sync
from keisei.evaluation.calibration import rating_pins
from keisei.evaluation.engines import open_engine
from keisei.evaluation.gating import run_sprt
from keisei.evaluation.match import LiveGame, Matchup, play_matchups, save_games
from keisei.evaluation.openings import schedule
from keisei.evaluation.opponents import (
    OpponentSpec,
    agent_player_name,
    checkpoint_player_name,
    search_player_name,
)
from keisei.evaluation.progress import ProgressSink
from keisei.evaluation.recording import record_games, store_ratings
from keisei.evaluation.result import EvaluationResult, summarise
from keisei.evaluation.sides import MoveChooser, NetworkPolicy, SearchPolicy, Side
from keisei.evaluation.store import STORE_FILE
from keisei.evaluation.strategies import Plan, StrategyContext, get_strategy
from keisei.models import unwrap_model
from keisei.shogi import GreedyPlayer, RandomPlayer
from keisei.weights import ModelWeightManager, WeightSnapshot

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig



@dataclass(frozen=True)
class EvaluationRequest:
    """What one evaluation plays (every field optional; None = the config's ``[evaluation]`` value).

    ``opponents``: specs (keisei.evaluation.opponents); ``num_games`` per opponent; ``strategy`` (a name in
    keisei.evaluation.strategies); ``sprt``: gate the result with the config's SPRT; ``save_games_dir``: also
    write every game as a record there; ``progress`` is told about every finished game; ``sims`` > 0: the
    agent searches that many simulations per move (named ``<name>[sims=N]``, batched across its games);
    ``model_version``/``timestep``/``sha256`` tag a live model's results.
    """

    opponents: list[str] | tuple[str, ...] | None = None
    num_games: int | None = None
    strategy: str | None = None
    sprt: bool = False
    save_games_dir: str | Path | None = None
    progress: ProgressSink | None = None
    sims: int = 0
    model_version: int | None = None
    timestep: int | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.sims, bool) or not isinstance(self.sims, int) or self.sims < 0:
            raise ValueError(f"sims must be an integer >= 0, got {self.sims!r}")


@dataclass
class _Agent:
    """The network being evaluated and how it is named and tagged in results and the store."""

    model: nn.Module
    name: str
    device: torch.device
    model_version: int | None
    timestep: int | None
    checkpoint: str | None = None
    sims: int = 0  # > 0: the agent plays with a tree search of this many simulations per move
    sha256: str | None = None  # hash of the weights played (recorded with results, store rows and ratings)


def _seed(base: int, label: str) -> int:
    """A stable per-player seed (Python's str hash is randomised per process, crc32 is not)."""
    return (base * 1_000_003 + zlib.crc32(label.encode())) % (2**63)


class EvaluationManager:
    """Plays evaluation games and summarises them (see docs/CONTRACTS.md, keisei.evaluation)."""

    def __init__(
        self, config: KeiseiConfig, run_dir: str | Path | None = None,
        weight_manager: ModelWeightManager | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        ecfg = config.evaluation
        self.weights = weight_manager or ModelWeightManager(ecfg.weight_cache_entries, ecfg.weight_cache_bytes)

    @property
    def store_path(self) -> Path | None:
        """``run_dir / "evaluation.sqlite"`` when a run directory is set."""
        return self.run_dir / STORE_FILE if self.run_dir is not None else None

    def eval_device(self) -> torch.device:
        """The device for models this manager builds (``evaluation.device``; auto = cuda when available)."""
        choice = self.config.evaluation.device
        if choice == "auto":
            choice = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(choice)

    # ------------------------------------------------------------------------------------------- public API
    async def evaluate_async(
        self, agent: nn.Module | WeightSnapshot | str | Path, request: EvaluationRequest | None = None
    ) -> EvaluationResult:
        """Play ``agent`` against the request's opponents and summarise the games.

        ``agent``: a live model (used read-only in eval mode, its mode restored after; ``request.model_version``
        / ``timestep`` / ``sha256`` tag its results), a pinned ``WeightSnapshot``, or a checkpoint file
        (``CheckpointError`` when it is missing, corrupt or mismatched). Snapshots and checkpoints carry their
        own tags: giving tags for them is a ValueError, not silently ignored.
        """
        request = request or EvaluationRequest()
        who = await self._agent(agent, request)
        return await self._evaluate(who, request)

    def evaluate(
        self, agent: nn.Module | WeightSnapshot | str | Path, request: EvaluationRequest | None = None
    ) -> EvaluationResult:
        """Synchronous twin of ``evaluate_async`` (safe inside a running loop and in threads)."""
        return run_sync(lambda: self.evaluate_async(agent, request))

    def evaluate_current_agent(self, agent: nn.Module | WeightSnapshot, *args: Any, **kw: Any) -> EvaluationResult:
        """Shorthand: ``evaluate(agent, EvaluationRequest(*args, **kw))`` for a live model or snapshot."""
        return self.evaluate(agent, EvaluationRequest(*args, **kw))

    def evaluate_checkpoint(self, path: str | Path, *args: Any, **kw: Any) -> EvaluationResult:
        """Shorthand: ``evaluate(Path(path), EvaluationRequest(*args, **kw))``."""
        return self.evaluate(Path(path), EvaluationRequest(*args, **kw))

    async def evaluate_current_agent_async(self, agent: nn.Module | WeightSnapshot, *args: Any,
                                           **kw: Any) -> EvaluationResult:
        """Shorthand: ``evaluate_async(agent, EvaluationRequest(*args, **kw))``."""
        return await self.evaluate_async(agent, EvaluationRequest(*args, **kw))

    async def evaluate_checkpoint_async(self, path: str | Path, *args: Any, **kw: Any) -> EvaluationResult:
        """Shorthand: ``evaluate_async(Path(path), EvaluationRequest(*args, **kw))``."""
        return await self.evaluate_async(Path(path), EvaluationRequest(*args, **kw))

    async def _agent(self, agent: nn.Module | WeightSnapshot | str | Path, request: EvaluationRequest) -> _Agent:
        """The evaluated network, named and tagged (a checkpoint is loaded off the event loop)."""
        sims = request.sims
        live = isinstance(agent, nn.Module)
        tags = {k: v for k, v in (("model_version", request.model_version), ("timestep", request.timestep),
                                   ("sha256", request.sha256)) if v is not None}
        if tags and not live:
            raise ValueError(f"{', '.join(tags)}: only a live model is tagged by the request "
                             f"(a {type(agent).__name__} carries its own)")
        if live:
            model = unwrap_model(agent)
            param = next(model.parameters(), None)
            device = param.device if param is not None else torch.device("cpu")
            name = search_player_name(agent_player_name(request.model_version), sims)
            return _Agent(model, name, device, request.model_version, request.timestep, sims=sims,
                          sha256=request.sha256)
        device = self.eval_device()
        if isinstance(agent, WeightSnapshot):
            model = self.weights.build(agent, device)
            name = search_player_name(agent_player_name(agent.model_version), sims)
            return _Agent(model, name, device, agent.model_version, agent.timestep, sims=sims, sha256=agent.sha256)
        if isinstance(agent, (str, Path)):
            loop = asyncio.get_running_loop()
            model, snap = await loop.run_in_executor(None, self.weights.load_checkpoint, Path(agent), device)
            name = search_player_name(checkpoint_player_name(agent), sims)
            return _Agent(model, name, device, snap.model_version, snap.timestep, str(agent), sims, snap.sha256)
        raise TypeError(f"agent must be an nn.Module, a WeightSnapshot or a checkpoint path, got {type(agent).__name__}")

    # ------------------------------------------------------------------------------------------------ core
    @property
    def seed(self) -> int:
        """The base seed of every evaluation player: ``evaluation.seed``, else ``training.seed``."""
        seed = self.config.evaluation.seed
        return self.config.training.seed if seed is None else seed

    async def _evaluate(self, who: _Agent, request: EvaluationRequest) -> EvaluationResult:
        ecfg = self.config.evaluation
        opponents, num_games, progress = request.opponents, request.num_games, request.progress
        strategy = request.strategy or ecfg.strategy
        strategy_fn = get_strategy(strategy)
        loop = asyncio.get_running_loop()
        ratings = {}
        if strategy == "ladder" and self.store_path is not None:
            ratings = await loop.run_in_executor(
                None, store_ratings, self.store_path, *rating_pins(ecfg)
            )
        requested = list(opponents) if opponents is not None else list(ecfg.opponents)
        plan = strategy_fn(StrategyContext(self.config, requested, who.name, ratings))
        games = ecfg.num_games if num_games is None else num_games
        if games < 1:
            raise ValueError(f"num_games must be >= 1, got {games}")
        openings = schedule(ecfg.opening_suite, math.ceil(games / 2))  # whole colour-swapped pairs
        modes = [(m, m.training) for m in who.model.modules()]
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keisei-eval-cpu")
        try:
            who.model.eval()
            async with AsyncExitStack() as stack:
                sides = await self._open_sides(plan, who, stack)
                matchups = [Matchup(sides[_key(a)], sides[_key(b)], openings) for a, b in plan.pairings]
                on_done = None
                if progress is not None:
                    progress.start([(_label(a, b), 2 * len(openings)) for a, b in plan.pairings])
                    on_done = lambda k, lg: progress.game_done(k, lg.record().result)
                try:
                    played = await play_matchups(
                        matchups, max_plies=ecfg.max_plies, impasse_points=self.config.env.impasse_points,
                        executor=executor, on_game_done=on_done,
                    )
                finally:
                    if progress is not None:
                        progress.close()
            return await self._finish(who, plan, played, strategy, request.sprt, request.save_games_dir, executor)
        finally:
            executor.shutdown(wait=True)  # nothing touches the model after this
            for module, mode in modes:
                module.training = mode

    async def _open_sides(
        self, plan: Plan, who: _Agent, stack: AsyncExitStack
    ) -> dict[str | None, Side]:
        """A Side per player of the plan (key None: the agent); engines are closed when ``stack`` exits."""
        base = self.seed
        agent_policy = self._policy(who.model, who.device, _seed(base, "agent"), who.sims)
        sides: dict[str | None, Side] = {None: Side(who.name, policy=agent_policy)}
        loop = asyncio.get_running_loop()
        specs = {spec.name: spec for pair in plan.pairings for spec in pair if spec is not None}
        for name, spec in specs.items():
            seed = _seed(base, name)
            if spec.kind == "random":
                sides[name] = Side(name, player=RandomPlayer(seed=seed))
            elif spec.kind == "greedy":
                sides[name] = Side(name, player=GreedyPlayer(seed=seed))
            elif spec.kind == "current":
                sides[name] = Side(name, policy=agent_policy)
            elif spec.kind == "checkpoint":
                device = self.eval_device()
                model, _ = await loop.run_in_executor(None, self.weights.load_checkpoint, spec.path, device)
                sides[name] = Side(name, policy=self._policy(model, device, seed, spec.sims))
            else:
                sides[name] = Side(name, engine=await stack.enter_async_context(open_engine(spec, self.config)))
        return sides

    def _policy(self, model: nn.Module, device: torch.device, seed: int, sims: int) -> MoveChooser:
        """The raw batched policy, or a batched tree search of ``sims`` simulations per move."""
        if sims > 0:
            return SearchPolicy(model, device, self.config.search, sims, seed)
        return NetworkPolicy(model, device, self.config.evaluation.deterministic, seed)

    async def _finish(
        self, who: _Agent, plan: Plan, played: list[list[LiveGame]], strategy: str, sprt: bool,
        save_games_dir: str | Path | None, executor: ThreadPoolExecutor,
    ) -> EvaluationResult:
        """Records, saved games, store rows, summaries and the optional SPRT."""
        loop = asyncio.get_running_loop()
        evaluation_id = uuid.uuid4().hex
        agent_live = [lg for (a, _), games in zip(plan.pairings, played) if a is None for lg in games]
        side_live = [lg for (a, _), games in zip(plan.pairings, played) if a is not None for lg in games]
        directory = self._games_dir(who, save_games_dir)
        if directory is not None:
            fmt = self.config.logging.game_format
            await loop.run_in_executor(executor, functools.partial(
                save_games, agent_live + side_live, directory, fmt, labels={who.name: _agent_label(who)}
            ))
        games = [lg.record() for lg in agent_live]
        side_games = [lg.record() for lg in side_live]
        if self.store_path is not None:
            versions = {who.name: who.model_version} if who.model_version is not None else {}
            hashes = {who.name: who.sha256} if who.sha256 is not None else {}
            await loop.run_in_executor(executor, functools.partial(
                record_games, self.store_path, games + side_games, timestep=who.timestep,
                evaluation_id=evaluation_id, versions=versions, hashes=hashes, seed=self.seed,
            ))
        errors = list(plan.errors) + [
            f"{g.player} vs {g.opponent} (opening {g.opening}, {g.player} {g.agent_color}): {g.error}"
            for g in games + side_games if g.error is not None
        ]
        opponents = [spec.name for spec in plan.opponents]
        return EvaluationResult(
            opponents=summarise(games, opponents), games=games, errors=errors,
            model_version=who.model_version, timestep=who.timestep, checkpoint=who.checkpoint,
            sprt=run_sprt(games, opponents, self.config.evaluation) if sprt else None,
            agent=who.name, strategy=strategy, side_games=side_games, evaluation_id=evaluation_id,
            seed=self.seed, sha256=who.sha256,
        )

    def _games_dir(self, who: _Agent, save_games_dir: str | Path | None) -> Path | None:
        """Where to save game records: the explicit directory, else run_dir/eval_games/<agent> when
        ``evaluation.save_games`` is set, else nowhere."""
        if save_games_dir is not None:
            return Path(save_games_dir)
        if self.config.evaluation.save_games and self.run_dir is not None:
            tag = who.name if who.timestep is None else f"{who.name}_t{who.timestep}"
            return self.run_dir / "eval_games" / tag.replace(":", "_").replace("/", "_")
        return None


def _agent_label(who: _Agent) -> str:
    """The agent's name in game records: its name with Keisei's and the model's version."""
    import keisei

    version = "" if who.model_version is None else f", model v{who.model_version}"
    return f"{who.name} (Keisei {keisei.__version__}{version})"


def _label(a: OpponentSpec | None, b: OpponentSpec) -> str:
    """A pairing's progress label: the opponent's name (``a vs b`` for a game without the agent)."""
    return b.name if a is None else f"{a.name} vs {b.name}"


def _key(spec: OpponentSpec | None) -> str | None:
    """The sides-table key of a pairing member (None is the agent)."""
    return None if spec is None else spec.name
