"""Material values of shogi pieces (pawn = 1), indexed by cshogi piece type (``piece & 15``).

Used by the greedy baseline (which capture is biggest) and by optional reward shaping (``VecEnv.captured``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PIECE_VALUES", "PIECE_VALUE_TABLE"]

# 0 none, 1 P, 2 L, 3 N, 4 S, 5 B, 6 R, 7 G, 8 K, 9 +P, 10 +L, 11 +N, 12 +S, 13 +B, 14 +R, 15 unused.
PIECE_VALUES = (0, 1, 3, 4, 5, 8, 10, 6, 0, 7, 6, 6, 6, 10, 12, 0)
PIECE_VALUE_TABLE = np.array(PIECE_VALUES, dtype=np.float32)
