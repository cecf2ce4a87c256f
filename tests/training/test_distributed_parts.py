"""The pieces of torchrun training that need no process group: environment detection, backend choice, thread
split, per-rank config, and the one-process World (every collective the identity)."""

import pytest
import torch

from keisei.config import ConfigError, load_config
from keisei.training.distributed import (
    RANK_SEED_OFFSET,
    AgreedStop,
    DistEnv,
    World,
    choose_backend,
    dist_env,
    rank_config,
    threads_per_rank,
)

TORCHRUN = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_torchrun_environment_is_read_and_a_partial_one_names_what_is_missing():
    assert dist_env({}) is None
    assert dist_env(TORCHRUN) == DistEnv(rank=1, world_size=4, local_rank=1, local_world_size=2)
    partial = {k: v for k, v in TORCHRUN.items() if k != "MASTER_PORT"}
    with pytest.raises(ConfigError, match="MASTER_PORT missing"):
        dist_env(partial)
    with pytest.raises(ConfigError, match="not an integer"):
        dist_env({**TORCHRUN, "RANK": "one"})
    with pytest.raises(ConfigError, match="RANK=4, WORLD_SIZE=4"):
        dist_env({**TORCHRUN, "RANK": "4"})


def test_backend_is_nccl_on_cuda_gloo_on_cpu_and_overridable():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert choose_backend("auto", cpu) == "gloo"
    assert choose_backend("auto", cuda) == "nccl"
    assert choose_backend("gloo", cuda) == "gloo"
    with pytest.raises(ConfigError, match="parallel.dist_backend: nccl needs CUDA"):
        choose_backend("nccl", cpu)


def test_dist_fields_are_declared_and_validated():
    cfg = load_config(overrides=["parallel.dist_backend=gloo", "parallel.dist_timeout_seconds=30"])
    assert (cfg.parallel.dist_backend, cfg.parallel.dist_timeout_seconds) == ("gloo", 30.0)
    with pytest.raises(ConfigError, match="parallel.dist_backend"):
        load_config(overrides=["parallel.dist_backend=mpi"])
    with pytest.raises(ConfigError, match="parallel.dist_timeout_seconds"):
        load_config(overrides=["parallel.dist_timeout_seconds=0"])


def test_threads_split_the_node_cores_between_its_ranks():
    assert threads_per_rank(2, cores=16) == 8
    assert threads_per_rank(3, cores=16) == 5
    assert threads_per_rank(4, cores=2) == 1
    assert threads_per_rank(1) >= 1


def test_only_rank0_writes_logs_records_and_evaluates():
    cfg = load_config(overrides=["logging.save_selfplay_games_every=5", "logging.wandb=true"])
    assert rank_config(cfg, 0) is cfg
    quiet = rank_config(cfg, 3)
    assert not quiet.logging.tensorboard and not quiet.logging.wandb
    assert quiet.logging.save_selfplay_games_every == 0 and not quiet.evaluation.enable_periodic_evaluation
    assert cfg.logging.tensorboard and cfg.logging.save_selfplay_games_every == 5  # the original is untouched
    assert quiet.model == cfg.model and quiet.training == cfg.training


def test_single_world_collectives_are_the_identity():
    w = World.single()
    assert not w.is_distributed and w.is_main and w.world_size == 1
    assert w.sum_counts(32, 3) == (32, 3)
    assert w.failed_ranks(True, "x") == [0] and w.failed_ranks(False, "x") == []
    assert w.broadcast_object({"a": 1}, "x") == {"a": 1}
    assert w.from_main(lambda: 7, "x") == 7
    values = torch.tensor([1.0, 2.0])
    assert torch.equal(w.average(values), values)
    assert World(rank=2).rank_seed(5) == 5 + 2 * RANK_SEED_OFFSET and w.rank_seed(5) == 5


class FakeWorld(World):
    """A distributed-looking World whose peers' stop codes are given (no process group)."""

    def __init__(self, rank: int, peers: list[int]) -> None:
        super().__init__(rank=rank, world_size=len(peers), backend="gloo")
        self.peers = peers

    def stop_codes(self, code: int) -> list[int]:
        codes = list(self.peers)
        codes[self.rank] = code
        return codes


def test_agreed_stop_takes_the_first_rank_with_a_reason_and_keeps_it():
    stop = AgreedStop(FakeWorld(0, [0, 0, 1]), total_timesteps=100, max_wall_seconds=0)
    assert stop.reason(10) == "stop requested on rank 2"
    stop.world.peers = [0, 0, 0]
    assert stop.reason(10) == "stop requested on rank 2"  # agreed once, for the rest of the run
    mine = AgreedStop(FakeWorld(1, [0, 0, 3]), total_timesteps=100, max_wall_seconds=0)
    mine.request("SIGTERM received")
    assert mine.reason(10) == "SIGTERM received"
    assert AgreedStop(FakeWorld(0, [0, 3]), 100, 0).reason(10) == "training.max_wall_seconds elapsed on rank 1"
    assert AgreedStop(FakeWorld(0, [0, 0]), 100, 0).reason(10) is None
    assert AgreedStop(FakeWorld(0, [0, 0]), 100, 0).reason(100) == "training.total_timesteps reached"


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
def test_lr_horizon_is_replanned_for_another_world_size_and_unchanged_for_the_same():
    from training_helpers import tiny_config

    from keisei.training.model_manager import ModelManager

    cfg = tiny_config("training.total_timesteps=640", "ppo.lr_schedule=linear")  # 32 steps per rank
    alone = ModelManager(cfg, torch.device("cpu"))
    assert alone.learner.total_steps == 20 * 2  # 20 updates x 1 epoch x 2 minibatches
    done = {"timesteps": 320, "updates": 10, "games": 0}
    alone.replan(done, world_size=1)
    assert alone.learner.total_steps == 40  # the same horizon: a same-size resume stays bit-exact
    # half-way through alone, then 2 ranks (64 steps per update): 10 more updates would end at 0 LR at once
    two = ModelManager(cfg, torch.device("cpu"), World(world_size=2))
    assert two.learner.total_steps == 10 * 2
    two.replan(done, world_size=2)
    assert two.learner.total_steps == (10 + 5) * 2
    two.learner.scheduler.last_epoch = 20 - 1  # 20 optimizer steps taken alone
    two.learner.scheduler.step()
    assert two.learner.optimizer.param_groups[0]["lr"] == pytest.approx(cfg.ppo.learning_rate * (1 - 20 / 30))


def test_python_dash_m_keisei_is_the_cli():
    import subprocess
    import sys

    from training_helpers import REPO, cli_env

    res = subprocess.run([sys.executable, "-m", "keisei", "--version"], capture_output=True, text=True,
                         cwd=REPO, env=cli_env(), timeout=60, check=False)
    assert res.returncode == 0 and res.stdout.startswith("keisei "), res.stderr
