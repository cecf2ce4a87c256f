"""The trainer's live state (run_dir/live.json): what it holds, how often it is written, and its faults."""

from __future__ import annotations

import json
import logging
import os

import cshogi
import pytest
import torch

from keisei.models import build_model
from keisei.shogi import Game, VecEnv
from keisei.training.live import LIVE_FILE, LiveState
from keisei.training.trainer import Trainer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def small_model():
    return build_model({"name": "resnet", "blocks": 1, "channels": 8, "se": False, "value_hidden": 8}).eval()


def test_boards_hold_positions_and_the_networks_legal_top_moves(tmp_path) -> None:
    env = VecEnv(3, max_plies=64, seed=3)
    obs, mask = env.reset()
    rng = torch.Generator().manual_seed(0)
    for _ in range(5):
        acts = [int(torch.multinomial(torch.from_numpy(m).float(), 1, generator=rng)) for m in env._mask]
        res = env.step(torch.tensor(acts).numpy())
        obs, mask = res.obs, res.mask
    live = LiveState(tmp_path, every_s=1.0, num_games=2, algorithm="ppo", model=small_model(), clock=Clock())
    assert live.boards_due()
    live.set_games(env.games, obs, mask)
    data = json.loads((tmp_path / LIVE_FILE).read_text())
    assert data["schema"] == 1 and data["algorithm"] == "ppo" and len(data["games"]) == 2
    for shown, game in zip(data["games"], env.games):
        assert shown["sfen"] == game.sfen() and shown["ply"] == 5 and shown["last_move"] == game.moves[-1]
        board = cshogi.Board(shown["sfen"])
        legal = {cshogi.move_to_usi(m) for m in board.legal_moves}
        assert len(shown["top"]) == 5 and {t["move"] for t in shown["top"]} <= legal
        probs = [t["p"] for t in shown["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
        assert -1.0 <= shown["value"] <= 1.0


def test_writes_are_bounded_by_the_period(tmp_path) -> None:
    clock = Clock()
    live = LiveState(tmp_path, every_s=1.0, num_games=1, algorithm="ppo", model=None, clock=clock)
    live.set_progress({"timesteps": 1}, {})
    assert live.writes == 1
    for step in range(2, 50):  # many updates inside one period: no further write
        clock.now += 0.01
        live.set_progress({"timesteps": step}, {"charts/SPS": 10.0, "nan": float("nan")})
    assert live.writes == 1
    clock.now += 1.0
    live.set_progress({"timesteps": 99}, {"charts/SPS": 12.0, "nan": float("nan")})
    data = json.loads((tmp_path / LIVE_FILE).read_text())
    assert live.writes == 2 and data["progress"]["timesteps"] == 99 and data["metrics"] == {"charts/SPS": 12.0}


def test_a_write_failure_is_one_warning_and_never_raises(tmp_path, caplog) -> None:
    clock = Clock()
    blocker = tmp_path / "run"
    blocker.write_text("a file where the run directory should be")
    live = LiveState(blocker, every_s=1.0, num_games=1, algorithm="ppo", model=None, clock=clock)
    with caplog.at_level(logging.WARNING, logger="keisei.training.live"):
        for _ in range(3):
            clock.now += 2.0
            assert live.publish() is False
    assert live.failed and len([r for r in caplog.records if "live.json" in r.getMessage()]) == 1
    blocker.unlink()
    blocker.mkdir()
    clock.now += 2.0
    assert live.publish() is True and not live.failed


def test_search_self_play_shows_the_roots(tmp_path) -> None:
    from keisei.config import SearchConfig
    from keisei.search import BatchedMCTS, make_evaluator

    mcts = BatchedMCTS(make_evaluator(small_model(), torch.device("cpu"), "torch", 8, 1),
                       SearchConfig(algorithm="gumbel", max_nodes=4096))
    games = [Game(), Game()]
    games[1].push_usi("7g7f")
    results = mcts.search(games, simulations=16)
    live = LiveState(tmp_path, every_s=1.0, num_games=4, algorithm="alphazero", model=None, clock=Clock())
    live.set_searched(games, results)
    data = json.loads((tmp_path / LIVE_FILE).read_text())
    assert [g["sfen"] for g in data["games"]] == [g.sfen() for g in games]
    for shown, result in zip(data["games"], results):
        assert shown["searched"] == 16 and shown["pv"][0] == result.move
        assert sum(t["visits"] for t in shown["top"]) <= 16 and shown["top"][0]["visits"] == max(result.visits.values())


@pytest.mark.parametrize("live_state", [True, False])
def test_the_trainer_writes_live_json_only_when_on(tmp_path, live_state) -> None:
    from keisei.config import load_config

    sets = ["model.blocks=1", "model.channels=8", "model.value_hidden=8", "env.num_envs=4", "env.max_plies=40",
            "ppo.num_steps=8", "ppo.update_epochs=1", "ppo.num_minibatches=2", "training.torch_threads=1",
            "evaluation.enable_periodic_evaluation=false", "display.mode=plain", "display.log_every_seconds=1000",
            "training.total_timesteps=256", f"logging.live_state={str(live_state).lower()}", "logging.live_games=3"]
    cfg = load_config(preset="tiny", overrides=sets)
    summary = Trainer(cfg, run_dir=tmp_path / "run").run()
    path = tmp_path / "run" / LIVE_FILE
    assert path.exists() == live_state
    if live_state:
        data = json.loads(path.read_text())
        assert data["progress"]["state"] == "finished" and data["progress"]["timesteps"] == summary.timesteps == 256
        assert data["pid"] == os.getpid() and "losses/policy_loss" in data["metrics"]


def test_search_self_play_run_publishes_its_searched_roots(tmp_path) -> None:
    from keisei.config import load_config

    sets = ["model.blocks=1", "model.channels=8", "model.value_hidden=8", "env.num_envs=3", "env.max_plies=30",
            "training.torch_threads=1", "evaluation.enable_periodic_evaluation=false", "display.mode=plain",
            "display.log_every_seconds=1000", "training.algorithm=alphazero", "selfplay.simulations=4",
            "selfplay.cheap_simulations=2", "selfplay.collect_plies=10", "search.batch_size=4",
            "alphazero.batch_size=32", "alphazero.min_positions=20", "training.total_timesteps=60",
            "logging.live_every_seconds=0.1"]
    from keisei.run.callbacks import Callback

    seen: list[dict] = []

    class Watch(Callback):  # runs after the live state's own callback, as the dashboard would read
        def on_update_end(self, ctx) -> None:
            seen.extend(json.loads((ctx.run_dir / LIVE_FILE).read_text())["games"])

    Trainer(load_config(preset="tiny", overrides=sets), run_dir=tmp_path / "az", callbacks=[Watch()]).run()
    data = json.loads((tmp_path / "az" / LIVE_FILE).read_text())
    assert data["algorithm"] == "alphazero" and data["progress"]["state"] == "finished" and data["games"] == []
    assert seen, "no searched root was published during the run"
    for shown in seen:
        board = cshogi.Board(shown["sfen"])
        legal = {cshogi.move_to_usi(m) for m in board.legal_moves}
        assert shown["searched"] in (2, 4) and shown["pv"][0] in legal
        assert {t["move"] for t in shown["top"]} <= legal and sum(t["visits"] for t in shown["top"]) >= 1


def test_paths_stay_inside_the_run(tmp_path) -> None:
    from keisei.dashboard.runs import PathRefused, inside

    run = tmp_path / "run"
    (run / "games").mkdir(parents=True)
    (run / "games" / "a.kif").write_text("x")
    (tmp_path / "secret").write_text("x")
    (run / "games" / "out.kif").symlink_to(tmp_path / "secret")
    (run / "games" / "in.kif").symlink_to(run / "games" / "a.kif")
    assert inside(run, "games/a.kif") == (run / "games" / "a.kif").resolve()
    assert inside(run, "games/in.kif") == (run / "games" / "a.kif").resolve()
    for bad in ("../secret", "games/../../secret", "/etc/passwd", "games/out.kif", "", "games/\x00.kif", "C:/x"):
        with pytest.raises(PathRefused):
            inside(run, bad)
