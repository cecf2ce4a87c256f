"""The search learner's replay: shards on disk (keisei.shogi.replay) and the window over them (keisei.rl.replay)."""

from __future__ import annotations

import numpy as np
import pytest

from keisei.config import AlphaZeroConfig, SearchConfig, SelfPlayConfig
from keisei.rl.replay import ReplayWindow, window_size
from keisei.search.evaluator import UniformEvaluator
from keisei.search.selfplay import SelfPlayGames
from keisei.shogi.replay import (
    FLAG_TERMINATED,
    FLAG_TRUNCATED,
    REPLAY_DTYPE,
    ReplayShard,
    ShardError,
    list_shards,
    next_shard_name,
    read_shard,
    write_shard,
)


def _shard(n: int, game_id: int = 1, ply0: int = 40, flags: int = FLAG_TERMINATED, outcome: int = 1,
           hcp_seed: int = 0) -> ReplayShard:
    rng = np.random.default_rng(hcp_seed)
    pos = np.zeros(n, REPLAY_DTYPE)
    pos["hcp"] = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    pos["ply"] = ply0 + np.arange(n)
    pos["outcome"] = outcome
    pos["flags"] = flags
    pos["root_value"] = 0.25
    pos["game_id"] = game_id
    pos["policy_len"] = 2
    pos["policy_start"] = 2 * np.arange(n)
    labels = np.tile(np.array([5, 9], np.uint16), n)
    probs = np.tile(np.array([0.75, 0.25], np.float32), n)
    return ReplayShard(pos, labels, probs)


def test_window_size_is_katagos_power_law():
    assert window_size(500, 1000, 0.75, 0.4) == 500
    assert window_size(1000, 1000, 0.75, 0.4) == 1000
    n = 16_000
    expected = 1000 * (1 + 0.4 * ((n / 1000) ** 0.75 - 1) / 0.75)
    assert window_size(n, 1000, 0.75, 0.4) == int(expected)
    assert window_size(n, 1000, 0.75, 0.4) < n


def test_shards_round_trip_and_names_continue(tmp_path):
    shard = _shard(5)
    path = write_shard(next_shard_name(tmp_path, "main"), shard)
    assert path.name == "main-00000000.npz"
    back = read_shard(path)
    assert (back.positions == shard.positions).all() and (back.probs == shard.probs).all()
    assert next_shard_name(tmp_path, "main").name == "main-00000001.npz"
    (tmp_path / ".main-00000001.npz.x.tmp").write_bytes(b"half")  # a temp file of an interrupted write
    assert list_shards(tmp_path) == [path]


def test_a_corrupt_shard_is_one_line_naming_it_and_the_window_skips_it(tmp_path, caplog):
    bad = tmp_path / "main-00000000.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ShardError, match="main-00000000.npz"):
        read_shard(bad)
    write_shard(tmp_path / "main-00000001.npz", _shard(3))
    window = ReplayWindow(tmp_path, AlphaZeroConfig(val_every=0))
    assert window.refresh() == 3
    assert window.skipped == ["main-00000000.npz"] and bad.exists()
    assert "main-00000000.npz" in caplog.text


def test_the_window_keeps_the_newest_positions_and_holds_out_games(tmp_path):
    cfg = AlphaZeroConfig(window_min=10, window_exponent=0.75, window_growth=0.4, val_every=5)
    for i in range(1, 11):  # games 1..10, 6 positions each; games 5 and 10 are held out
        write_shard(tmp_path / f"main-{i:08d}.npz", _shard(6, game_id=i, hcp_seed=i))
    window = ReplayWindow(tmp_path, cfg)
    assert window.refresh() == 48
    assert window.written == 48 and window.val_written == 12
    keep = window_size(48, 10, 0.75, 0.4)
    assert window.size == keep
    ids = window.train.positions["game_id"][window.eligible].tolist()
    assert ids == [6] * 3 + [7] * 6 + [8] * 6 + [9] * 6  # the newest positions only, none held out
    assert set(window.val.positions["game_id"].tolist()) <= {5, 10}
    assert window.refresh() == 0  # nothing new: nothing read twice


def test_repeated_opening_positions_are_capped(tmp_path):
    cfg = AlphaZeroConfig(window_min=1000, duplicate_plies=2, duplicate_cap=3, val_every=0)
    for i in range(10):  # ten games from the same first three positions
        write_shard(tmp_path / f"main-{i:08d}.npz", _shard(5, game_id=i + 1, ply0=0, hcp_seed=99))
    window = ReplayWindow(tmp_path, cfg)
    window.refresh()
    plies = window.train.positions["ply"][window.eligible]
    assert (plies <= 2).sum() == 3 * 3  # each of the three opening positions 3 times
    assert (plies > 2).sum() == 10 * 2  # later positions are not capped
    newest = window.train.positions["game_id"][window.eligible][plies == 0]
    assert sorted(newest.tolist()) == [8, 9, 10]


def test_batches_decode_positions_policies_and_value_targets(tmp_path):
    sp = SelfPlayGames(UniformEvaluator(), SearchConfig(batch_size=4),
                       SelfPlayConfig(simulations=4, full_search_share=1.0, resign_threshold=0.0),
                       num_games=2, max_plies=20, seed=1)
    done = []
    while len(done) < 2:
        done += sp.step(3)
    for i, g in enumerate(done):
        write_shard(tmp_path / f"main-{i:08d}.npz", g.shard)
    decisive = _shard(4, game_id=77, outcome=-1)
    decisive.positions["hcp"] = done[0].shard.positions["hcp"][:4]  # real positions
    write_shard(tmp_path / "main-00000009.npz", decisive)
    window = ReplayWindow(tmp_path, AlphaZeroConfig(val_every=0))
    window.refresh()
    idx = np.arange(len(window.train.positions))
    b = window.batch(idx)
    assert b.obs.shape == (len(idx), 119, 9, 9) and b.obs.sum() > 0
    assert np.allclose(b.policy.sum(dim=1).numpy(), 1.0, atol=1e-5)
    truncated = (window.train.positions["flags"] & FLAG_TRUNCATED) != 0
    assert truncated.sum() == 40
    assert (b.weight.numpy()[truncated] == 0).all()  # a ply-limit cut is no draw: no value target
    assert (b.weight.numpy()[~truncated] == 1).all() and (b.z.numpy()[~truncated] == -1).all()
    assert (b.versions.numpy()[truncated] == 3).all()
    mixed = ReplayWindow(tmp_path, AlphaZeroConfig(val_every=0), value_mix=0.5)
    mixed.refresh()
    z, w = mixed.value_targets(mixed.train.positions)
    assert np.allclose(z[~truncated], 0.5 * -1 + 0.5 * 0.25) and (w == 1).all()
    assert np.allclose(z[truncated], mixed.train.positions["root_value"][truncated])
