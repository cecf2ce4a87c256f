"""Config schema: presets, overrides, and errors that name the dotted field."""

import pytest

from keisei.config import PRESETS, ConfigError, KeiseiConfig, load_config, save_config


def test_defaults_declare_keys_users_rely_on():
    cfg = load_config()
    assert cfg.evaluation.enable_periodic_evaluation is True
    for dotted in [
        "training.total_timesteps", "training.checkpoint_interval_timesteps", "ppo.learning_rate",
        "training.seed", "env.num_envs", "env.max_plies", "evaluation.enable_periodic_evaluation",
        "evaluation.interval_timesteps", "evaluation.num_games",
    ]:
        section, key = dotted.split(".")
        assert key in type(getattr(cfg, section)).model_fields, dotted


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load(preset):
    cfg = load_config(preset=preset)
    assert isinstance(cfg, KeiseiConfig)


def test_override_order_and_types(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[training]\nlearning_rate = 0.002\nseed = 7\n")
    cfg = load_config(f, preset="tiny", overrides=["training.seed=9", 'evaluation.opponents=["greedy"]',
                                                   "training.device=cpu"])
    assert cfg.ppo.learning_rate == 0.002  # file beats preset
    assert cfg.training.seed == 9  # override beats file
    assert cfg.evaluation.opponents == ["greedy"]
    assert cfg.training.device == "cpu"
    assert cfg.env.num_envs == load_config(preset="tiny").env.num_envs


@pytest.mark.parametrize(
    "override, field",
    [
        ("training.learnin_rate=0.1", "training.learnin_rate"),
        ("evaluation.enable_periodic_evalution=false", "evaluation.enable_periodic_evalution"),
        ("ppo.learning_rate=-1", "ppo.learning_rate"),
        ("ppo.learning_rate=nan", "ppo.learning_rate"),
        ("ppo.clip_coef=0", "ppo.clip_coef"),
        ("ppo.gae_lambda=1.5", "ppo.gae_lambda"),
        ("ppo.gamma=-0.1", "ppo.gamma"),
        ("env.num_envs=0", "env.num_envs"),
        ("ppo.lr_schedule=exp", "ppo.lr_schedule"),
    ],
)
def test_bad_values_name_the_field(override, field):
    with pytest.raises(ConfigError) as exc:
        load_config(overrides=[override])
    assert field in str(exc.value)


def test_unknown_section_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="traning"):
        load_config(overrides=["traning.seed=1"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[training\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(bad)
    with pytest.raises(ConfigError, match="preset"):
        load_config(preset="huge")
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(overrides=["training.seed"])


def test_effective_config_round_trips(tmp_path):
    cfg = load_config(preset="tiny", overrides=["training.seed=3"])
    path = save_config(cfg, tmp_path / "config.toml")
    assert load_config(path) == cfg


def test_a_typo_in_a_key_gets_the_closest_key_and_where_every_key_is_listed():
    with pytest.raises(ConfigError) as info:
        load_config(preset="tiny", overrides=["training.total_timestep=1"])
    text = str(info.value)
    assert "training.total_timestep: unknown key (did you mean training.total_timesteps?)" in text
    assert "`keisei config --reference` lists every key" in text
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["nothing.like_this=1"])
    assert "did you mean" not in str(info.value)  # no wild guesses
