"""USI engines: spec parsing, an asyncio client, and the evaluator-facing player."""

from keisei.usi.client import (
    EngineCrashed,
    EngineError,
    EngineProtocolError,
    EngineTimeout,
    UsiEngine,
)
from keisei.usi.player import EngineFault, EngineResigned, UsiPlayer
from keisei.usi.spec import KNOWN_ENGINES, EngineSpec

__all__ = [
    "KNOWN_ENGINES",
    "EngineCrashed",
    "EngineError",
    "EngineFault",
    "EngineProtocolError",
    "EngineResigned",
    "EngineSpec",
    "EngineTimeout",
    "UsiEngine",
    "UsiPlayer",
]
