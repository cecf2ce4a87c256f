"""EngineSpec: parsing, names, round trip, known-engine rules and clear errors."""

from pathlib import Path

import pytest
from engines import fake_engine, require_engine

from keisei.usi import EngineSpec


def test_parse_full_spec_with_spaces_in_names(tmp_path: Path) -> None:
    spec_text = fake_engine(tmp_path, name="eng").split("?")[0] + "?Skill Level=0&nodes=1000&Hash=%3116"
    spec = EngineSpec.parse(spec_text)
    assert spec.path == str(tmp_path / "eng")
    assert spec.command == [str(tmp_path / "eng")]
    assert spec.options == {"Skill Level": "0", "Hash": "116"}
    assert spec.go == {"nodes": 1000}
    assert spec.name == "eng[Hash=116,Skill Level=0,nodes=1000]"


def test_plus_and_percent_decode_to_spaces(tmp_path: Path) -> None:
    base = fake_engine(tmp_path)
    assert EngineSpec.parse(base + "?Skill+Level=3").options == {"Skill Level": "3"}
    assert EngineSpec.parse(base + "?Skill%20Level=3").options == {"Skill Level": "3"}


def test_all_go_limits(tmp_path: Path) -> None:
    spec = EngineSpec.parse(fake_engine(tmp_path) + "?nodes=5&depth=3&byoyomi=100&movetime=200")
    assert spec.go == {"nodes": 5, "depth": 3, "byoyomi": 100, "movetime": 200}
    assert spec.options == {}


def test_round_trip_with_awkward_values(tmp_path: Path) -> None:
    spec = EngineSpec(path=str(tmp_path / "x"), options={"Eval Dir": "a&b=c d", "Empty": ""}, go={"depth": 4})
    (tmp_path / "x").write_text("#!/bin/sh\n")
    (tmp_path / "x").chmod(0o755)
    text = spec.to_spec()
    again = EngineSpec.parse(text)
    assert again == spec
    assert again.to_spec() == text
    assert hash(again) == hash(spec)


def test_name_is_independent_of_option_order(tmp_path: Path) -> None:
    base = fake_engine(tmp_path, name="e")
    a = EngineSpec.parse(base + "?B=1&A=2&nodes=7")
    b = EngineSpec.parse(base + "?nodes=7&A=2&B=1")
    assert a.name == b.name == "e[A=2,B=1,nodes=7]"
    assert EngineSpec.parse(base).name == "e"


def test_bare_name_resolves_via_usr_games() -> None:
    path = require_engine("fairy-stockfish")
    spec = EngineSpec.parse("usi:fairy-stockfish?Skill Level=0&nodes=1000")
    assert spec.path == path
    assert spec.name == "fairy-stockfish[Skill Level=0,nodes=1000]"


def test_known_engine_default_options() -> None:
    require_engine("fairy-stockfish")
    assert EngineSpec.parse("usi:fairy-stockfish").effective_options() == {"UCI_Variant": "shogi"}
    own = EngineSpec.parse("usi:fairy-stockfish?UCI_Variant=minishogi&Threads=1")
    assert own.effective_options() == {"UCI_Variant": "minishogi", "Threads": "1"}


def test_gpsusi_rejects_search_limits_it_would_abort_on(tmp_path: Path) -> None:
    base = fake_engine(tmp_path, name="gpsusi")  # the rule goes by the executable's file name
    assert EngineSpec.parse(base + "?byoyomi=100").go == {"byoyomi": 100}
    with pytest.raises(ValueError, match=r"gpsusi does not support go limit\(s\) depth, nodes"):
        EngineSpec.parse(base + "?nodes=10&depth=2")


@pytest.mark.parametrize(
    ("suffix", "match"),
    [
        ("?nodes=ten", r"nodes must be a positive integer, got 'ten'"),
        ("?depth=0", r"depth must be a positive integer, got '0'"),
        ("?byoyomi=", r"byoyomi must be a positive integer"),
        ("?A=1&A=2", r"option 'A' given twice"),
        ("?=3", r"empty name"),
        ("?A=1%0Aquit", r"line break"),
        ("?novalue", r"bad option list"),
    ],
)
def test_bad_specs_name_the_spec_and_field(tmp_path: Path, suffix: str, match: str) -> None:
    text = fake_engine(tmp_path) + suffix
    with pytest.raises(ValueError, match=match) as info:
        EngineSpec.parse(text)
    assert repr(text) in str(info.value)


def test_missing_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEISEI_ENGINE_DIRS", raising=False)
    with pytest.raises(ValueError, match=r"executable 'no-such-engine-xyz' not found.*/usr/games"):
        EngineSpec.parse("usi:no-such-engine-xyz?nodes=1")
    with pytest.raises(ValueError, match=r"not found"):
        EngineSpec.parse(f"usi:{tmp_path / 'missing'}")


def test_engine_dirs_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KEISEI_ENGINE_DIRS replaces /usr/games (an empty value leaves PATH only)."""
    engine = tmp_path / "my-engine"
    engine.write_text("#!/bin/sh\n")
    engine.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("KEISEI_ENGINE_DIRS", str(tmp_path))
    assert EngineSpec.parse("usi:my-engine").path == str(engine)
    monkeypatch.setenv("KEISEI_ENGINE_DIRS", "")
    with pytest.raises(ValueError, match=r"'my-engine' not found.*KEISEI_ENGINE_DIRS is empty"):
        EngineSpec.parse("usi:my-engine")
    (tmp_path / "plain").write_text("not executable")
    with pytest.raises(ValueError, match=r"not executable"):
        EngineSpec.parse(f"usi:{tmp_path / 'plain'}")


@pytest.mark.parametrize("text", ["fairy-stockfish", "usi:", "usi:?nodes=1", "uci:/bin/true"])
def test_not_a_usi_spec(text: str) -> None:
    with pytest.raises(ValueError, match="engine spec"):
        EngineSpec.parse(text)
