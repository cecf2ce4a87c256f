"""The dashboard in a real browser (Debian's Chromium, headless, driven by Selenium): pages load without
console errors, a live board moves while a run trains, a game replays to its end, Play answers a clicked
move, charts have points. Screenshots are kept in test-artifacts/dashboard/ (KEISEI_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
from pathlib import Path

import cshogi
import pytest
from browser import start_browser
from dash_helpers import REPO, env, train_args, wait_for

ARTIFACTS = Path(os.environ.get("KEISEI_TEST_ARTIFACTS", REPO / "test-artifacts")) / "dashboard"


@pytest.fixture
def browser():
    driver = start_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def sfen_of(driver, css: str = "svg.board") -> str | None:
    return driver.execute_script(f"const b = document.querySelector('{css}'); return b ? b.dataset.sfen : null;")


def test_every_page_loads_without_console_errors(runs_dir, dashboard_of, browser) -> None:
    d = dashboard_of(runs_dir)
    game_id = "games/selfplay_00000001.kif"
    pages = {"runs": "#/", "run": "#/run/done", "games": "#/run/done/games",
             "replay": f"#/run/done/game?id={urllib.parse.quote(game_id)}", "play": "#/play?run=done"}
    ready = {"runs": "table.runs", "run": "#evaluation table", "games": "a.game-link", "replay": "svg.board",
             "play": "#newgame"}
    for name, fragment in pages.items():
        browser.get(d.url + fragment)
        css = ready[name]
        wait_for(lambda css=css: browser.execute_script(f"return !!document.querySelector('{css}')"), 30)
        browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        assert errors(browser) == [], name
    assert browser.find_element("css selector", "select[name=checkpoint]").get_attribute("value")


def test_charts_have_points(runs_dir, dashboard_of, browser) -> None:
    d = dashboard_of(runs_dir)
    browser.get(d.url + "#/run/done")
    counts = wait_for(lambda: browser.execute_script(
        "return window.keiseiCharts && window.keiseiCharts.map(c => c.count()).some(n => n > 0) "
        "&& window.keiseiCharts.map(c => [c.title, c.count()])"), 30)
    by_title = dict(counts)
    assert by_title["Steps per second"] >= 8 and by_title["Losses"] >= 16
    assert browser.execute_script("return document.querySelectorAll('.chart canvas').length") >= 4
    rating = wait_for(lambda: browser.execute_script("return document.querySelectorAll('.chart.rating canvas').length"), 30)
    assert rating >= 1 and errors(browser) == []


def test_a_live_board_moves_while_a_run_trains(tmp_path, dashboard_of, browser) -> None:
    trainer = subprocess.Popen(train_args(tmp_path, "live", "training.total_timesteps=10000000",
                                          "training.max_wall_seconds=120", "evaluation.enable_periodic_evaluation=false"),
                               env=env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (tmp_path / "live" / "live.json").exists()
                 and json.loads((tmp_path / "live" / "live.json").read_text() or "{}").get("games"), 90)
        d = dashboard_of(tmp_path)
        browser.get(d.url + "#/run/live")
        first = wait_for(lambda: sfen_of(browser, ".live-board svg.board"), 30)
        browser.save_screenshot(str(ARTIFACTS / "live.png"))
        later = wait_for(lambda: (s := sfen_of(browser, ".live-board svg.board")) != first and s, 60)
        for sfen in (first, later):
            cshogi.Board(sfen)  # real positions
        assert "live" in browser.find_element("css selector", ".badge").text
        assert errors(browser) == []
    finally:
        trainer.send_signal(signal.SIGINT)
        trainer.wait(60)


def test_a_recorded_game_replays_to_its_final_position(runs_dir, dashboard_of, browser) -> None:
    d = dashboard_of(runs_dir)
    game_id = next((runs_dir / "done" / "eval_games").rglob("*.kif")).relative_to(runs_dir / "done").as_posix()
    status, game = d.request("api/runs/done/game?id=" + urllib.parse.quote(game_id))
    assert status == 200
    browser.get(d.url + f"#/run/done/game?id={urllib.parse.quote(game_id)}")
    wait_for(lambda: sfen_of(browser) == game["sfens"][-1], 30)
    body = browser.find_element("css selector", "body")
    body.send_keys("\ue012")  # ArrowLeft: one ply back
    wait_for(lambda: sfen_of(browser) == game["sfens"][-2], 10)
    browser.execute_script("const s = document.getElementById('ply'); s.value = 0; s.dispatchEvent(new Event('input'));")
    wait_for(lambda: sfen_of(browser) == game["sfens"][0], 10)
    for _ in range(len(game["moves"])):
        body.send_keys("\ue014")  # ArrowRight
    wait_for(lambda: sfen_of(browser) == game["sfens"][-1], 10)
    board = cshogi.Board(game["start_sfen"])
    for move in game["moves"]:
        board.push_usi(move)
    assert board.sfen().split()[:3] == sfen_of(browser).split()[:3]
    assert errors(browser) == []


def test_play_answers_a_clicked_move_and_refuses_an_illegal_click(runs_dir, dashboard_of, browser) -> None:
    d = dashboard_of(runs_dir, "--max-nodes", "16")
    browser.get(d.url + "#/play?run=done")
    wait_for(lambda: browser.execute_script("const s = document.querySelector('select[name=checkpoint]'); return s && s.options.length"), 30)
    browser.find_element("css selector", "#newgame").click()
    start = wait_for(lambda: sfen_of(browser), 30)
    assert start.split()[1] == "b"

    def click(square: str) -> None:
        browser.execute_script(f"document.querySelector('svg.board rect[data-square=\"{square}\"]')"
                               ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")

    click("5e")  # an empty square: nothing to move
    wait_for(lambda: "refused" in browser.find_element("css selector", "#playmsg").text, 10)
    assert sfen_of(browser) == start
    click("7g")
    click("7f")
    after = wait_for(lambda: (s := sfen_of(browser)) and int(s.split()[3]) == 3 and s, 60)
    board = cshogi.Board()
    board.push_usi("7g7f")
    replies = []
    for move in board.legal_moves:
        board.push(move)
        replies.append(board.sfen())
        board.pop()
    assert after.split()[:3] in [r.split()[:3] for r in replies]  # the engine answered with a legal move
    browser.save_screenshot(str(ARTIFACTS / "play_answered.png"))
    click("7f")
    click("7a")  # the pawn cannot go there
    wait_for(lambda: "refused" in browser.find_element("css selector", "#playmsg").text, 10)
    assert sfen_of(browser) == after and errors(browser) == []


def test_the_board_fits_a_phone_screen_and_flips(runs_dir, dashboard_of, browser) -> None:
    d = dashboard_of(runs_dir)
    browser.set_window_size(390, 844)
    game_id = "games/selfplay_00000001.kif"
    browser.get(d.url + f"#/run/done/game?id={urllib.parse.quote(game_id)}")
    wait_for(lambda: sfen_of(browser), 30)
    width, inner = browser.execute_script(
        "return [document.querySelector('svg.board').getBoundingClientRect().width, window.innerWidth]")
    assert 250 <= width <= inner
    top_file = lambda: browser.execute_script("return document.querySelector('svg.board text.coord').textContent")
    assert top_file() == "9"
    browser.find_element("xpath", "//button[text()='Flip']").click()
    wait_for(lambda: top_file() == "1", 10)
    browser.save_screenshot(str(ARTIFACTS / "phone_replay_flipped.png"))
    assert errors(browser) == []
