"""`keisei bench selfplay`: search self-play throughput by simulations per move, against the network-bound limit.

For each evaluator (the stub network: the search's own Python cost; the tiny preset's net with random weights,
or ``--checkpoint``) and each simulation count, ``--games`` games are played together by
keisei.search.selfplay for about ``--seconds`` (every move a full search, so positions/s counts training
positions). Reported: moves/s, simulations/s, games/h (moves/s x 3600 / the mean game length), leaves per
network call (batch fill), the share of wall time in the network, and the network-bound limit: the forward
pass's positions/s at the batch the search actually filled, measured in the same run. ``efficiency`` is the
positions the self-play sent to the net per second over that limit. Figures for the README; tests never
assert them.
"""

from __future__ import annotations

import json
import time

import numpy as np

from keisei.bench.search import bench_network
from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search.evaluator import UniformEvaluator, make_evaluator
from keisei.search.selfplay import SelfPlayGames
from keisei.shogi import NUM_ACTIONS, OBS_SHAPE

__all__ = ["main", "run_selfplay_bench"]


def _forward_limit(evaluator, batch: int, seconds: float) -> float:
    """Positions/s of the bare forward pass at ``batch`` (random 0/1 planes, every label legal)."""
    rng = np.random.default_rng(0)
    obs = (rng.random((batch, *OBS_SHAPE)) < 0.1).astype(np.float32)
    mask = np.ones((batch, NUM_ACTIONS), dtype=np.bool_)
    evaluator(obs, mask)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        evaluator(obs, mask)
        n += 1
    return n * batch / (time.perf_counter() - start)


def _measure(evaluator, sims: int, games: int, max_plies: int, seconds: float, batch_size: int, seed: int) -> dict:
    cfg = SelfPlayConfig(simulations=sims, full_search_share=1.0, resign_threshold=0.0)
    play = SelfPlayGames(evaluator, SearchConfig(batch_size=batch_size), cfg, num_games=games,
                         max_plies=max_plies, seed=seed)
    play.step(0)  # warm-up (buffers, first expansions)
    play.stats.take()
    evaluator.calls, evaluator.seconds = 0, 0.0
    finished, plies = 0, 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for game in play.step(0):
            finished += 1
            plies += game.plies
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    st = play.stats.take()
    mean_len = plies / finished if finished else float(max_plies)
    fill = st.positions / max(st.batches, 1)
    return {
        "simulations": sims, "games": games, "seconds": round(wall, 2), "moves": st.moves,
        "moves_per_s": round(st.moves / wall, 1), "positions_per_s": round(st.full / wall, 1),
        "simulations_per_s": round(st.simulations / wall, 1),
        "cpu_simulations_per_s": round(st.simulations / max(cpu, 1e-9), 1),
        "games_finished": finished, "mean_game_length": round(mean_len, 1),
        "games_per_hour": round(st.moves / wall * 3600.0 / mean_len, 1),
        "batch_fill": round(fill, 1), "net_positions_per_s": round(st.positions / wall, 1),
        "network_share": round(evaluator.seconds / wall, 3), "python_share": round(1 - evaluator.seconds / wall, 3),
    }


def run_selfplay_bench(*, seconds: float = 20.0, sims: tuple[int, ...] = (8, 16, 32, 64), games: int = 32,
                       max_plies: int = 160, batch_size: int = 16, evaluators: tuple[str, ...] = ("stub", "net"),
                       checkpoint: str | None = None, device: str = "cpu", seed: int = 0) -> dict:
    """-> {"stub": [row per simulation count], "net": [... with limit and efficiency], "onnx": [...]}.

    ``net`` runs the network with torch, ``onnx`` with onnxruntime (``search.backend``); each one's limit is its
    own forward pass at the filled batch."""
    out: dict = {"games": games, "max_plies": max_plies, "batch_size": batch_size, "device": device}
    for name in evaluators:
        if name not in ("stub", "net", "onnx"):
            raise ValueError(f"bench selfplay --evaluators: unknown {name!r}; expected some of stub, net, onnx")
        rows = []
        for n in sims:
            evaluator = (UniformEvaluator() if name == "stub" else
                         make_evaluator(bench_network(checkpoint, device), device, "torch" if name == "net" else "onnx",
                                        threads=1))
            row = _measure(evaluator, n, games, max_plies, seconds, batch_size, seed)
            if name != "stub":
                limit = _forward_limit(evaluator, max(1, round(row["batch_fill"])), min(5.0, seconds / 2))
                row["limit_positions_per_s"] = round(limit, 1)
                row["efficiency"] = round(row["net_positions_per_s"] / limit, 3)
            rows.append(row)
        out[name] = rows
    return out


def main(args) -> int:
    try:
        sims = tuple(int(x) for x in args.sims.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"bench selfplay --sims {args.sims!r}: expected integers like 8,16,32,64") from None
    if not sims or min(sims) < 1 or args.games < 1 or args.seconds <= 0 or args.batch_size < 1:
        raise ValueError("bench selfplay: --sims, --games, --batch-size must be >= 1 and --seconds > 0")
    res = run_selfplay_bench(seconds=args.seconds, sims=sims, games=args.games, max_plies=args.max_plies,
                             batch_size=args.batch_size,
                             evaluators=tuple(x.strip() for x in args.evaluators.split(",")),
                             checkpoint=args.checkpoint, device=args.device)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"search self-play: {res['games']} games together, batch {res['batch_size']} leaves per tree, "
          f"{res['device']}, every move a full Gumbel search")
    for name in ("stub", "net", "onnx"):
        for r in res.get(name, []):
            line = (f"{name:4s} {r['simulations']:3d} sims: {r['positions_per_s']:7,.1f} positions/s "
                    f"{r['games_per_hour']:8,.0f} games/h {r['simulations_per_s']:8,.0f} sims/s | "
                    f"fill {r['batch_fill']:.1f} network {100 * r['network_share']:.0f}% "
                    f"python {100 * r['python_share']:.0f}%")
            if "limit_positions_per_s" in r:
                line += (f" | net {r['net_positions_per_s']:,.0f} pos/s of limit {r['limit_positions_per_s']:,.0f} "
                         f"({100 * r['efficiency']:.0f}%)")
            print(line)
    return 0
