"""Shared-memory structures between the learner and its actor processes (no per-step Python objects).

* :class:`WeightBoard`: two weight buffers (flat bytes of one state dict) with a seqlock each and a "latest"
  index. The learner writes a published snapshot into the buffer that is not the latest, then flips the
  index; an actor copies the latest buffer into its model and re-checks the buffer's sequence number, retrying
  when a write overlapped its copy. So an actor only ever plays whole published versions.
* :class:`SegmentSlots`: per worker, ``slots_per_worker`` preallocated segments of T steps x n_w envs, one
  tensor per field of the algorithm's segment schema (keisei.training.parallel.segments; PPO's holds obs as
  uint8 - the dlshogi planes are 0/1, the worker checks that nothing is lost -, masks, actions, behaviour
  log-probs, values, rewards, dones, bootstrap and next values) and a state per slot (FREE / READY). A worker writes a finished segment into one of its FREE slots,
  marks it READY and sends (slot, worker, incarnation, version) on its own pipe; the learner copies it out and
  marks it FREE again.
* :class:`WorkerTable`: per worker heartbeat (time.time()), played version, phase, incarnation; plus the run's
  timestep count (for reward-shaping annealing) and a stop flag.

Every tensor is created with ``share_memory_()`` before the workers are spawned and passed to them as
process arguments (torch.multiprocessing shares the storage, nothing is copied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from keisei.training.parallel.segments import Schema

FREE, READY = 0, 1
# worker phases (WorkerTable.phase)
STARTING, RUNNING, STOPPED = 0, 1, 2
PHASES = {STARTING: "starting", RUNNING: "running", STOPPED: "stopped"}



@dataclass(frozen=True)
class TensorEntry:
    """Where one state-dict tensor lives in a flat weight buffer."""

    name: str
    dtype: torch.dtype
    shape: tuple[int, ...]
    offset: int
    nbytes: int


def weight_layout(state_dict: Mapping[str, Tensor]) -> tuple[list[TensorEntry], int]:
    """Entries in state-dict order (offsets 8-byte aligned) and the buffer size in bytes."""
    entries, offset = [], 0
    for name, t in state_dict.items():
        nbytes = t.numel() * t.element_size()
        entries.append(TensorEntry(name, t.dtype, tuple(t.shape), offset, nbytes))
        offset += (nbytes + 7) // 8 * 8
    return entries, max(offset, 8)


class WeightBoard:
    """Double-buffered shared weights with a version per buffer (one writer: the learner)."""

    def __init__(self, state_dict: Mapping[str, Tensor]) -> None:
        self.layout, self.nbytes = weight_layout(state_dict)
        self.data = torch.zeros(2, self.nbytes, dtype=torch.uint8).share_memory_()
        # meta: [seq0, seq1, version0, version1, latest]; latest = -1 until the first write
        self.meta = torch.tensor([0, 0, -1, -1, -1], dtype=torch.int64).share_memory_()

    def write(self, state_dict: Mapping[str, Tensor], version: int) -> None:
        """Learner side: store ``state_dict`` as ``version`` in the spare buffer, then make it the latest."""
        latest = int(self.meta[4])
        i = 1 if latest == 0 else 0
        self.meta[i] += 1  # odd: being written
        row = self.data[i]
        for e in self.layout:
            t = state_dict[e.name].detach().to("cpu").contiguous()
            if tuple(t.shape) != e.shape or t.dtype != e.dtype:
                raise ValueError(f"weight board: {e.name} is {t.dtype}{tuple(t.shape)}, expected {e.dtype}{e.shape}")
            if e.nbytes:
                row[e.offset:e.offset + e.nbytes].copy_(t.reshape(-1).view(torch.uint8))
        self.meta[2 + i] = int(version)
        self.meta[i] += 1  # even: complete
        self.meta[4] = i

    @property
    def version(self) -> int:
        """The latest complete version (-1 before the first write)."""
        latest = int(self.meta[4])
        return -1 if latest < 0 else int(self.meta[2 + latest])

    def read_into(self, model: torch.nn.Module, attempts: int = 100) -> int:
        """Actor side: load the latest version into ``model``; -> that version (-1: nothing published yet)."""
        for _ in range(attempts):
            latest = int(self.meta[4])
            if latest < 0:
                return -1
            seq = int(self.meta[latest])
            if seq % 2:
                continue
            row = self.data[latest]
            state = {e.name: row[e.offset:e.offset + e.nbytes].view(e.dtype).view(e.shape) if e.nbytes
                     else torch.empty(e.shape, dtype=e.dtype) for e in self.layout}
            model.load_state_dict(state, strict=True)  # copies out of the shared buffer
            version = int(self.meta[2 + latest])
            if int(self.meta[latest]) == seq:
                return version
        raise RuntimeError(f"weight board: no consistent read in {attempts} attempts")


class SegmentSlots:
    """``slots_per_worker`` shared segments of ``num_steps`` x widths[w] envs for every worker w, one tensor
    per field of ``schema`` (shape [slots, (steps,) envs, *field shape])."""

    def __init__(self, widths: list[int], slots_per_worker: int, num_steps: int, schema: Schema) -> None:
        self.widths, self.k, self.num_steps, self.schema = list(widths), slots_per_worker, num_steps, dict(schema)
        self.tensors = [self._allocate(n) for n in self.widths]
        self.state = torch.zeros(len(widths), slots_per_worker, dtype=torch.int64).share_memory_()

    def _allocate(self, n: int) -> dict[str, Tensor]:
        return {name: torch.zeros((self.k, *f.slot_shape(self.num_steps, n)), dtype=f.dtype).share_memory_()
                for name, f in self.schema.items()}

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for d in self.tensors for t in d.values())

    def free_slot(self, worker: int) -> int | None:
        """A FREE slot of ``worker`` or None."""
        free = (self.state[worker] == FREE).nonzero()
        return int(free[0]) if len(free) else None

    def ready_count(self) -> int:
        return int((self.state == READY).sum())

    def reset_worker(self, worker: int) -> None:
        """Free every slot of a worker being restarted (whatever it had written is discarded)."""
        self.state[worker].fill_(FREE)


class WorkerTable:
    """Per-worker liveness and version, the run's timesteps and the stop flag (all shared)."""

    def __init__(self, num_workers: int) -> None:
        self.heartbeat = torch.zeros(num_workers, dtype=torch.float64).share_memory_()
        self.version = torch.full((num_workers,), -1, dtype=torch.int64).share_memory_()
        self.phase = torch.full((num_workers,), STARTING, dtype=torch.int64).share_memory_()
        self.incarnation = torch.zeros(num_workers, dtype=torch.int64).share_memory_()
        self.control = torch.zeros(2, dtype=torch.int64).share_memory_()  # [stop flag, run timesteps]

    @property
    def stopping(self) -> bool:
        return bool(self.control[0])

    def request_stop(self) -> None:
        self.control[0] = 1

    @property
    def timesteps(self) -> int:
        return int(self.control[1])

    @timesteps.setter
    def timesteps(self, value: int) -> None:
        self.control[1] = int(value)
