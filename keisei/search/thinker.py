"""The network-backed ``Thinker`` of the USI engine: BatchedMCTS on one game, or the raw policy.

``build_thinker(options)`` loads the checkpoint named by the ``ModelFile`` option (keisei.usi.options) and
returns a ``NetworkThinker``. With ``SearchAlgorithm`` ``puct`` or ``gumbel`` it searches with
``keisei.search.mcts.BatchedMCTS`` (one tree, ``BatchSize`` leaves per network call, the tree reused
between moves of a game); with ``policy`` it plays the argmax of the network's masked policy (one forward).
If the search package is not importable the thinker falls back to the raw policy and says so in ``mode``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from keisei.models.masking import mask_logits
from keisei.shogi import Game, encode, legal_mask, usi_of
from keisei.usi.thinking import ThinkLine, ThinkReport, ThinkRequest

log = logging.getLogger(__name__)

BY_TIME_SIMULATIONS = 1_000_000  # the cap when only the clock limits a search (should_stop ends it)
MAX_TREE_NODES = 400_000


def build_thinker(options: Mapping[str, object]) -> NetworkThinker:
    """A thinker for the engine's current option values (loads the network: the slow part of ``isready``)."""
    from keisei.checkpoint import load_model_from_checkpoint

    path = str(options.get("ModelFile") or "")
    if not path:
        raise ValueError("no ModelFile set (keisei usi --checkpoint PATH, or setoption name ModelFile)")
    torch.set_num_threads(int(options.get("Threads", 1) or 1))
    device = torch.device(str(options.get("Device") or "cpu"))
    model, _ = load_model_from_checkpoint(path, device=device)
    rule = str(options.get("EnteringKingRule", "CSARule27"))
    return NetworkThinker(
        model,
        device=device,
        algorithm=str(options.get("SearchAlgorithm", "puct")),
        batch_size=int(options.get("BatchSize", 16) or 16),
        impasse_points=24 if rule == "CSARule24" else 27,
    )


class NetworkThinker:
    """Moves from a network (eval mode, read-only, ``torch.inference_mode``) for the USI server."""

    def __init__(
        self,
        model: nn.Module,
        *,
        device: torch.device | str = "cpu",
        algorithm: str = "puct",
        batch_size: int = 16,
        impasse_points: int = 27,
        seed: int = 0,
    ) -> None:
        self.model = model.eval()
        self.device = torch.device(device)
        self.mode = "policy"
        self._mcts = None
        self._last: tuple[str, list[str]] | None = None  # (start SFEN, moves) of the last searched position
        if algorithm != "policy":
            try:
                from keisei.search.config import SearchConfig
                from keisei.search.evaluator import NetworkEvaluator
                from keisei.search.mcts import BatchedMCTS
            except ImportError as exc:
                log.warning("keisei.search is not available (%s): playing the raw policy", exc)
            else:
                config = SearchConfig(algorithm=algorithm, batch_size=batch_size, impasse_points=impasse_points,
                                      seed=seed)
                self._mcts = BatchedMCTS(NetworkEvaluator(self.model, self.device), config,
                                         max_nodes=MAX_TREE_NODES)
                self.mode = algorithm

    # ------------------------------------------------------------------ Thinker
    def think(self, request: ThinkRequest) -> ThinkReport:
        if request.game.result is not None:
            raise ValueError(f"cannot think in a finished game ({request.game.result.reason})")
        if self._mcts is None:
            return self._policy(request)
        return self._search(request)

    def new_game(self) -> None:
        self._last = None
        if self._mcts is not None:
            self._mcts.reset()

    def close(self) -> None:
        self._mcts = None
        self._last = None

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
        root = float(value.float().cpu()[0])
        lines = tuple(ThinkLine(usi_of(game, int(a)), root, (usi_of(game, int(a)),)) for a in order)
        return ThinkReport(lines, nodes=1, depth=1, seldepth=1)

    # ------------------------------------------------------------------ search
    def _search(self, request: ThinkRequest) -> ThinkReport:
        game = request.game
        mcts = self._mcts
        assert mcts is not None
        self._reuse_tree(game)
        simulations = request.nodes or BY_TIME_SIMULATIONS

        def progress(results: list) -> None:
            request.on_progress(self._report(game, results[0], request.multipv))

        [result] = mcts.search([game], simulations=simulations, should_stop=request.should_stop,
                               on_progress=progress, progress_interval_s=0.25)
        self._last = (game.start_sfen, game.moves)
        return self._report(game, result, request.multipv)

    def _reuse_tree(self, game: Game) -> None:
        """Advance the tree along the moves played since the last search of this game (else rebuild)."""
        assert self._mcts is not None
        last, moves = self._last, game.moves
        if last is None or last[0] != game.start_sfen or moves[: len(last[1])] != last[1]:
            self._mcts.reset()
            return
        for move in moves[len(last[1]):]:
            self._mcts.advance(0, move)

    @staticmethod
    def _report(game: Game, result, multipv: int) -> ThinkReport:
        """SearchResult -> ThinkReport: line 1 is the search's move and PV; further lines by visit count."""
        legal = set(game.legal_moves())
        best = result.move if result.move in legal else max(result.visits, key=result.visits.get)
        pv = tuple(result.pv) if result.pv and result.pv[0] == best else (best,)
        lines = [ThinkLine(best, float(result.value), pv, mate=result.mate)]
        others = sorted((m for m in result.visits if m != best and result.visits[m] > 0),
                        key=lambda m: -result.visits[m])
        for move in others[: max(0, multipv - 1)]:
            lines.append(ThinkLine(move, float(result.value), (move,)))
        return ThinkReport(tuple(lines), nodes=int(result.nodes), depth=int(result.depth),
                           seldepth=int(result.seldepth))
