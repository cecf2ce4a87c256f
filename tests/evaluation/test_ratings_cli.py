"""`keisei ratings`: table from a joint fit of a real SQLite store, and the rating-history PNG."""

from __future__ import annotations

import random

import pytest

from keisei.cli import main
from keisei.evaluation.ratings import fit_ratings
from keisei.evaluation.report import plot_rating_history, rating_figure, rating_table
from keisei.evaluation.store import GameStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fill_store(run_dir, seed: int = 0) -> None:
    """Synthetic games: agent@v1 < agent@v2 < greedy-beating strength; random is the weakest."""
    rng = random.Random(seed)
    strength = {"random": 0.0, "greedy": 0.6, "agent@v1": 0.4, "agent@v2": 0.9}
    with GameStore(run_dir / "evaluation.sqlite") as store:
        for agent, timestep in (("agent@v1", 1000), ("agent@v2", 2000)):
            for opponent in ("random", "greedy"):
                for i in range(20):
                    black, white = (agent, opponent) if i % 2 == 0 else (opponent, agent)
                    p_black = 0.5 + 0.5 * (strength[black] - strength[white])
                    result = "black" if rng.random() < p_black else "white"
                    store.record_game(black=black, white=white, result=result, reason="checkmate", plies=50,
                                      timestep=timestep)
            table = fit_ratings(store.games(), anchor="random")
            r = table.get(agent)
            store.record_rating(agent, timestep, r.elo, r.low, r.high)


def test_ratings_command_prints_table_and_writes_png(tmp_path, capsys):
    fill_store(tmp_path)
    assert main(["ratings", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for player in ("random", "greedy", "agent@v1", "agent@v2"):
        assert player in out
    assert "95% interval" in out and "fixed" in out  # the anchor row
    png = tmp_path / "ratings.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert "2 points" in out


def test_ratings_command_custom_plot_path_and_anchor(tmp_path, capsys):
    fill_store(tmp_path)
    plot = tmp_path / "out" / "elo.png"
    assert main(["ratings", str(tmp_path), "--anchor", "greedy", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert "anchor greedy" in capsys.readouterr().out
    assert not (tmp_path / "ratings.png").exists()


def test_ratings_command_finds_newest_run_under_run_root(tmp_path, capsys):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    fill_store(run)
    assert main(["ratings", "--run-root", str(tmp_path / "runs")]) == 0
    assert (run / "ratings.png").is_file()


def test_run_without_evaluation_says_why_and_a_command_that_works_and_draws_no_empty_plot(tmp_path, capsys):
    assert main(["ratings", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path} has no evaluation.sqlite" in out
    assert f"{tmp_path} has no checkpoint yet: train it" in out  # no made-up ckpt_NNNNNNNN.pt path
    ckdir = tmp_path / "checkpoints"
    ckdir.mkdir()
    (ckdir / "ckpt_512.pt").write_bytes(b"x")
    (ckdir / "latest").write_text("ckpt_512.pt\n")
    assert main(["ratings", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"keisei evaluate --checkpoint {ckdir / 'ckpt_512.pt'} --run-dir {tmp_path}" in out  # under checkpoints/
    assert "periodic evaluation" not in out  # on by default: not worth suggesting
    assert "No rating plot written." in out
    assert not (tmp_path / "evaluation.sqlite").exists() and not (tmp_path / "ratings.png").exists()
    (tmp_path / "config.toml").write_text("[evaluation]\nenable_periodic_evaluation = false\n")
    assert main(["ratings", str(tmp_path)]) == 0
    assert "turned periodic evaluation off" in capsys.readouterr().out
    fig = rating_figure([], {}, empty_reason="no evaluation yet\nTo get a rating point: keisei evaluate ...")
    assert any("keisei evaluate" in t.get_text() for t in fig.axes[0].texts)


def test_missing_run_directory_is_a_clear_error(tmp_path, capsys):
    assert main(["ratings", str(tmp_path / "nope")]) == 2
    assert f"no run directory {tmp_path / 'nope'}" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_unknown_anchor_is_a_clear_error(tmp_path, capsys):
    fill_store(tmp_path)
    assert main(["ratings", str(tmp_path), "--anchor", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err


def test_rating_table_and_empty_plot(tmp_path):
    fill_store(tmp_path)
    with GameStore(tmp_path / "evaluation.sqlite") as store:
        table = fit_ratings(store.games(), anchor="random")
    rich_table = rating_table(table)
    assert rich_table.row_count == 4
    assert [c.header for c in rich_table.columns][:3] == ["player", "Elo (games)", "95% interval"]
    best = table.rows[0]
    assert best.player == "agent@v2" and best.elo > table.get("agent@v1").elo
    empty = plot_rating_history([], tmp_path / "empty.png")
    assert empty.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("argv", [["ratings", "--help"]])
def test_help_lists_options(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--anchor" in out and "--plot" in out and "RUN_DIR" in out
