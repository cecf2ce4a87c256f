"""Observation encoding and action labels: properties over random games (hypothesis), on real cshogi."""

from __future__ import annotations

import cshogi
import numpy as np
import pytest
from cshogi.dlshogi import make_input_features, make_move_label
from hypothesis import given, settings
from hypothesis import strategies as st
from shogi_helpers import play_random

from keisei.shogi import (
    FEATURE_SETS,
    NUM_ACTIONS,
    OBS_SHAPE,
    FeatureSet,
    Game,
    IllegalMoveError,
    VecEnv,
    action_of,
    encode,
    flip_sfen,
    legal_mask,
    move_labels,
    usi_of,
)

games = st.builds(play_random, st.integers(0, 2**32 - 1), st.integers(0, 160))


@settings(max_examples=60, deadline=None)
@given(games)
def test_mask_labels_and_round_trip(game: Game) -> None:
    if game.result is not None:
        assert not legal_mask(game).any() and game.legal_moves() == []
        return
    legal = game.legal_moves()
    labels = [action_of(game, m) for m in legal]
    assert len(set(labels)) == len(legal)  # no two legal moves share a label
    mask = legal_mask(game)
    assert mask.shape == (NUM_ACTIONS,) and mask.dtype == np.bool_
    assert set(np.flatnonzero(mask).tolist()) == set(labels)
    assert [usi_of(game, a) for a in labels] == legal
    ints = game.legal_move_ints()
    reference = [make_move_label(m, game.board.turn) for m in ints]
    assert move_labels(np.array(ints), game.board.turn).tolist() == reference


@settings(max_examples=40, deadline=None)
@given(games)
def test_encoding_is_colour_symmetric(game: Game) -> None:
    mirror = Game(flip_sfen(game.sfen()))
    assert mirror.turn != game.turn
    assert np.array_equal(encode(game), encode(mirror))
    assert sorted(legal_mask(Game(game.sfen())).nonzero()[0]) == sorted(legal_mask(mirror).nonzero()[0])


def test_encode_matches_cshogi_reference_and_fills_out() -> None:
    game = play_random(7, 40)
    f1 = np.zeros((62, 9, 9), np.float32)
    f2 = np.zeros((57, 9, 9), np.float32)
    make_input_features(game.board, f1, f2)
    out = np.full(OBS_SHAPE, 5.0, np.float32)
    assert encode(game, out) is out
    assert np.array_equal(out, np.concatenate([f1, f2]))
    assert out.dtype == np.float32 and set(np.unique(out)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="C-contiguous float32"):
        encode(game, np.zeros((119, 9, 9), np.float64))
    with pytest.raises(ValueError, match="unknown feature set"):
        encode(game, feature_set="nope")
    assert "dlshogi" in FEATURE_SETS and FEATURE_SETS["dlshogi"].shape == OBS_SHAPE


def test_encoding_differs_by_position_and_side() -> None:
    start = encode(Game())
    after = Game()
    after.push_usi("7g7f")
    assert not np.array_equal(start, encode(after))


def test_label_errors_name_move_and_position() -> None:
    game = Game()
    with pytest.raises(IllegalMoveError, match="7g7e.*sfen lnsgkgsnl"):
        action_of(game, "7g7e")
    illegal = int(np.flatnonzero(~legal_mask(game))[0])
    with pytest.raises(IllegalMoveError, match=f"action {illegal}"):
        usi_of(game, illegal)
    with pytest.raises(IllegalMoveError, match="not an integer"):
        usi_of(game, 1.0)  # type: ignore[arg-type]


def test_drop_and_promotion_labels_are_distinct() -> None:
    game = Game("4k4/9/2P6/9/9/9/9/9/4K4 b P 1")
    labels = {m: action_of(game, m) for m in ("7c7b", "7c7b+", "P*6b")}
    assert len(set(labels.values())) == 3
    white = Game(flip_sfen(game.sfen()))  # the same position from white's side
    assert action_of(white, "3g3h") == labels["7c7b"]
    assert action_of(white, "3g3h+") == labels["7c7b+"]
    assert action_of(white, "P*4h") == labels["P*6b"]
    assert cshogi.move_to_usi(white.label_map()[labels["P*6b"]]) == "P*4h"


def test_encoder_refuses_changed_dlshogi_plane_counts() -> None:
    import cshogi.dlshogi

    cshogi.dlshogi.use_nyugyoku_features(True)
    try:
        with pytest.raises(RuntimeError, match="use_nyugyoku_features"):
            encode(Game())
    finally:
        cshogi.dlshogi.use_nyugyoku_features(False)
    assert encode(Game()).shape == OBS_SHAPE


def test_another_feature_set_plugs_into_encode_and_vecenv(monkeypatch: pytest.MonkeyPatch) -> None:
    planes = 2 * 14 + 2 * 38  # cshogi's piece planes: pieces per colour, then hand counts

    def write(board: cshogi.Board, out: np.ndarray) -> None:
        out.fill(0.0)  # piece_planes only sets ones; a writer must overwrite the whole buffer
        board.piece_planes_rotate(out)

    pieces = FeatureSet((planes, 9, 9), lambda out: (out,), write, lambda: None)
    monkeypatch.setitem(FEATURE_SETS, "pieces", pieces)
    game = Game()
    assert encode(game, feature_set="pieces").shape == (planes, 9, 9)
    env = VecEnv(2, feature_set="pieces")
    obs, _ = env.reset()
    assert obs.shape == (2, planes, 9, 9) and np.array_equal(obs[0], encode(game, feature_set="pieces"))
    with pytest.raises(ValueError, match="unknown feature set 'nope'"):
        VecEnv(2, feature_set="nope")
