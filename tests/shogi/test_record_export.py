"""`keisei records export`: games in dlshogi's hcpe3/hcpe, read back by cshogi's dtypes and Board (positions,
moves, results, visit counts) and by Keisei's own readers; bad input loses nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cshogi
import numpy as np
import pytest

from keisei.cli import main
from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search.evaluator import UniformEvaluator
from keisei.search.selfplay import SelfPlayGames
from keisei.shogi import Game
from keisei.shogi.labels import move_labels
from keisei.shogi.players import GreedyPlayer, RandomPlayer
from keisei.shogi.record_export import EVAL_COEF, VISIT_SCALE, value_to_eval
from keisei.shogi.record_sources import HCPE3_HEADER, HCPE3_MOVE, HCPE3_VISIT, RecordGame, iter_records
from keisei.shogi.records import save_record
from keisei.shogi.replay import FLAG_TRUNCATED, write_shard


def record_games(directory: Path) -> list[Game]:
    """Greedy against random, written as KIF and CSA (one cut at the ply limit: no result)."""
    directory.mkdir(parents=True)
    games = []
    for i, max_plies in enumerate((300, 300, 40)):
        game = Game(max_plies=max_plies)
        players = (GreedyPlayer(seed=i), RandomPlayer(seed=100 + i))
        while game.result is None:
            game.push_usi(players[game.ply % 2].choose(game))
        save_record(game, directory / f"g{i}.{'kif' if i % 2 else 'csa'}")
        games.append(game)
    return games


def shard_games(directory: Path):
    cfg = SelfPlayConfig(simulations=8, considered=8, cheap_simulations=2, full_search_share=0.5,
                         resign_threshold=0.0)
    sp = SelfPlayGames(UniformEvaluator(), SearchConfig(batch_size=4), cfg, num_games=3, max_plies=30, seed=4)
    done = []
    while len(done) < 3:
        done += sp.step(0)
    for i, g in enumerate(done):
        write_shard(directory / f"main-{i:08d}.npz", g.shard)
    return done


def parse_hcpe3(data: bytes):
    """An hcpe3 file parsed with numpy alone: [(header, [(info, visits[])])]."""
    out, pos = [], 0
    while pos < len(data):
        header = np.frombuffer(data, HCPE3_HEADER, 1, pos)[0]
        pos += HCPE3_HEADER.itemsize
        moves = []
        for _ in range(int(header["moveNum"])):
            info = np.frombuffer(data, HCPE3_MOVE, 1, pos)[0]
            pos += HCPE3_MOVE.itemsize
            visits = np.frombuffer(data, HCPE3_VISIT, int(info["candidateNum"]), pos)
            pos += HCPE3_VISIT.itemsize * int(info["candidateNum"])
            moves.append((info, visits))
        out.append((header, moves))
    return out


def test_records_round_trip_through_hcpe3_and_hcpe(tmp_path):
    games = record_games(tmp_path / "run" / "games")
    (tmp_path / "run" / "config.toml").write_text("")
    out3, out = tmp_path / "all.hcpe3", tmp_path / "all.hcpe"
    assert main(["records", "export", str(tmp_path / "run"), "--out", str(out3)]) == 0
    assert main(["records", "export", str(tmp_path / "run"), "--format", "hcpe", "--out", str(out)]) == 0

    parsed = parse_hcpe3(out3.read_bytes())
    assert len(parsed) == 3
    for game, (header, moves) in zip(games, parsed):  # sorted file names: g0.csa, g1.kif, g2.csa
        board = cshogi.Board()
        board.set_hcp(np.asarray(header["hcp"]))  # cshogi decodes the start position
        assert board.sfen() == cshogi.Board().sfen()
        assert int(header["moveNum"]) == len(game.moves)
        for usi, (info, visits) in zip(game.moves, moves):
            move = board.move_from_move16(int(info["selectedMove16"]))
            assert cshogi.move_to_usi(move) == usi
            assert len(visits) == 1 and int(visits[0]["move16"]) == int(info["selectedMove16"])
            board.push(move)
        winner = game.result.winner
        expected = 16 if game.result.reason == "max_plies" else {None: 0, "black": 1, "white": 2}[winner]
        assert int(header["result"]) == expected

    # hcpe with cshogi's own dtype: the positions of the games with a result, the moves and results
    recs = np.fromfile(out, dtype=cshogi.HuffmanCodedPosAndEval)
    decided = [g for g in games if g.result.reason != "max_plies"]
    assert len(recs) == sum(len(g.moves) for g in decided)
    i, board = 0, cshogi.Board()
    for game in decided:
        board.reset()
        for usi in game.moves:
            hcp = np.zeros(32, np.uint8)
            board.to_hcp(hcp)
            assert (recs[i]["hcp"] == hcp).all()
            assert cshogi.move_to_usi(board.move_from_move16(int(recs[i]["bestMove16"]) & 0xFFFF)) == usi
            assert recs[i]["gameResult"] == {None: 0, "black": 1, "white": 2}[game.result.winner]
            board.push_usi(usi)
            i += 1

    # and Keisei's own readers read both back as the same games
    back3 = [r for r in iter_records([out3]) if isinstance(r, RecordGame)]
    assert [len(r.moves) for r in back3] == [len(g.moves) for g in games]
    assert [r.truncated for r in back3] == [g.result.reason == "max_plies" for g in games]
    back = [r for r in iter_records([out]) if isinstance(r, RecordGame)]
    assert sum(len(r.moves) for r in back) == len(recs)


def test_shards_become_hcpe3_games_with_their_policies_as_visits(tmp_path):
    played = shard_games(tmp_path / "replay")
    out = tmp_path / "sp.hcpe3"
    assert main(["records", "export", str(tmp_path / "replay"), "--out", str(out)]) == 0
    parsed = parse_hcpe3(out.read_bytes())
    rows_written = sum(len(m) for _, m in parsed)
    assert rows_written == sum(len(g.shard.positions) for g in played)
    expected = []  # shard by shard (one game each, in name order), rows by ply: the file's order
    for g in played:
        sh = g.shard
        for r in np.sort(sh.positions, order="ply"):
            a, n = int(r["policy_start"]), int(r["policy_len"])
            expected.append((dict(zip(sh.labels[a:a + n].tolist(), sh.probs[a:a + n].tolist())), r))
    board, k = cshogi.Board(), 0
    for header, moves in parsed:
        board.set_hcp(np.asarray(header["hcp"]))
        for info, visits in moves:
            probs, row = expected[k]
            k += 1
            hcp = np.zeros(32, np.uint8)
            board.to_hcp(hcp)
            assert (hcp == row["hcp"]).all()
            moves_int = [board.move_from_move16(int(m)) for m in visits["move16"]]
            labels = move_labels(np.array(moves_int, np.int64), board.turn).tolist()
            got = dict(zip(labels, (visits["visitNum"] / VISIT_SCALE).tolist()))
            assert all(abs(got.get(lab, 0.0) - p) <= 0.5 / VISIT_SCALE + 1e-9 for lab, p in probs.items())
            assert abs(sum(got.values()) - 1.0) < 0.01
            selected = board.move_from_move16(int(info["selectedMove16"]))
            assert int(move_labels(np.array([selected]), board.turn)[0]) == int(row["move"])
            assert int(info["eval"]) == value_to_eval(float(row["root_value"]))
            assert bool(header["result"] & 16) == bool(row["flags"] & FLAG_TRUNCATED)
            board.push(selected)
    assert k == len(expected)
    assert value_to_eval(0.0) == 0 and value_to_eval(1.0) == 30000
    assert value_to_eval(0.5) == round(EVAL_COEF * np.log(3.0))  # p = 0.75


def test_bad_input_is_one_line_exit_2_and_an_existing_file_is_kept(tmp_path):
    out = tmp_path / "keep.hcpe3"
    out.write_bytes(b"precious")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.csa").write_text("V2.2\nPI\n+\n+7776FU\n-1234ZZ\n")
    cases = [
        ([str(tmp_path / "nothere"), "--out", str(out)], "nothere"),
        ([str(tmp_path / "bad"), "--out", str(out)], "no game to export"),
        ([str(tmp_path / "bad"), "--out", str(tmp_path / "no" / "dir.hcpe3")], "dir.hcpe3"),
    ]
    for args, named in cases:
        proc = subprocess.run([sys.executable, "-m", "keisei", "records", "export", *args], capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 2, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and named in errors[0] and "Traceback" not in proc.stderr, proc.stderr
    assert out.read_bytes() == b"precious"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("fmt", ["hcpe3", "hcpe"])
def test_a_corrupt_record_is_skipped_and_named_while_the_rest_is_written(tmp_path, fmt):
    record_games(tmp_path / "games")
    (tmp_path / "games" / "broken.npz").write_bytes(b"not a zip")
    out = tmp_path / f"x.{fmt}"
    proc = subprocess.run([sys.executable, "-m", "keisei", "records", "export", str(tmp_path / "games"), "--format",
                           fmt, "--out", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "broken.npz" in proc.stderr and out.stat().st_size > 0
