"""`keisei train --init-from`: RL starts from supervised weights, fresh optimizer/counters, parent recorded."""

from __future__ import annotations

import pytest
import torch
from sl_helpers import random_game, write_csa

from keisei.checkpoint import checkpoint_content_hash, load_checkpoint
from keisei.cli import main
from keisei.config import load_config
from keisei.models import unwrap_model
from keisei.sl.dataset import build_dataset
from keisei.sl.train import SLTrainer
from keisei.training.model_manager import load_init_checkpoint
from keisei.training.trainer import Trainer

ARCH = ["model.blocks=1", "model.channels=16", "model.value_hidden=16"]
RL = [*ARCH, "env.num_envs=4", "env.max_plies=40", "ppo.num_steps=8", "ppo.update_epochs=1",
      "ppo.num_minibatches=2", "training.torch_threads=1", "training.device=cpu",
      "evaluation.enable_periodic_evaluation=false", "display.mode=plain", "display.log_every_seconds=1000",
      "training.total_timesteps=32"]


def _sets(items):
    return [a for item in items for a in ("--set", item)]


@pytest.fixture(scope="module")
def sl_checkpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sl")
    write_csa(tmp / "a.csa", [random_game(s, 30) for s in range(4)])
    config = load_config(overrides=[*ARCH, "training.torch_threads=1", "logging.tensorboard=false",
                                    "sl.min_plies=0", "sl.val_fraction=0.0", "sl.max_steps=3", "sl.batch_size=16"])
    build_dataset([tmp / "a.csa"], tmp / "run" / "data", config.sl)
    return SLTrainer(config, tmp / "run" / "data", tmp / "run", device="cpu").run().checkpoint


def test_init_from_loads_the_weights_with_fresh_optimizer(tmp_path, sl_checkpoint):
    config = load_config(preset="tiny", overrides=RL)
    payload = load_init_checkpoint(sl_checkpoint, config)
    trainer = Trainer(config, run_dir=tmp_path / "rl")
    try:
        before = {k: v.clone() for k, v in unwrap_model(trainer.models.model).state_dict().items()}
        trainer.models.init_from(payload)
        state = unwrap_model(trainer.models.model).state_dict()
        assert all(torch.equal(state[k], payload["model_state"][k]) for k in state)
        assert not all(torch.equal(state[k], before[k]) for k in state)
        assert trainer.counters.timesteps == 0 and trainer.counters.updates == 0
    finally:
        trainer.close()


def test_cli_init_from_records_the_parent_and_resume_keeps_it(tmp_path, sl_checkpoint, capsys):
    run = tmp_path / "rl"
    args = ["train", "--preset", "tiny", *_sets(RL), "--run-dir", str(run), "--init-from", str(sl_checkpoint)]
    assert main(args) == 0
    assert "initial weights:" in capsys.readouterr().out
    payload = load_checkpoint(run / "checkpoints" / "ckpt_32.pt")
    parent = payload["parent"]
    assert parent["sha256"] == checkpoint_content_hash(sl_checkpoint)
    assert parent["source"]["kind"] == "supervised" and payload["counters"]["timesteps"] == 32
    resume = ["train", "--resume", "latest", "--run-dir", str(run), "--set", "training.total_timesteps=64"]
    assert main(resume) == 0
    assert load_checkpoint(run / "checkpoints" / "ckpt_64.pt")["parent"] == parent


def test_init_from_architecture_mismatch_is_one_line_exit_2(tmp_path, sl_checkpoint, capsys):
    run = tmp_path / "rl"
    items = [i for i in RL if not i.startswith("model.channels")] + ["model.channels=8"]
    rc = main(["train", "--preset", "tiny", *_sets(items), "--run-dir", str(run), "--init-from", str(sl_checkpoint)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert str(sl_checkpoint) in err[0] and "model.channels (checkpoint 16, config 8)" in err[0]
    assert not run.exists()  # nothing written


def test_init_from_bad_file_and_with_resume(tmp_path, sl_checkpoint, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    rc = main(["train", "--preset", "tiny", *_sets(RL), "--run-dir", str(tmp_path / "a"), "--init-from", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "bad.pt" in err[0] and "corrupt" in err[0]
    rc = main(["train", "--resume", "latest", "--run-dir", str(tmp_path / "b"), "--init-from", str(sl_checkpoint)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "cannot be combined with --resume" in err[0]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
