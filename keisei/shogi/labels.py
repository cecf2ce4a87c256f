"""dlshogi move labels (27 directions x 81 squares = 2,187 actions), vectorised with a lookup table.

A cshogi move integer keeps its destination in bits 0-6, its source (or 80 + piece type for a drop) in bits
7-13 and the promotion flag in bit 14. dlshogi's label depends only on those 15 bits and the colour to move,
so one table of 2 x 32,768 entries, filled once from ``cshogi.dlshogi.make_move_label`` (the reference),
turns the moves of every board at once into labels with a single fancy index.
"""

from __future__ import annotations

import numpy as np
from cshogi.dlshogi import make_move_label

__all__ = ["LABEL_LUT", "NUM_ACTIONS", "move_labels"]

NUM_ACTIONS = 2187
_KEY_BITS = 15
_KEY_MASK = (1 << _KEY_BITS) - 1


def _build_lut() -> np.ndarray:
    lut = np.full(2 << _KEY_BITS, -1, dtype=np.int16)
    for color in (0, 1):
        for frm in range(81 + 7):  # 81 board squares, then the 7 droppable piece types
            for promo in (0, 1) if frm < 81 else (0,):
                for to in range(81):
                    key = to | (frm << 7) | (promo << 14)
                    lut[(color << _KEY_BITS) | key] = make_move_label(key, color)
    return lut


LABEL_LUT: np.ndarray = _build_lut()
LABEL_LUT.flags.writeable = False


def move_labels(moves: np.ndarray, colors: np.ndarray | int) -> np.ndarray:
    """Labels (int16) of cshogi move integers ``moves`` played by ``colors`` (0 black, 1 white; broadcast)."""
    keys = (np.asarray(moves, dtype=np.int64) & _KEY_MASK) | (np.asarray(colors, dtype=np.int64) << _KEY_BITS)
    return LABEL_LUT[keys]
