"""Reading CSA, KIF/KIFU, hcpe and hcpe3 records in bulk: games, results, ratings, and named skips."""

from __future__ import annotations

import cshogi
import numpy as np
import pytest
from sl_helpers import random_game, write_csa, write_hcpe, write_kif

from keisei.shogi.record_sources import (
    HCPE,
    HCPE3_HEADER,
    HCPE3_MOVE,
    HCPE3_VISIT,
    RecordGame,
    RecordSkip,
    iter_records,
)


def _games(items):
    return [i for i in items if isinstance(i, RecordGame)]


def _skips(items):
    return [i for i in items if isinstance(i, RecordSkip)]


def test_csa_multi_game_file_with_comments_ratings_and_results(tmp_path):
    games = [random_game(s, 30) for s in range(3)]
    path = write_csa(tmp_path / "g.csa", games, ratings=(1500, 2100.5))
    text = path.read_text().replace("+7776FU", "+7776FU\n'a comment line", 1)
    path.write_text(text)
    out = list(iter_records([path]))
    got = _games(out)
    assert len(got) == 3 and not _skips(out)
    assert next(g.where for g in got) == "line 1" and got[1].where.startswith("line ")
    for g, moves in zip(got, games, strict=True):
        assert g.plies == len(moves) == len(g.hcps)
        assert g.ratings == (1500.0, 2100.5) and g.names == ("alice", "bob")
        # %TORYO after an even number of plies: black is to move and resigns
        assert not g.truncated and not g.draw and set(g.winners.tolist()) == {1}
        assert g.moves.tolist() == [cshogi.move16(m) for m in moves]
        board = cshogi.Board()
        board.set_hcp(g.hcps[5])
        replay = cshogi.Board()
        for m in moves[:5]:
            replay.push(m)
        assert board.sfen().rsplit(" ", 1)[0] == replay.sfen().rsplit(" ", 1)[0]  # hcp keeps no ply number
        assert g.keys[5] == replay.zobrist_hash()


@pytest.mark.parametrize(("ending", "truncated", "draw"), [
    ("%SENNICHITE", False, True), ("%JISHOGI", False, True), ("%CHUDAN", True, False), ("", True, False),
    ("%MAX_MOVES", True, False),
])
def test_csa_endings(tmp_path, ending, truncated, draw):
    path = write_csa(tmp_path / "g.csa", [random_game(1, 20)], endgame=ending)
    (g,) = _games(iter_records([path]))
    assert (g.truncated, g.draw) == (truncated, draw)
    assert set(g.winners.tolist()) == {-1}


def test_csa_illegal_move_drops_the_game_naming_its_line(tmp_path):
    games = [random_game(s, 12) for s in range(2)]
    path = write_csa(tmp_path / "g.csa", games)
    lines = path.read_text().split("\n")
    bad = next(i for i, ln in enumerate(lines) if ln.startswith("+") and i > 10)  # a black move of game 1
    lines[bad] = "+9199OU"  # no king there
    path.write_text("\n".join(lines))
    out = list(iter_records([path]))
    (skip,) = _skips(out)
    assert skip.reason == "illegal_move" and skip.where == f"line {bad + 1}"
    assert len(_games(out)) == 1  # the other game is kept


def test_csa_malformed_game_is_a_parse_error(tmp_path):
    path = tmp_path / "bad.csa"
    path.write_text("PI\n+\n+7776FU\nthis is not csa\n")
    (skip,) = list(iter_records([path]))
    assert skip.reason == "parse_error" and "line 1" == skip.where and "Invalid line" in skip.detail


@pytest.mark.parametrize("suffix", [".kif", ".kifu"])
def test_kif_by_convention(tmp_path, suffix):
    moves = random_game(3, 41)
    path = write_kif(tmp_path / f"g{suffix}", moves)
    data = path.read_bytes()
    if suffix == ".kif":  # cshogi writes .kif in Shift-JIS
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    else:
        data.decode("utf-8")
    (g,) = list(iter_records([path]))
    assert isinstance(g, RecordGame) and g.plies == 41
    assert set(g.winners.tolist()) == {0}  # white to move after 41 plies resigns


def test_kif_detected_by_content_when_convention_is_wrong(tmp_path):
    moves = random_game(4, 20)
    utf8 = write_kif(tmp_path / "g.kifu", moves).read_bytes()
    wrong = tmp_path / "g.kif"  # UTF-8 bytes under the Shift-JIS suffix
    wrong.write_bytes(utf8)
    (g,) = list(iter_records([wrong]))
    assert isinstance(g, RecordGame) and g.plies == 20


def test_kif_in_no_known_encoding_is_skipped_naming_the_byte(tmp_path):
    moves = random_game(5, 10)
    data = write_kif(tmp_path / "g.kifu", moves).read_bytes()
    bad = tmp_path / "bad.kif"
    bad.write_bytes(data[:30] + b"\x85\x40\xff" + data[30:])  # invalid UTF-8 and invalid cp932
    (skip,) = list(iter_records([bad]))
    assert skip.reason == "encoding" and skip.where.startswith("byte ")


def test_kif_illegal_move_is_skipped(tmp_path):
    moves = random_game(6, 10)
    moves[4] = moves[2]  # replaying an earlier move is illegal here
    path = tmp_path / "g.kifu"
    write_kif(path, moves)
    (skip,) = list(iter_records([path]))
    assert skip.reason == "illegal_move" and skip.where == "move 5"


def test_hcpe_and_a_truncated_tail(tmp_path):
    games = [random_game(s, 50) for s in range(2)]
    path = write_hcpe(tmp_path / "p.hcpe", games, result=2)
    path.write_bytes(path.read_bytes() + b"\x00" * 7)
    out = list(iter_records([path]))
    got, skips = _games(out), _skips(out)
    assert sum(len(g.moves) for g in got) == 100
    assert got[0].evals is not None and set(got[0].evals.tolist()) == {100}
    assert set(got[0].winners.tolist()) == {1}
    (skip,) = skips
    assert skip.reason == "truncated_file" and skip.where == f"byte {100 * HCPE.itemsize}"


def test_hcpe_bad_records_are_skipped_one_by_one(tmp_path):
    path = write_hcpe(tmp_path / "p.hcpe", [random_game(1, 10)])
    recs = np.fromfile(path, HCPE)
    recs["bestMove16"][3] = 0x7FFF  # out-of-range squares
    recs["hcp"][5] = 255  # not a Huffman code
    recs.tofile(path)
    out = list(iter_records([path]))
    reasons = sorted((s.reason, s.where) for s in _skips(out))
    assert reasons == [("bad_position", f"byte {5 * 38}"), ("illegal_move", f"byte {3 * 38}")]
    assert sum(len(g.moves) for g in _games(out)) == 8


def _hcpe3(path, games, result=1, truncate=0):
    out = bytearray()
    for moves in games:
        header = np.zeros(1, HCPE3_HEADER)
        cshogi.Board().to_hcp(header["hcp"][0])
        header["moveNum"], header["result"] = len(moves), result
        out += header.tobytes()
        for i, m in enumerate(moves):
            info = np.zeros(1, HCPE3_MOVE)
            info["selectedMove16"], info["eval"], info["candidateNum"] = cshogi.move16(m), 10 * i, 2
            visits = np.zeros(2, HCPE3_VISIT)
            visits["move16"], visits["visitNum"] = cshogi.move16(m), (7, 3)
            out += info.tobytes() + visits.tobytes()
    path.write_bytes(bytes(out[: len(out) - truncate]))
    return path


def test_hcpe3_games(tmp_path):
    games = [random_game(s, 25) for s in range(2)]
    got = _games(iter_records([_hcpe3(tmp_path / "g.hcpe3", games, result=2)]))
    assert [g.plies for g in got] == [25, 25]
    assert got[1].evals.tolist() == [10 * i for i in range(25)]
    assert set(got[0].winners.tolist()) == {1} and not got[0].truncated


def test_hcpe3_truncated_game(tmp_path):
    games = [random_game(s, 25) for s in range(2)]
    out = list(iter_records([_hcpe3(tmp_path / "g.hcpe3", games, truncate=5)]))
    assert len(_games(out)) == 1
    (skip,) = _skips(out)
    assert skip.reason == "truncated_file" and "game 2" in skip.where


def test_unknown_files_in_a_directory_are_skips_but_named_files_are_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (skip,) = list(iter_records([tmp_path]))
    assert skip.reason == "unknown_type" and skip.source.endswith("notes.txt")
    with pytest.raises(ValueError, match="notes.txt: unknown record type"):
        list(iter_records([tmp_path / "notes.txt"]))
    with pytest.raises(ValueError, match="no such file"):
        list(iter_records([tmp_path / "missing"]))


def test_kif_encoding_header_wins_over_the_suffix(tmp_path):
    moves = random_game(8, 16)
    utf8 = write_kif(tmp_path / "g.kifu", moves).read_text(encoding="utf-8")
    path = tmp_path / "h.kif"
    path.write_bytes(("#KIF version=2.0 encoding=UTF-8\n" + utf8).encode("utf-8"))
    (g,) = list(iter_records([path]))
    assert isinstance(g, RecordGame) and g.plies == 16 and g.names == ("alice", "bob")


def test_record_reading_building_and_teacher_games_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, keisei.shogi.record_sources, keisei.sl.dataset, keisei.sl.teacher; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_empty_files_are_named(tmp_path):
    for name in ("a.csa", "b.hcpe", "c.hcpe3", "d.kif"):
        (tmp_path / name).write_bytes(b"")
    skips = list(iter_records([tmp_path]))
    assert sorted((s.source.rsplit("/", 1)[-1], s.reason) for s in skips) == [
        ("a.csa", "empty_file"), ("b.hcpe", "empty_file"), ("c.hcpe3", "empty_file"), ("d.kif", "empty_file")]


@pytest.mark.parametrize("suffix", [".csa", ".kif", ".kifu"])
def test_keisei_own_records_read_back(tmp_path, suffix):
    from keisei.shogi import Game, save_record

    game = Game()
    for m in random_game(9, 30):
        game.push_usi(cshogi.move_to_usi(m))
    game.adjudicate("white", "resign")
    path = save_record(game, tmp_path / f"g{suffix}", names=("Sente Bot", "Gote Bot"))
    (g,) = list(iter_records([path]))
    assert isinstance(g, RecordGame) and g.plies == 30 and set(g.winners.tolist()) == {1}
    assert g.names == ("Sente Bot", "Gote Bot")


def test_garbage_hcpe_records_are_skipped_without_crashing_cshogi(tmp_path):
    # cshogi's decoder crashes (SIGSEGV) on some garbage positions, e.g. king squares >= 81; run the reader
    # in a child process so a crash fails this test instead of killing the suite
    import subprocess
    import sys

    rng = np.random.default_rng(7)
    recs = np.zeros(3000, HCPE)
    recs["hcp"] = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    recs["hcp"][::3] = 255
    path = tmp_path / "garbage.hcpe"
    recs.tofile(path)
    code = ("import sys; from keisei.shogi.record_sources import iter_records; "
            "print(sum(1 for _ in iter_records([sys.argv[1]])))")
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.strip()) > 0
