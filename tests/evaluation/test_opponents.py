"""Opponent specs: one syntax for the CLI and Python; bad specs are ValueErrors naming the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from engines import fake_engine, require_engine
from eval_helpers import tiny_config

from keisei.evaluation.opponents import agent_player_name, agent_version, parse_opponent, parse_opponents


def test_simple_specs():
    for spec in ("random", "greedy", "current"):
        parsed = parse_opponent(spec)
        assert (parsed.kind, parsed.name, parsed.spec) == (spec, spec, spec)
    assert parse_opponent("current").is_network and not parse_opponent("random").is_network


def test_checkpoint_spec_names_the_file_stem():
    parsed = parse_opponent("checkpoint:runs/x/ckpt_000100.pt")
    assert parsed.kind == "checkpoint" and parsed.is_network
    assert parsed.path == Path("runs/x/ckpt_000100.pt") and parsed.name == "ckpt:ckpt_000100"


def test_usi_spec_is_parsed_by_engine_spec():
    path = require_engine("fairy-stockfish")
    parsed = parse_opponent(f"usi:{path}?Skill Level=-20&nodes=100")
    assert parsed.kind == "usi"
    assert parsed.engine.go == {"nodes": 100} and parsed.engine.options == {"Skill Level": "-20"}
    assert parsed.name == "fairy-stockfish[Skill Level=-20,nodes=100]"


def test_named_engines_from_config():
    path = require_engine("fairy-stockfish")
    config = tiny_config(engines={"fsf0": f"usi:{path}?nodes=10", "old": "checkpoint:a/b.pt"})
    fsf = parse_opponent("fsf0", config)
    assert (fsf.kind, fsf.name, fsf.engine.go) == ("usi", "fsf0", {"nodes": 10})
    old = parse_opponent("old", config)
    assert (old.kind, old.name, old.path) == ("checkpoint", "old", Path("a/b.pt"))


@pytest.mark.parametrize(
    "spec, message",
    [
        ("randomm", "unknown opponent spec 'randomm'"),
        ("", "non-empty"),
        ("checkpoint:", "checkpoint needs a path"),
        ("usi:/no/such/engine", "'usi:/no/such/engine'"),
    ],
)
def test_bad_specs_are_value_errors_naming_the_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_opponent(spec)


def test_bad_go_limit_is_named_without_a_real_engine(tmp_path):
    """A bad limit is reported as such on any machine (the fake engine is always there)."""
    spec = fake_engine(tmp_path) + "?nodes=abc"
    with pytest.raises(ValueError, match="nodes must be a positive integer"):
        parse_opponent(spec)


def test_missing_engine_directories_are_named(monkeypatch):
    """With the engine directories emptied (as on a machine without engines) the message says so."""
    monkeypatch.setenv("KEISEI_ENGINE_DIRS", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ValueError, match=r"'fairy-stockfish' not found.*KEISEI_ENGINE_DIRS is empty"):
        parse_opponent("usi:fairy-stockfish?nodes=10")


def test_duplicate_opponents_are_refused():
    with pytest.raises(ValueError, match="more than once: random"):
        parse_opponents(["random", "greedy", "random"])


def test_an_engine_name_must_map_to_a_spec():
    config = tiny_config(engines={"a": "b", "b": "random"})
    with pytest.raises(ValueError, match="evaluation.engines.a"):
        parse_opponent("a", config)


def test_agent_names_round_trip_through_one_builder_and_parser():
    assert agent_player_name(7) == "agent@v7" and agent_player_name(None) == "agent"
    assert agent_version(agent_player_name(7)) == 7
    for other in ("agent", "agent@v", "agent@vx", "ckpt:agent@v3", "random", "usi:x@v2"):
        assert agent_version(other) is None, other
