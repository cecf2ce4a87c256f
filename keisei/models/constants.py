"""Action/observation sizes the models are built for (owned by keisei.shogi, re-exported here)."""

from keisei.shogi import NUM_ACTIONS, OBS_SHAPE

POLICY_PLANES = 27  # dlshogi move labels: 10 directions, 10 promoting directions, 7 drop piece types
NUM_SQUARES = 81
assert POLICY_PLANES * NUM_SQUARES == NUM_ACTIONS

__all__ = ["NUM_ACTIONS", "NUM_SQUARES", "OBS_SHAPE", "POLICY_PLANES"]
