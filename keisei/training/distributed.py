"""Data-parallel learners under torchrun: one `keisei train` process per rank, gradients averaged over ranks.

`torchrun --nproc_per_node=N -m keisei train ...` starts N copies of the command; each finds its place in the
environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and joins
one process group (the pattern of CleanRL's ppo_atari_multigpu.py):

- identical weights: before the first rollout rank 0 broadcasts its model, learner state (optimizer,
  scheduler, scaler, minibatch RNG) and counters (fresh runs, --resume and --init-from alike: only rank 0
  reads the run directory and checkpoints, so the nodes need no shared file system);
- per-rank experience: rank r seeds its envs and its python/numpy/torch RNGs with seed + r * RANK_SEED_OFFSET
  (rank 0 keeps the plain seed: a one-rank torchrun run is the single-process run bit for bit, given the
  same torch thread count);
- the PPO learner gets this World as its GradientSync: gradients averaged every minibatch before
  optimizer.step, target-KL early stops agreed, rank 0's BatchNorm buffers copied after each update,
  metrics averaged; every rank holds the same weights after every update;
- counters are global: timesteps and games are summed over ranks every iteration (the global batch is
  world_size x env.num_envs x ppo.num_steps);
- stop conditions (training.total_timesteps, training.max_wall_seconds, SIGINT/SIGTERM on any rank) are
  agreed every iteration with one all_reduce, so every rank leaves the loop after the same update;
- rank 0 alone writes the run directory (lock, config.toml, train.log, TensorBoard, checkpoints, games) and
  runs evaluation (`rank_config` turns those off elsewhere); a barrier precedes the final checkpoint;
- every collective waits at most parallel.dist_timeout_seconds; one that fails or times out (a rank died,
  hangs or was stopped) raises PeerLostError naming this rank and the operation (one line, exit 5).

KEISEI_DIST_DEBUG_DIR (tests): every rank writes rank<R>.start.json / rank<R>.end.json (pid, weight hash,
counters) there at the start and end of training.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from keisei.config import ConfigError, KeiseiConfig, ParallelConfig
from keisei.errors import KeiseiError, PeerLostError
from keisei.models import unwrap_model
from keisei.training.display import DisplayManager
from keisei.training.stop import StopControl

logger = logging.getLogger(__name__)

RANK_SEED_OFFSET = 1_000_003
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
DEBUG_DIR_VAR = "KEISEI_DIST_DEBUG_DIR"
T = TypeVar("T")


@dataclass(frozen=True)
class DistEnv:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def dist_env(environ: Mapping[str, str] | None = None) -> DistEnv | None:
    """The torchrun environment, or None outside torchrun; a partial one is a ConfigError naming what is missing."""
    environ = os.environ if environ is None else environ
    present = [v for v in ENV_VARS if v in environ]
    if not present:
        return None
    missing = [v for v in ENV_VARS if v not in environ]
    if missing:
        raise ConfigError(f"distributed training: {', '.join(present)} set but {', '.join(missing)} missing; "
                          "start it with torchrun (or unset them)")
    try:
        rank, world, local = (int(environ[v]) for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", world))
    except ValueError as exc:
        raise ConfigError(f"distributed training: a torchrun variable is not an integer ({exc})") from None
    if not (0 <= rank < world and 0 <= local < local_world):
        raise ConfigError(f"distributed training: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}, "
                          f"LOCAL_WORLD_SIZE={local_world} do not fit together")
    return DistEnv(rank, world, local, local_world)


def choose_backend(spec: str, device: torch.device) -> str:
    """parallel.dist_backend: auto -> nccl on CUDA, gloo on CPU; nccl without CUDA is a ConfigError."""
    if spec == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if spec == "nccl" and device.type != "cuda":
        raise ConfigError(f"parallel.dist_backend: nccl needs CUDA but training runs on {device}; use gloo or auto")
    return spec


def threads_per_rank(local_world_size: int, cores: int | None = None) -> int:
    """Torch threads for each rank of a node: the node's cores // its ranks, at least 1."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, local_world_size))


def rank_config(config: KeiseiConfig, rank: int) -> KeiseiConfig:
    """The config a rank runs: rank 0's unchanged; the others write nothing (TensorBoard, W&B, game records
    off) and run no evaluation (`keisei train` builds its callbacks from this config). Checkpoints and the
    run directory are skipped by the Trainer itself."""
    if rank == 0:
        return config
    quiet = config.model_copy(deep=True)
    quiet.logging.tensorboard = False
    quiet.logging.wandb = False
    quiet.logging.save_selfplay_games_every = 0
    quiet.evaluation.enable_periodic_evaluation = False
    return quiet


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _to_cpu(obj: Any) -> Any:
    """A copy of nested dicts/lists/tuples with every tensor moved to the CPU (for object broadcasts)."""
    if isinstance(obj, Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


class World:
    """This process's rank in the job and the collectives the trainer uses (all of them every rank calls in
    the same order). ``World.single()`` is the one-process run: every collective is the identity."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0, local_world_size: int = 1,
                 backend: str | None = None, timeout_s: float = 0.0, device: torch.device | None = None) -> None:
        self.rank, self.world_size = rank, world_size
        self.local_rank, self.local_world_size = local_rank, local_world_size
        self.backend = backend
        self.timeout_s = timeout_s
        # collectives on nccl need CUDA tensors; gloo works on CPU tensors
        self.comm_device = device if backend == "nccl" and device is not None else torch.device("cpu")

    @classmethod
    def single(cls) -> World:
        return cls()

    @classmethod
    def init(cls, env: DistEnv, parallel: ParallelConfig, device: torch.device) -> World:
        """Join the torchrun process group (env:// rendezvous) with the configured backend and timeout."""
        backend = choose_backend(parallel.dist_backend, device)
        if backend == "nccl":
            # NCCL reports a timed-out collective from its watchdog thread by aborting the process; with
            # blocking waits the collective raises instead, so PeerLostError gives the one-line message
            os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")
        if device.type == "cuda":
            device = torch.device("cuda", env.local_rank)
            torch.cuda.set_device(device)
        try:
            dist.init_process_group(backend, init_method="env://", rank=env.rank, world_size=env.world_size,
                                    timeout=timedelta(seconds=parallel.dist_timeout_seconds))
        except (RuntimeError, ValueError) as exc:
            raise PeerLostError(f"rank {env.rank}/{env.world_size}: cannot join the {backend} process group "
                                f"({_one_line(exc)})") from exc
        return cls(env.rank, env.world_size, env.local_rank, env.local_world_size, backend,
                   parallel.dist_timeout_seconds, device)

    # -- identity --------------------------------------------------------------------------------------------
    @property
    def is_distributed(self) -> bool:
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        """Rank 0: the one rank that writes files and evaluates."""
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's envs and RNGs (rank 0: ``seed`` itself)."""
        return seed + self.rank * RANK_SEED_OFFSET

    def describe(self) -> str:
        if not self.is_distributed:
            return "single process"
        return (f"rank {self.rank} of {self.world_size} ({self.backend}, local rank {self.local_rank} of "
                f"{self.local_world_size}, collective timeout {self.timeout_s:g}s)")

    # -- collectives -------------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except RuntimeError as exc:  # dist.DistError and its timeouts are RuntimeErrors
            raise PeerLostError(
                f"rank {self.rank}/{self.world_size}: {what} failed: another rank died, hangs or was stopped "
                f"(collectives wait at most parallel.dist_timeout_seconds = {self.timeout_s:g}s); "
                f"{self.backend}: {_one_line(exc)}") from exc

    def _all_reduce(self, values: Tensor, what: str) -> Tensor:
        t = values.to(self.comm_device)
        self._call(what, lambda: dist.all_reduce(t, op=dist.ReduceOp.SUM))
        return t.cpu()

    def sum_counts(self, steps: int, games: int) -> tuple[int, int]:
        """Env steps and finished games of this iteration summed over ranks (the global counters' increments)."""
        if not self.is_distributed:
            return steps, games
        total = self._all_reduce(torch.tensor([steps, games], dtype=torch.int64), "summing the step counts")
        return int(total[0]), int(total[1])

    def stop_codes(self, code: int) -> list[int]:
        """Every rank's stop code (0 = go on), indexed by rank."""
        if not self.is_distributed:
            return [code]
        codes = torch.zeros(self.world_size, dtype=torch.int64)
        codes[self.rank] = code
        return self._all_reduce(codes, "agreeing on the stop condition").tolist()

    def failed_ranks(self, failed: bool, what: str) -> list[int]:
        """The ranks that report ``failed`` (e.g. an error while setting up), agreed by all."""
        if not self.is_distributed:
            return [self.rank] if failed else []
        flags = torch.zeros(self.world_size, dtype=torch.int64)
        flags[self.rank] = int(failed)
        return [r for r, f in enumerate(self._all_reduce(flags, what).tolist()) if f]

    def broadcast_object(self, obj: T, what: str) -> T:
        """Rank 0's ``obj`` on every rank (pickled; tensors travel on the CPU)."""
        if not self.is_distributed:
            return obj
        box = [_to_cpu(obj) if self.is_main else None]
        self._call(what, lambda: dist.broadcast_object_list(box, src=0, device=self.comm_device))
        return box[0]

    def from_main(self, fn: Callable[[], T], what: str) -> T:
        """``fn()`` run on rank 0 only and its result shared; if it raises there, every other rank raises a
        KeiseiError with rank 0's message (and exit code) while rank 0 re-raises its own error."""
        if not self.is_distributed:
            return fn()
        result: Any = None
        error: BaseException | None = None
        if self.is_main:
            try:
                result = ("ok", fn())
            except BaseException as exc:  # noqa: BLE001 - shared with the other ranks, then re-raised
                error = exc
                result = ("error", _one_line(exc), getattr(exc, "exit_code", 2))
        result = self.broadcast_object(result, what)
        if error is not None:
            raise error
        if result[0] == "error":
            failure = KeiseiError(f"rank 0 failed while {what}: {result[1]}")
            failure.exit_code = result[2]
            raise failure
        return result[1]

    def barrier(self, what: str) -> None:
        if self.is_distributed:
            # a tiny all_reduce rather than dist.barrier: the same timeout and device handling as every collective
            self._all_reduce(torch.zeros(1), f"waiting for every rank before {what}")

    # -- GradientSync (keisei.rl.learner) ------------------------------------------------------------------------
    def average_gradients(self, parameters: Sequence[nn.Parameter]) -> None:
        """Every parameter's gradient replaced by its mean over ranks (one flat all_reduce per dtype)."""
        if not self.is_distributed:
            return
        for p in parameters:
            if p.grad is None:  # keep the flat layout identical on every rank
                p.grad = torch.zeros_like(p)
        for group in _by_dtype([p.grad for p in parameters]):
            flat = torch.cat([g.reshape(-1) for g in group])
            self._call("averaging gradients", lambda t=flat: dist.all_reduce(t, op=dist.ReduceOp.SUM))
            flat /= self.world_size
            offset = 0
            for g in group:
                g.copy_(flat[offset: offset + g.numel()].view_as(g))
                offset += g.numel()

    def average(self, values: Tensor) -> Tensor:
        if not self.is_distributed:
            return values
        return self._all_reduce(values, "averaging metrics") / self.world_size

    def sync_buffers(self, module: nn.Module) -> None:
        if not self.is_distributed:
            return
        buffers = list(unwrap_model(module).buffers())
        for group in _by_dtype(buffers):
            flat = torch.cat([b.reshape(-1) for b in group])
            self._call("sharing rank 0's buffers", lambda t=flat: dist.broadcast(t, src=0))
            offset = 0
            for b in group:
                b.copy_(flat[offset: offset + b.numel()].view_as(b))
                offset += b.numel()

    def close(self) -> None:
        """Leave the process group (after a lost rank, just exit: destroying a broken group can block)."""
        if self.is_distributed and dist.is_initialized():
            dist.destroy_process_group()
        self.backend = None


def _by_dtype(tensors: Sequence[Tensor]) -> list[list[Tensor]]:
    groups: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    return list(groups.values())


class AgreedStop(StopControl):
    """StopControl whose decision is agreed by every rank each iteration: the first rank (in rank order) with
    a reason stops them all, so no rank waits in a collective its peers left."""

    CODES: ClassVar[dict[int, str]] = {1: "stop requested on rank {r}", 2: "training.total_timesteps reached",
             3: "training.max_wall_seconds elapsed on rank {r}"}

    def __init__(self, world: World, total_timesteps: int, max_wall_seconds: float) -> None:
        super().__init__(total_timesteps, max_wall_seconds)
        self.world = world
        self.agreed: str | None = None

    def reason(self, timesteps: int) -> str | None:
        if self.agreed is not None:
            return self.agreed
        local = super().reason(timesteps)
        code = 0
        if local is not None:
            code = 1 if self.requested else 2 if timesteps >= self.total_timesteps else 3
        codes = self.world.stop_codes(code)
        if not any(codes):
            return None
        r = next(i for i, c in enumerate(codes) if c)
        self.agreed = local if local is not None else self.CODES[codes[r]].format(r=r)
        return self.agreed


class SilentDisplay(DisplayManager):
    """The display of ranks other than 0: progress is shown once, by rank 0."""

    def start(self, total_timesteps: int) -> None:
        self.progress.total_timesteps = total_timesteps  # no live panel

    def message(self, text: str) -> None:
        pass


def debug_dump(world: World, name: str, fields: Callable[[], dict[str, Any]]) -> None:
    """Tests: write rank<R>.<name>.json (pid, rank, world size and ``fields()``) into $KEISEI_DIST_DEBUG_DIR
    when it is set; nothing (``fields`` not called) otherwise."""
    directory = os.environ.get(DEBUG_DIR_VAR)
    if not directory:
        return
    path = Path(directory) / f"rank{world.rank}.{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"rank": world.rank, "world_size": world.world_size, "pid": os.getpid(), **fields()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
