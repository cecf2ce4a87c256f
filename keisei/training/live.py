"""LiveState: the run's small live view for `keisei dashboard`, in ``run_dir/live.json`` (atomically replaced).

The trainer writes it at most once per ``logging.live_every_seconds``: progress (timesteps, SPS, updates,
games, model version), the last logged metrics, and a few of the current self-play games (position, last
move, ply, the network's value and top moves; for search self-play the root's visits and principal
variation). Collectors hand over boards only when ``due()`` says so, so a step costs one clock read; the
network's view of the shown positions is one small forward pass per publish.

``LiveStateCallback`` refreshes the progress part after every update (rank 0 only). Parallel actor
processes keep their games in the workers: such runs publish progress only (``games`` is empty).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from keisei.atomic import atomic_write_text
from keisei.run.callbacks import Callback, CallbackContext
from keisei.shogi import Game, encode, legal_mask, usi_of

logger = logging.getLogger(__name__)

LIVE_FILE = "live.json"
SCHEMA = 1
TOP_MOVES = 5


@dataclass
class LiveBoard:
    """One shown game: its position and, when known, what the network or the search thinks of it."""

    slot: int
    sfen: str
    ply: int
    turn: str
    last_move: str | None
    value: float | None = None  # side to move's view, [-1, 1]
    top: list[dict[str, Any]] = field(default_factory=list)  # [{"move", "p"}] (policy) or [{"move", "visits", "q"}]
    pv: list[str] = field(default_factory=list)
    searched: int | None = None  # simulations of the search shown

    def to_dict(self) -> dict[str, Any]:
        out = {"slot": self.slot, "sfen": self.sfen, "ply": self.ply, "turn": self.turn, "last_move": self.last_move,
               "value": _finite(self.value), "top": self.top, "pv": self.pv}
        if self.searched is not None:
            out["searched"] = self.searched
        return out


def game_board(slot: int, game: Game) -> LiveBoard:
    moves = game.moves
    return LiveBoard(slot=slot, sfen=game.sfen(), ply=game.ply, turn=game.turn, last_move=moves[-1] if moves else None)


class LiveState:
    """Holds the latest progress and boards; ``publish()`` writes them when the period has passed."""

    def __init__(self, run_dir: Path, *, every_s: float, num_games: int, algorithm: str, model: nn.Module | None,
                 device: torch.device | str = "cpu", clock=time.monotonic) -> None:
        self.path = Path(run_dir) / LIVE_FILE
        self.every_s = float(every_s)
        self.num_games = int(num_games)
        self.algorithm = algorithm
        self.model = model
        self.device = torch.device(device)
        self.clock = clock
        self._next = 0.0
        self._boards_next = 0.0
        self.progress: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.boards: list[LiveBoard] = []
        self.writes = 0
        self.failed = False

    # ------------------------------------------------------------------ boards
    def boards_due(self) -> bool:
        """True when new boards would be shown: a collector's cheap per-step check."""
        return self.num_games > 0 and self.clock() >= self._boards_next

    def set_games(self, games: Sequence[Game], obs: np.ndarray | None = None, mask: np.ndarray | None = None) -> None:
        """The first ``num_games`` of ``games`` with the network's value and top moves (``obs``/``mask``: the
        collector's encoded rows for them, else encoded here)."""
        self._boards_next = self.clock() + self.every_s
        shown = list(games[: self.num_games])
        boards = [game_board(i, g) for i, g in enumerate(shown) if g.result is None]
        if self.model is not None and boards:
            self._network_view(shown, boards, obs, mask)
        self.boards = boards
        self.publish()

    def set_searched(self, games: Sequence[Game], results: Sequence[Any]) -> None:
        """Search self-play: the positions just searched (before their move) with the root's visits, Q and PV."""
        self._boards_next = self.clock() + self.every_s
        boards = []
        for i, (game, result) in enumerate(list(zip(games, results))[: self.num_games]):
            board = game_board(i, game)
            board.value = float(result.value)
            ranked = sorted(((m, n) for m, n in result.visits.items() if n > 0), key=lambda mn: -mn[1])[:TOP_MOVES]
            board.top = [{"move": m, "visits": int(n), "q": _finite(result.q.get(m))} for m, n in ranked]
            board.pv = list(result.pv)
            board.searched = int(result.simulations)
            boards.append(board)
        self.boards = boards
        self.publish()

    def _network_view(self, shown: list[Game], boards: list[LiveBoard], obs: np.ndarray | None,
                      mask: np.ndarray | None) -> None:
        rows = [b.slot for b in boards]
        if obs is None or mask is None:
            obs = np.stack([encode(shown[r]) for r in rows])
            mask = np.stack([legal_mask(shown[r]) for r in rows])
        else:
            obs, mask = obs[rows], mask[rows]
        was_training = self.model.training
        try:
            self.model.eval()
            with torch.inference_mode():
                logits, value = self.model(torch.from_numpy(np.ascontiguousarray(obs)).to(self.device))
            logits = logits.float().cpu().numpy()
            values = value.float().cpu().numpy().reshape(-1)
        finally:
            self.model.train(was_training)
        for k, board in enumerate(boards):
            legal = np.flatnonzero(mask[k])
            if legal.size == 0:
                continue
            z = logits[k, legal] - logits[k, legal].max()
            p = np.exp(z)
            p /= p.sum()
            order = np.argsort(-p, kind="stable")[:TOP_MOVES]
            game = shown[board.slot]
            board.value = float(values[k])
            board.top = [{"move": usi_of(game, int(legal[j])), "p": round(float(p[j]), 4)} for j in order]

    # ------------------------------------------------------------------ progress
    def set_progress(self, progress: dict[str, Any], metrics: dict[str, float]) -> None:
        self.progress = progress
        self.metrics = {k: v for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(v)}
        if self.clock() >= self._next:
            self.publish()

    def publish(self) -> bool:
        """Write live.json now; a failure (e.g. a full disk) is logged once and never stops training."""
        self._next = self.clock() + self.every_s
        data = {"schema": SCHEMA, "time": time.time(), "pid": os.getpid(), "algorithm": self.algorithm,
                "progress": self.progress, "metrics": self.metrics, "games": [b.to_dict() for b in self.boards]}
        try:
            atomic_write_text(self.path, json.dumps(data, separators=(",", ":")))
        except Exception as exc:  # noqa: BLE001 - the live view must never stop training
            if not self.failed:
                logger.warning("cannot write %s (%s): the dashboard's live view stops updating", self.path, exc)
            self.failed = True
            return False
        self.failed = False
        self.writes += 1
        return True


class LiveStateCallback(Callback):
    """Gives ``live`` the run's progress after every update (and once at the start and the end)."""

    def __init__(self, live: LiveState, total_timesteps: int, max_wall_seconds: float) -> None:
        self.live = live
        self.total = int(total_timesteps)
        self.wall = float(max_wall_seconds)
        self.started = time.time()

    def _push(self, ctx: CallbackContext, state: str) -> None:
        last = dict(getattr(ctx.metrics, "last", {}))
        c = ctx.counters
        progress = {"state": state, "timesteps": c.timesteps, "total_timesteps": self.total, "updates": c.updates,
                    "games": c.games, "model_version": c.model_version, "sps": _finite(last.get("charts/SPS")),
                    "started": self.started, "max_wall_seconds": self.wall}
        self.live.set_progress(progress, last)

    def on_training_start(self, ctx: CallbackContext) -> None:
        self.started = time.time()
        self._push(ctx, "running")
        self.live.publish()

    def on_update_end(self, ctx: CallbackContext) -> None:
        self._push(ctx, "running")

    def on_training_end(self, ctx: CallbackContext) -> None:
        self._push(ctx, "finished")
        self.live.boards = []
        self.live.publish()


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)
