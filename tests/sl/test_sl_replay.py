"""Search self-play shards are records `keisei sl` reads: positions, the moves played and the outcome survive."""

from __future__ import annotations

import cshogi
import numpy as np

from keisei.cli import main
from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search.evaluator import UniformEvaluator
from keisei.search.selfplay import SelfPlayGames
from keisei.shogi.record_sources import RecordGame, RecordSkip, iter_records
from keisei.shogi.replay import write_shard


class _SometimesSure:
    """A stub network whose value is 0 except, now and then, +1 for the side to move: after one simulation
    the searching side then sees a lost position and resigns (decisive games of varied lengths)."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.calls, self.seconds = 0, 0.0

    def __call__(self, obs, mask):
        return np.zeros((len(obs), 2187), np.float32), (self.rng.random(len(obs)) < 0.04).astype(np.float32)


def _games(n: int, max_plies: int = 24, decisive: bool = False):
    evaluator = _SometimesSure() if decisive else UniformEvaluator()
    cfg = SelfPlayConfig(simulations=1 if decisive else 4, full_search_share=0.6,
                         resign_threshold=0.5 if decisive else 0.0, resign_playout_share=0.0)
    sp = SelfPlayGames(evaluator, SearchConfig(batch_size=4), cfg, num_games=n, max_plies=max_plies, seed=2)
    done = []
    while len(done) < n:
        done += sp.step(0)
    return done[:n]


def test_each_game_of_a_shard_is_a_record_with_its_played_moves(tmp_path):
    games = _games(3)
    for i, g in enumerate(games):
        write_shard(tmp_path / f"main-{i:08d}.npz", g.shard)
    (tmp_path / "main-00000009.npz").write_bytes(b"not a zip")
    out = list(iter_records([tmp_path]))
    records = [r for r in out if isinstance(r, RecordGame)]
    skips = [r for r in out if isinstance(r, RecordSkip)]
    assert len(records) == 3 and len(skips) == 1 and skips[0].reason == "bad_file"
    assert "main-00000009.npz" in skips[0].line()
    by_id = {int(r.where.split()[-1]): r for r in records}
    for g in games:
        rec = by_id[g.game_id]
        rows = g.shard.positions
        assert len(rec.moves) == len(rows) and rec.truncated == g.truncated
        board = cshogi.Board(g.start_sfen)
        plies = {int(p): i for i, p in enumerate(rows["ply"])}
        for ply, usi in enumerate(g.moves):
            if ply in plies:
                i = plies[ply]
                hcp = np.zeros(32, np.uint8)
                board.to_hcp(hcp)
                assert (rec.hcps[i] == hcp).all()
                assert cshogi.move_to_usi(board.move_from_move16(int(rec.moves[i]))) == usi
            board.push_usi(usi)


def test_keisei_sl_trains_from_a_replay_directory(tmp_path, capsys):
    games = _games(6, max_plies=200, decisive=True)
    assert all(g.reason == "resign" for g in games)
    for i, g in enumerate(games):
        write_shard(tmp_path / "replay" / f"main-{i:08d}.npz", g.shard)
    run = tmp_path / "run"
    code = main(["sl", "--records", str(tmp_path / "replay"), "--run-dir", str(run), "--set", "sl.min_plies=0",
                 "--set", "sl.max_steps=3", "--set", "sl.batch_size=16", "--set", "sl.val_fraction=0.0",
                 "--set", "model.blocks=1", "--set", "model.channels=16", "--set", "model.value_hidden=16",
                 "--set", "training.device=cpu", "--set", "training.torch_threads=1"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert list((run / "checkpoints").glob("ckpt_*.pt"))
