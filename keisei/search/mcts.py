"""Batched MCTS: many roots searched together, every network call batched across trees and across leaves.

Each game gets a ``Tree`` of numpy rows and one cshogi board at its root position; a simulation walks down by
``Board.push`` (PUCT selection with numpy over the node's contiguous children), judges a new node with the same
rule functions as ``Game`` (``keisei.shogi.rules``), and walks back up by ``Board.pop``. Up to ``batch_size``
descents per tree run before each network call, kept apart by virtual loss; the leaves of all trees are encoded
into one buffer and evaluated in one call. The root action is chosen by PUCT visits or, with
``algorithm="gumbel"``, by Gumbel-top-k with sequential halving (``keisei.search.gumbel``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import cshogi
import numpy as np

from keisei.search import gumbel as gz
from keisei.search.config import SearchConfig
from keisei.search.evaluator import Evaluator
from keisei.search.tree import EXPANDED, PENDING, TERMINAL, UNEXPANDED, Tree
from keisei.shogi import NUM_ACTIONS, OBS_SHAPE, Game
from keisei.shogi.encoding import DEFAULT_FEATURE_SET, get_feature_set
from keisei.shogi.labels import LABEL_LUT
from keisei.shogi.rules import declaration_outcome, outcome_after_move

__all__ = ["BatchedMCTS", "SearchResult"]

_SIM, _LEAF, _COLLISION = 0, 1, 2


@dataclass
class SearchResult:
    """One root's answer. ``visits`` sums to ``nodes`` (root visits, ``reused`` of them from earlier moves)."""

    move: str  # USI move, always legal; "resign" is never produced here (the caller decides)
    action: int  # dlshogi label of move
    value: float  # root value estimate, side to move's view, [-1, 1]
    visits: dict[str, int]  # root child visit counts by USI move
    policy: dict[str, float]  # improved policy over legal moves (Gumbel: completed-Q policy; PUCT: visits)
    pv: list[str]  # principal variation (USI), starting with move
    nodes: int  # root visits in the tree (simulations run now + reused)
    depth: int
    seldepth: int
    mate: int | None  # +N: side to move mates in N plies; -N: is mated in N; None unknown
    reused: int = 0  # root visits carried over from the previous move's tree
    simulations: int = 0  # simulations run by this search call
    q: dict[str, float] = field(default_factory=dict)  # mean value of each visited root move, side to move's view
    #: the improved policy as arrays over every legal root move: dlshogi labels (int64) and probabilities
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), compare=False)
    probs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64), compare=False)


@dataclass
class _Root:
    """One game's search state: its tree, a board at the root position and the rule history to the root."""

    tree: Tree
    board: cshogi.Board
    start_sfen: str
    moves: list[int]
    hashes: list[int]
    checks: list[bool]
    counts: dict[int, int]
    max_plies: int
    impasse: int
    # per search call
    remaining: int = 0
    run: int = 0
    seldepth: int = 0
    full: bool = False
    gumbel: np.ndarray | None = None
    logits: np.ndarray | None = None
    table: np.ndarray | None = None
    root_visits: np.ndarray | None = None
    sim_index: int = 0
    immediate: SearchResult | None = None
    reused: int = 0
    pending: list = field(default_factory=list)

    @property
    def ply(self) -> int:
        return len(self.moves)


def _alt(length: int) -> np.ndarray:
    """Backup signs for a path of ``length`` rows: -1 at the leaf, alternating up to the root."""
    signs = np.ones(length, dtype=np.float64)
    signs[length - 1 :: -2] = -1.0
    return signs


class BatchedMCTS:
    """Searches many games' positions at once (see module doc). Not thread-safe: one search at a time."""

    def __init__(self, evaluator: Evaluator, config: SearchConfig, *, max_nodes: int | None = None) -> None:
        """``max_nodes``: tree rows per root (None: ``config.max_nodes``)."""
        max_nodes = config.max_nodes if max_nodes is None and isinstance(config, SearchConfig) else max_nodes
        if not isinstance(config, SearchConfig):
            raise TypeError(f"config must be a SearchConfig, got {type(config).__name__}")
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1024:
            raise ValueError(f"max_nodes must be an integer >= 1024, got {max_nodes!r}")
        self.evaluator = evaluator
        self.config = config
        self.max_nodes = max_nodes
        self._features = get_feature_set(DEFAULT_FEATURE_SET)
        self._rng = np.random.default_rng(config.seed)
        self._roots: dict[Hashable, _Root] = {}
        self._obs = np.zeros((0, *OBS_SHAPE), dtype=np.float32)
        self._mask = np.zeros((0, NUM_ACTIONS), dtype=np.bool_)
        self._views: list[tuple[np.ndarray, ...]] = []
        self._signs = [_alt(n) for n in range(64)]
        self.batches = 0  # evaluator calls made by this searcher (batch fill = positions / batches)
        self.positions = 0  # positions sent to the evaluator

    # ------------------------------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget every tree and restart the random stream from the seed."""
        self._roots.clear()
        self._rng = np.random.default_rng(self.config.seed)

    def forget(self, key: Hashable) -> None:
        """Drop the key's tree (its game is over)."""
        self._roots.pop(key, None)

    def advance(self, index: Hashable, move: str) -> None:
        """Tree reuse: the game at ``index`` played ``move``; keep that subtree as the root of its next search."""
        root = self._roots.get(index)
        if root is None:
            return
        if not self._step_root(root, root.board.move_from_usi(move) if isinstance(move, str) else 0):
            del self._roots[index]

    def search(
        self,
        games: Sequence[Game],
        *,
        simulations: int | Sequence[int] | None = None,
        add_noise: bool | Sequence[bool] = False,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[list[SearchResult]], None] | None = None,
        progress_interval_s: float = 0.5,
        keys: Sequence[Hashable] | None = None,
    ) -> list[SearchResult]:
        """Search every game's current position; one evaluator call per batch across all trees.

        ``simulations`` and ``add_noise`` may be one value for every game or one per game (self-play's playout
        cap: full searches with noise and cheap ones without, in the same batches). ``keys`` name the trees
        (default: the index in ``games``); a tree is reused when its game has only
        advanced since the last search (moves played that exist in the tree), else rebuilt. ``should_stop``
        is checked between batches (every root has at least one simulation first); ``on_progress`` gets
        interim results about every ``progress_interval_s``. Games are not modified.
        """
        sims = self.config.simulations if simulations is None else simulations
        per_sims = [sims] * len(games) if isinstance(sims, int) else list(sims)
        for n in per_sims:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"simulations must be an integer >= 1, got {n!r}")
        noise = [add_noise] * len(games) if isinstance(add_noise, bool) else [bool(x) for x in add_noise]
        if len(per_sims) != len(games) or len(noise) != len(games):
            raise ValueError("simulations and add_noise: one value, or one per game")
        keys = list(range(len(games))) if keys is None else list(keys)
        if len(keys) != len(games) or len(set(keys)) != len(keys):
            raise ValueError("search keys must be distinct, one per game")
        for game in games:
            if game.result is not None:
                raise ValueError(f"cannot search a finished game ({game.result.reason}): sfen {game.sfen()}")
        self._features.check()
        roots = [self._root_for(key, game) for key, game in zip(keys, games)]
        self._trim(keys)
        for root, n in zip(roots, per_sims):
            root.remaining, root.run, root.seldepth, root.full = n, 0, 0, False
            root.immediate = self._root_mate(root)
        todo = [r for r in roots if r.immediate is None]
        self._expand_roots([r for r in todo if r.tree.state[0] != EXPANDED])
        for root, n, noisy in zip(roots, per_sims, noise):
            if root.immediate is None:
                self._prepare_root(root, n, noisy)
        last = time.monotonic()
        first_round = True
        while todo:
            if not first_round and should_stop is not None and should_stop():
                break
            self._round(todo)
            first_round = False
            todo = [r for r in todo if r.remaining > 0 and not r.full]
            if on_progress is not None and todo and time.monotonic() - last >= progress_interval_s:
                on_progress([self._result(r) for r in roots])
                last = time.monotonic()
        return [self._result(r) for r in roots]

    # ------------------------------------------------------------------------------------------ tree setup
    def _new_root(self, game: Game) -> _Root:
        hashes, checks, counts = game.history()
        return _Root(
            Tree(self.max_nodes), game.board.copy(), game.start_sfen, game.move_ints, hashes, checks, counts,
            game.max_plies, game.impasse_points,
        )

    def _root_for(self, key: Hashable, game: Game) -> _Root:
        """The key's tree if its game has only moved on (walked down those moves), else a new tree."""
        root = self._roots.pop(key, None)
        if root is not None:
            played = game.move_ints
            same = root.start_sfen == game.start_sfen and played[: root.ply] == root.moves
            same = same and root.max_plies == game.max_plies and root.impasse == game.impasse_points
            same = same and root.tree.size < self.max_nodes * 0.9  # a (nearly) full tree starts afresh
            # draws are scored for the root's side: with a draw_value, reuse only for the same side to move
            same = same and (self.config.draw_value == 0.0 or (len(played) - root.ply) % 2 == 0)
            if same:
                for move in played[root.ply :]:
                    if not self._step_root(root, move):
                        same = False
                        break
            if not same:
                root = None
        if root is None:
            root = self._new_root(game)
        self._roots[key] = root
        return root

    def _trim(self, keys: list[Hashable]) -> None:
        """Keep at most max(64, 2 x this call's roots) trees, dropping the least recently searched."""
        limit = max(64, 2 * len(keys))
        while len(self._roots) > limit:
            del self._roots[next(iter(self._roots))]

    def _step_root(self, root: _Root, move: int) -> bool:
        """Move ``root`` down by ``move`` keeping that subtree; False when the move is not an expanded child."""
        tree = root.tree
        if tree.state[0] != EXPANDED or move == 0:
            return False
        kids = tree.children(0)
        hits = np.flatnonzero(tree.move[kids] == move)
        if hits.size == 0:
            return False
        child = kids.start + int(hits[0])
        board = root.board
        board.push(move)
        key = board.zobrist_hash()
        root.moves.append(move)
        root.hashes.append(key)
        root.checks.append(board.is_check())
        root.counts[key] = root.counts.get(key, 0) + 1
        if tree.state[child] != EXPANDED:
            root.tree = Tree(self.max_nodes)
        else:
            root.tree = tree.subtree(child)
        return True

    def _root_mate(self, root: _Root) -> SearchResult | None:
        """A mate in 1 (or 3 with mate_depth 3) at the root: answered at once without a search."""
        depth = self.config.mate_depth
        board = root.board
        if depth == 0 or board.is_check():
            return None
        legal = list(board.legal_moves)
        move, plies = board.mate_move_in_1ply(), 1
        if not (move and move in legal) and depth >= 3:
            move, plies = board.mate_move(3), 3
        if not (move and move in legal):
            return None
        usi = cshogi.move_to_usi(move)
        action = int(LABEL_LUT[(move & 0x7FFF) | (board.turn << 15)])
        return SearchResult(usi, action, 1.0, {}, {usi: 1.0}, [usi], 0, 1, plies, plies,
                            labels=np.array([action], dtype=np.int64), probs=np.ones(1))

    def _expand_roots(self, roots: list[_Root]) -> None:
        """Evaluate and expand every unexpanded root in one call (the root visit is not a simulation)."""
        if not roots:
            return
        self._ensure_buffers(len(roots))
        entries = []
        for slot, root in enumerate(roots):
            entries.append((root, 0, [0], self._encode(root.board, slot), root.board.turn))
        self._evaluate(entries)

    def _prepare_root(self, root: _Root, sims: int, add_noise: bool) -> None:
        tree, cfg = root.tree, self.config
        kids = tree.children(0)
        root.reused = int(tree.N[kids].sum())
        if cfg.algorithm == "puct":
            if add_noise:
                noise = self._rng.dirichlet(np.full(kids.stop - kids.start, cfg.dirichlet_alpha))
                tree.P[kids] = (1.0 - cfg.dirichlet_epsilon) * tree.P[kids] + cfg.dirichlet_epsilon * noise
            return
        n = kids.stop - kids.start
        root.logits = np.log(np.maximum(tree.P[kids].astype(np.float64), 1e-30))
        root.gumbel = self._rng.gumbel(size=n) if add_noise else np.zeros(n)
        root.table = gz.considered_visits(min(cfg.gumbel_considered, n), sims)
        root.root_visits = np.zeros(n, dtype=np.int64)
        root.sim_index = 0

    # ---------------------------------------------------------------------------------------- simulations
    def _ensure_buffers(self, n: int) -> None:
        if self._obs.shape[0] < n:
            self._obs = np.zeros((n, *OBS_SHAPE), dtype=np.float32)
            self._mask = np.zeros((n, NUM_ACTIONS), dtype=np.bool_)
            self._views = [self._features.views(row) for row in self._obs]

    def _encode(self, board: cshogi.Board, slot: int) -> np.ndarray:
        """Write the board's features into ``slot``; -> its legal moves (masks are built per batch)."""
        self._features.write(board, *self._views[slot])
        return np.fromiter(board.legal_moves, dtype=np.int64)

    def _round(self, roots: list[_Root]) -> None:
        """Up to batch_size descents per tree, then one evaluator call for all their new leaves."""
        bs = self.config.batch_size
        self._ensure_buffers(sum(min(bs, r.remaining) for r in roots))
        entries: list = []
        for root in roots:
            for _ in range(min(bs, root.remaining)):
                outcome = self._descend(root, entries)
                if outcome == _COLLISION or root.full:
                    break
        if entries:
            self._evaluate(entries)

    def _select(self, tree: Tree, node: int) -> int:
        """PUCT: argmax Q + c_puct * P * sqrt(N_parent) / (1 + N). ``Q`` holds W / N, and for an unvisited
        child the first-play urgency (parent's network value - fpu_reduction) set when the parent expanded."""
        start = int(tree.first[node])
        end = start + int(tree.nch[node])
        score = (self.config.c_puct * float(tree.N[node]) ** 0.5) * tree.P[start:end] / (1.0 + tree.N[start:end])
        score += tree.Q[start:end]
        return start + int(score.argmax())

    def _select_root_gumbel(self, root: _Root) -> int:
        tree, cfg = root.tree, self.config
        kids = tree.children(0)
        n = tree.N[kids]
        q = tree.W[kids] / np.maximum(n, 1)
        sigma = gz.completed_q(q, n, tree.P[kids], float(tree.raw[0]), cfg.value_scale, cfg.maxvisit_init)
        visits = root.root_visits
        target = int(root.table[root.sim_index]) if root.sim_index < len(root.table) else int(visits.max())
        score = gz.score_considered(target, root.gumbel, root.logits, sigma, visits)
        j = int(score.argmax())
        visits[j] += 1
        root.sim_index += 1
        return kids.start + j

    def _descend(self, root: _Root, entries: list) -> int:
        """One simulation: select down to a new or terminal node; a new node is judged, then queued for the
        evaluator (``_LEAF``) or backed up at once if the rules end the game there (``_SIM``)."""
        tree, board, cfg = root.tree, root.board, self.config
        N, W, Q, state = tree.N, tree.W, tree.Q, tree.state
        hashes, checks, counts = root.hashes, root.checks, root.counts
        gumbel_root = cfg.algorithm == "gumbel"
        path = [0]
        N[0] += 1
        W[0] -= 1.0
        node = self._select_root_gumbel(root) if gumbel_root else self._select(tree, 0)
        while True:
            board.push(int(tree.move[node]))
            key = board.zobrist_hash()
            hashes.append(key)
            checks.append(board.is_check())
            counts[key] = counts.get(key, 0) + 1
            path.append(node)
            N[node] += 1
            W[node] -= 1.0
            Q[node] = W[node] / N[node]
            if state[node] != EXPANDED:
                break
            node = self._select(tree, node)
        depth = len(path) - 1
        root.seldepth = max(root.seldepth, depth)
        kind = int(state[node])
        result = _SIM
        if kind == TERMINAL:
            self._backup(tree, path, float(tree.tval[node]))
        elif kind == PENDING:
            idx = np.array(path)
            N[idx] -= 1
            W[idx] += 1.0
            Q[idx] = W[idx] / np.maximum(N[idx], 1)  # every node of the path keeps >= 1 real visit
            if gumbel_root:
                root.root_visits[path[1] - tree.children(0).start] -= 1
                root.sim_index -= 1
            result = _COLLISION
        else:
            result = self._judge(root, node, path, key, entries)
        for _ in range(depth):
            board.pop()
            k = hashes.pop()
            checks.pop()
            counts[k] -= 1
        if result != _COLLISION:
            root.remaining -= 1
            root.run += 1
        return result

    def _judge(self, root: _Root, node: int, path: list[int], key: int, entries: list) -> int:
        """A node reached for the first time (board at its position): terminal by the rules, or queued."""
        tree, board, cfg = root.tree, root.board, self.config
        turn = board.turn
        legal = list(board.legal_moves)
        end = outcome_after_move(
            len(legal), root.checks[-1], turn, root.counts[key], len(root.hashes) - 1, root.max_plies,
            root.hashes, root.checks,
        )
        value, mdist, decisive = 0.0, -1, True
        if end is not None:
            winner = end[0]
            if winner is None:  # a draw: draw_value for the root's side to move (contempt when < 0)
                decisive = False
                value = cfg.draw_value if (len(path) - 1) % 2 == 0 else -cfg.draw_value
            else:
                value = 1.0 if winner == turn else -1.0
            mdist = 0 if end[1] in ("checkmate", "no_moves") else -1
        elif declaration_outcome(board, root.impasse) == "win":
            value = 1.0
        elif cfg.mate_depth and not root.checks[-1]:
            move, plies = board.mate_move_in_1ply(), 1
            if not (move and move in legal) and cfg.mate_depth >= 3:
                move, plies = board.mate_move(3), 3
            if not (move and move in legal):
                move = 0
            if move:
                value, mdist = 1.0, plies
            else:
                return self._queue(root, node, path, entries)
        else:
            return self._queue(root, node, path, entries)
        tree.state[node] = TERMINAL
        tree.tval[node] = value
        tree.mdist[node] = mdist
        self._backup(tree, path, value)
        if decisive and value != 0.0:
            self._prove(tree, path)
        return _SIM

    @staticmethod
    def _prove(tree: Tree, path: list[int]) -> None:
        """Propagate a new won/lost node up the path (never into the root): a node with a child lost for its
        side to move there is won; a node whose children are all won for their side to move is lost.
        ``mdist`` grows by one ply per level (-1 stays -1: a result by perpetual check, not a mate)."""
        for i in range(len(path) - 1, 1, -1):
            child, parent = path[i], path[i - 1]
            if tree.state[child] != TERMINAL:
                return
            dist = int(tree.mdist[child])
            if tree.tval[child] < 0:
                value = 1.0
            elif tree.tval[child] > 0:
                kids = tree.children(parent)
                if not ((tree.state[kids] == TERMINAL) & (tree.tval[kids] > 0)).all():
                    return
                dists = tree.mdist[kids]
                dist = -1 if (dists < 0).any() else int(dists.max())
                value = -1.0
            else:
                return
            tree.state[parent] = TERMINAL
            tree.tval[parent] = value
            tree.mdist[parent] = dist + 1 if dist >= 0 else -1

    def _queue(self, root: _Root, node: int, path: list[int], entries: list) -> int:
        root.tree.state[node] = PENDING
        board = root.board
        entries.append((root, node, path, self._encode(board, len(entries)), board.turn))
        return _LEAF

    def _evaluate(self, entries: list) -> None:
        """One evaluator call for every queued leaf, then expand each and back its value up.

        Legal masks and priors are computed for the whole batch at once: the leaves' legal moves are
        concatenated, labelled with one lookup, and softmaxed per leaf with ``reduceat``.
        """
        count = len(entries)
        lengths = np.fromiter((len(e[3]) for e in entries), dtype=np.int64, count=count)
        moves = np.concatenate([e[3] for e in entries])
        turns = np.fromiter((e[4] for e in entries), dtype=np.int64, count=count)
        rows = np.repeat(np.arange(count), lengths)
        labels = LABEL_LUT[(moves & 0x7FFF) | np.repeat(turns << 15, lengths)]
        mask = self._mask[:count]
        mask.fill(False)
        mask[rows, labels] = True
        logits, values = self.evaluator(self._obs[:count], mask)
        self.batches += 1
        self.positions += count
        starts = np.cumsum(lengths) - lengths
        z = np.asarray(logits)[rows, labels].astype(np.float64)
        z -= np.repeat(np.maximum.reduceat(z, starts), lengths)
        np.exp(z, out=z)
        z /= np.repeat(np.add.reduceat(z, starts), lengths)
        values = np.clip(np.asarray(values, dtype=np.float64).reshape(-1), -1.0, 1.0).tolist()
        fpu = self.config.fpu_reduction
        for (root, node, path, kids, _), offset, k, value in zip(entries, starts.tolist(), lengths.tolist(), values):
            tree = root.tree
            start = tree.alloc(k)
            if start < 0:  # the tree is full: back the value up without expanding, and stop this tree
                tree.state[node] = UNEXPANDED
                root.full = True
            else:
                tree.move[start : start + k] = kids
                tree.P[start : start + k] = z[offset : offset + k]
                tree.Q[start : start + k] = value - fpu
                tree.first[node] = start
                tree.nch[node] = k
                tree.state[node] = EXPANDED
                tree.raw[node] = value
            if node == 0:
                tree.N[0] += 1
                tree.W[0] -= value
            else:
                self._backup(tree, path, value)

    def _backup(self, tree: Tree, path: list[int], value: float) -> None:
        """Undo the path's virtual losses and add ``value`` (leaf side to move's view) with alternating sign."""
        length = len(path)
        while length >= len(self._signs):
            self._signs.append(_alt(len(self._signs)))
        idx = np.array(path)
        w = tree.W[idx] + (1.0 + value * self._signs[length])
        tree.W[idx] = w
        tree.Q[idx] = w / tree.N[idx]

    # --------------------------------------------------------------------------------------------- results
    def _result(self, root: _Root) -> SearchResult:
        if root.immediate is not None:
            return root.immediate
        tree, cfg = root.tree, self.config
        kids = tree.children(0)
        n = tree.N[kids].astype(np.int64)
        q = tree.W[kids] / np.maximum(n, 1)
        moves = tree.move[kids].tolist()
        usi = [cshogi.move_to_usi(m) for m in moves]
        terminal = tree.state[kids] == TERMINAL
        tval, mdist = tree.tval[kids], tree.mdist[kids]
        wins = np.flatnonzero(terminal & (tval < 0))
        if cfg.algorithm == "gumbel":
            sigma = gz.completed_q(q, n, tree.P[kids], float(tree.raw[0]), cfg.value_scale, cfg.maxvisit_init)
            policy = gz.improved_policy(root.logits, sigma)
            visits = root.root_visits
            best = int(gz.score_considered(int(visits.max()), root.gumbel, root.logits, sigma, visits).argmax())
        else:
            total = n.sum()
            policy = n / total if total > 0 else tree.P[kids].astype(np.float64)
            best = int(np.lexsort((-q, -n))[0])
        mate = None
        if wins.size:
            mated = wins[mdist[wins] >= 0]
            best = int(mated[np.argmin(mdist[mated])]) if mated.size else int(wins[0])
            if mated.size:
                mate = int(mdist[best]) + 1
            value = 1.0
        else:
            value = float(q[best]) if n[best] > 0 else float(tree.raw[0])
            if terminal.all() and (tval > 0).all() and (mdist >= 0).all():
                mate = -(int(mdist.max()) + 1)
        pv = self._pv(tree, kids.start + best)
        labels = LABEL_LUT[(tree.move[kids].astype(np.int64) & 0x7FFF) | (root.board.turn << 15)].astype(np.int64)
        action = int(labels[best])
        return SearchResult(
            move=usi[best], action=action, value=max(-1.0, min(1.0, value)),
            visits=dict(zip(usi, n.tolist())), policy=dict(zip(usi, policy.tolist())), pv=pv,
            nodes=int(n.sum()), depth=len(pv), seldepth=max(root.seldepth, len(pv)), mate=mate,
            reused=root.reused, simulations=root.run,
            q={usi[i]: max(-1.0, min(1.0, float(q[i]))) for i in np.flatnonzero(n > 0).tolist()},
            labels=labels, probs=np.asarray(policy, dtype=np.float64),
        )

    def pv(self, key: Hashable, move: str) -> list[str]:
        """The principal variation of the key's last searched root starting with root move ``move`` (MultiPV)."""
        root = self._roots.get(key)
        if root is None or root.tree.state[0] != EXPANDED:
            return [move]
        kids = root.tree.children(0)
        for node in range(kids.start, kids.stop):
            if cshogi.move_to_usi(int(root.tree.move[node])) == move:
                return self._pv(root.tree, node)
        return [move]

    def _pv(self, tree: Tree, node: int) -> list[str]:
        pv = [cshogi.move_to_usi(int(tree.move[node]))]
        while tree.state[node] == EXPANDED and len(pv) < 64:
            kids = tree.children(node)
            n = tree.N[kids]
            if n.max(initial=0) <= 0:
                break
            node = kids.start + int(n.argmax())
            pv.append(cshogi.move_to_usi(int(tree.move[node])))
        return pv
