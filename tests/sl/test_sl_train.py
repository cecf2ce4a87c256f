"""Supervised training: value targets, learning on real records, RL-format checkpoints, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sl_helpers import random_game, write_csa

from keisei.checkpoint import load_checkpoint, load_model_from_checkpoint
from keisei.cli import main
from keisei.config import load_config
from keisei.sl.dataset import FLAG_EVAL, SL_DTYPE, build_dataset
from keisei.sl.train import SLTrainer, value_targets

TINY = ["model.blocks=1", "model.channels=8", "model.value_hidden=8", "training.torch_threads=1",
        "logging.tensorboard=false"]


def test_value_targets_mix_result_and_eval():
    recs = np.zeros(3, SL_DTYPE)
    recs["result"] = [1, -1, 0]
    recs["eval"] = [0, 756, -756]
    recs["flags"] = [0, FLAG_EVAL, FLAG_EVAL]
    z = value_targets(recs, eval_mix=0.5, eval_scale=756.0)
    # no eval: the result; with eval: 0.5 * result + 0.5 * tanh(eval / 1512)
    assert z.tolist() == pytest.approx([1.0, 0.5 * -1 + 0.5 * np.tanh(0.5), 0.5 * np.tanh(-0.5)])
    assert value_targets(recs, eval_mix=0.0, eval_scale=756.0).tolist() == [1.0, -1.0, 0.0]


@pytest.fixture
def records(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    # a small repertoire repeated with different endings: learnable moves
    games = [random_game(s % 4, 24) for s in range(40)]
    write_csa(rec / "a.csa", games)
    return rec


def test_training_learns_and_saves_an_rl_format_checkpoint(tmp_path, records):
    config = load_config(overrides=TINY + ["sl.min_plies=0", "sl.dedup=false", "sl.val_fraction=0.0",
                                           "sl.batch_size=64", "sl.epochs=30", "sl.learning_rate=0.01"])
    build_dataset([records], tmp_path / "run" / "data", config.sl)
    trainer = SLTrainer(config, tmp_path / "run" / "data", tmp_path / "run", device="cpu")
    recs = trainer.train_set.take(np.arange(len(trainer.train_set)))
    first, _ = trainer.train_step(recs[:64])
    summary = trainer.run()
    last, _ = trainer.train_step(recs[:64])
    assert last < first * 0.5  # 4 distinct games of 24 plies: the policy memorises them
    payload = load_checkpoint(summary.checkpoint)
    assert payload["source"]["kind"] == "supervised"
    assert payload["source"]["records_digest"] == trainer.manifest["records_digest"]
    assert "optimizer_state" not in payload  # cannot be --resume'd, only --init-from
    model, _ = load_model_from_checkpoint(summary.checkpoint)
    assert sum(p.numel() for p in model.parameters()) == trainer.num_parameters


def test_validation_metrics(tmp_path, records):
    config = load_config(overrides=TINY + ["sl.min_plies=0", "sl.dedup=false", "sl.val_fraction=0.5",
                                           "sl.max_steps=3", "sl.batch_size=16"])
    build_dataset([records], tmp_path / "data", config.sl)
    trainer = SLTrainer(config, tmp_path / "data", tmp_path / "run", device="cpu")
    val = trainer.validate()
    assert set(val) == {"val_top1", "val_top5", "val_policy_loss", "val_value_loss"}
    assert 0.0 <= val["val_top1"] <= val["val_top5"] <= 1.0
    # an untrained policy is near uniform over 2,187 labels
    assert val["val_policy_loss"] == pytest.approx(np.log(2187), rel=0.05)


def test_cli_builds_trains_and_reports(tmp_path, records, capsys):
    run = tmp_path / "run"
    args = ["sl", "--records", str(records), "--run-dir", str(run), "--set", "sl.min_plies=0",
            "--set", "sl.max_steps=2", "--set", "sl.batch_size=8", "--set", "sl.val_fraction=0.5",
            "--set", "sl.val_interval_steps=1", "--device", "cpu"]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "read 40 games" in out and "done: 2 steps" in out and "step 1/2 (8 samples" in out
    assert "val_top1" in out
    assert (run / "checkpoints" / "latest").is_file() and (run / "sl_summary.json").is_file()


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["sl", "--records", str(empty), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no record files" in err[0] and str(empty) in err[0]
    (tmp_path / "x.pgn").write_text("1. e4")
    assert main(["sl", "--records", str(tmp_path / "x.pgn"), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.pgn: unknown record type '.pgn'" in err[0]
    assert not (tmp_path / "run").exists()


def test_wall_clock_limit_stops_and_checkpoints(tmp_path, records):
    config = load_config(overrides=TINY + ["sl.min_plies=0", "sl.dedup=false", "sl.val_fraction=0.0",
                                           "sl.batch_size=8", "sl.epochs=50", "sl.max_wall_seconds=0.5", "sl.loader_workers=1"])
    build_dataset([records], tmp_path / "data", config.sl)
    trainer = SLTrainer(config, tmp_path / "data", tmp_path / "run", device="cpu")
    summary = trainer.run()
    assert 1 <= summary.steps < trainer.total_steps
    assert load_checkpoint(summary.checkpoint)["counters"]["updates"] == summary.steps


def test_loader_workers_decode_the_same_batches(tmp_path, records):
    config = load_config(overrides=TINY + ["sl.min_plies=0", "sl.dedup=false", "sl.val_fraction=0.0",
                                           "sl.batch_size=16", "sl.loader_workers=2"])
    build_dataset([records], tmp_path / "data", config.sl)
    trainer = SLTrainer(config, tmp_path / "data", tmp_path / "run", device="cpu")
    batches = [np.arange(i * 16, i * 16 + 16) for i in range(5)]
    # _tensors reuses one decode buffer (consumed at once in training): clone to keep them all
    in_process = [tuple(t.clone() for t in trainer._tensors(trainer.train_set.take(idx))) for idx in batches]
    for got, want in zip(trainer._decoded(batches), in_process, strict=True):
        assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))


def test_records_with_nothing_usable_leave_no_run_directory(tmp_path, capsys):
    records = tmp_path / "records"
    records.mkdir()
    (records / "bad.csa").write_text("this is not CSA\n")
    run = tmp_path / "run"
    assert main(["sl", "--records", str(records), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no training positions" in err[0]
    assert not run.exists()  # nothing usable: no empty run directory left behind
    run.mkdir()  # a run directory the user made is theirs: kept
    assert main(["sl", "--records", str(records), "--run-dir", str(run)]) == 2
    assert run.is_dir()
