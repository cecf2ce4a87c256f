"""Saves every N-th finished self-play game as a KIF/CSA/USI record in run_dir/games/."""

from __future__ import annotations

import logging
from pathlib import Path

from keisei.config import EnvConfig, LoggingConfig
from keisei.run.callbacks import MetricsSink
from keisei.shogi import EXTERNAL_REASONS, Game, save_record
from keisei.training.game_stats import FinishedGame

logger = logging.getLogger(__name__)


def rebuild_game(game: FinishedGame, env_cfg: EnvConfig) -> Game:
    """Replay the start SFEN and moves; re-apply an end the moves alone do not imply (declaration etc.)."""
    g = Game.from_moves(game.start_sfen, game.moves, max_plies=env_cfg.max_plies,
                        impasse_points=env_cfg.impasse_points)
    if g.result is None and game.reason == "impasse":
        g.declare_win()
    if g.result is None and game.reason in EXTERNAL_REASONS:
        g.adjudicate(game.winner, game.reason)
    return g


class GameRecorder:
    """`record(games, first_index)`: game k (1-based over the whole run) is saved when k % every == 0."""

    def __init__(
        self, log_cfg: LoggingConfig, env_cfg: EnvConfig, run_dir: Path, metrics: MetricsSink,
        player: str | None = None,
    ) -> None:
        """``player``: the name written for both sides of the self-play records (default: Keisei, version)."""
        import keisei

        self.player = player or f"Keisei {keisei.__version__} self-play ({Path(run_dir).name})"
        self.every = log_cfg.save_selfplay_games_every
        self.fmt = log_cfg.game_format
        self.env_cfg = env_cfg
        self.dir = Path(run_dir) / "games"
        self.metrics = metrics

    def record(self, games: list[FinishedGame], games_before: int) -> list[Path]:
        """Save the due games among `games` (numbered after `games_before`); errors are logged and counted."""
        if self.every <= 0:
            return []
        saved = []
        for k, game in enumerate(games, start=games_before + 1):
            if k % self.every:
                continue
            path = self.dir / f"selfplay_{k:08d}.{self.fmt}"
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                save_record(rebuild_game(game, self.env_cfg), path, fmt=self.fmt, names=(self.player, self.player))
                saved.append(path)
            except Exception:
                logger.exception("could not save self-play game %d to %s", k, path)
                self.metrics.increment("games/save_errors")
        return saved
