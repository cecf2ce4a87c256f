"""`keisei bench search`: simulations per second of BatchedMCTS by batch size, with the share of time in the net.

Evaluators: the stub (``UniformEvaluator``: what the search's own Python-side work costs) and a network (the
tiny preset's architecture with random weights, or ``--checkpoint``) through each ``search.backend``: ``net``
(torch), ``onnx`` (onnxruntime) and ``auto`` (onnxruntime for calls of at most ``search.onnx_max_batch``
positions). With ``--trees 1`` a call carries up to ``batch`` leaves, so the rows compare backends by batch. Each run searches ``--trees``
positions from short random openings together, for about ``--seconds`` per configuration, on one thread.
"per CPU second" divides by this process's CPU time (a fairer figure on a loaded machine; with torch on one
thread it is one core's rate). Figures for the README; tests never assert them.
"""

from __future__ import annotations

import json
import time

import numpy as np

from keisei.search.config import SearchConfig
from keisei.search.evaluator import UniformEvaluator, make_evaluator
from keisei.search.mcts import BatchedMCTS
from keisei.shogi import Game

__all__ = ["main", "run_search_bench"]


def _positions(trees: int, seed: int) -> list[Game]:
    rng = np.random.default_rng(seed)
    games = []
    while len(games) < trees:
        game = Game()
        for _ in range(int(rng.integers(0, 30))):
            moves = game.legal_moves()
            game.push_usi(moves[int(rng.integers(len(moves)))])
            if game.result is not None:
                break
        if game.result is None:
            games.append(game)
    return games


def bench_network(checkpoint: str | None, device: str = "cpu"):
    """The benchmarks' network on one torch thread: ``checkpoint``'s, or the tiny preset's with seed-0 weights."""
    import torch

    torch.set_num_threads(1)
    if checkpoint is not None:
        from keisei.checkpoint import load_model_from_checkpoint

        model, _ = load_model_from_checkpoint(checkpoint, device)
        return model.eval()
    from keisei.config import load_config
    from keisei.models.registry import build_model

    torch.manual_seed(0)
    return build_model(load_config(preset="tiny").model).to(device).eval()


BACKENDS = {"stub": "", "net": "torch", "onnx": "onnx", "auto": "auto"}  # --evaluators name -> search.backend


class _Counted:
    """Calls and seconds of any evaluator (the benchmark resets them after its warm-up)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls, self.seconds = inner, 0, 0.0

    def __call__(self, obs, mask):
        start = time.perf_counter()
        out = self.inner(obs, mask)
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return out


def _measure(evaluator, config: SearchConfig, trees: int, sims: int, seconds: float) -> dict:
    mcts = BatchedMCTS(evaluator, config)
    games = _positions(trees, config.seed)
    mcts.search(games[:1], simulations=min(sims, 8))  # warm-up (buffers, caches)
    mcts.reset()
    evaluator.calls, evaluator.seconds = 0, 0.0
    done, searches, start, cpu = 0, 0, time.perf_counter(), time.process_time()
    while True:
        results = mcts.search(games, simulations=sims)
        mcts.reset()  # fresh trees: measure search, not reuse
        done += sum(r.simulations for r in results)
        searches += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu
    net = evaluator.seconds / elapsed
    return {
        "batch_size": config.batch_size, "trees": trees, "searches": searches, "simulations": done,
        "seconds": round(elapsed, 3), "sims_per_s": round(done / elapsed, 1),
        "cpu_sims_per_s": round(done / max(cpu, 1e-9), 1), "network_calls": evaluator.calls,
        "leaves_per_call": round(done / max(1, evaluator.calls), 1), "network_share": round(net, 3),
        "python_share": round(1.0 - net, 3),
    }


def run_search_bench(
    *, seconds: float = 3.0, batch_sizes: tuple[int, ...] = (1, 8, 32), trees: int = 8, sims: int = 128,
    algorithm: str = "puct", mate_depth: int = 3, evaluators: tuple[str, ...] = ("stub", "net", "onnx"),
    checkpoint: str | None = None,
) -> dict:
    """-> {"stub": [row per batch size], "net": [...], "onnx": [...]} (rows: sims/s, network and Python shares)."""
    out: dict = {"algorithm": algorithm, "sims_per_search": sims, "mate_depth": mate_depth}
    for name in evaluators:
        if name not in BACKENDS:
            raise ValueError(f"bench search --evaluators: unknown {name!r}; expected some of {', '.join(BACKENDS)}")
        rows = []
        for bs in batch_sizes:
            evaluator = (UniformEvaluator() if name == "stub"
                         else _Counted(make_evaluator(bench_network(checkpoint), "cpu", BACKENDS[name], threads=1)))
            config = SearchConfig(algorithm=algorithm, batch_size=bs, simulations=sims, mate_depth=mate_depth)
            rows.append(_measure(evaluator, config, trees, sims, seconds))
        out[name] = rows
    return out


def main(args) -> int:
    try:
        sizes = tuple(int(x) for x in args.batch_sizes.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"bench search --batch-sizes {args.batch_sizes!r}: expected integers like 1,8,32") from None
    if not sizes or min(sizes) < 1 or args.trees < 1 or args.sims < 1 or args.seconds <= 0:
        raise ValueError("bench search: --batch-sizes, --trees, --sims must be >= 1 and --seconds > 0")
    res = run_search_bench(
        seconds=args.seconds, batch_sizes=sizes, trees=args.trees, sims=args.sims, algorithm=args.algorithm,
        mate_depth=args.mate_depth, evaluators=tuple(x.strip() for x in args.evaluators.split(",")),
        checkpoint=args.checkpoint,
    )
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"BatchedMCTS {res['algorithm']}, {res['sims_per_search']} sims per search, mate_depth {res['mate_depth']}")
    for name in BACKENDS:
        for row in res.get(name, []):
            print(
                f"{name:4s} batch {row['batch_size']:3d} x {row['trees']} trees: {row['sims_per_s']:9,.0f} sims/s "
                f"({row['cpu_sims_per_s']:,.0f} per CPU second) "
                f"({row['leaves_per_call']:.1f} leaves/call, network {100 * row['network_share']:.0f}%, "
                f"python {100 * row['python_share']:.0f}%)"
            )
    return 0
