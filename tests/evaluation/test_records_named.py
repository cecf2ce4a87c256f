"""Evaluation and self-play records name their players and open in cshogi's own readers."""

from __future__ import annotations

import cshogi
import cshogi.KIF as cshogi_kif
from eval_helpers import tiny_config, tiny_model, write_checkpoint

from keisei.config import load_config
from keisei.evaluation.manager import EvaluationManager
from keisei.training.game_recorder import GameRecorder
from keisei.training.game_stats import FinishedGame


class _Metrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def log_scalar(self, tag: str, value: float, step: int) -> None:
        pass

    def increment(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def test_evaluation_records_name_the_agent_with_its_version_and_the_opponent(tmp_path):
    ckpt = write_checkpoint(tmp_path / "ckpt_000050.pt", tiny_model(1), model_version=9, timesteps=500)
    config = tiny_config(max_plies=20)
    result = EvaluationManager(config).evaluate_checkpoint(
        ckpt, opponents=["random"], num_games=2, save_games_dir=tmp_path / "games"
    )
    paths = sorted((tmp_path / "games").glob("*.kif"))
    assert len(paths) == 2
    for path, game in zip(paths, result.games):
        parsed = cshogi_kif.Parser.parse_file(str(path))  # Shift_JIS by suffix
        agent = "ckpt:ckpt_000050 (Keisei 0.1.0, model v9)"
        want = [agent, "random"] if game.agent_color == "black" else ["random", agent]
        assert parsed.names == want
        assert [cshogi.move_to_usi(m) for m in parsed.moves] == game.moves
        assert parsed.endgame == "%CHUDAN" or game.reason != "max_plies"


def test_selfplay_records_name_keisei(tmp_path):
    cfg = load_config(overrides={"logging.save_selfplay_games_every": 1, "logging.game_format": "kifu"})
    recorder = GameRecorder(cfg.logging, cfg.env, tmp_path / "run_a", _Metrics())
    game = FinishedGame(winner="black", reason="resign", plies=3, truncated=False,
                        start_sfen=cshogi.STARTING_SFEN, moves=["7g7f", "3c3d", "8h2b+"])
    (path,) = recorder.record([game], 0)
    assert path.suffix == ".kifu"
    parsed = cshogi_kif.Parser.parse_file(str(path))
    assert parsed.names == ["Keisei 0.1.0 self-play (run_a)"] * 2
    assert parsed.win == cshogi.BLACK_WIN and len(parsed.moves) == 3
    named = GameRecorder(cfg.logging, cfg.env, tmp_path / "run_b", _Metrics(), player="agent@v3")
    (path,) = named.record([game], 0)
    assert cshogi_kif.Parser.parse_file(str(path)).names == ["agent@v3", "agent@v3"]
