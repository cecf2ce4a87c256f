"""Real engines (Fairy-Stockfish, gpsusi): handshake, moves, and whole games with every move legal."""

import asyncio

import pytest
from engines import require_engine

from keisei.shogi import Game, RandomPlayer
from keisei.usi import EngineResigned, EngineSpec, UsiEngine, UsiPlayer

pytestmark = [pytest.mark.engine, pytest.mark.timeout(120)]


def test_fairy_stockfish_handshake_and_moves_from_startpos() -> None:
    path = require_engine("fairy-stockfish")

    async def run() -> tuple[UsiEngine, list[str]]:
        async with UsiEngine(EngineSpec.parse(f"usi:{path}?nodes=200")) as eng:
            await eng.new_game()
            game = Game()
            for _ in range(6):
                move = await eng.bestmove(game.start_sfen, game.moves)
                game.push_usi(move)  # raises IllegalMoveError unless legal
            await eng.game_over("draw")  # Fairy-Stockfish ignores it ("Unknown command"): must be harmless
            game.push_usi(await eng.bestmove(game.start_sfen, game.moves))
            return eng, game.moves

    eng, moves = asyncio.run(run())
    assert eng.engine_id.startswith("Fairy-Stockfish")
    assert "UCI_Variant" in eng.engine_options
    assert len(moves) == 7


def test_fairy_stockfish_full_game_against_random_moves() -> None:
    require_engine("fairy-stockfish")
    random_player = RandomPlayer(seed=3)

    async def run() -> Game:
        async with UsiPlayer("usi:fairy-stockfish?nodes=100") as engine:
            game = Game(max_plies=300)
            while game.result is None:
                if game.turn == "black":
                    try:
                        game.push_usi(await engine.choose(game))
                    except EngineResigned:
                        game.adjudicate("white", "resign")
                else:
                    game.push_usi(random_player.choose(game))
            await engine.game_over("win" if game.result.winner == "black" else "lose")
            return game

    game = asyncio.run(run())
    assert game.result is not None
    assert game.result.winner == "black"  # 100 nodes of search beats uniform random moves
    assert game.ply > 10


def test_fairy_stockfish_plays_from_an_sfen_with_pieces_in_hand() -> None:
    require_engine("fairy-stockfish")
    game = Game("lnsgk2nl/1r4gs1/p1pppp1pp/1p4p2/7P1/2P6/PP1PPPP1P/1SG4R1/LN2KGSNL b Bb 1")

    async def run() -> list[str]:
        async with UsiPlayer("usi:fairy-stockfish?nodes=100") as engine:
            for _ in range(8):
                game.push_usi(await engine.choose(game))
            return game.moves

    moves = asyncio.run(run())
    assert len(moves) == 8


def test_gpsusi_handshake_and_one_move() -> None:
    require_engine("gpsusi")  # .ci/run installs gpsshogi too

    async def run() -> tuple[str, UsiEngine]:
        async with UsiEngine(EngineSpec.parse("usi:gpsusi?byoyomi=100"), start_timeout=30) as eng:
            game = Game()
            game.push_usi("7g7f")
            move = await eng.bestmove(game.start_sfen, game.moves)
            game.push_usi(move)
            return move, eng

    move, eng = asyncio.run(run())
    assert eng.engine_id.startswith("gpsshogi")
    assert move


def test_require_engine_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="'no-such-engine-xyz' not found"):
        require_engine("no-such-engine-xyz")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_engine("no-such-engine-xyz")
    with pytest.raises(pytest.skip.Exception):
        require_engine("no-such-engine-xyz", ci_required=False)
