"""Parallel training: config checks, the weight board, and real actor processes (spawned workers, shared memory).

The process tests start real workers (spawn), SIGKILL / SIGSTOP them, and run real evaluations; they are
marked slow (they still run in `make test`).
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import torch
from training_helpers import tiny_config

from keisei.config import ConfigError
from keisei.evaluation.callback import EvaluationCallback, periodic_evaluation
from keisei.evaluation.store import GameStore
from keisei.models import build_model
from keisei.run.callbacks import Callback
from keisei.run.counters import Counters
from keisei.training.algorithms.ppo import PPOSegments
from keisei.training.parallel import ParallelCollector, split_envs
from keisei.training.parallel.manager import learner_threads
from keisei.training.parallel.shared import RUNNING, WeightBoard
from keisei.training.publisher import WeightPublisher
from keisei.training.trainer import Trainer
from keisei.weights import ModelWeightManager, tensors_sha256

ROLLOUT = 32  # 4 envs x 8 steps (training_helpers.TINY)
PARALLEL = ["parallel.enabled=true", "parallel.num_workers=2", "logging.tensorboard=false"]


# -- config ------------------------------------------------------------------------------------------------
def test_more_workers_than_envs_is_rejected_naming_both_fields():
    with pytest.raises(ConfigError, match=r"parallel\.num_workers \(5\) exceeds env\.num_envs \(4\)"):
        tiny_config("parallel.enabled=true", "parallel.num_workers=5")
    tiny_config("parallel.num_workers=5")  # not enabled: nothing to split


def test_policy_lag_shorter_than_the_sync_interval_is_rejected():
    with pytest.raises(ConfigError, match=r"parallel\.max_policy_lag \(1\) must be >= parallel\.sync_interval_updates"):
        tiny_config("parallel.sync_interval_updates=3", "parallel.max_policy_lag=1")
    assert tiny_config("parallel.sync_interval_updates=3", "parallel.max_policy_lag=2").parallel.max_policy_lag == 2


@pytest.mark.parametrize("field", ["parallel.max_policy_lag=-1", "parallel.heartbeat_timeout_s=0",
                                   "parallel.slots_per_worker=0", "parallel.eval_sync_timeout_s=-1",
                                   "parallel.bogus=1"])
def test_bad_parallel_fields_are_named(field):
    with pytest.raises(ConfigError, match=field.split("=")[0].replace(".", r"\.")):
        tiny_config(field)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_workers_without_cuda_are_rejected_naming_the_field(tiny_cfg):
    cfg = tiny_config(*PARALLEL, "parallel.worker_device=cuda")
    with pytest.raises(ConfigError, match=r"parallel\.worker_device: cuda was requested"):
        ParallelCollector(cfg, build_model(cfg.model), torch.device("cpu"), Counters(), kind=PPOSegments(cfg))


def test_envs_are_split_evenly_and_threads_never_oversubscribe_silently():
    assert split_envs(7, 3) == [3, 2, 2] and split_envs(4, 4) == [1, 1, 1, 1]
    threads, line = learner_threads(tiny_config("parallel.num_workers=2"), cores=8)
    assert threads == 1 and "training.torch_threads=2" not in line  # tiny asks 1 (TINY); 6 cores left
    threads, line = learner_threads(tiny_config("parallel.num_workers=2", "training.torch_threads=4"), cores=4)
    assert threads == 2 and "training.torch_threads=4 capped" in line
    threads, line = learner_threads(tiny_config("parallel.num_workers=2", "training.torch_threads=0"), cores=2)
    assert threads == 1 and "oversubscribed" in line


def test_slots_that_do_not_fit_in_shared_memory_are_refused_naming_the_fields(tmp_path):
    from keisei.training.algorithms.ppo import PPO_SCHEMA
    from keisei.training.parallel.manager import _check_shared_memory
    from keisei.training.parallel.segments import segment_bytes
    from keisei.training.parallel.shared import SegmentSlots

    assert SegmentSlots([3, 2], 2, 8, PPO_SCHEMA).nbytes == segment_bytes(PPO_SCHEMA, 5, 2, 8)
    # obs u8, mask, action, 4 floats and 2 flags per env step, plus next values per env
    assert segment_bytes(PPO_SCHEMA, 5, 2, 8) == 2 * (8 * 5 * (119 * 81 + 2187 + 8 + 4 * 4 + 2) + 5 * 4)
    with pytest.raises(ConfigError, match=r"lower parallel\.slots_per_worker, ppo\.num_steps or env\.num_envs"):
        _check_shared_memory(2**62, where=str(tmp_path), length_field="ppo.num_steps")
    _check_shared_memory(segment_bytes(PPO_SCHEMA, 5, 2, 8), where=str(tmp_path))


def test_weight_board_hands_over_whole_versions(tiny_cfg):
    src, dst = build_model(tiny_cfg), build_model(tiny_cfg)
    board = WeightBoard(src.state_dict())
    assert board.read_into(dst) == -1  # nothing published yet
    for version in (0, 1, 2):
        with torch.no_grad():
            for p in src.parameters():
                p.add_(0.1)
        board.write(src.state_dict(), version)
        assert board.read_into(dst) == version == board.version
        assert tensors_sha256(dst.state_dict()) == tensors_sha256(src.state_dict())
    bad = dict(src.state_dict())
    first = next(iter(bad))
    bad[first] = bad[first].double()
    with pytest.raises(ValueError, match=first):
        board.write(bad, 3)


def test_in_process_pin_is_the_live_version_and_an_inconsistent_source_skips_with_its_reason(tmp_path, tiny_cfg):
    from keisei.training.collector import SyncState

    counters = Counters(model_version=3, updates=3)
    publisher = WeightPublisher(build_model(tiny_cfg), tiny_cfg, counters, ModelWeightManager())
    snap, reason = publisher.pin(0.0)
    assert (snap.model_version, reason) == (3, "") and publisher.issued(3, snap.sha256)
    publisher.sync_source = lambda: SyncState(False, (3, 2), "worker 1 restarting")
    start = time.monotonic()
    assert publisher.pin(0.2) == (None, "worker 1 restarting")
    assert time.monotonic() - start >= 0.2  # it waited for a version boundary first


# -- real actor processes ----------------------------------------------------------------------------------
def _issued_hash(publisher, version):
    return {p.model_version: p.sha256 for p in publisher.history}[version]


@pytest.mark.slow
def test_two_workers_train_with_periodic_evaluation_pinned_to_issued_snapshots(tmp_path):
    cfg = tiny_config(*PARALLEL, f"training.total_timesteps={5 * ROLLOUT}", "evaluation.enable_periodic_evaluation=true",
                      f"evaluation.interval_timesteps={2 * ROLLOUT}", "evaluation.num_games=2",
                      'evaluation.opponents=["random"]', "evaluation.max_plies=16",
                      f"training.checkpoint_interval_timesteps={2 * ROLLOUT}")
    trainer = Trainer(cfg, run_dir=tmp_path, callbacks=periodic_evaluation(cfg))
    summary = trainer.run()
    assert summary.timesteps >= 5 * ROLLOUT and summary.updates == 5
    assert [p.model_version for p in trainer.publisher.history] == [0, 1, 2, 3, 4, 5]  # every update synced
    assert trainer.metrics.last["parallel/workers"] == 2.0
    (cb,) = [c for c in trainer.callbacks.callbacks if isinstance(c, EvaluationCallback)]
    assert cb.reported, "no evaluation finished"
    for version, pinned, played in cb.reported:
        assert pinned == played == _issued_hash(trainer.publisher, version)
    with GameStore(tmp_path / "evaluation.sqlite") as store:
        games = [g for g in store.games() if g.black.startswith("agent@v") or g.white.startswith("agent@v")]
        ratings = store.rating_history("agent@v")
    assert games
    for g in games:
        colour = "black" if g.black.startswith("agent@v") else "white"
        version = g.black_version if colour == "black" else g.white_version
        assert g.extra[f"{colour}_sha256"] == _issued_hash(trainer.publisher, version)
    for r in ratings:
        assert r.sha256 == _issued_hash(trainer.publisher, r.model_version)
    pool = json.loads((tmp_path / "opponent_pool.json").read_text())["entries"]
    members = [e for e in pool if e["kind"] == "checkpoint"]
    assert members and all(e["sha256"] == _issued_hash(trainer.publisher, e["model_version"]) for e in members)


class _Faults(Callback):
    """From update 2, once both workers run: SIGKILL worker 0 and SIGSTOP worker 1 (a hang: no heartbeat); stop
    training two updates after both were restarted."""

    def __init__(self, trainer):
        self.trainer, self.manager, self.victims, self.stop_at = trainer, trainer.collector.manager, None, None

    def on_update_end(self, ctx):
        running = all(int(p) == RUNNING for p in self.manager.table.phase[: self.manager.num_workers])
        if self.victims is None and ctx.updates >= 2 and running:  # both reported in: the stop is a hang
            self.victims = self.manager.pids()
            os.kill(self.victims[0], signal.SIGKILL)
            os.kill(self.victims[1], signal.SIGSTOP)
        if self.stop_at is None and self.manager.restarts >= 2:
            self.stop_at = ctx.updates + 2
        if ctx.updates == self.stop_at:
            self.trainer.request_stop("both faults handled")


@pytest.mark.slow
def test_killed_and_hung_workers_are_restarted_while_training_goes_on(tmp_path):
    cfg = tiny_config(*PARALLEL, "training.total_timesteps=1000000", "training.max_wall_seconds=240",
                      "parallel.heartbeat_timeout_s=3")
    trainer = Trainer(cfg, run_dir=tmp_path)
    faults = _Faults(trainer)
    trainer.callbacks.add(faults)
    summary = trainer.run()
    manager = trainer.collector.manager
    assert summary.stop_reason == "both faults handled" and summary.updates == faults.stop_at
    reasons = dict(manager.restart_log)
    assert "exit code -9" in reasons[0]
    assert "no heartbeat" in reasons[1]
    assert manager.restarts == 2 and trainer.metrics.last["parallel/restarts"] == 2.0
    assert set(manager.pids()).isdisjoint(faults.victims)
    assert not any(os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" for pid in faults.victims)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


@pytest.mark.slow
def test_an_evaluation_during_a_weight_sync_waits_or_skips_with_the_reason_and_never_mixes(tmp_path, tiny_cfg):
    cfg = tiny_config(*PARALLEL, "parallel.eval_sync_timeout_s=0.5", "evaluation.enable_periodic_evaluation=true",
                      "evaluation.interval_timesteps=10", "evaluation.num_games=2", 'evaluation.opponents=["random"]',
                      "evaluation.max_plies=16", "model.blocks=1", "model.channels=8", "model.value_hidden=8")
    from training_helpers import REPO  # noqa: F401  (the checkout is importable by the workers)

    from keisei.run.callbacks import CallbackContext
    from keisei.run.checkpoints import CheckpointManager
    from keisei.run.metrics import MetricsManager

    model = build_model(cfg.model)
    counters = Counters()
    publisher = WeightPublisher(model, cfg.model, counters, ModelWeightManager())
    collector = ParallelCollector(cfg, model, torch.device("cpu"), counters, kind=PPOSegments(cfg))
    publisher.add_listener(collector.on_publish)
    publisher.sync_source = collector.sync_state
    metrics = MetricsManager(cfg, tmp_path, counters)
    display = _Display()
    ctx = CallbackContext(config=cfg, run_dir=tmp_path, device=torch.device("cpu"), model=model, metrics=metrics,
                          display=display, checkpoints=CheckpointManager(tmp_path, 2), counters=counters,
                          publisher=publisher)
    cb = EvaluationCallback(cfg, end_timeout_s=120, weights=publisher.weights)
    try:
        publisher.current()
        first, _ = publisher.pin(120.0)  # the workers start on v0
        assert first is not None and first.model_version == 0
        cb.on_training_start(ctx)
        pids = collector.manager.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)  # frozen mid-sync: they cannot take v1
        with torch.no_grad():
            next(model.parameters()).add_(1.0)
        counters.updates = counters.model_version = 1
        counters.prev_timesteps, counters.timesteps = 0, 16
        publisher.publish()
        cb.on_update_end(ctx)  # crosses an interval during the sync: skipped with the reason
        assert cb.skipped_sync == 1 and metrics.counters["eval/skipped_sync"] == 1
        assert cb.evaluator.submitted == 0
        state = collector.sync_state()
        assert not state.consistent and "weight sync in progress: published v1" in state.reason
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        counters.prev_timesteps, counters.timesteps = 16, 32
        cb.config.parallel.eval_sync_timeout_s = 60.0
        cb.on_update_end(ctx)  # waits for the version boundary, then evaluates v1 only
        assert cb.evaluator.submitted == 1
        cb.on_training_end(ctx)
        assert [(v, p == s == _issued_hash(publisher, 1)) for v, p, s in cb.reported] == [(1, True)]
        batch = collector.collect()
        assert set(batch.batch.versions.unique().tolist()) <= {0, 1}
    finally:
        cb.on_training_end(ctx)
        collector.close()
        metrics.close()


class _Display:
    def __init__(self):
        self.status = {}

    def set_status(self, key, text):
        self.status[key] = text


@pytest.mark.slow
def test_parallel_resume_continues_weights_optimizer_and_counters(tmp_path):
    cfg = tiny_config(*PARALLEL, f"training.total_timesteps={2 * ROLLOUT}")
    first = Trainer(cfg, run_dir=tmp_path)
    first.run()
    saved = torch.load(first.checkpoints.latest(), weights_only=True)
    assert saved["env_state"] is None and saved["counters"]["updates"] == 2
    more = tiny_config(*PARALLEL, f"training.total_timesteps={4 * ROLLOUT}")
    resumed = Trainer(more, run_dir=tmp_path, resume="latest")
    assert resumed.models.learner.optimizer.state_dict()["state"][0]["step"] == \
        saved["optimizer_state"]["state"][0]["step"]
    summary = resumed.run()
    assert (summary.timesteps, summary.updates) == (4 * ROLLOUT, 4)
    start = resumed.publisher.history[0]
    assert (start.model_version, start.sha256) == (2, tensors_sha256(saved["model_state"]))
    # a parallel checkpoint also resumes in one process (fresh games)
    single = Trainer(tiny_config(f"training.total_timesteps={5 * ROLLOUT}"), run_dir=tmp_path, resume="latest")
    assert single.run().updates == 5


# -- signals to a `keisei train` subprocess ----------------------------------------------------------------
def _descendants(pid: int) -> set[int]:
    """Live (non-zombie) descendants of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _state(pid) not in ("gone", "Z")}


def _start_train(tmp_path):
    import subprocess
    import sys

    from training_helpers import TINY, cli_env

    args = [sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny", "--run-dir", str(tmp_path / "run")]
    for item in [*TINY, *PARALLEL, "training.total_timesteps=100000000"]:
        args += ["--set", item]
    out = open(tmp_path / "stdout.txt", "w")  # noqa: SIM115 - the child writes it; closed by the caller
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=cli_env(), text=True,
                            start_new_session=True)  # its own process group, as a shell job has
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # the workers run and the loop is past its first update
        text = (tmp_path / "stdout.txt").read_text()
        if "updates 1" in text and len(_descendants(proc.pid)) >= 2:
            return proc, out
        assert proc.poll() is None, text
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("keisei train did not get going: " + (tmp_path / "stdout.txt").read_text())


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


@pytest.mark.slow
def test_sigint_to_the_process_group_stops_the_workers_saves_a_checkpoint_and_leaves_no_child(tmp_path):
    proc, out = _start_train(tmp_path)
    children = _descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the trainer and its workers all get it
    rc = proc.wait(timeout=120)
    out.close()
    text = (tmp_path / "stdout.txt").read_text()
    assert rc == 0, text
    assert "SIGINT received" in text and "parallel:      2 actor processes" in text
    assert "restarting it" not in text  # the workers ignored the Ctrl-C; the trainer stopped them
    assert list((tmp_path / "run" / "checkpoints").glob("ckpt_*.pt"))
    assert not _wait_gone(children, 10)


@pytest.mark.slow
def test_workers_exit_when_the_trainer_is_sigkilled(tmp_path):
    proc, out = _start_train(tmp_path)
    children = _descendants(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    out.close()
    assert not _wait_gone(children, 20), "workers outlived their trainer"


@pytest.mark.slow
def test_a_worker_that_keeps_dying_before_it_starts_stops_the_run_with_one_line(tiny_cfg):
    from keisei.training.parallel import ParallelError, ParallelManager

    cfg = tiny_config(*PARALLEL)
    manager = ParallelManager(cfg, build_model(cfg.model), PPOSegments(cfg))
    try:
        manager.start()
        manager.restart(0, "killed while starting")  # dies in STARTING: 1st and 2nd failed start are retried
        manager.restart(0, "killed while starting")
        with pytest.raises(ParallelError, match=r"parallel: worker 0 died 3 times before starting"):
            manager.restart(0, "killed while starting")
        assert manager.restarts == 2
    finally:
        manager.close()
    assert not _alive(set(manager.pids()))
