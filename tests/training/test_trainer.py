"""The Trainer end to end in process: checkpoints, interval crossing, callbacks, resume and its errors."""

import logging

import pytest
import torch
from training_helpers import tiny_config

from keisei.checkpoint import CheckpointError, load_checkpoint, load_model_from_checkpoint, save_checkpoint
from keisei.config import ConfigError, load_config
from keisei.run.callbacks import Callback
from keisei.shogi import load_record
from keisei.training.trainer import Trainer

ROLLOUT = 32  # num_envs 4 * num_steps 8


class Boom(Callback):
    def on_update_end(self, ctx):
        raise RuntimeError("evaluation exploded (test)")


def test_checkpoint_round_trip_and_run_directory(tmp_path):
    cfg = tiny_config(f"training.total_timesteps={2 * ROLLOUT}")
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    summary = trainer.run()
    run = tmp_path / "run"
    assert (summary.timesteps, summary.updates) == (2 * ROLLOUT, 2)
    assert load_config(run / "config.toml") == cfg
    assert (run / "checkpoints" / "latest").read_text().strip() == f"ckpt_{2 * ROLLOUT}.pt"
    assert list(run.glob("events.out.tfevents.*")), "no TensorBoard event file"
    payload = load_checkpoint(summary.last_checkpoint)
    assert payload["counters"] == {"timesteps": 64, "updates": 2, "games": summary.games}
    assert payload["model_version"] == 2
    assert payload["config"] == cfg.to_dict()
    for key in ("optimizer_state", "scheduler_state", "scaler_state", "rng", "env_state"):
        assert key in payload, key
    model, _ = load_model_from_checkpoint(summary.last_checkpoint)
    live = trainer.models.model.state_dict()
    assert all(torch.equal(v, live[k]) for k, v in model.state_dict().items())


def test_checkpoints_fire_when_the_counter_crosses_the_interval(tmp_path):
    cfg = tiny_config("ppo.num_steps=96", "training.checkpoint_interval_timesteps=1000",
                      "training.total_timesteps=3072", "training.keep_checkpoints=10")
    summary = Trainer(cfg, run_dir=tmp_path).run()
    assert summary.updates == 8
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.pt")) == [
        "ckpt_1152.pt", "ckpt_2304.pt", "ckpt_3072.pt"]


def test_failing_callback_is_logged_and_counted_while_training_continues(tmp_path, caplog):
    trainer = Trainer(tiny_config(f"training.total_timesteps={3 * ROLLOUT}"), run_dir=tmp_path)
    trainer.callbacks.add(Boom())
    with caplog.at_level(logging.ERROR, logger="keisei"):
        summary = trainer.run()
    assert summary.updates == 3
    assert trainer.metrics.counters["callbacks/errors"] == 3
    errors = [r for r in caplog.records if "Boom.on_update_end failed" in r.getMessage()]
    assert len(errors) == 3 and "evaluation exploded" in str(errors[0].exc_info[1])
    assert "Traceback" in (tmp_path / "train.log").read_text()


def test_selfplay_games_are_saved_as_records(tmp_path):
    cfg = tiny_config("env.max_plies=6", f"training.total_timesteps={ROLLOUT}",
                      "logging.save_selfplay_games_every=2", "logging.game_format=csa")
    summary = Trainer(cfg, run_dir=tmp_path).run()
    files = sorted((tmp_path / "games").glob("*.csa"))
    assert summary.games >= 4 and len(files) == summary.games // 2
    game = load_record(files[0])
    assert len(game.moves) == 6 and game.result is not None and game.result.reason == "max_plies"


class StopAfter(Callback):
    def __init__(self, trainer, updates):
        self.trainer, self.updates = trainer, updates

    def on_update_end(self, ctx):
        if ctx.updates >= self.updates:
            self.trainer.request_stop("test stop")


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.models.model.state_dict().items()}


def test_resume_is_bit_identical_to_uninterrupted_training(tmp_path):
    overrides = ("training.deterministic=true", f"training.total_timesteps={4 * ROLLOUT}",
                 "ppo.lr_schedule=linear", "ppo.update_epochs=2", "env.max_plies=12")
    straight = Trainer(tiny_config(*overrides), run_dir=tmp_path / "straight")
    straight.run()

    first = Trainer(tiny_config(*overrides), run_dir=tmp_path / "split")
    first.callbacks.add(StopAfter(first, 2))
    s1 = first.run()
    assert (s1.updates, s1.stop_reason) == (2, "test stop")
    second = Trainer(tiny_config(*overrides), run_dir=tmp_path / "split", resume="latest")
    assert second.counters.timesteps == 2 * ROLLOUT
    s2 = second.run()

    assert (s2.timesteps, s2.updates, s2.games) == (straight.counters.timesteps, 4, straight.counters.games)
    a, b = _weights(straight), _weights(second)
    assert all(torch.equal(a[k], b[k]) for k in a)
    pa, pb = load_checkpoint(straight.checkpoints.latest()), load_checkpoint(second.checkpoints.latest())
    assert pa["counters"] == pb["counters"] and pa["env_state"] == pb["env_state"]
    assert torch.equal(pa["rng"]["torch"], pb["rng"]["torch"])


def _saved_run(tmp_path):
    Trainer(tiny_config(f"training.total_timesteps={ROLLOUT}"), run_dir=tmp_path).run()
    return tmp_path / "checkpoints" / f"ckpt_{ROLLOUT}.pt"


def test_resume_from_truncated_checkpoint_names_the_file(tmp_path):
    path = _saved_run(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=f"{path.name}.*(corrupt|truncated)"):
        Trainer(tiny_config(f"training.total_timesteps={2 * ROLLOUT}"), run_dir=tmp_path, resume="latest")


def test_resume_with_different_model_config_names_the_fields(tmp_path):
    _saved_run(tmp_path)
    cfg = tiny_config("model.channels=24", "model.se=false")
    with pytest.raises(ConfigError, match=r"model\.channels \(checkpoint 16, config 24\).*model\.se"):
        Trainer(cfg, run_dir=tmp_path, resume="latest")


def test_resume_with_mismatched_weights_is_a_checkpoint_error(tmp_path):
    path = _saved_run(tmp_path)
    payload = load_checkpoint(path)
    key = next(iter(payload["model_state"]))
    payload["model_state"][key] = torch.zeros(3)
    save_checkpoint(path, payload)
    with pytest.raises(CheckpointError, match=f"{path.name}.*model_state"):
        Trainer(tiny_config(f"training.total_timesteps={2 * ROLLOUT}"), run_dir=tmp_path, resume="latest")


def test_resume_without_any_checkpoint_is_an_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Trainer(tiny_config(), run_dir=tmp_path, resume="latest")
    assert not (tmp_path / "config.toml").exists()  # nothing was started


def test_periodic_evaluation_callback_is_registered_when_enabled(tmp_path):
    from keisei.evaluation.callback import EvaluationCallback, periodic_evaluation
    from keisei.training.checkpoint_callback import CheckpointCallback
    from keisei.training.live import LiveStateCallback

    cfg_on = tiny_config("evaluation.enable_periodic_evaluation=true")
    on = Trainer(cfg_on, run_dir=tmp_path / "on", callbacks=periodic_evaluation(cfg_on))
    off = Trainer(tiny_config(), run_dir=tmp_path / "off", callbacks=periodic_evaluation(tiny_config()))
    try:
        assert any(isinstance(cb, EvaluationCallback) for cb in on.callbacks.callbacks)
        assert not any(isinstance(cb, EvaluationCallback) for cb in off.callbacks.callbacks)
        assert [type(cb) for cb in off.callbacks.callbacks] == [CheckpointCallback, LiveStateCallback]
    finally:
        on.close()
        off.close()
