"""EvaluationManager: the three calling contexts, a free event loop, mode restoration, errors, checkpoints."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from eval_helpers import ForwardCounter, tiny_config, tiny_model, write_checkpoint

from keisei.checkpoint import CheckpointError
from keisei.evaluation.manager import EvaluationManager, EvaluationRequest
from keisei.evaluation.store import GameStore
from keisei.evaluation.weights import ModelWeightManager
from keisei.shogi import load_record


def _check(result, opponents=("random",), games=4):
    assert [s.name for s in result.opponents] == list(opponents)
    for s in result.opponents:
        assert s.games == games and s.wins + s.draws + s.losses + s.errors == games
    assert len(result.games) == games * len(opponents)


def test_plain_synchronous_call_and_store_rows(tmp_path):
    manager = EvaluationManager(tiny_config(), run_dir=tmp_path)
    result = manager.evaluate_current_agent(tiny_model(), ["random", "greedy"], model_version=5, timestep=500)
    _check(result, ("random", "greedy"))
    assert (result.agent, result.model_version, result.timestep, result.errors) == ("agent@v5", 5, 500, [])
    rows = GameStore(tmp_path / "evaluation.sqlite").games()
    assert len(rows) == 8
    for row, game in zip(rows, result.games):
        colours = (row.black, row.white)
        assert colours == (("agent@v5", game.opponent) if game.agent_color == "black" else (game.opponent, "agent@v5"))
        assert (row.reason, row.plies, row.opening, row.timestep) == (game.reason, game.plies, game.opening, 500)
        assert row.evaluation_id == result.evaluation_id
        expected = {"draw": "draw", "win": game.agent_color}.get(game.result)
        assert row.result == (expected or ("white" if game.agent_color == "black" else "black"))


def test_sync_twin_inside_a_running_event_loop():
    manager = EvaluationManager(tiny_config())

    async def main():
        asyncio.get_running_loop()  # a loop runs on this thread
        return manager.evaluate_current_agent(tiny_model(), ["random"])

    _check(asyncio.run(main()))


def test_sync_twin_from_a_worker_thread(tmp_path):
    manager = EvaluationManager(tiny_config())
    path = write_checkpoint(tmp_path / "c.pt", tiny_model(1))
    out: dict = {}

    def work():
        try:
            out["result"] = manager.evaluate_checkpoint(path, ["random"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            out["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert "error" not in out
    _check(out["result"])


def test_the_event_loop_keeps_running_during_an_evaluation():
    manager = EvaluationManager(tiny_config(max_plies=120))
    model = tiny_model()
    counter = ForwardCounter(model)
    threads = set()
    model.register_forward_pre_hook(lambda m, a: threads.add(threading.get_ident()))

    async def main():
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        result = await manager.evaluate_current_agent_async(model, ["random", "greedy"], num_games=16)
        elapsed = time.perf_counter() - start
        done.set()
        await task
        return result, ticks, elapsed

    result, ticks, elapsed = asyncio.run(main())
    _check(result, ("random", "greedy"), games=16)
    assert threading.get_ident() not in threads  # inference never ran on the loop's thread
    assert counter.calls > 20
    assert ticks >= counter.calls / 2, (ticks, counter.calls, elapsed)  # ticked between plies all along


def test_train_mode_is_restored_after_success_and_after_failure(tmp_path):
    model = tiny_model().train()
    first = next(iter(model.children()))
    first.eval()  # a mixed state must come back exactly
    modes = [m.training for m in model.modules()]
    seen = []
    model.register_forward_pre_hook(lambda m, a: seen.append(m.training))
    manager = EvaluationManager(tiny_config())
    manager.evaluate_current_agent(model, ["random"])
    assert seen and not any(seen)  # played in eval mode
    assert [m.training for m in model.modules()] == modes
    corrupt = tmp_path / "bad.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt"):
        manager.evaluate_current_agent(model, ["random", f"checkpoint:{corrupt}"])
    assert [m.training for m in model.modules()] == modes


def test_errors_are_listed_never_draws():
    model = tiny_model()
    calls = {"n": 0}

    def explode(module, args):
        calls["n"] += 1
        if calls["n"] >= 4:
            raise RuntimeError("kaboom")

    model.register_forward_pre_hook(explode)
    result = EvaluationManager(tiny_config()).evaluate_current_agent(model, ["random"])
    summary = result.opponent("random")
    assert summary.errors == 4 and summary.draws == 0 and summary.games == 4
    assert summary.score is None and summary.elo is None  # nothing valid to score
    assert len(result.errors) == 4 and all("kaboom" in e for e in result.errors)
    assert all(g.result == "error" and g.reason == "error" for g in result.games)


def test_checkpoint_evaluation_uses_the_saved_weights(tmp_path):
    saved = tiny_model(3)
    path = write_checkpoint(tmp_path / "ckpt_000042.pt", saved, model_version=9, timesteps=4200)
    weights = ModelWeightManager()
    result = EvaluationManager(tiny_config(), weight_manager=weights).evaluate_checkpoint(path, ["random"])
    _check(result)
    assert (result.agent, result.model_version, result.timestep) == ("ckpt:ckpt_000042", 9, 4200)
    assert result.checkpoint == str(path)
    model, _ = weights.load_checkpoint(path)
    for name, tensor in saved.state_dict().items():
        assert (model.state_dict()[name] == tensor).all(), name


def test_corrupt_or_mismatched_checkpoints_raise(tmp_path):
    manager = EvaluationManager(tiny_config())
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(write_checkpoint(tmp_path / "ok.pt", tiny_model()).read_bytes()[:500])
    with pytest.raises(CheckpointError, match="corrupt.pt"):
        manager.evaluate_checkpoint(corrupt, ["random"])
    mismatched = write_checkpoint(tmp_path / "mismatch.pt", tiny_model())
    from keisei.checkpoint import load_checkpoint, save_checkpoint

    payload = load_checkpoint(mismatched)
    payload["model_arch"] = {**payload["model_arch"], "channels": 32}
    save_checkpoint(mismatched, payload)
    with pytest.raises(CheckpointError, match="mismatch.pt"):
        manager.evaluate_checkpoint(mismatched, ["random"])


def test_snapshot_agent_carries_version_and_timestep():
    weights = ModelWeightManager()
    snap = weights.snapshot(tiny_model(), 12, 3456, "resnet", tiny_config().model.model_dump())
    result = EvaluationManager(tiny_config(), weight_manager=weights).evaluate_current_agent(snap, ["current"])
    _check(result, ("current",))
    assert (result.agent, result.model_version, result.timestep) == ("agent@v12", 12, 3456)


def test_games_saved_as_kif_and_sprt_reported(tmp_path):
    config = tiny_config(num_games=6)
    result = EvaluationManager(config).evaluate_current_agent(
        tiny_model(), ["greedy"], sprt=True, save_games_dir=tmp_path / "games"
    )
    files = sorted((tmp_path / "games").glob("*.kif"))
    assert len(files) == 6
    for path, game in zip(files, result.games):
        assert load_record(path).moves == game.moves
    verdict = result.sprt["opponents"]["greedy"]
    assert verdict["verdict"] in ("H0", "H1", "inconclusive") and verdict["games"] + 0 <= 6
    assert verdict["lower"] < 0 < verdict["upper"]


def test_one_request_value_serves_every_agent_kind_and_refuses_ignored_tags(tmp_path):
    weights = ModelWeightManager()
    snap = weights.snapshot(tiny_model(), 4, 400, "resnet", tiny_config().model.model_dump())
    manager = EvaluationManager(tiny_config(num_games=2), weight_manager=weights)
    request = EvaluationRequest(opponents=["random"], num_games=2)
    live = manager.evaluate(tiny_model(), EvaluationRequest(["random"], 2, model_version=9, timestep=90))
    pinned = manager.evaluate(snap, request)
    saved = manager.evaluate(write_checkpoint(tmp_path / "ckpt_7.pt", tiny_model()), request)
    assert [r.agent for r in (live, pinned, saved)] == ["agent@v9", "agent@v4", "ckpt:ckpt_7"]
    assert all(sum(s.games for s in r.opponents) == 2 for r in (live, pinned, saved))
    with pytest.raises(ValueError, match="model_version, timestep: only a live model"):
        manager.evaluate(snap, EvaluationRequest(["random"], model_version=1, timestep=2))
    with pytest.raises(ValueError, match="sims must be an integer >= 0"):
        EvaluationRequest(sims=-1)
