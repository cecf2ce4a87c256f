"""Search self-play (keisei.search.selfplay): the records it makes, with the stub network and real cshogi rules."""

from __future__ import annotations

import cshogi
import numpy as np
import pytest

from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search.evaluator import UniformEvaluator
from keisei.search.selfplay import SelfPlayGames, selfplay_search_config
from keisei.shogi import Game
from keisei.shogi.labels import LABEL_LUT
from keisei.shogi.replay import FLAG_RESIGNED, FLAG_TERMINATED, FLAG_TRUNCATED


def _play(selfplay: SelfPlayConfig, games: int = 4, max_plies: int = 40, steps: int = 60, seed: int = 3,
          evaluator=None):
    sp = SelfPlayGames(evaluator or UniformEvaluator(), SearchConfig(batch_size=4), selfplay, num_games=games,
                       max_plies=max_plies, seed=seed)
    done = []
    for _ in range(steps):
        done += sp.step(version=7)
    return sp, done


def _replay(game) -> list[cshogi.Board]:
    board = cshogi.Board(game.start_sfen)
    boards = []
    for usi in game.moves:
        boards.append(board.copy())
        board.push_usi(usi)
    return boards


def test_every_record_is_a_position_of_its_game_with_a_policy_over_all_legal_moves():
    _, done = _play(SelfPlayConfig(simulations=8, full_search_share=1.0, resign_threshold=0.0))
    assert done
    for game in done:
        boards = _replay(game)
        shard = game.shard
        assert len(shard.positions) == game.plies  # full_search_share 1: every move is a target
        for row in shard.positions:
            board = boards[int(row["ply"])]
            hcp = np.zeros(32, np.uint8)
            board.to_hcp(hcp)
            assert (row["hcp"] == hcp).all()
            s, n = int(row["policy_start"]), int(row["policy_len"])
            labels = shard.labels[s:s + n].astype(np.int64)
            legal = sorted(int(LABEL_LUT[(m & 0x7FFF) | (board.turn << 15)]) for m in board.legal_moves)
            assert sorted(labels.tolist()) == legal  # all legal moves, not only the visited ones
            assert abs(float(shard.probs[s:s + n].sum()) - 1.0) < 1e-5
            played = board.move_from_usi(game.moves[int(row["ply"])])
            assert int(row["move"]) == int(LABEL_LUT[(played & 0x7FFF) | (board.turn << 15)])
            assert row["version"] == 7 and row["game_id"] == game.game_id


def test_truncated_games_carry_no_outcome_and_decisive_ones_carry_it_from_the_side_to_move():
    _, done = _play(SelfPlayConfig(simulations=8, full_search_share=1.0, resign_threshold=0.0), max_plies=30)
    truncated = [g for g in done if g.truncated]
    assert truncated
    for g in truncated:
        assert (g.shard.positions["flags"] == FLAG_TRUNCATED).all()
        assert (g.shard.positions["outcome"] == 0).all()
    # a decisive game: a mate in one from a composed position (found by the search's mate check)
    mate = Game("4k4/9/4P4/9/9/9/9/9/4K4 b G2r 1", max_plies=40)
    sp = SelfPlayGames(UniformEvaluator(), SearchConfig(batch_size=4),
                       SelfPlayConfig(simulations=8, full_search_share=1.0, resign_threshold=0.0),
                       num_games=1, openings=[mate], max_plies=40, seed=0)
    game = sp.step(version=1)[0]
    assert game.reason == "checkmate" and game.winner == "black"
    row = game.shard.positions[0]
    assert row["outcome"] == 1 and row["flags"] == FLAG_TERMINATED


def test_the_playout_cap_records_only_full_searches():
    _, done = _play(SelfPlayConfig(simulations=16, cheap_simulations=2, full_search_share=0.3, resign_threshold=0.0),
                     games=8, steps=50)
    plies = sum(g.plies for g in done)
    recorded = sum(len(g.shard.positions) for g in done)
    assert done and 0.15 * plies < recorded < 0.45 * plies


class _Losing:
    """A stub network that thinks every position won for the side to move: after one simulation the searching
    side sees its move lead to a lost position (value -1), so both sides want to resign at once."""

    calls = 0
    seconds = 0.0

    def __call__(self, obs, mask):
        return np.zeros((len(obs), 2187), np.float32), np.ones(len(obs), np.float32)


def test_resignation_and_played_out_games_measure_false_resigns():
    _, done = _play(SelfPlayConfig(simulations=1, full_search_share=1.0, resign_threshold=0.5, resign_playout_share=0.5),
                     games=8, steps=40, evaluator=_Losing())
    resigned = [g for g in done if g.resigned]
    played_out = [g for g in done if g.would_resign is not None]
    assert resigned and played_out
    for g in resigned:
        assert g.reason == "resign" and g.winner is not None
        assert (g.shard.positions["flags"] & FLAG_RESIGNED).all()
    for g in played_out:
        if g.truncated:
            assert g.false_resign is None  # cut at the ply limit: unknown, not counted
        else:
            assert g.false_resign == (g.winner != ("white" if g.would_resign == "black" else "black"))
    assert any(g.truncated for g in played_out)


def test_selfplay_search_settings_come_from_selfplay_over_search():
    cfg = selfplay_search_config(SearchConfig(algorithm="puct", simulations=500, c_puct=2.5),
                                 SelfPlayConfig(root="gumbel", simulations=12, considered=4, value_scale=1.0), seed=5)
    assert (cfg.algorithm, cfg.simulations, cfg.gumbel_considered, cfg.value_scale, cfg.c_puct, cfg.seed) == (
        "gumbel", 12, 4, 1.0, 2.5, 5)


def test_same_seed_same_games():
    a = [(g.moves, g.winner) for g in _play(SelfPlayConfig(simulations=4), steps=45)[1]]
    b = [(g.moves, g.winner) for g in _play(SelfPlayConfig(simulations=4), steps=45)[1]]
    assert a == b and a


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_both_roots_make_targets(root):
    _, done = _play(SelfPlayConfig(root=root, simulations=8, full_search_share=1.0, resign_threshold=0.0), steps=45)
    assert done and all(len(g.shard.positions) for g in done)


def test_the_resign_threshold_tightens_to_keep_false_resigns_near_the_target():
    sp, _ = _play(SelfPlayConfig(simulations=2, resign_threshold=0.9, false_resign_target=0.05), steps=0)
    assert sp.resign_threshold() == 0.9  # no played-out winners yet
    sp.winner_lows.extend([-0.5] * 90 + [-0.97] * 10)  # 10% of winners once stood at -0.97
    assert abs(sp.resign_threshold() - 0.97) < 1e-9
    sp.winner_lows.clear()
    sp.winner_lows.extend([-0.2] * 100)  # winners never went low: the configured threshold stays
    assert sp.resign_threshold() == 0.9
    sp.winner_lows.extend([-1.0] * 30)  # winners saw -1: no value is low enough to resign on
    assert sp.resign_threshold() == 1.0
    assert _play(SelfPlayConfig(simulations=2, resign_threshold=0.0), steps=0)[0].resign_threshold() == 0.0


def test_a_false_resign_is_a_played_out_game_the_resigner_did_not_lose():
    from keisei.search.selfplay import PlayedGame

    def game(winner, would, truncated=False, reason="checkmate"):
        return PlayedGame(1, "", [], winner, reason, truncated, None, would)

    assert game("white", "black").false_resign is False  # black would have resigned and lost
    assert game("black", "black").false_resign is True  # ... and won
    assert game(None, "black", reason="repetition").false_resign is True  # ... and drew
    assert game(None, "black", truncated=True, reason="max_plies").false_resign is None  # unknown
    assert game("black", None).false_resign is None  # no would-be resignation
