"""UsiPlayer: each fault has its reason, the engine restarts and the next game proceeds."""

import asyncio
from pathlib import Path

import pytest
from engines import fake_engine

from keisei.shogi import Game
from keisei.usi import EngineFault, EngineResigned, UsiPlayer

pytestmark = pytest.mark.timeout(60)

FAST = {"start_timeout": 5.0, "move_timeout_margin": 0.5, "stop_grace": 0.2, "quit_timeout": 0.5}


async def play(player: UsiPlayer, plies: int) -> Game:
    """The player moves for both sides for ``plies`` plies (every move checked by Game.push_usi)."""
    game = Game()
    for _ in range(plies):
        game.push_usi(await player.choose(game))
    return game


@pytest.mark.parametrize(
    ("fault", "fault_at", "reason", "detail"),
    [
        ("crash", 3, "crash", "exited (code 3)"),
        ("hang", 2, "time", "no bestmove within 0.6s"),
        ("illegal", 2, "illegal_move", "'5e5d' is not legal in"),
        ("malformed", 1, "illegal_move", "malformed answer"),
        ("win", 2, "illegal_move", "invalid entering-king declaration"),
    ],
)
def test_fault_then_restart_and_a_good_game(
    tmp_path: Path, fault: str, fault_at: int, reason: str, detail: str
) -> None:
    spec = fake_engine(tmp_path, Fault=fault, FaultAt=fault_at, Once=tmp_path / "faulted", byoyomi=100)

    async def run() -> tuple[EngineFault, Game, int]:
        async with UsiPlayer(spec, **FAST) as player:
            with pytest.raises(EngineFault) as info:
                await play(player, 10)
            game = await play(player, 8)
            return info.value, game, player.starts

    err, game, starts = asyncio.run(run())
    assert err.reason == reason
    assert detail in err.detail
    assert err.engine == f"fake-usi[Fault={fault},FaultAt={fault_at},Once={tmp_path / 'faulted'},byoyomi=100]"
    assert game.ply == 8 and game.result is None
    assert starts == 2  # the faulted engine was replaced by a fresh one


def test_resign_keeps_the_engine(tmp_path: Path) -> None:
    spec = fake_engine(tmp_path, Fault="resign", FaultAt=3)

    async def run() -> tuple[int, Game]:
        async with UsiPlayer(spec, **FAST) as player:
            with pytest.raises(EngineResigned, match="resigned"):
                await play(player, 10)
            game = await play(player, 4)
            return player.starts, game

    starts, game = asyncio.run(run())
    assert starts == 1
    assert game.ply == 4


def test_engine_that_cannot_start_is_a_crash_fault(tmp_path: Path) -> None:
    async def run() -> None:
        player = UsiPlayer(fake_engine(tmp_path, startup="crash"), **FAST)
        with pytest.raises(EngineFault) as info:
            await player.choose(Game())
        assert info.value.reason == "crash"
        assert "fake engine: cannot start" in info.value.detail

    asyncio.run(run())


def test_player_is_bound_to_its_event_loop(tmp_path: Path) -> None:
    async def run() -> UsiPlayer:
        player = UsiPlayer(fake_engine(tmp_path), **FAST)
        game = await play(player, 2)
        with pytest.raises(RuntimeError, match="bound to the event loop"):
            await asyncio.to_thread(asyncio.run, player.choose(game))
        await player.close()
        return player

    async def again(player: UsiPlayer) -> Game:
        async with player:
            return await play(player, 2)

    player = asyncio.run(run())
    assert asyncio.run(again(player)).ply == 2  # a closed player may move to another loop
    assert player.starts == 2


def test_close_from_another_loop_kills_the_process(tmp_path: Path) -> None:
    async def run() -> int | None:
        player = UsiPlayer(fake_engine(tmp_path), **FAST)
        await play(player, 2)
        proc = player._engine._proc  # the process object belongs to this loop: wait for it here
        await asyncio.to_thread(asyncio.run, player.close())
        return await asyncio.wait_for(proc.wait(), 10)

    assert asyncio.run(run()) == -9


def test_game_over_and_name(tmp_path: Path) -> None:
    async def run() -> UsiPlayer:
        async with UsiPlayer(fake_engine(tmp_path, name="eng", byoyomi=50), **FAST) as player:
            await play(player, 2)
            await player.game_over("win")
            await play(player, 2)
            return player

    player = asyncio.run(run())
    assert player.name == "eng[byoyomi=50]"
    assert player.starts == 1
