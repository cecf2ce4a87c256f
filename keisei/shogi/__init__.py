"""Keisei's game core: a validated shogi Game on cshogi, dlshogi encoding, VecEnv, records and baselines.

This package never imports torch.
"""

from keisei.shogi.encoding import (
    DEFAULT_FEATURE_SET,
    FEATURE_SETS,
    OBS_SHAPE,
    FeatureSet,
    action_of,
    encode,
    get_feature_set,
    legal_mask,
    usi_of,
)
from keisei.shogi.game import (
    COLORS,
    EXTERNAL_REASONS,
    REASONS,
    Game,
    GameOverError,
    GameResult,
    IllegalMoveError,
)
from keisei.shogi.labels import NUM_ACTIONS, move_labels
from keisei.shogi.players import GreedyPlayer, Player, RandomPlayer
from keisei.shogi.records import load_record, record_text, save_record
from keisei.shogi.sfen import STARTPOS_SFEN, flip_sfen, parse_position, validate_sfen
from keisei.shogi.vecenv import StepResult, VecEnv, parse_opening, random_legal_actions

__all__ = [
    "COLORS",
    "DEFAULT_FEATURE_SET",
    "EXTERNAL_REASONS",
    "FEATURE_SETS",
    "NUM_ACTIONS",
    "OBS_SHAPE",
    "REASONS",
    "STARTPOS_SFEN",
    "FeatureSet",
    "Game",
    "GameOverError",
    "GameResult",
    "GreedyPlayer",
    "IllegalMoveError",
    "Player",
    "RandomPlayer",
    "StepResult",
    "VecEnv",
    "action_of",
    "encode",
    "flip_sfen",
    "get_feature_set",
    "legal_mask",
    "load_record",
    "move_labels",
    "parse_opening",
    "parse_position",
    "random_legal_actions",
    "record_text",
    "save_record",
    "usi_of",
    "validate_sfen",
]
