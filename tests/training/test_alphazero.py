"""The search learner end to end: `training.algorithm = "alphazero"` in the Trainer and the CLI, its records on
disk, the reuse cap, resume after SIGKILL, and the configurations it refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from training_helpers import REPO, cli_env, run_cli, tiny_config

from keisei.checkpoint import load_checkpoint
from keisei.config import ConfigError
from keisei.shogi import load_record
from keisei.shogi.replay import list_shards, read_shard
from keisei.training.trainer import Trainer

AZ = ["training.algorithm=alphazero", "selfplay.simulations=4", "selfplay.cheap_simulations=2",
      "selfplay.collect_plies=10", "search.batch_size=4", "alphazero.batch_size=32", "alphazero.min_positions=20",
      "alphazero.val_every=4", "env.max_plies=30"]


def test_a_run_writes_its_records_and_trains_under_the_reuse_cap(tmp_path):
    cfg = tiny_config(*AZ, "training.total_timesteps=400", "logging.save_selfplay_games_every=1")
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    summary = trainer.run()
    assert summary.timesteps == 400 and summary.updates == 10  # 4 games x 10 plies per iteration
    shards = list_shards(tmp_path / "run" / "replay")
    assert shards
    rows = sum(len(read_shard(p).positions) for p in shards)
    learner = trainer.models.learner
    window = learner.window
    assert window.written + window.val_written == rows and window.val_written > 0
    assert 0 < learner.samples <= 4.0 * window.written  # the reuse cap (train_per_data 4)
    assert learner.samples > 4.0 * window.written - 32  # ... and used (within one batch)
    payload = load_checkpoint(summary.last_checkpoint)
    assert payload["alphazero_state"]["samples"] == learner.samples
    assert payload["env_state"] is None
    assert summary.games > 0 and list((tmp_path / "run" / "games").glob("*"))
    record = load_record(min((tmp_path / "run" / "games").glob("*")))
    assert record.moves  # self-play games are saved as records, as for PPO


def test_two_actor_processes_write_their_own_shards_and_every_trained_row_is_within_the_lag(tmp_path):
    cfg = tiny_config(*AZ, "training.total_timesteps=1200", "parallel.enabled=true", "parallel.num_workers=2",
                      "parallel.max_policy_lag=1", "parallel.sync_interval_updates=1")
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    summary = trainer.run()
    assert summary.timesteps >= 1200
    writers = {p.name.split("-")[0] for p in list_shards(tmp_path / "run" / "replay")}
    assert len(writers) == 2  # one writer per actor process
    window = trainer.models.learner.window
    checked = [(now, oldest) for _name, now, oldest in window.ingested if now > 0]  # not the first scan
    assert len(checked) >= 3
    assert all(oldest >= now - 1 for now, oldest in checked), checked  # max_policy_lag 1
    ids = [read_shard(p).positions["game_id"] for p in list_shards(tmp_path / "run" / "replay")]
    assert len({int(i) for arr in ids for i in set(arr.tolist())}) == sum(len(set(a.tolist())) for a in ids)


def test_the_cli_names_an_unknown_selfplay_key_and_the_banner_names_the_learner(tmp_path):
    out = run_cli("train", "--preset", "tiny", "--run-dir", str(tmp_path / "b"), *[
        x for kv in [*AZ, "training.total_timesteps=40", "model.blocks=1", "model.channels=16", "env.num_envs=4",
                     "model.value_hidden=16", "evaluation.enable_periodic_evaluation=false", "display.mode=plain"]
        for x in ("--set", kv)])
    assert out.returncode == 0, out.stderr
    assert "learner:       alphazero: gumbel search self-play, 4 simulations on 50% of moves (2 on the rest)" in out.stdout
    out = run_cli("train", "--preset", "tiny", "--set", "selfplay.simulation=8", "--run-dir", str(tmp_path / "s"))
    assert out.returncode == 2 and "selfplay.simulation" in out.stderr and "selfplay.simulations" in out.stderr


def test_a_ppo_checkpoint_does_not_resume_an_alphazero_run(tmp_path):
    ppo = Trainer(tiny_config("training.total_timesteps=32"), run_dir=tmp_path / "ppo").run()
    with pytest.raises((ConfigError, ValueError), match="alphazero_state"):
        Trainer(tiny_config(*AZ, "training.total_timesteps=400"), run_dir=tmp_path / "az", resume=ppo.last_checkpoint)


def test_resume_after_sigkill_reads_every_written_shard(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny", "--run-dir", str(run)]
    for kv in [*AZ, "training.total_timesteps=100000", "training.checkpoint_interval_timesteps=80",
               "training.torch_threads=1", "model.blocks=1", "model.channels=16", "model.value_hidden=16",
               "env.num_envs=4", "evaluation.enable_periodic_evaluation=false", "display.mode=plain"]:
        args += ["--set", kv]
    proc = subprocess.Popen(args, cwd=REPO, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # generous: a loaded 2-core machine
    try:
        while time.monotonic() < deadline:
            ckpts = list((run / "checkpoints").glob("ckpt_*.pt"))
            if len(list_shards(run / "replay")) >= 3 and len(ckpts) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the run wrote no shards and checkpoints in 300 s")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = [p.name for p in list_shards(run / "replay")]
    for p in list_shards(run / "replay"):
        read_shard(p)  # every shard on disk is whole: written atomically
    cfg = tiny_config(*AZ, "training.total_timesteps=100000")
    trainer = Trainer(cfg, run_dir=run, resume="latest")
    start_samples = trainer.models.learner.samples
    trainer.loop.iteration()
    learner = trainer.models.learner
    assert set(before) <= learner.window.seen  # the resumed learner trains on every file written before the kill
    assert learner.samples >= start_samples
    after = [p.name for p in list_shards(run / "replay")]
    assert after[: len(before)] == before and len(after) >= len(before)  # names continue, nothing overwritten
    ids = [read_shard(run / "replay" / n).positions["game_id"] for n in after]
    flat = [int(i) for arr in ids for i in set(arr.tolist())]
    assert len(flat) == len(set(flat))  # game ids continue after the resume: no id is reused
    trainer.close()


def _mate_in_one_positions(count: int, seed: int = 5) -> list[str]:
    """SFENs from random games where the side to move (not in check) has a mate in one."""
    import random

    import cshogi

    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        board = cshogi.Board()
        for _ in range(200):
            moves = list(board.legal_moves)
            if not moves or board.is_game_over():
                break
            board.push(rng.choice(moves))
            if not board.is_check() and board.mate_move_in_1ply() and board.sfen() not in found:
                found.append(board.sfen())
                break
    return found


def test_the_learner_learns_its_search_targets(tmp_path):
    """A learning test of the whole loop: from mate-in-one openings the search's target is the mating move;
    after a few iterations the raw network (no search) plays it in most of those positions."""
    import cshogi
    import torch

    from keisei.shogi import Game, legal_mask
    from keisei.shogi.encoding import encode

    sfens = _mate_in_one_positions(6)
    cfg = tiny_config(*AZ, "training.total_timesteps=1000000", "alphazero.min_positions=8",
                      "alphazero.batch_size=16", "alphazero.learning_rate=0.003", "selfplay.collect_plies=1",
                      "env.num_envs=6", "selfplay.full_search_share=1.0", "alphazero.val_every=0",
                      "alphazero.duplicate_plies=0")
    cfg.env.openings = sfens
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    model = trainer.models.model

    def mates_played() -> int:
        hits = 0
        for sfen in sfens:
            game = Game(sfen)
            with torch.no_grad():
                logits, _ = model(torch.from_numpy(encode(game)[None]))
            logits = logits[0].masked_fill(~torch.from_numpy(legal_mask(game)), -1e9)
            board = cshogi.Board(sfen)
            move = game.label_map()[int(logits.argmax())]
            board.push(move)
            hits += board.is_game_over()
        return hits

    before = mates_played()
    for _ in range(40):
        trainer.loop.iteration()
    after = mates_played()
    trainer.close()
    assert trainer.models.learner.samples > 0
    assert after >= 5 and after > before, (before, after)
