"""Tables that keep engine settings readable at 80 columns, and a rating plot with anchors and game counts."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from keisei.commands.evaluate import print_table
from keisei.evaluation.ratings import fit_ratings
from keisei.evaluation.report import anchors_of, draw_split, rating_figure, rating_table, series_name
from keisei.evaluation.result import EvaluationResult, GameRecord, summarise
from keisei.evaluation.store import GameStore

LONG = "fairy-stockfish[Hash=16,Move Overhead=10,Skill Level=-20,Threads=1,UCI_Variant=shogi,nodes=1000{}]"
FSF_A, FSF_B = LONG.format(",depth=1"), LONG.format(",depth=2")  # differ only at the very end
GPS = "gpsusi[byoyomi=100]"
CKPT = "ckpt:ckpt_000000123456[sims=64]"


def _first_column(text: str) -> str:
    """The first column's characters, in order, from a rendered rich table (borders and spaces dropped)."""
    cells = [line.split("│")[1] for line in text.splitlines() if line.count("│") >= 3]
    return "".join(cells).replace(" ", "")


def _render(renderable_or_fn) -> str:
    console = Console(width=80, record=True, force_terminal=False)
    if callable(renderable_or_fn):
        renderable_or_fn(console)
    else:
        console.print(renderable_or_fn)
    return console.export_text()


def _games(opponent: str, results: list[tuple[str, str]]) -> list[GameRecord]:
    return [GameRecord(opponent=opponent, agent_color="black" if i % 2 == 0 else "white", result=r, reason=why,
                       plies=40, opening=f"v1-{i // 2:02d}", pair=i // 2, error="boom" if r == "error" else None)
            for i, (r, why) in enumerate(results)]


def test_evaluate_table_keeps_long_engine_names_apart_and_brackets(tmp_path):
    games = (_games(FSF_A, [("win", "checkmate"), ("draw", "max_plies")] * 2)
             + _games(FSF_B, [("loss", "checkmate"), ("draw", "repetition"), ("win", "resign"), ("win", "time")])
             + _games(GPS, [("loss", "checkmate")] * 2) + _games(CKPT, [("win", "checkmate")] * 3))
    order = [FSF_A, FSF_B, GPS, CKPT]
    result = EvaluationResult(opponents=summarise(games, order), games=games, errors=[], model_version=3,
                              timestep=1000, agent="ckpt:ckpt_000000999999", seed=7,
                              sprt={"opponents": {n: {"verdict": "continue", "llr": 0.5} for n in order}})
    text = _render(lambda console: print_table(result, console))
    column = _first_column(text)
    for name in order:
        assert name.replace(" ", "") in column, (name, text)
    assert column.index(FSF_A.replace(" ", "")) < column.index(FSF_B.replace(" ", ""))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and "seed 7" in text and "1,000 timesteps" in text
    assert f"SPRT vs {GPS}: continue (llr +0.50)" in text
    assert "+338 (3)" in text  # 3 straight wins: the Elo with its games,
    assert "[-43, +inf)" in text  # and an interval that leaves the open side open
    assert "2/0" in text and "1/0" in text.replace("0/1/0", "")  # draws: by rule / at the ply limit
    assert "(-inf, +113]" in text  # two straight losses
    assert "Elo (games)" in text and "D rule/ply" in text and "games stopped at the ply" in text


def test_summary_separates_draws_by_rule_from_truncation():
    games = _games("x", [("draw", "max_plies"), ("draw", "repetition"), ("draw", "impasse"), ("draw", "max_plies"),
                         ("win", "checkmate"), ("error", "error")])
    (s,) = summarise(games, ["x"])
    assert (s.draws, s.draws_rule, s.draws_max_plies, s.errors, s.played) == (4, 2, 2, 1, 5)
    assert s.draw_reasons == {"impasse": 1, "max_plies": 2, "repetition": 1}
    data = s.to_json()
    assert data["draws_rule"] == 2 and data["draws_max_plies"] == 2
    assert data["elo_high"] is not None and data["elo_low"] < data["elo"] < data["elo_high"]
    (perfect,) = summarise(_games("y", [("win", "checkmate")] * 4), ["y"])
    assert perfect.elo_high == math.inf and perfect.to_json()["elo_high"] is None  # open: JSON has no inf


def _store(path) -> list:
    with GameStore(path) as store:
        plan = {"random": ("black", "checkmate"), "greedy": ("draw", "max_plies"), GPS: ("white", "checkmate"),
                FSF_A: ("white", "checkmate"), FSF_B: ("draw", "repetition")}
        for step, agent in ((1000, "agent@v1"), (2000, "ckpt:ckpt_000000002000")):
            for opp, (result, reason) in plan.items():
                for i in range(4):
                    won = result if i else ("white" if result == "black" else "black")  # one game the other way
                    store.record_game(black=agent, white=opp, result=won if result != "draw" else "draw",
                                      reason=reason, plies=50, timestep=step)
            table = fit_ratings(store.games())
            r = table.get(agent)
            store.record_rating(agent, step, r.elo, r.low, r.high, games=r.games)
        return store.games(), store.rating_history()


def test_ratings_table_at_80_columns_keeps_settings(tmp_path):
    games, _ = _store(tmp_path / "evaluation.sqlite")
    table = fit_ratings(games)
    text = _render(rating_table(table, draws=draw_split(games)))
    column = _first_column(text)
    for name in (GPS, FSF_A, FSF_B, "agent@v1"):
        assert name.replace(" ", "") in column, (name, text)
    assert "gpsusi[byoyomi=100]" in text  # brackets are not eaten as markup
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert f"({table.get('agent@v1').games})" in text  # games beside every Elo
    assert draw_split(games)["greedy"] == (0, 8) and draw_split(games)[FSF_B] == (8, 0)


def test_rating_figure_draws_every_anchor_band_and_games(tmp_path):
    games, history = _store(tmp_path / "evaluation.sqlite")
    table = fit_ratings(games)
    anchors = anchors_of(table)
    assert set(anchors) == {"random", "greedy", GPS, FSF_A, FSF_B}  # no agent, no checkpoint
    fig = rating_figure(history, anchors)
    ax = fig.axes[0]
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if len(set(line.get_ydata())) == 1
                        and list(line.get_xdata()) == [0, 1])
    assert horizontal == sorted(anchors.values())
    texts = [t.get_text() for t in ax.texts]
    for name in anchors:
        assert any(t.replace("\n", "").startswith(name + " ") for t in texts), (name, texts)
    agent = [line for line in ax.lines if line.get_label().startswith("agent")]
    assert len(agent) == 1 and list(agent[0].get_xdata()) == [1000, 2000]  # one series: the run's agent
    assert [round(y, 6) for y in agent[0].get_ydata()] == [round(p.elo, 6) for p in history]
    (band,) = [c for c in ax.collections if c.__class__.__name__ == "FillBetweenPolyCollection"
               or c.__class__.__name__ == "PolyCollection"]  # the 95% band
    assert band.get_paths()[0].vertices[:, 1].min() == pytest.approx(min(p.low for p in history))
    (bars,) = ax.containers  # and the interval as error bars at every point
    whiskers = bars.lines[2][0].get_segments()
    ends = [y for seg in whiskers for y in seg[:, 1]]
    assert ends == pytest.approx([y for p in history for y in (p.low, p.high)])
    assert {f"{p.games} g" for p in history} <= set(texts)
    assert series_name("agent@v12") == series_name("ckpt:ckpt_000001") == "agent"
    assert series_name(CKPT) == "agent[sims=64]"
    out = tmp_path / "r.png"
    fig.savefig(out, format="png")
    assert out.read_bytes()[:4] == b"\x89PNG"
