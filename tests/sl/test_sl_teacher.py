"""Teacher records from real USI engines (and a faulty fake one): CSA files, resume, errors not results."""

from __future__ import annotations

import json

import cshogi
import pytest
from engines import fake_engine, require_engine

from keisei.cli import main
from keisei.config import SLConfig
from keisei.shogi.record_sources import RecordGame, iter_records
from keisei.sl.dataset import build_dataset
from keisei.sl.teacher import ERRORS_FILE, generate


@pytest.mark.engine
@pytest.mark.slow
def test_generate_real_engine_games_resume_and_read_back(tmp_path, capsys):
    fsf = require_engine("fairy-stockfish")
    out = tmp_path / "teacher"
    args = ["records", "generate", "--engine", f"usi:{fsf}?nodes=300", "--games", "2", "--jobs", "2",
            "--max-plies", "400", "--out", str(out)]
    assert main(args) == 0
    files = sorted(out.glob("game-*.csa"))
    assert [f.name for f in files] == ["game-000000.csa", "game-000001.csa"]
    text = files[0].read_text()
    assert "N+fairy-stockfish[nodes=300]" in text and "'black_engine: usi:" in text and "nodes=300" in text
    parsed = cshogi.Parser.parse_str(text)[0]
    assert parsed.sfen != cshogi.STARTING_SFEN  # the record starts after the opening and random plies
    assert parsed.endgame in ("%TORYO", "%CHUDAN", "%SENNICHITE", "%KACHI", "%JISHOGI")
    assert "done: 2 games played" in capsys.readouterr().out
    before = files[0].read_bytes()
    assert main(args[:5] + ["3"] + args[6:]) == 0  # rerun with --games 3: appends one game
    second = capsys.readouterr().out
    assert "done: 1 games played" in second and "2 already" in second
    assert len(list(out.glob("game-*.csa"))) == 3 and files[0].read_bytes() == before
    games = [g for g in iter_records([out]) if isinstance(g, RecordGame)]
    assert len(games) == 3 and all(g.plies > 0 for g in games)
    _, report = build_dataset([out], tmp_path / "data", SLConfig(min_plies=0, val_fraction=0.0))
    assert report.games_read == 3 and report.games_kept + report.skipped["truncated"] == 3


@pytest.mark.engine
def test_a_faulty_engine_game_is_an_error_not_a_result(tmp_path):
    fsf = require_engine("fairy-stockfish")
    crashing = fake_engine(tmp_path, Fault="crash", FaultAt="3")
    out = tmp_path / "teacher"
    seen = []
    counts = generate([f"usi:{fsf}?nodes=100", crashing], 1, out, jobs=1, max_plies=40, report=seen.append)
    assert counts["errors"] == 1 and counts["played"] == 0
    assert list(out.glob("game-*.csa")) == []
    (entry,) = [json.loads(line) for line in (out / ERRORS_FILE).read_text().splitlines()]
    assert entry["index"] == 0 and "crash" in entry["error"] and entry["plies"] >= 4
    assert seen[0].error is not None and "ERROR" in seen[0].line(1)
    # the error list is not a record: reading the directory finds nothing to skip
    assert list(iter_records([out])) == []


def test_bad_engine_spec_is_one_line_exit_2(tmp_path, capsys):
    rc = main(["records", "generate", "--engine", "usi:/no/such/engine", "--games", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "/no/such/engine" in err[0]
    assert not (tmp_path / "o").exists()


def test_every_game_failing_is_exit_3_with_a_visible_error_list(tmp_path, capsys):
    crashing = fake_engine(tmp_path, Fault="crash", FaultAt="1")
    out = tmp_path / "o"
    rc = main(["records", "generate", "--engine", crashing, "--games", "2", "--jobs", "1", "--out", str(out)])
    assert rc == 3  # the documented "no game completed" code, as `keisei evaluate` uses (not 1, "a bug")
    assert (out / "errors.jsonl").is_file() and not (out / ".errors.jsonl").exists()
    assert len((out / "errors.jsonl").read_text().splitlines()) == 2
    assert f"{out / 'errors.jsonl'}" in capsys.readouterr().err
