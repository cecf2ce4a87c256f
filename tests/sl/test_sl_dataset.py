"""Building the on-disk training set: filters, duplicates, the split by game, reuse, and nothing half-written."""

from __future__ import annotations

import json

import cshogi
import numpy as np
import pytest
from sl_helpers import random_game, write_csa, write_hcpe, write_kif

from keisei.config import SLConfig
from keisei.shogi.labels import move_labels
from keisei.sl.dataset import SL_DTYPE, DatasetError, build_dataset, load_manifest


def _load(data_dir, split):
    m = load_manifest(data_dir)
    arrays = [np.load(data_dir / s["file"]) for s in m["shards"][split]]
    return np.concatenate(arrays) if arrays else np.zeros(0, SL_DTYPE)


def test_build_records_positions_labels_and_results(tmp_path):
    games = [random_game(s, 31) for s in range(6)]
    (tmp_path / "rec").mkdir()
    write_csa(tmp_path / "rec" / "a.csa", games)
    cfg = SLConfig(min_plies=0, val_fraction=0.0, dedup=False, shard_positions=50)
    manifest, report = build_dataset([tmp_path / "rec"], tmp_path / "data", cfg)
    recs = _load(tmp_path / "data", "train")
    assert len(recs) == 6 * 31 == report.positions["train"]
    assert len(manifest["shards"]["train"]) == 4  # 186 positions in shards of 50
    board = cshogi.Board()
    for i, m in enumerate(games[0]):
        assert recs["move16"][i] == cshogi.move16(m)
        assert recs["label"][i] == move_labels(np.array([m]), board.turn)[0]
        # 31 plies, then %TORYO: white (to move) resigns, black wins
        assert recs["result"][i] == (1 if board.turn == cshogi.BLACK else -1)
        board.push(m)
    assert manifest["counts"]["games_kept"] == 6 and len(manifest["records_digest"]) == 64


def test_filters_are_counted_by_reason(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    write_csa(rec / "short.csa", [random_game(1, 5)])
    write_csa(rec / "draw.csa", [random_game(2, 30)], endgame="%SENNICHITE")
    write_csa(rec / "cut.csa", [random_game(3, 30)], endgame="%CHUDAN")
    write_csa(rec / "weak.csa", [random_game(4, 30)], ratings=(900, 2500))
    write_csa(rec / "ok.csa", [random_game(5, 30)], ratings=(2000, 2500))
    (rec / "readme.md").write_text("x")
    cfg = SLConfig(min_plies=10, min_rating=1000, keep_draws=False, val_fraction=0.0)
    manifest, report = build_dataset([rec], tmp_path / "data", cfg)
    assert dict(report.skipped) == {"short": 1, "draw": 1, "truncated": 1, "low_rating": 1, "unknown_type": 1}
    assert report.games_kept == 1 and report.games_read == 5
    skipped = (tmp_path / "data" / "skipped.tsv").read_text().splitlines()
    assert len(skipped) == 5 and any(line.endswith("\tunknown_type\tsuffix '.md'") for line in skipped)
    assert manifest["counts"]["skipped"]["short"] == 1
    # draws kept when asked: their positions have result 0
    _, report2 = build_dataset([rec / "draw.csa"], tmp_path / "d2", SLConfig(min_plies=0, val_fraction=0.0))
    assert report2.games_kept == 1 and set(_load(tmp_path / "d2", "train")["result"].tolist()) == {0}


def test_duplicate_positions_are_dropped(tmp_path):
    game = random_game(7, 20)
    rec = tmp_path / "rec"
    rec.mkdir()
    write_csa(rec / "a.csa", [game, game])
    write_kif(rec / "b.kifu", game)
    _, report = build_dataset([rec], tmp_path / "data", SLConfig(min_plies=0, val_fraction=0.0))
    assert report.positions["train"] == 20 and report.dropped_positions["duplicate"] == 40
    assert report.skipped["all_positions_dropped"] == 2
    _, report = build_dataset([rec], tmp_path / "d2", SLConfig(min_plies=0, val_fraction=0.0, dedup=False))
    assert report.positions["train"] == 60


def test_split_is_by_game_never_by_position(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    games = [random_game(100 + s, 40) for s in range(40)]
    write_csa(rec / "a.csa", games)
    cfg = SLConfig(min_plies=0, val_fraction=0.3, dedup=False)
    _, report = build_dataset([rec], tmp_path / "data", cfg)
    assert report.games["val"] > 0 and report.games["train"] > 0
    assert report.positions["val"] == 40 * report.games["val"]
    train = {bytes(h) for h in _load(tmp_path / "data", "train")["hcp"]}
    val = {bytes(h) for h in _load(tmp_path / "data", "val")["hcp"]}
    for moves in games:  # past the shared first plies, each game lies wholly in one split
        board, hcps = cshogi.Board(), []
        for m in moves:
            h = np.zeros(32, np.uint8)
            board.to_hcp(h)
            hcps.append(h.tobytes())
            board.push(m)
        tail = hcps[8:]
        assert all(h in train for h in tail) or all(h in val for h in tail)
    # and the same records give the same split
    _, again = build_dataset([rec], tmp_path / "d2", cfg)
    assert again.games == report.games


def test_reuse_and_rebuild(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    write_csa(rec / "a.csa", [random_game(1, 30)])
    cfg = SLConfig(min_plies=0, val_fraction=0.0)
    build_dataset([rec], tmp_path / "data", cfg)
    _, report = build_dataset([rec], tmp_path / "data", cfg)
    assert report.reused and report.positions["train"] == 30
    write_csa(rec / "b.csa", [random_game(2, 30)])  # new records: the set is rebuilt
    _, report = build_dataset([rec], tmp_path / "data", cfg)
    assert not report.reused and report.games_kept == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_no_usable_records_writes_nothing(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    with pytest.raises(DatasetError, match="no record files"):
        build_dataset([rec], tmp_path / "data", SLConfig())
    (rec / "bad.csa").write_text("not a record\n")
    with pytest.raises(DatasetError, match=r"no training positions .*parse_error 1.*bad.csa: line 1"):
        build_dataset([rec], tmp_path / "data", SLConfig())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]


def test_hcpe_positions_keep_their_eval(tmp_path):
    path = write_hcpe(tmp_path / "p.hcpe", [random_game(1, 30)], result=0)
    _, _report = build_dataset([path], tmp_path / "data", SLConfig(val_fraction=0.0))
    recs = _load(tmp_path / "data", "train")
    assert len(recs) == 30 and set(recs["eval"].tolist()) == {100} and set(recs["flags"].tolist()) == {1}
    with pytest.raises(DatasetError, match="no training positions"):
        build_dataset([path], tmp_path / "d2", SLConfig(val_fraction=0.0, keep_draws=False))
    assert json.loads((tmp_path / "data" / "manifest.json").read_text())["record_bytes"] == 40


def test_a_failed_rebuild_keeps_the_previous_set(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    write_csa(rec / "a.csa", [random_game(1, 30)])
    cfg = SLConfig(min_plies=0, val_fraction=0.0)
    build_dataset([rec], tmp_path / "data", cfg)
    before = (tmp_path / "data" / "manifest.json").read_bytes()
    (rec / "a.csa").write_text("garbage\n")
    with pytest.raises(DatasetError, match="parse_error 1"):
        build_dataset([rec], tmp_path / "data", cfg)
    assert (tmp_path / "data" / "manifest.json").read_bytes() == before
    assert len(_load(tmp_path / "data", "train")) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "rec"]


def test_csa_in_no_known_encoding_is_an_encoding_skip(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    write_csa(rec / "ok.csa", [random_game(1, 30)])
    (rec / "bad.csa").write_bytes(b"V2.2\nN+\x85\x40\xff\nPI\n+\n")
    _, report = build_dataset([rec], tmp_path / "data", SLConfig(min_plies=0, val_fraction=0.0))
    assert report.skipped == {"encoding": 1} and report.games_kept == 1
    line = (tmp_path / "data" / "skipped.tsv").read_text().strip()
    assert line.startswith(f"{rec / 'bad.csa'}\tbyte 7\tencoding")
