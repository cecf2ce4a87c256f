"""UsiEngine against the fake engine (real subprocesses): handshake, positions, every failure path, reaping."""

import asyncio
from pathlib import Path

import cshogi
import pytest
from engines import fake_engine

from keisei.usi import (
    EngineCrashed,
    EngineProtocolError,
    EngineSpec,
    EngineTimeout,
    UsiEngine,
)

pytestmark = pytest.mark.timeout(60)

FAST = {"start_timeout": 5.0, "move_timeout_margin": 0.5, "stop_grace": 0.2, "quit_timeout": 0.5}
START = "lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNL b - 1"


def engine(tmp_path: Path, startup: str = "", **options: str | int) -> UsiEngine:
    return UsiEngine(EngineSpec.parse(fake_engine(tmp_path, startup=startup, **options)), **FAST)


def legal(sfen: str, moves: list[str]) -> set[str]:
    board = cshogi.Board(sfen)
    for move in moves:
        board.push_usi(move)
    return {cshogi.move_to_usi(m) for m in board.legal_moves}


def reaped(pid: int) -> bool:
    """True when the process is gone and not a zombie (its /proc entry disappears only once reaped)."""
    return not Path(f"/proc/{pid}").exists()


def test_handshake_moves_and_clean_quit(tmp_path: Path) -> None:
    async def run() -> int:
        async with engine(tmp_path, byoyomi=100) as eng:
            assert eng.engine_id == "FakeUSI"
            assert {"Fault", "FaultAt", "Once"} <= set(eng.engine_options)
            await eng.new_game()
            moves: list[str] = []
            for _ in range(6):
                move = await eng.bestmove(START, moves)
                assert move in legal(START, moves)
                moves.append(move)
            await eng.game_over("draw")
            pid = eng.pid
            assert pid is not None
        assert not eng.started
        return pid

    assert reaped(asyncio.run(run()))


def test_sfen_positions_reach_the_engine(tmp_path: Path) -> None:
    sfen = "4k4/9/9/9/9/9/9/9/4K4 b 2P 1"

    async def run() -> tuple[str, str]:
        async with engine(tmp_path) as eng:
            return await eng.bestmove(sfen, []), await eng.bestmove(sfen, ["P*5e"])

    first, second = asyncio.run(run())
    assert first in legal(sfen, [])
    assert second in legal(sfen, ["P*5e"])
    assert not second.startswith("P*")  # white has no pieces in hand: proves the moves were applied


def test_crash_mid_game_raises_with_stderr_and_restart_works(tmp_path: Path) -> None:
    async def run() -> None:
        eng = engine(tmp_path, Fault="crash", FaultAt=2)
        await eng.start()
        pid = eng.pid
        move = await eng.bestmove(START, [])
        with pytest.raises(EngineCrashed) as info:
            await eng.bestmove(START, [move])
        assert info.value.engine == eng.name
        assert "exited (code 3)" in str(info.value)
        assert any("segmentation fault (on purpose)" in line for line in info.value.stderr)
        assert not eng.started and reaped(pid)
        await eng.restart()
        assert eng.pid != pid
        assert await eng.bestmove(START, []) in legal(START, [])
        await eng.close()

    asyncio.run(run())


def test_hang_is_stopped_killed_and_reported_as_timeout(tmp_path: Path) -> None:
    async def run() -> None:
        eng = engine(tmp_path, Fault="hang", IgnoreTerm="true", byoyomi=100)
        await eng.start()
        pid = eng.pid
        with pytest.raises(EngineTimeout, match=r"no bestmove within 0\.6s while thinking \(go btime 0"):
            await eng.bestmove(START, [])
        assert not eng.started and reaped(pid)

    asyncio.run(run())


def test_nodes_only_search_uses_the_search_timeout(tmp_path: Path) -> None:
    async def run() -> None:
        spec = EngineSpec.parse(fake_engine(tmp_path, Fault="hang", nodes=10))
        eng = UsiEngine(spec, **FAST, search_timeout=0.4)
        with pytest.raises(EngineTimeout, match=r"no bestmove within 0\.4s while thinking \(go nodes 10\)"):
            await eng.bestmove(START, [])
        assert not eng.started

    asyncio.run(run())


def test_malformed_answer_is_a_protocol_error(tmp_path: Path) -> None:
    async def run() -> None:
        eng = engine(tmp_path, Fault="malformed")
        with pytest.raises(EngineProtocolError, match=r"malformed answer 'bestmove \?\?garbage\?\?'"):
            await eng.bestmove(START, [])
        assert not eng.started

    asyncio.run(run())


def test_client_returns_illegal_moves_raw(tmp_path: Path) -> None:
    async def run() -> str:
        async with engine(tmp_path, Fault="illegal") as eng:
            return await eng.bestmove(START, [])

    move = asyncio.run(run())
    assert move == "5e5d" and move not in legal(START, [])


def test_silent_engine_times_out_at_start(tmp_path: Path) -> None:
    async def run() -> None:
        eng = UsiEngine(EngineSpec.parse(fake_engine(tmp_path, startup="silent")), **{**FAST, "start_timeout": 0.5})
        with pytest.raises(EngineTimeout, match=r"no usiok within 0\.5s while starting"):
            await eng.start()
        assert not eng.started

    asyncio.run(run())


def test_engine_dying_at_start_is_a_crash(tmp_path: Path) -> None:
    async def run() -> None:
        with pytest.raises(EngineCrashed, match=r"exited \(code 2\) while starting") as info:
            await engine(tmp_path, startup="crash").start()
        assert info.value.stderr == ["fake engine: cannot start"]

    asyncio.run(run())


def test_unknown_option_is_a_value_error_naming_it(tmp_path: Path) -> None:
    async def run() -> None:
        eng = engine(tmp_path, **{"Skill Level": 3})
        with pytest.raises(ValueError, match=r"has no option\(s\) Skill Level; it has: Fault, FaultAt"):
            await eng.start()
        assert not eng.started

    asyncio.run(run())


def test_standard_usi_options_need_no_advertising(tmp_path: Path) -> None:
    async def run() -> str:
        async with engine(tmp_path, USI_Hash=16, USI_Ponder="false") as eng:
            assert "USI_Hash" not in eng.engine_options
            return await eng.bestmove(START, [])

    assert asyncio.run(run()) in legal(START, [])


def test_close_escalates_to_kill_when_quit_and_term_are_ignored(tmp_path: Path) -> None:
    async def run() -> None:
        eng = engine(tmp_path, IgnoreQuit="true", IgnoreTerm="true")
        await eng.start()
        proc = eng._proc
        await eng.close()
        assert proc is not None and proc.returncode == -9
        assert reaped(proc.pid)
        await eng.close()  # idempotent

    asyncio.run(run())


def test_bad_arguments(tmp_path: Path) -> None:
    async def run() -> None:
        async with engine(tmp_path) as eng:
            with pytest.raises(ValueError, match="bad position"):
                await eng.bestmove(START, ["7g7f 3c3d"])
            with pytest.raises(ValueError, match="game_over result must be one of"):
                await eng.game_over("won")
            assert eng.started  # argument errors do not stop the engine

    asyncio.run(run())
