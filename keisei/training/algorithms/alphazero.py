"""The search learner's registry entry: Gumbel (or PUCT) search self-play, records on disk, policy-value learning.

In one process, self-play and training alternate: ``SelfPlayCollector.collect()`` plays
``selfplay.collect_plies`` plies of each of its env.num_envs games (one batched search per ply, keisei.search
.selfplay) with the live model, writes the games that finished as one shard under ``<run>/replay`` (atomic:
a crash loses at most unfinished games), and hands the learner a SelfPlayBatch that points there; the
AlphaZeroLearner reads the new shards and trains under its reuse cap (keisei.rl.alphazero). Games in progress
are not checkpointed: a resume starts fresh games and re-scans the replay directory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from keisei.config import ConfigError, EnvConfig, KeiseiConfig
from keisei.rl import GradientSync
from keisei.rl.alphazero import AlphaZeroLearner, SelfPlayBatch
from keisei.run.counters import Counters
from keisei.run.timing import Stopwatch
from keisei.search.evaluator import Evaluator, make_evaluator
from keisei.search.selfplay import PlayedGame, SelfPlayGames
from keisei.shogi.replay import ReplayShard, list_shards, next_shard_name, read_shard, write_shard
from keisei.shogi.vecenv import parse_opening
from keisei.training.algorithms import Algorithm
from keisei.training.collector import Collected, LiveModelCollector
from keisei.training.game_stats import FinishedGame
from keisei.training.parallel.segments import Segment, SlotField

WRITER = "main"  # the in-process collector's shard names: main-00000000.npz, ...


class _TimedEvaluator:
    """The ``search.backend`` evaluator, its time also added to the run's network stopwatch."""

    def __init__(self, inner: Evaluator, net_time: Stopwatch) -> None:
        self.inner = inner
        self.net_time = net_time

    def refresh(self) -> None:
        if hasattr(self.inner, "refresh"):
            self.inner.refresh()

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self.net_time.time():
            return self.inner(obs, mask)


def _evaluator(model: nn.Module, device: torch.device, search) -> Evaluator:
    return make_evaluator(model, device, search.backend, search.onnx_max_batch)


def next_game_id(replay_dir: Path, writer: str = WRITER) -> int:
    """One past the largest game id in the writer's newest shard (0 in an empty directory)."""
    mine = [p for p in list_shards(replay_dir) if p.name.startswith(f"{writer}-")]
    for path in reversed(mine):
        try:
            ids = read_shard(path).positions["game_id"]
        except ValueError:
            continue
        if len(ids):
            return int(ids.max()) + 1
    return 0


def write_games(replay_dir: Path, writer: str, played: list[PlayedGame]) -> ReplayShard | None:
    """The finished games' positions as the writer's next shard (None, and no file, when they recorded none)."""
    parts = [g.shard for g in played if len(g.shard.positions)]
    if not parts:
        return None
    offsets = np.cumsum([0] + [len(p.labels) for p in parts[:-1]])
    positions = np.concatenate([p.positions for p in parts])
    positions["policy_start"] += np.repeat(offsets, [len(p.positions) for p in parts]).astype(np.uint32)
    shard = ReplayShard(positions, np.concatenate([p.labels for p in parts]), np.concatenate([p.probs for p in parts]))
    write_shard(next_shard_name(replay_dir, writer), shard)
    return shard


class SelfPlayCollector(LiveModelCollector):
    """In-process search self-play (see the module doc); ``run_dir`` is required (records go to disk)."""

    def __init__(self, config: KeiseiConfig, model: nn.Module, device: torch.device, counters: Counters,
                 net_time: Stopwatch, env_seed: int | None = None, run_dir: Path | None = None) -> None:
        if run_dir is None:
            raise ValueError("search self-play writes its records under the run directory: run_dir is required")
        env = config.env
        self.config = config
        self.counters = counters
        self.num_envs = env.num_envs
        self.replay_dir = Path(run_dir) / "replay"
        self.replay_dir.mkdir(parents=True, exist_ok=True)
        seed = config.training.seed if env_seed is None else env_seed
        openings = [parse_opening(o, env.max_plies, env.impasse_points) for o in env.openings] or None
        self.games = SelfPlayGames(
            _TimedEvaluator(_evaluator(model, device, config.search), net_time), config.search, config.selfplay, num_games=env.num_envs,
            openings=openings, max_plies=env.max_plies, impasse_points=env.impasse_points, seed=seed,
            first_game_id=next_game_id(self.replay_dir))
        self.false_resigns = 0
        self.resign_checks = 0

    def collect(self) -> Collected:
        version = self.counters.model_version
        start = time.perf_counter()
        played: list[PlayedGame] = []
        self.games.on_searched = self._show if self.live is not None else None
        for _ in range(self.config.selfplay.collect_plies):
            played += self.games.step(version)
        shard = write_games(self.replay_dir, WRITER, played)
        wall = time.perf_counter() - start
        st = self.games.stats.take()
        positions = len(shard.positions) if shard is not None else 0
        for game in played:
            if game.false_resign is not None:
                self.resign_checks += 1
                self.false_resigns += game.false_resign
        stats = {
            "selfplay/moves_per_s": st.moves / max(wall, 1e-9),
            "selfplay/simulations_per_s": st.simulations / max(wall, 1e-9),
            "selfplay/positions_per_s": st.full / max(wall, 1e-9),
            "selfplay/games_per_hour": len(played) * 3600.0 / max(wall, 1e-9),
            "selfplay/batch_fill": st.positions / max(st.batches, 1),
            "selfplay/search_share": st.seconds / max(wall, 1e-9),
            "selfplay/false_resign_rate": self.false_resigns / self.resign_checks if self.resign_checks else math.nan,
            "selfplay/resign_threshold": self.games.resign_threshold(),
        }
        versions = torch.full((positions,), version, dtype=torch.int64)
        finished = [FinishedGame(g.winner, g.reason, g.plies, g.truncated, g.start_sfen, g.moves) for g in played]
        batch = SelfPlayBatch(steps=st.moves, versions=versions, replay_dir=self.replay_dir, positions=positions)
        return Collected(batch, finished, {k: v for k, v in stats.items() if not math.isnan(v)})

    def _show(self, games: list, results: list) -> None:
        """After a batched search: the searched positions and their roots, when the live state is due."""
        if self.live.boards_due():
            self.live.set_searched(games, results)

    def state_dict(self) -> None:
        """Games in progress are not saved: a resume starts new games (the records on disk are kept)."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise ValueError("search self-play keeps no env state to restore")

    def close(self) -> None:
        """Nothing to release (the shards are already on disk)."""


def build_learner(config: KeiseiConfig, model: nn.Module, device: torch.device,
                  grad_sync: GradientSync | None = None) -> AlphaZeroLearner:
    if grad_sync is not None:
        raise ConfigError("training.algorithm = 'alphazero': data-parallel torchrun ranks are not built for it yet; "
                          "run `keisei train` without torchrun (parallel.enabled gives it actor processes)")
    lag = config.parallel.max_policy_lag if config.parallel.enabled else None
    return AlphaZeroLearner(model, config.alphazero, config.training.total_timesteps, device,
                            value_mix=config.alphazero.value_mix, seed=config.training.seed, amp=config.training.amp,
                            max_policy_lag=lag)


def replan(learner: AlphaZeroLearner, config: KeiseiConfig, counters: dict[str, int], world_size: int) -> None:
    """The LR schedule is over self-play moves: point it at this run's training.total_timesteps."""
    learner.set_total_timesteps(config.training.total_timesteps)


#: what an actor process ships per segment: counts only (its positions are already in its shards on disk)
AZ_SCHEMA: dict[str, SlotField] = {
    "moves": SlotField(torch.int64, (), per_step=False),
    "positions": SlotField(torch.int64, (), per_step=False),
}


class AZActor:
    """Search self-play in an actor process (keisei.training.parallel.segments.Actor): plays
    ``selfplay.collect_plies`` plies of its games with the weights its worker keeps current, writes the games
    that finished as a shard of its own (writer ``a<seed>``: unique per worker incarnation) and reports counts."""

    def __init__(self, settings: dict[str, Any], model: nn.Module, env: EnvConfig, device: torch.device,
                 seed: int) -> None:
        from keisei.config import SearchConfig, SelfPlayConfig

        self.settings = settings
        self.replay_dir = Path(settings["replay_dir"])
        self.writer = f"a{seed}"
        self.num_envs = env.num_envs
        openings = [parse_opening(o, env.max_plies, env.impasse_points) for o in env.openings] or None
        self.games = SelfPlayGames(
            _evaluator(model, device, SearchConfig(**settings["search"])), SearchConfig(**settings["search"]), SelfPlayConfig(**settings["selfplay"]),
            num_games=env.num_envs, openings=openings, max_plies=env.max_plies, impasse_points=env.impasse_points,
            seed=seed, first_game_id=seed * 1_000_000 + next_game_id(self.replay_dir, self.writer))

    def play(self, beat: Callable[[], None], run_timesteps: int, version: int) -> Segment:
        played: list[PlayedGame] = []
        for _ in range(self.settings["collect_plies"]):
            beat()
            played += self.games.step(version)
        shard = write_games(self.replay_dir, self.writer, played)
        moves = self.games.stats.take().moves
        counts = {"moves": torch.zeros(self.num_envs, dtype=torch.int64),
                  "positions": torch.zeros(self.num_envs, dtype=torch.int64)}
        counts["moves"][0] = moves
        counts["positions"][0] = len(shard.positions) if shard is not None else 0
        finished = [FinishedGame(g.winner, g.reason, g.plies, g.truncated, g.start_sfen, g.moves) for g in played]
        return Segment(counts, moves, finished)


class AZSegments:
    """alphazero's SegmentKind: AZ_SCHEMA, AZActor, and a SelfPlayBatch pointing at the replay directory."""

    length_field = "selfplay.collect_plies"
    schema = AZ_SCHEMA
    actor = AZActor

    def __init__(self, config: KeiseiConfig, run_dir: Path | None = None) -> None:
        self.num_steps = config.selfplay.collect_plies
        self.replay_dir = Path(run_dir or ".") / "replay"
        self.actor_settings = {"replay_dir": str(self.replay_dir), "collect_plies": config.selfplay.collect_plies,
                               "search": config.search.model_dump(), "selfplay": config.selfplay.model_dump()}

    def assemble(self, segments: list[tuple[int, dict[str, Tensor]]], device: torch.device) -> SelfPlayBatch:
        moves = sum(int(seg["moves"].sum()) for _, seg in segments)
        versions = torch.cat([torch.full((int(seg["positions"].sum()),), v, dtype=torch.int64) for v, seg in segments])
        return SelfPlayBatch(steps=moves, versions=versions, replay_dir=self.replay_dir, positions=len(versions))


ALPHAZERO = Algorithm(
    name="alphazero",
    checkpoint_keys=AlphaZeroLearner.checkpoint_keys,
    build_learner=build_learner,
    in_process_collector=SelfPlayCollector,
    segments=AZSegments,
    steps_per_update=lambda config: config.env.num_envs * config.selfplay.collect_plies,
    replan=replan,
)
