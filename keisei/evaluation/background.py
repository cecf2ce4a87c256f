"""Evaluate frozen weight snapshots on a background thread while training continues.

:class:`BackgroundEvaluator` owns one daemon thread running its own asyncio loop and one EvaluationManager
(which records every game in ``run_dir/evaluation.sqlite``). ``submit`` never blocks: it refuses (returns
False) when ``max_in_flight`` evaluations are already running. Finished evaluations - results or formatted
tracebacks - are queued for the training thread to collect with ``poll`` (thread-safe hand-over: the
training thread owns the metrics and display sinks). An evaluation that could not write the run's store
carries the ``DurableWriteError`` as ``fatal``: the training thread raises it (training stops, exit 4).

CPU sharing with training: the evaluation plays a handful of games at a time, so its forward passes are
small batches that gain little from intra-op parallelism. The evaluation thread therefore (1) runs torch
ops on ``EVAL_TORCH_THREADS`` (1) thread: with the OpenMP backend (the standard CPU build) a thread's torch
thread count is fixed once it is initialised, and ``torch.set_num_threads`` also sets the default for
threads initialised later - so the training thread (already running) keeps its threads, while the
evaluation's worker threads (EvaluationManager's CPU executor, started later) get one each; ``close``
restores the default. With other parallel backends the setting is process-wide, so it is left alone.
(2) On Linux it lowers its scheduling priority (nice ``EVAL_NICE``, per thread, inherited by the threads it
starts), so evaluation takes the CPU time training leaves idle rather than time training needs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from keisei.atomic import find_in_chain
from keisei.errors import DurableWriteError
from keisei.evaluation.calibration import rating_pins
from keisei.evaluation.manager import EvaluationManager, EvaluationRequest
from keisei.evaluation.recording import record_agent_rating
from keisei.evaluation.store import STORE_FILE
from keisei.weights import ModelWeightManager, WeightSnapshot, tensors_sha256

if TYPE_CHECKING:
    from keisei.config import KeiseiConfig
    from keisei.evaluation.result import EvaluationResult

logger = logging.getLogger(__name__)

EVAL_TORCH_THREADS = 1
EVAL_NICE = 10


def _openmp_backend() -> bool:
    return "parallel backend: OpenMP" in torch.__config__.parallel_info()


def _lower_thread_priority() -> None:
    """Raise this thread's nice value (Linux: per thread; elsewhere it would renice the whole process)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + EVAL_NICE))
    except OSError as exc:
        logger.debug("could not lower the evaluation thread's priority: %s", exc)


def _durable_failure(exc: BaseException) -> DurableWriteError | None:
    """The DurableWriteError ``exc`` is, or was raised from or during, else None."""
    return find_in_chain(exc, DurableWriteError)


@dataclass
class FinishedEvaluation:
    """The outcome of one background evaluation of ``snapshot``."""

    snapshot: WeightSnapshot
    opponents: list[str]
    result: EvaluationResult | None
    error: str | None  # formatted traceback when the evaluation (or the rating fit) failed
    evaluated_sha256: str | None  # hash of the weights the games were actually played with
    agent_elo: float | None  # the agent's Elo from a joint fit of all stored games, when available
    ratings: dict[str, float]  # every stored player's Elo from that fit (empty when not fitted)
    seconds: float
    fatal: DurableWriteError | None = None  # the run's store could not be written: training must stop
    agent_interval: tuple[float, float] | None = None  # 95% interval of agent_elo


class BackgroundEvaluator:
    """Runs evaluations of weight snapshots on one background thread with its own event loop."""

    def __init__(
        self,
        config: KeiseiConfig,
        run_dir: str | Path,
        weight_manager: ModelWeightManager | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        ecfg = config.evaluation
        self.weights = weight_manager or ModelWeightManager(ecfg.weight_cache_entries, ecfg.weight_cache_bytes)
        self.max_in_flight = max_in_flight or ecfg.max_in_flight
        self._finished: queue.SimpleQueue[FinishedEvaluation] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._futures: set[Future] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._manager: EvaluationManager | None = None
        self._default_threads: int | None = None
        self.submitted = 0

    # -- training-thread API -------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Evaluations submitted and not finished yet."""
        with self._cond:
            return len(self._futures)

    def submit(self, snapshot: WeightSnapshot, opponents: list[str], num_games: int | None = None) -> bool:
        """Start evaluating ``snapshot`` against ``opponents`` unless busy; never waits for games."""
        with self._cond:
            if len(self._futures) >= self.max_in_flight:
                return False
            loop = self._ensure_thread()
            future = asyncio.run_coroutine_threadsafe(self._evaluate(snapshot, list(opponents), num_games), loop)
            self._futures.add(future)
            self.submitted += 1
        future.add_done_callback(self._on_done)
        return True

    def poll(self) -> list[FinishedEvaluation]:
        """Finished evaluations since the last poll (never blocks)."""
        out = []
        while True:
            try:
                out.append(self._finished.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> bool:
        """Block until nothing is in flight or ``timeout`` seconds passed; True when all finished."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._futures:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float) -> list[FinishedEvaluation]:
        """Wait up to ``timeout`` s for in-flight evaluations, cancel the rest, stop the thread; -> finished."""
        if not self.wait(timeout):
            with self._cond:
                pending = list(self._futures)
            logger.warning("evaluation: %d evaluation(s) still running after %.0fs; cancelling", len(pending), timeout)
            for future in pending:
                future.cancel()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=max(timeout, 5.0))
            self._loop = self._thread = None
        if self._default_threads is not None:
            torch.set_num_threads(self._default_threads)  # the default for new threads, as before
            self._default_threads = None
        return self.poll()

    def _on_done(self, future: Future) -> None:
        if not future.cancelled():
            if future.exception() is None:
                self._finished.put(future.result())
            else:  # _evaluate reports Exceptions itself; this is a BaseException escaping it
                logger.error("background evaluation aborted", exc_info=future.exception())
        with self._cond:
            self._futures.discard(future)
            self._cond.notify_all()

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        if _openmp_backend():
            self._default_threads = torch.get_num_threads()
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._thread_main, args=(loop, ready, self._default_threads is not None),
                                  name="keisei-eval", daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread
        return loop

    # -- evaluation thread ---------------------------------------------------------------------------------
    @staticmethod
    def _thread_main(loop: asyncio.AbstractEventLoop, ready: threading.Event, limit_threads: bool) -> None:
        asyncio.set_event_loop(loop)
        _lower_thread_priority()
        if limit_threads:
            torch.set_num_threads(EVAL_TORCH_THREADS)  # this thread and threads initialised from now on
        ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _get_manager(self) -> EvaluationManager:
        if self._manager is None:
            self._manager = EvaluationManager(self.config, run_dir=self.run_dir, weight_manager=self.weights)
        return self._manager

    async def _evaluate(
        self, snapshot: WeightSnapshot, opponents: list[str], num_games: int | None
    ) -> FinishedEvaluation:
        start = time.monotonic()
        result = evaluated = elo = error = interval = None
        ratings: dict[str, float] = {}
        try:
            manager = self._get_manager()
            model = self.weights.build(snapshot, manager.eval_device())  # private: nothing else touches it
            result = await manager.evaluate_async(model, EvaluationRequest(
                opponents=opponents, num_games=num_games,
                model_version=snapshot.model_version, timestep=snapshot.timestep, sha256=snapshot.sha256,
            ))
            evaluated = tensors_sha256(model.state_dict())
            elo, ratings, interval = self._record_rating(snapshot, result)
        except Exception as exc:  # noqa: BLE001 - reported to the training thread, never raised into training
            error = traceback.format_exc()
            fatal = _durable_failure(exc)
            if fatal is not None:  # the training thread raises it (one line); the traceback goes to train.log
                logger.error("background evaluation of %s could not write the store:\n%s", snapshot.label, error,
                             extra={"console": False})
                return FinishedEvaluation(snapshot, opponents, None, error, evaluated, None, {},
                                          time.monotonic() - start, fatal)
            logger.error("background evaluation of %s failed:\n%s", snapshot.label, error)
        return FinishedEvaluation(
            snapshot, opponents, result, error, evaluated, elo, ratings, time.monotonic() - start,
            agent_interval=interval,
        )

    def _record_rating(
        self, snapshot: WeightSnapshot, result: EvaluationResult
    ) -> tuple[float | None, dict, tuple[float, float] | None]:
        """Fit all stored games jointly; record the agent's rating at the snapshot's timestep.

        -> (the agent's Elo or None when it cannot be placed, every placed player's Elo, its 95% interval).
        """
        ecfg = self.config.evaluation
        rating, elos = record_agent_rating(
            self.run_dir / STORE_FILE, result.agent, snapshot.timestep, *rating_pins(ecfg),
            model_version=snapshot.model_version, sha256=snapshot.sha256,
        )
        if rating is None:
            logger.info("evaluation: %s is not connected to the anchor %s; no rating recorded",
                        result.agent, ecfg.anchor)
            return None, elos, None
        return rating.elo, elos, (rating.low, rating.high)
