"""Search self-play: many games searched together by one BatchedMCTS, one ply of every game per ``step()``.

Each move is searched fully (``selfplay.simulations``, root noise: Gumbel or Dirichlet) with probability
``full_search_share`` and then becomes a training position (its improved policy over every legal move, its
root value), or cheaply (``cheap_simulations``, no noise) and is only played: KataGo's playout cap
randomisation. The first ``sample_plies`` plies of a game sample their move from the improved policy (after a
full search); later moves are the search's choice. A game whose root value falls below ``-resign_threshold``
is resigned, except in a ``resign_playout_share`` of games, which play on and report whether the side that
would have resigned went on to lose (false resigns). As in AlphaGo Zero, the threshold adapts: once 20 played-out
games have a winner, resigning needs a value below the ``false_resign_target`` quantile of the lowest root
values those winners saw (so about that share of resignations would be false), when that is stricter. Entering-king declarations are made when they win; mates
are found by the search's mate checks. Trees are reused from move to move (the search's keys).

No torch here: the evaluator is any keisei.search.Evaluator. Finished games come back as :class:`PlayedGame`
with their positions as keisei.shogi.replay records.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search.evaluator import Evaluator
from keisei.search.mcts import BatchedMCTS, SearchResult
from keisei.shogi import COLORS, Game
from keisei.shogi.replay import FLAG_RESIGNED, FLAG_TERMINATED, FLAG_TRUNCATED, REPLAY_DTYPE, ReplayShard

__all__ = ["PlayedGame", "SelfPlayGames", "selfplay_search_config"]


def selfplay_search_config(search: SearchConfig, selfplay: SelfPlayConfig, seed: int) -> SearchConfig:
    """[search] with the fields [selfplay] sets for self-play (root, simulations, considered, Gumbel scales)."""
    return search.model_copy(update={
        "algorithm": selfplay.root, "simulations": selfplay.simulations, "gumbel_considered": selfplay.considered,
        "value_scale": selfplay.value_scale, "maxvisit_init": selfplay.maxvisit_init, "seed": seed})


@dataclass
class PlayedGame:
    """A finished self-play game and its recorded positions (``shard.positions`` in ply order)."""

    game_id: int
    start_sfen: str
    moves: list[str]
    winner: str | None
    reason: str
    truncated: bool
    shard: ReplayShard
    would_resign: str | None = None  # a played-out game: the colour that would have resigned first
    resigned: bool = False

    @property
    def plies(self) -> int:
        return len(self.moves)

    @property
    def false_resign(self) -> bool | None:
        """Played out after a would-be resignation: True when that side did not lose (it won, or drew by a rule);
        None when not checked or when the ply limit cut the game (its result is unknown)."""
        if self.would_resign is None or self.truncated:
            return None
        return self.winner != COLORS[1 - COLORS.index(self.would_resign)]


@dataclass
class _Slot:
    game: Game
    game_id: int
    playout: bool  # resignation disabled (false-resign measurement)
    rows: list[tuple] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    would_resign: str | None = None
    low: dict[str, float] = field(default_factory=dict)  # a played-out game: each side's lowest root value


@dataclass
class SelfPlayStats:
    """Counts since the last ``take()``: moves played, full searches, simulations, search seconds."""

    moves: int = 0
    full: int = 0
    simulations: int = 0
    seconds: float = 0.0
    batches: int = 0
    positions: int = 0

    def take(self) -> SelfPlayStats:
        out = SelfPlayStats(self.moves, self.full, self.simulations, self.seconds, self.batches, self.positions)
        self.moves = self.full = self.simulations = self.batches = self.positions = 0
        self.seconds = 0.0
        return out


class SelfPlayGames:
    """``num_games`` games played together; ``step(version)`` plays one ply of each and returns the games
    that finished. Game ids count up from ``first_game_id``; a slot's next game starts at once."""

    def __init__(self, evaluator: Evaluator, search: SearchConfig, selfplay: SelfPlayConfig, *, num_games: int,
                 openings: list[Game] | None = None, max_plies: int = 256, impasse_points: int = 27,
                 seed: int = 0, first_game_id: int = 0) -> None:
        if num_games < 1:
            raise ValueError(f"num_games must be >= 1, got {num_games}")
        self.cfg = selfplay
        self.mcts = BatchedMCTS(evaluator, selfplay_search_config(search, selfplay, seed))
        self.evaluator = evaluator
        self._version: int | None = None  # the weights' version the evaluator last saw
        self.rng = np.random.default_rng(seed)
        self.openings = openings or [Game(max_plies=max_plies, impasse_points=impasse_points)]
        self.next_id = first_game_id
        self.stats = SelfPlayStats()
        self.winner_lows: deque[float] = deque(maxlen=500)  # played-out games: the winner's lowest root value
        self.slots = [self._new_slot() for _ in range(num_games)]
        #: called with (games, results) after each batched search, before the moves are played (a live view)
        self.on_searched = None

    def _new_slot(self) -> _Slot:
        opening = self.openings[int(self.rng.integers(len(self.openings)))] if len(self.openings) > 1 else self.openings[0]
        playout = self.cfg.resign_threshold > 0 and self.rng.random() < self.cfg.resign_playout_share
        slot = _Slot(opening.copy(), self.next_id, playout)
        self.next_id += 1
        return slot

    def step(self, version: int) -> list[PlayedGame]:
        """One ply of every game (one batched search over all of them); the games that ended.

        A new ``version`` (new weights) refreshes an evaluator that keeps its own copy of them (onnxruntime)."""
        cfg = self.cfg
        if version != self._version:
            if self._version is not None and hasattr(self.evaluator, "refresh"):
                self.evaluator.refresh()
            self._version = version
        done: list[PlayedGame] = []
        for i, slot in enumerate(self.slots):  # a winning declaration is made before searching
            if slot.game.impasse_outcome() == "win":
                slot.game.declare_win()
                done.append(self._finish(i))
        n = len(self.slots)
        full = self.rng.random(n) < cfg.full_search_share
        sims = [cfg.simulations if f else cfg.cheap_simulations for f in full]
        start = time.perf_counter()
        batches, positions = self.mcts.batches, self.mcts.positions
        results = self.mcts.search([s.game for s in self.slots], simulations=sims, add_noise=full.tolist(),
                                   keys=[s.game_id for s in self.slots])
        if self.on_searched is not None:
            self.on_searched([s.game for s in self.slots], results)
        st = self.stats
        st.seconds += time.perf_counter() - start
        st.batches += self.mcts.batches - batches
        st.positions += self.mcts.positions - positions
        for i, (slot, result, is_full) in enumerate(zip(self.slots, results, full.tolist())):
            game = slot.game
            st.moves += 1
            st.simulations += result.simulations
            threshold = self.resign_threshold()
            if slot.playout:
                slot.low[game.turn] = min(slot.low.get(game.turn, 1.0), result.value)
            if threshold > 0 and result.value < -threshold:
                if not slot.playout:
                    game.adjudicate(COLORS[1 - COLORS.index(game.turn)], "resign")
                    done.append(self._finish(i))
                    continue
                slot.would_resign = slot.would_resign or game.turn
            moves = list(result.policy)
            move = result.move
            if is_full:
                st.full += 1
                pick = moves.index(move)
                if game.ply < cfg.sample_plies and len(moves) > 1:
                    p = result.probs / result.probs.sum()
                    pick = int(self.rng.choice(len(p), p=p))
                    move = moves[pick]
                self._record(slot, result, version, int(result.labels[pick]))
            game.push_usi(move)
            if game.result is not None:
                done.append(self._finish(i))
        return done

    def resign_threshold(self) -> float:
        """The value below minus which a side resigns now: selfplay.resign_threshold, or stricter once 20
        played-out games tell how low winners' values went (0: never resign)."""
        t = self.cfg.resign_threshold
        if t <= 0 or len(self.winner_lows) < 20:
            return t
        return max(t, min(1.0, -float(np.quantile(np.array(self.winner_lows), self.cfg.false_resign_target))))

    def _record(self, slot: _Slot, result: SearchResult, version: int, label: int) -> None:
        hcp = np.empty(32, dtype=np.uint8)
        slot.game.board.to_hcp(hcp)
        probs = np.asarray(result.probs, dtype=np.float32)
        slot.rows.append((hcp, slot.game.ply, label, float(result.value), version, slot.game.turn))
        slot.labels.append(np.asarray(result.labels, dtype=np.uint16))
        slot.probs.append(probs / probs.sum())

    def _finish(self, index: int) -> PlayedGame:
        """The slot's game as a PlayedGame (its positions' outcomes set); a new game takes the slot."""
        slot = self.slots[index]
        game = slot.game
        res = game.result
        assert res is not None
        flags = FLAG_TRUNCATED if res.truncated else FLAG_TERMINATED
        if res.reason == "resign":
            flags |= FLAG_RESIGNED
        if slot.playout and res.winner is not None and not res.truncated and res.winner in slot.low:
            self.winner_lows.append(slot.low[res.winner])
        rows = np.zeros(len(slot.rows), dtype=REPLAY_DTYPE)
        lengths = np.array([len(lab) for lab in slot.labels], dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        for j, (hcp, ply, label, value, version, turn) in enumerate(slot.rows):
            r = rows[j]
            r["hcp"] = hcp
            r["ply"] = ply
            r["move"] = label
            r["outcome"] = 0 if res.winner is None or res.truncated else (1 if res.winner == turn else -1)
            r["flags"] = flags
            r["root_value"] = value
            r["version"] = version
            r["game_id"] = slot.game_id
            r["policy_start"] = starts[j]
            r["policy_len"] = lengths[j]
        moves = game.moves
        labels = np.concatenate(slot.labels) if slot.labels else np.zeros(0, np.uint16)
        probs = np.concatenate(slot.probs) if slot.probs else np.zeros(0, np.float32)
        self.mcts.forget(slot.game_id)
        played = PlayedGame(slot.game_id, game.start_sfen, moves, res.winner, res.reason, res.truncated,
                            ReplayShard(rows, labels, probs), slot.would_resign, res.reason == "resign")
        self.slots[index] = self._new_slot()
        return played
