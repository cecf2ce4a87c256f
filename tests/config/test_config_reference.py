"""docs/configuration.md is generated from the schema: the committed page must match it, field for field."""

from pathlib import Path

from keisei.cli import main
from keisei.config import KeiseiConfig, load_config
from keisei.config_reference import reference_markdown, undocumented

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_committed_reference_matches_the_schema():
    assert PAGE.read_text() == reference_markdown(), (
        "docs/configuration.md is stale: run `keisei config --reference > docs/configuration.md`")


def test_every_field_is_in_the_reference_with_a_meaning():
    assert undocumented() == []
    text = PAGE.read_text()
    for section, info in KeiseiConfig.model_fields.items():
        assert f"## [{section}]" in text
        for field in info.annotation.model_fields:
            assert f"| `{section}.{field}` |" in text, f"{section}.{field}"


def test_keisei_config_prints_a_toml_that_loads_back_to_the_same_config(tmp_path, capsys):
    assert main(["config", "--preset", "tiny", "--set", "ppo.gamma=0.9", "--set", "training.seed=4"]) == 0
    out = tmp_path / "effective.toml"
    out.write_text(capsys.readouterr().out)
    assert load_config(out) == load_config(preset="tiny", overrides=["ppo.gamma=0.9", "training.seed=4"])
