"""The network-backed ``Thinker`` of the USI engine: BatchedMCTS on one game, or the raw policy.

``build_thinker(options)`` loads the checkpoint named by the ``ModelFile`` option (keisei.usi.options) and
returns a ``NetworkThinker``. With ``SearchAlgorithm`` ``puct`` or ``gumbel`` it searches with
``keisei.search.mcts.BatchedMCTS`` (one tree, ``BatchSize`` leaves per network call, the tree reused
between moves of a game, ``USI_Hash`` MiB of tree rows); with ``policy`` it plays the argmax of the network's masked policy (one forward).
Every other search setting comes from the ``[search]`` config (``keisei usi --set search.c_puct=2``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from keisei.config import SearchConfig
from keisei.models.masking import mask_logits, select_actions
from keisei.search import BatchedMCTS, make_evaluator
from keisei.shogi import Game, encode, legal_mask, usi_of
from keisei.shogi.mate import mate_search
from keisei.usi.thinking import ThinkLine, ThinkReport, ThinkRequest

log = logging.getLogger(__name__)

BY_TIME_SIMULATIONS = 1_000_000  # the cap when only the clock limits a search (should_stop ends it)
DEFAULT_TREE_NODES = 2_000_000
NODE_BYTES = 40  # a tree row (keisei.search.tree): USI_Hash MiB -> rows


def build_thinker(options: Mapping[str, object], search: SearchConfig | None = None) -> NetworkThinker:
    """A thinker for the engine's current option values (loads the network: the slow part of ``isready``).

    ``search`` (the config's ``[search]``) holds every search setting; the options SearchAlgorithm and
    BatchSize and Backend (which default to its values) and USI_Hash (tree rows) override their part of it."""
    from keisei.checkpoint import load_model_from_checkpoint

    path = str(options.get("ModelFile") or "")
    if not path:
        raise ValueError("no ModelFile set (keisei usi --checkpoint PATH, or setoption name ModelFile)")
    threads = int(options.get("Threads", 1) or 1)
    torch.set_num_threads(threads)
    device = torch.device(str(options.get("Device") or "cpu"))
    model, _ = load_model_from_checkpoint(path, device=device)
    hash_mib = int(options.get("USI_Hash", 0) or 0)
    max_nodes = min(50_000_000, max(65_536, hash_mib * (1 << 20) // NODE_BYTES)) if hash_mib else DEFAULT_TREE_NODES
    search = search or SearchConfig()
    algorithm = str(options.get("SearchAlgorithm", search.algorithm))
    if algorithm == "policy":
        return NetworkThinker(model, device=device, search=None, threads=threads)
    config = SearchConfig(**{**search.model_dump(), "algorithm": algorithm, "max_nodes": max_nodes,
                             "batch_size": int(options.get("BatchSize", search.batch_size) or search.batch_size),
                             "backend": str(options.get("Backend", search.backend) or search.backend)})
    return NetworkThinker(model, device=device, search=config, threads=threads)


class NetworkThinker:
    """Moves from a network (eval mode, read-only, ``torch.inference_mode``) for the USI server."""

    def __init__(
        self,
        model: nn.Module,
        *,
        device: torch.device | str = "cpu",
        search: SearchConfig | None = None,
        threads: int | None = None,
    ) -> None:
        """``search`` None: play the raw policy (argmax); else search with it (``search.max_nodes`` rows)."""
        self.model = model.eval()
        self.threads = threads
        self.device = torch.device(device)
        self.mode = "policy"
        self._mcts = None
        self._rate: float | None = None  # measured simulations per second (for Gumbel by time)
        self._rng = np.random.default_rng()  # RandomOpeningPly draws (OS entropy: matches differ)
        self._generator = torch.Generator().manual_seed(int(self._rng.integers(2**62)))
        if search is not None:
            self._mcts = BatchedMCTS(make_evaluator(self.model, self.device, search.backend, search.onnx_max_batch,
                                                    threads), search)
            self.mode = search.algorithm

    # ------------------------------------------------------------------ Thinker
    def think(self, request: ThinkRequest) -> ThinkReport:
        if request.game.result is not None:
            raise ValueError(f"cannot think in a finished game ({request.game.result.reason})")
        if self.threads is not None and torch.get_num_threads() != self.threads:
            # torch's intra-op thread count is kept per OS thread (OpenMP): the isready thread's setting
            # does not reach the server's long-lived worker thread, so the thread that searches sets it
            torch.set_num_threads(self.threads)
        if self._mcts is None:
            return self._policy(request)
        return self._search(request)

    def new_game(self) -> None:
        if self._mcts is not None:
            self._mcts.reset()

    def close(self) -> None:
        self._mcts = None

    # ------------------------------------------------------------------ policy
    def _policy(self, request: ThinkRequest) -> ThinkReport:
        """Argmax of the masked policy; MultiPV lines are the next most probable moves (value: the root's)."""
        game = request.game
        obs = torch.from_numpy(encode(game)[None]).to(self.device)
        mask = torch.from_numpy(legal_mask(game)[None])
        with torch.inference_mode():
            logits, value = self.model(obs)
        masked = mask_logits(logits.float().cpu(), mask)[0].numpy()
        legal = np.flatnonzero(mask[0].numpy())
        order = legal[np.argsort(-masked[legal], kind="stable")][: max(1, request.multipv)]
        if request.sample:  # variety: a move drawn from the policy leads (RandomOpeningPly)
            drawn = int(select_actions(torch.from_numpy(masked[None]), mask, deterministic=False,
                                       generator=self._generator)[0])
            order = np.array([drawn, *[a for a in order if a != drawn]][: max(1, request.multipv)])
        root = float(value.float().cpu()[0])
        lines = tuple(ThinkLine(usi_of(game, int(a)), root, (usi_of(game, int(a)),)) for a in order)
        return ThinkReport(lines, nodes=1, depth=1, seldepth=1)

    # ------------------------------------------------------------------ search
    def _search(self, request: ThinkRequest) -> ThinkReport:
        """One tree (key 0) that BatchedMCTS reuses while the game only moves on (``new_game`` forgets it)."""
        game = request.game
        mcts = self._mcts
        assert mcts is not None
        simulations = request.nodes or self._by_time_simulations(request.time_budget_s)

        def progress(results: list) -> None:
            request.on_progress(self._report(game, results[0], request.multipv, mcts.pv))

        started = time.perf_counter()
        [result] = mcts.search([game], simulations=simulations, should_stop=request.should_stop,
                               on_progress=progress, progress_interval_s=0.25)
        elapsed = time.perf_counter() - started
        if result.simulations >= 32 and elapsed > 0.05:
            rate = result.simulations / elapsed
            self._rate = rate if self._rate is None else 0.7 * self._rate + 0.3 * rate
        report = self._report(game, result, request.multipv, mcts.pv)
        return self._sampled(game, result, report, mcts) if request.sample and result.mate is None else report

    def _sampled(self, game: Game, result, report: ThinkReport, mcts: BatchedMCTS) -> ThinkReport:
        """Variety (RandomOpeningPly): the move is drawn in proportion to the root's visits and leads the report."""
        moves = [m for m, n in result.visits.items() if n > 0]
        if not moves:
            return report
        weights = np.array([result.visits[m] for m in moves], dtype=np.float64)
        move = moves[int(self._rng.choice(len(moves), p=weights / weights.sum()))]
        line = ThinkLine(move, float(result.q.get(move, result.value)), tuple(mcts.pv(0, move)) or (move,))
        rest = tuple(x for x in report.lines if x.move != move)
        return ThinkReport((line, *rest)[: len(report.lines)], nodes=report.nodes, depth=report.depth,
                           seldepth=report.seldepth, searched=report.searched)

    def _by_time_simulations(self, budget_s: float | None) -> int:
        """PUCT: no cap (the clock stops it). Gumbel plans its sequential halving for a number of
        simulations, so it gets what the measured speed fits in the budget."""
        if self.mode != "gumbel" or budget_s is None:
            return BY_TIME_SIMULATIONS
        rate = self._rate if self._rate is not None else 200.0
        return max(16, min(BY_TIME_SIMULATIONS, int(rate * budget_s)))

    @staticmethod
    def _report(game: Game, result, multipv: int, pv_of=None) -> ThinkReport:
        """SearchResult -> ThinkReport: line 1 is the search's move and PV; further lines by visit count,
        each with its own mean value and PV (``pv_of(key, move)``: the tree's line from that root move)."""
        legal = set(game.legal_moves())
        best = result.move if result.move in legal else max(result.visits, key=result.visits.get)
        pv = tuple(result.pv) if result.pv and result.pv[0] == best else (best,)
        if result.mate is not None and len(pv) < abs(result.mate):
            pv = mating_line(game, best, result.mate) or pv
        lines = [ThinkLine(best, float(result.value), pv, mate=result.mate)]
        others = sorted((m for m in result.visits if m != best and result.visits[m] > 0),
                        key=lambda m: -result.visits[m])
        for move in others[: max(0, multipv - 1)]:
            line = tuple(pv_of(0, move)) if pv_of is not None else (move,)
            lines.append(ThinkLine(move, float(result.q.get(move, result.value)), line or (move,)))
        return ThinkReport(tuple(lines), nodes=int(result.nodes), depth=int(result.depth),
                           seldepth=int(result.seldepth), searched=int(result.simulations))


MATING_LINE_NODES = 50_000  # df-pn budget to spell out a mate the tree proved (a few ms for short mates)


def mating_line(game: Game, move: str, mate: int) -> tuple[str, ...] | None:
    """The whole line of a proved mate of ``mate`` plies starting with ``move`` (``score mate N`` / ``-N``):
    for N > 0 the side to move mates (df-pn from here, kept when it starts with ``move``); for N < 0 it is
    mated after ``move`` (df-pn for the opponent after it). None when df-pn does not find it in its budget."""
    if mate > 0:
        found = mate_search(game, max_nodes=MATING_LINE_NODES, max_depth=max(1, mate))
        line = tuple(found.pv) if found.status == "checkmate" else ()
        return line if line[:1] == (move,) else None
    after = game.copy()
    after.push_usi(move)
    if after.result is not None:
        return None
    found = mate_search(after, max_nodes=MATING_LINE_NODES, max_depth=max(1, -mate - 1))
    return (move, *found.pv) if found.status == "checkmate" and found.pv else None
