"""Game health statistics and the two display modes."""

import io

from keisei.config import DisplayConfig
from keisei.training.display import DisplayManager, Progress
from keisei.training.game_stats import FinishedGame, GameStats


def game(winner, reason, plies, truncated=False):
    return FinishedGame(winner=winner, reason=reason, plies=plies, truncated=truncated, start_sfen="", moves=[])


def test_game_stats_rates_and_window_reset():
    stats = GameStats()
    assert stats.summary() == {}
    for g in (game("black", "checkmate", 10), game("white", "checkmate", 20), game("black", "impasse", 30),
              game(None, "max_plies", 40, truncated=True)):
        stats.add(g)
    s = stats.summary()
    assert s["games/mean_length"] == 25.0
    assert (s["games/black_win_rate"], s["games/white_win_rate"], s["games/truncated_rate"]) == (0.5, 0.25, 0.25)
    assert s["games/draw_rate"] == s["games/draw_rule_rate"] == 0.0  # a truncated game is not a draw
    assert s["games/reason/checkmate"] == 0.5 and s["games/reason/max_plies"] == 0.25
    assert stats.summary() == {}  # the window was reset
    stats.add(game("white", "repetition", 8))
    assert stats.summary()["games/white_win_rate"] == 1.0


def test_rule_draws_and_truncations_are_counted_apart_from_real_games():
    """Real games end by fourfold repetition (a rule draw) and by the ply limit (truncated, not a draw)."""
    from keisei.shogi.game import Game
    from keisei.training.game_stats import FinishedGame

    def play(max_plies, moves):
        g = Game(max_plies=max_plies)
        for m in moves:
            g.push_usi(m)
        r = g.result
        return FinishedGame(winner=r.winner, reason=r.reason, plies=len(moves), truncated=r.truncated,
                            start_sfen="", moves=moves)

    shuffle = ["5i5h", "5a5b", "5h5i", "5b5a"] * 3  # the start position four times: sennichite
    stats = GameStats()
    stats.add(play(256, shuffle))
    stats.add(play(4, ["7g7f", "3c3d", "2g2f", "8c8d"]))  # cut at 4 plies
    s = stats.summary()
    assert s["games/reason/repetition"] == 0.5 and s["games/reason/max_plies"] == 0.5
    assert s["games/draw_rule_rate"] == s["games/draw_rate"] == 0.5 and s["games/truncated_rate"] == 0.5
    assert s["games/black_win_rate"] == s["games/white_win_rate"] == 0.0


METRICS = {"losses/policy_loss": 0.1, "losses/value_loss": 0.2, "games/black_win_rate": 0.5,
           "games/white_win_rate": 0.3, "games/draw_rate": 0.15, "games/draw_rule_rate": 0.15,
           "games/truncated_rate": 0.05}


def test_plain_display_prints_progress_and_status_lines():
    out = io.StringIO()
    d = DisplayManager(DisplayConfig(mode="auto", log_every_seconds=1000), stream=out)
    assert not d.rich  # StringIO is not a TTY
    d.start(1000)
    d.update(Progress(timesteps=250, total_timesteps=1000, updates=2, games=7, sps=50.0), METRICS)
    d.set_status("eval", "vs greedy 0.75")
    d.update(Progress(timesteps=500, total_timesteps=1000, updates=4, games=9, sps=50.0), {})
    d.stop()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("steps 250/1,000 (25.0%) | 50 SPS | ETA 15 s")
    assert "B/W/D/T 0.50/0.30/0.15/0.05" in lines[0] and "value 0.2" in lines[0]
    assert lines[1] == "[eval] vs greedy 0.75"
    assert len(lines) == 3 and lines[2].startswith("steps 500/1,000")  # throttled; final line on stop
    assert "B/W/D/T 0.50/0.30/0.15/0.05" in lines[2]  # last known outcomes are kept


def test_rich_display_renders_status():
    out = io.StringIO()
    d = DisplayManager(DisplayConfig(mode="rich", refresh_seconds=0.05), stream=out)
    d.start(100)
    d.set_status("eval", "vs greedy 0.75")
    d.update(Progress(timesteps=50, total_timesteps=100, updates=1, games=2, sps=10.0), METRICS)
    d.stop()
    text = out.getvalue()
    assert "vs greedy 0.75" in text and "50 / 100" in text and "draw 0.15  truncated 0.05" in text


def test_progress_eta_reads_like_a_duration():
    assert Progress(timesteps=0, total_timesteps=10).eta() == "?"
    assert Progress(timesteps=10, total_timesteps=3610, sps=1.0).eta() == "1 h 00 min"
    assert Progress(timesteps=0, total_timesteps=54_240, sps=1.0).eta() == "15 h 04 min"
    assert Progress(timesteps=10, total_timesteps=3610, sps=1.0, wall_left=90.5).eta() == "1 min 30 s"
    assert Progress(timesteps=0, total_timesteps=10, wall_left=5.0).eta() == "5 s"
    assert Progress(timesteps=0, total_timesteps=10 ** 9, sps=1.0).eta() == "11574 d 01 h"


def test_every_reason_is_written_in_every_window_so_a_chart_mean_is_the_real_share():
    stats = GameStats()
    for g in (game("black", "checkmate", 10), game(None, "max_plies", 40, truncated=True)):
        stats.add(g)
    first = stats.summary()
    stats.add(game(None, "max_plies", 40, truncated=True))
    second = stats.summary()
    assert second["games/reason/checkmate"] == 0.0  # written although no game ended by mate in this window
    reasons = {k for k in first if k.startswith("games/reason/")}
    assert reasons == {k for k in second if k.startswith("games/reason/")}
    assert {"games/reason/repetition", "games/reason/impasse", "games/reason/perpetual_check"} <= set(second)
    mean = (first["games/reason/checkmate"] + second["games/reason/checkmate"]) / 2
    assert mean == 0.25  # the mean over windows is the share, not 0.5 from the one window it occurred in


def test_progress_counts_against_the_limit_that_ends_the_run_first():
    # 2,000,000 steps at 240 SPS would take 2.3 h, but the wall limit (600 s) ends the run at 99%
    near_end = Progress(timesteps=143_360, total_timesteps=2_000_000, sps=240.0, wall_left=5.0, wall_total=600.0)
    assert near_end.line().startswith("steps 143,360 | time 9 min 55 s/10 min 00 s (99.2%) | 240 SPS | ETA 5 s")
    # the timestep budget ends it first: counted in steps as before
    steps_first = Progress(timesteps=900, total_timesteps=1000, sps=100.0, wall_left=500.0, wall_total=600.0)
    assert steps_first.line().startswith("steps 900/1,000 (90.0%) | 100 SPS | ETA 1 s")


def test_the_progress_line_says_how_games_end_and_how_long_they_are():
    stats = GameStats()
    for g in (game("black", "checkmate", 80), game(None, "repetition", 60), game(None, "max_plies", 160, True),
              game(None, "max_plies", 160, True)):
        stats.add(g)
    out = io.StringIO()
    d = DisplayManager(DisplayConfig(mode="plain", log_every_seconds=1000), stream=out)
    d.start(1000)
    d.update(Progress(timesteps=100, total_timesteps=1000, sps=10.0), stats.summary())
    d.update(Progress(timesteps=200, total_timesteps=1000, sps=10.0), {})  # no games this window: kept
    d.stop()
    lines = out.getvalue().splitlines()
    assert "ends mate 0.25 decl 0.00 rep 0.25 limit 0.50, 115 plies" in lines[0]
    assert "ends mate 0.25 decl 0.00 rep 0.25 limit 0.50, 115 plies" in lines[-1]
