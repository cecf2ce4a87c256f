"""Observation planes and the action space: dlshogi's 119 feature planes and 2,187 move labels.

Features come from cshogi's native ``make_input_features`` (62 + 57 planes, from the side to move's view),
written straight into a caller's float32 buffer. ``FEATURE_SETS`` maps a name to an encoder so another
feature set can be added later without touching callers.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import cshogi
import cshogi._cshogi as _native
import numpy as np
from cshogi.dlshogi import FEATURES1_NUM

from keisei.shogi.game import Game, IllegalMoveError
from keisei.shogi.labels import NUM_ACTIONS, move_labels

__all__ = [
    "DEFAULT_FEATURE_SET",
    "FEATURE_SETS",
    "NUM_ACTIONS",
    "OBS_SHAPE",
    "FeatureSet",
    "action_of",
    "check_dlshogi_planes",
    "encode",
    "get_feature_set",
    "legal_mask",
    "usi_of",
]

OBS_SHAPE = (119, 9, 9)
_SPLIT = FEATURES1_NUM  # 62 board/attack planes, then 57 hand/check planes


def check_dlshogi_planes() -> None:
    """Refuse to encode if cshogi's dlshogi plane counts changed (e.g. ``use_nyugyoku_features(True)``).

    The native encoder writes raw memory sized by those counts, so a mismatch would corrupt the buffer.
    """
    total = _native._dlshogi_FEATURES1_NUM + _native._dlshogi_FEATURES2_NUM
    if total != OBS_SHAPE[0]:
        raise RuntimeError(
            f"cshogi dlshogi features now have {total} planes, expected {OBS_SHAPE[0]}; "
            "call cshogi.dlshogi.use_nyugyoku_features(False)"
        )


def _dlshogi_views(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return out[:_SPLIT], out[_SPLIT:]


@dataclass(frozen=True)
class FeatureSet:
    """An observation encoder that fills a C-contiguous float32 buffer of ``shape`` in place.

    ``views(out)`` cuts one observation buffer into the arguments of ``write(board, *views)``: VecEnv cuts
    its buffers once and calls ``write`` every step; ``write`` must overwrite the whole buffer.
    ``check()`` raises if ``write`` cannot run safely.
    """

    shape: tuple[int, int, int]
    views: Callable[[np.ndarray], tuple[np.ndarray, ...]]
    write: Callable[..., None]
    check: Callable[[], None]

    def encode_into(self, board: cshogi.Board, out: np.ndarray) -> None:
        self.write(board, *self.views(out))


FEATURE_SETS: dict[str, FeatureSet] = {
    "dlshogi": FeatureSet(
        OBS_SHAPE, _dlshogi_views, cshogi.Board._dlshogi_make_input_features, check_dlshogi_planes
    ),
}
DEFAULT_FEATURE_SET = "dlshogi"


def get_feature_set(name: str) -> FeatureSet:
    """The registered feature set ``name``; ``ValueError`` naming the known ones otherwise."""
    fs = FEATURE_SETS.get(name)
    if fs is None:
        raise ValueError(f"unknown feature set {name!r}; known: {sorted(FEATURE_SETS)}")
    return fs


def encode(game: Game, out: np.ndarray | None = None, feature_set: str = DEFAULT_FEATURE_SET) -> np.ndarray:
    """The observation of ``game``'s current position (side to move's view), in ``out`` if given."""
    fs = get_feature_set(feature_set)
    fs.check()
    if out is None:
        out = np.empty(fs.shape, dtype=np.float32)
    elif out.shape != fs.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"encode out must be C-contiguous float32 {fs.shape}, got {out.dtype} {out.shape}")
    fs.encode_into(game.board, out)
    return out


def legal_mask(game: Game) -> np.ndarray:
    """Bool [2187]: True at the label of every legal move (all False once the game is over)."""
    mask = np.zeros(NUM_ACTIONS, dtype=np.bool_)
    moves = game.legal_move_ints()
    if moves:
        mask[move_labels(np.array(moves, dtype=np.int64), game.board.turn)] = True
    return mask


def action_of(game: Game, usi: str) -> int:
    """The label of legal move ``usi``; ``IllegalMoveError`` if it is not legal here."""
    for label, move in game.label_map().items():
        if cshogi.move_to_usi(move) == usi:
            return label
    raise IllegalMoveError(usi, game.sfen(), "not legal")


def usi_of(game: Game, action: int) -> str:
    """The legal USI move with label ``action``; ``IllegalMoveError`` if none."""
    try:
        label = operator.index(action)
    except TypeError:
        raise IllegalMoveError(f"action {action!r}", game.sfen(), "not an integer") from None
    move = game.label_map().get(label)
    if move is None:
        raise IllegalMoveError(f"action {action!r}", game.sfen(), "no legal move has this label")
    return cshogi.move_to_usi(move)
