"""Action/observation sizes shared by the models.

Defined locally because keisei.shogi (which owns these numbers) did not exist when this package was written;
keep them equal to keisei.shogi.NUM_ACTIONS / OBS_SHAPE (a test checks this once keisei.shogi exists).
"""

NUM_ACTIONS = 2187  # dlshogi move labels: 27 direction planes x 81 destination squares
OBS_SHAPE = (119, 9, 9)
POLICY_PLANES = 27  # 10 directions, 10 promoting directions, 7 drop piece types
NUM_SQUARES = 81
