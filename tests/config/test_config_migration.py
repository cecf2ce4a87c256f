"""PPO's knobs moved from [training] to [ppo]: old files, --set overrides and checkpoints still load."""

import logging

import pytest

from keisei.config import MOVED_TO_PPO, ConfigError, PPOConfig, TrainingConfig, config_from_dict, load_config


def test_the_split_is_a_partition_with_algorithm_a_run_setting():
    assert set(MOVED_TO_PPO) == set(PPOConfig.model_fields)
    assert not set(MOVED_TO_PPO) & set(TrainingConfig.model_fields)
    assert load_config().training.algorithm == "ppo"
    with pytest.raises(ConfigError, match="training.algorithm"):
        load_config(overrides=["training.algorithm=dqn"])


def test_an_old_config_file_loads_with_one_deprecation_line(tmp_path, caplog):
    old = tmp_path / "old.toml"
    old.write_text("[training]\nseed = 3\nlearning_rate = 0.002\nnum_steps = 24\n")
    with caplog.at_level(logging.WARNING, logger="keisei"):
        cfg = load_config(old, preset="tiny")
    assert (cfg.ppo.learning_rate, cfg.ppo.num_steps, cfg.training.seed) == (0.002, 24, 3)
    notes = [r.getMessage() for r in caplog.records if "moved to [ppo]" in r.getMessage()]
    assert len(notes) == 1 and "training.num_steps, training.learning_rate moved" in notes[0]
    assert "read as ppo.num_steps, ppo.learning_rate" in notes[0] and str(old) in notes[0]


def test_old_override_names_are_read_as_the_new_ones(caplog):
    with caplog.at_level(logging.WARNING, logger="keisei"):
        cfg = load_config(preset="tiny", overrides=["training.gamma=0.9", "training.ent_coef=0.02"])
    assert (cfg.ppo.gamma, cfg.ppo.ent_coef) == (0.9, 0.02)
    assert sum("moved to [ppo]" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(ConfigError, match=r"ppo\.gamma: Input should be less than or equal to 1"):
        load_config(overrides=["training.gamma=2"])  # the error names the field as it now is


def test_a_key_set_under_both_names_in_one_file_is_refused_naming_both(tmp_path):
    both = tmp_path / "both.toml"
    both.write_text("[training]\ngamma = 0.9\n[ppo]\ngamma = 0.8\n")
    with pytest.raises(ConfigError, match=r"training\.gamma and ppo\.gamma are both set.*keep ppo\.gamma"):
        load_config(both)


def test_a_checkpoint_config_in_the_old_layout_loads_silently(caplog):
    saved = load_config(preset="tiny").to_dict()
    ppo = saved.pop("ppo")
    saved["training"].update(ppo)  # what a checkpoint written before the split holds
    del saved["training"]["algorithm"]
    with caplog.at_level(logging.WARNING, logger="keisei"):
        cfg = config_from_dict(saved)
    assert cfg == load_config(preset="tiny")
    assert not caplog.records
