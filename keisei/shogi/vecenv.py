"""A batch of self-play games stepped together, with observations and legal masks in reused numpy buffers.

All arrays returned by ``reset``/``step`` are preallocated and overwritten by the next call: callers that
keep them must copy. Legal masks are built for all envs at once: the legal moves of every board are
concatenated and turned into labels with one lookup-table index (see ``labels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from keisei.shogi.encoding import DEFAULT_FEATURE_SET, get_feature_set
from keisei.shogi.game import COLORS, Game, IllegalMoveError
from keisei.shogi.labels import LABEL_LUT, NUM_ACTIONS
from keisei.shogi.material import PIECE_VALUE_TABLE

__all__ = ["StepResult", "VecEnv", "parse_opening", "random_legal_actions"]


@dataclass
class StepResult:
    """One step of every env. Arrays are the env's reused buffers (copy to keep).

    ``reward`` is for the player who just moved (+1 win, -1 loss, 0 otherwise). ``final_obs[i]`` is the
    position env ``i``'s game ended in (side to move's view) where ``terminated[i] | truncated[i]``, zeros
    elsewhere. ``obs``/``mask`` of a finished env already show its next game's first position.
    ``infos[i]`` (finished envs only): winner, reason, plies, start_sfen, moves.
    ``captured[i]``: value (``material.PIECE_VALUES``, pawn = 1) of the piece the mover just captured, else 0
    (only with ``VecEnv(track_captures=True)``, else all 0): the signal for optional reward shaping.
    """

    obs: np.ndarray
    mask: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray
    infos: dict[int, dict]
    captured: np.ndarray


def parse_opening(opening: str, max_plies: int = 512, impasse_points: int = 27) -> Game:
    """An opening (an SFEN, or space-separated USI moves from the start position) as a running Game."""
    if not isinstance(opening, str) or not opening.strip():
        raise ValueError(f"opening {opening!r}: expected an SFEN or USI moves from startpos")
    try:
        if "/" in opening:
            game = Game(opening, max_plies=max_plies, impasse_points=impasse_points)
        else:
            game = Game.from_moves(None, opening.split(), max_plies=max_plies, impasse_points=impasse_points)
    except ValueError as exc:
        raise ValueError(f"opening {opening!r}: {exc}") from exc
    if game.result is not None:
        raise ValueError(f"opening {opening!r}: the game is already over ({game.result.reason})")
    return game


class VecEnv:
    """``num_envs`` games; finished games reset automatically to a (seeded) random opening.

    ``openings``: SFENs or USI move sequences from startpos; a game started from a move sequence keeps
    those moves in its history (they count towards ``plies`` and ``max_plies``).
    """

    def __init__(
        self,
        num_envs: int,
        *,
        max_plies: int = 512,
        seed: int | None = None,
        openings: list[str] | None = None,
        feature_set: str = DEFAULT_FEATURE_SET,
        impasse_points: int = 27,
        track_captures: bool = False,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self._features = get_feature_set(feature_set)
        self._features.check()
        self.num_envs = num_envs
        self.max_plies = max_plies
        self._impasse_points = impasse_points
        self._track_captures = track_captures
        if openings is None:
            self._openings = [Game(max_plies=max_plies, impasse_points=impasse_points)]
        else:
            if isinstance(openings, str) or len(openings) == 0:
                raise ValueError("openings must be a non-empty list of SFEN strings or USI move sequences")
            self._openings = [parse_opening(o, max_plies, impasse_points) for o in openings]
        self._draw_openings = openings is not None and len(self._openings) > 1
        self._rng = np.random.default_rng(seed)
        n = num_envs
        shape = self._features.shape
        self._obs = np.zeros((n, *shape), dtype=np.float32)
        self._final_obs = np.zeros((n, *shape), dtype=np.float32)
        self._mask = np.zeros((n, NUM_ACTIONS), dtype=np.bool_)
        self._moves_by_label = np.zeros((n, NUM_ACTIONS), dtype=np.int64)
        self._reward = np.zeros(n, dtype=np.float32)
        self._captured_codes = np.zeros(n, dtype=np.int64)
        self._captured = np.zeros(n, dtype=np.float32)
        self._terminated = np.zeros(n, dtype=np.bool_)
        self._truncated = np.zeros(n, dtype=np.bool_)
        self._rows = np.arange(n, dtype=np.int64)
        self._views = [self._features.views(row) for row in self._obs]
        self._final_views = [self._features.views(row) for row in self._final_obs]
        self._final_rows: list[int] = []
        self._games: list[Game] = []

    @property
    def games(self) -> tuple[Game, ...]:
        """The current games (read only by convention; empty before ``reset``)."""
        return tuple(self._games)

    def state_dict(self) -> dict:
        """Plain-python state (each game's start SFEN and moves, the RNG) for an exact resume."""
        return {
            "num_envs": self.num_envs,
            "games": [{"start_sfen": g.start_sfen, "moves": list(g.moves)} for g in self._games],
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> tuple[np.ndarray, np.ndarray]:
        """Restore games in progress and the RNG saved by ``state_dict``; returns (obs, mask) like ``reset``."""
        if state.get("num_envs") != self.num_envs or len(state.get("games", ())) != self.num_envs:
            raise ValueError(f"env state is for {state.get('num_envs')} envs, this VecEnv has {self.num_envs}")
        games = []
        for i, saved in enumerate(state["games"]):
            try:
                game = Game.from_moves(saved["start_sfen"], saved["moves"], max_plies=self.max_plies,
                                       impasse_points=self._impasse_points)
            except ValueError as exc:
                raise ValueError(f"env state, env {i}: {exc}") from exc
            if game.result is not None:
                raise ValueError(f"env state, env {i}: the saved game is already over")
            games.append(game)
        self._rng.bit_generator.state = state["rng"]
        self._games = games
        self._features.check()
        for game, views in zip(self._games, self._views):
            self._features.write(game._board, *views)
        self._final_obs.fill(0.0)
        self._final_rows = []
        self._refresh_masks()
        return self._obs, self._mask

    def _new_game(self) -> Game:
        if self._draw_openings:
            return self._openings[int(self._rng.integers(len(self._openings)))].copy()
        return self._openings[0].copy()

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        """Start a new game in every env; returns the reused (obs [N,119,9,9] f32, mask [N,2187] bool)."""
        self._features.check()
        self._games = [self._new_game() for _ in range(self.num_envs)]
        write = self._features.write
        for game, views in zip(self._games, self._views):
            write(game._board, *views)
        self._final_obs.fill(0.0)
        self._final_rows = []
        self._refresh_masks()
        return self._obs, self._mask

    def step(self, actions: np.ndarray) -> StepResult:
        """Play one action per env. An illegal action raises ``IllegalMoveError`` before any env moves."""
        if not self._games:
            raise RuntimeError("VecEnv.step() called before reset()")
        acts = self._validate(actions)
        moves = self._moves_by_label[self._rows, acts].tolist()
        self._features.check()
        write = self._features.write
        self._reward.fill(0.0)
        self._terminated.fill(False)
        self._truncated.fill(False)
        if self._final_rows:
            self._final_obs[self._final_rows] = 0.0
        final_rows: list[int] = []
        infos: dict[int, dict] = {}
        games = self._games
        codes, track = self._captured_codes, self._track_captures
        for i, game, move, views in zip(range(self.num_envs), games, moves, self._views):
            if track:
                codes[i] = game._board.piece(move & 0x7F)
            game._push_trusted(move)
            if game._result is not None:
                final_rows.append(i)
                infos[i] = self._finish(i, game)
                game = games[i] = self._new_game()
            write(game._board, *views)
        self._final_rows = final_rows
        self._refresh_masks()
        if track:
            np.take(PIECE_VALUE_TABLE, codes & 15, out=self._captured)
        return StepResult(
            self._obs, self._mask, self._reward, self._terminated, self._truncated, self._final_obs, infos,
            self._captured,
        )

    def _finish(self, i: int, game: Game) -> dict:
        """Record env ``i``'s finished game: final observation, reward, flags; returns its info dict."""
        board, result = game._board, game._result
        self._features.write(board, *self._final_views[i])
        if result.winner is not None:
            self._reward[i] = 1.0 if result.winner == COLORS[1 - board.turn] else -1.0
        self._terminated[i] = result.terminated
        self._truncated[i] = result.truncated
        return {
            "winner": result.winner,
            "reason": result.reason,
            "plies": game.ply,
            "start_sfen": game.start_sfen,
            "moves": game.moves,
        }

    def _validate(self, actions: np.ndarray) -> np.ndarray:
        acts = np.asarray(actions)
        if acts.shape != (self.num_envs,) or acts.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), got {acts.dtype} {acts.shape}"
            )
        acts = acts.astype(np.int64, copy=False)
        in_range = (acts >= 0) & (acts < NUM_ACTIONS)
        ok = in_range.copy()
        ok[in_range] = self._mask[self._rows[in_range], acts[in_range]]
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise IllegalMoveError(f"action {int(acts[i])}", self._games[i].sfen(), f"env {i}: not legal")
        return acts

    def _refresh_masks(self) -> None:
        """Rebuild every legal mask and the label -> move table in a few numpy calls."""
        games = self._games
        legal = [g._legal for g in games]
        counts = np.fromiter(map(len, legal), dtype=np.int64, count=self.num_envs)
        flat = np.fromiter(chain.from_iterable(legal), dtype=np.int64, count=int(counts.sum()))
        colour_keys = np.fromiter((g._board.turn << 15 for g in games), dtype=np.int64, count=self.num_envs)
        labels = LABEL_LUT[(flat & 0x7FFF) | np.repeat(colour_keys, counts)]
        index = np.repeat(self._rows * NUM_ACTIONS, counts) + labels
        mask = self._mask.reshape(-1)
        mask.fill(False)
        mask[index] = True
        self._moves_by_label.reshape(-1)[index] = flat


def random_legal_actions(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random legal action per row of ``mask`` [N, A] (vectorised; every row needs one)."""
    n, width = mask.shape
    flat = np.flatnonzero(mask)
    counts = np.bincount(flat // width, minlength=n)
    if not counts.all():
        raise ValueError(f"mask row {int(np.flatnonzero(counts == 0)[0])} has no legal action")
    starts = np.cumsum(counts) - counts
    pick = starts + (rng.random(n) * counts).astype(np.int64)
    return flat[pick] - np.arange(n, dtype=np.int64) * width
