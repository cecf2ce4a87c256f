"""`keisei bench env|learn|search|selfplay|train|parallel|usi|dashboard`: every benchmark's arguments, registered here in one place.

The benchmarks live in keisei/bench/ (figures for the README; never asserted in tests); each module's
``main(args)`` runs one and is imported only when chosen.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def _runner(name: str) -> Callable[..., int]:
    def run(args) -> int:
        return importlib.import_module(f"keisei.bench.{name}").main(args)

    return run


DEFAULTS = argparse.ArgumentDefaultsHelpFormatter  # every bench's --help shows its defaults


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks")
    bsub = p.add_subparsers(dest="bench", required=True, metavar="BENCH")

    e = bsub.add_parser("env", help="VecEnv random self-play throughput vs the raw cshogi loop", 
                        formatter_class=DEFAULTS)
    e.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    e.add_argument("--envs", type=int, default=64, help="games stepped together")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=_runner("env"))

    lp = bsub.add_parser("learn", help="train the CPU preset from scratch and score vs random/greedy over time", 
                        formatter_class=DEFAULTS)
    lp.add_argument("--minutes", type=float, default=30.0, help="training minutes")
    lp.add_argument("--points", type=str, default="5,10,20,30", help="wall-clock minutes at which to evaluate")
    lp.add_argument("--games", type=int, default=200, help="games per opponent at each point")
    lp.add_argument("--preset", default="tiny", help="config preset")
    lp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    lp.add_argument("--run-dir", default=None, help="run directory (default: a new one)")
    lp.add_argument("--json", default=None, help="write the curve as JSON to this file")
    lp.set_defaults(func=_runner("learn"))

    u = bsub.add_parser("usi", help="move times of the real USI engine at a byoyomi with busy processes beside it", 
                        formatter_class=DEFAULTS)
    u.add_argument("--byoyomi", type=int, default=300, help="ms per move")
    u.add_argument("--moves", type=int, default=300, help="moves timed")
    u.add_argument("--load", type=int, default=0, help="busy-looping processes running beside the engine")
    u.add_argument("--train-load", type=int, default=2,
                   help="real `keisei train --preset tiny` runs beside the engine (as a user training meanwhile)")
    u.add_argument("--checkpoint", default=None, metavar="PATH", help="network (default: tiny preset, random)")
    u.add_argument("--option", dest="options", action="append", default=[], metavar="NAME=VALUE",
                   help="USI option for the engine (repeatable)")
    u.add_argument("--seed", type=int, default=0, help="seed of the random opening plies")
    u.add_argument("--json", action="store_true", help="print JSON")
    u.set_defaults(func=_runner("usi"))

    s = bsub.add_parser("search", help="MCTS simulations/s (stub network, tiny net with torch and onnxruntime) by batch",
                        formatter_class=DEFAULTS)
    s.add_argument("--seconds", type=float, default=3.0, help="per configuration")
    s.add_argument("--batch-sizes", default="1,8,32", help="comma-separated leaves per tree per network call")
    s.add_argument("--trees", type=int, default=8, help="positions searched together")
    s.add_argument("--sims", type=int, default=128, help="simulations per search")
    s.add_argument("--algorithm", choices=("puct", "gumbel"), default="puct", help="root selection")
    s.add_argument("--mate-depth", type=int, choices=(0, 1, 3), default=3, help="mate check depth at new nodes")
    s.add_argument("--evaluators", default="stub,net,onnx",
                   help="comma-separated: stub, net (torch), onnx (onnxruntime), auto (search.backend=auto)")
    s.add_argument("--checkpoint", default=None, metavar="PATH", help="network to use (default: tiny preset, random)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_runner("search"))

    sp = bsub.add_parser("selfplay", help="search self-play positions/s by simulations, vs the network-bound limit",
                         formatter_class=DEFAULTS)
    sp.add_argument("--seconds", type=float, default=20.0, help="per configuration")
    sp.add_argument("--sims", default="8,16,32,64", help="comma-separated simulations per move")
    sp.add_argument("--games", type=int, default=32, help="games played together")
    sp.add_argument("--max-plies", type=int, default=160, help="ply limit of the games")
    sp.add_argument("--batch-size", type=int, default=16, help="leaves per tree per network call")
    sp.add_argument("--evaluators", default="stub,net", help="comma-separated: stub, net (torch), onnx (onnxruntime)")
    sp.add_argument("--checkpoint", default=None, metavar="PATH", help="network to use (default: tiny preset, random)")
    sp.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the network runs")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=_runner("selfplay"))

    t = bsub.add_parser("train", help="steps/s of the real trainer per CPU thread setting (idle or loaded)", 
                        formatter_class=DEFAULTS)
    t.add_argument("--seconds", type=float, default=20.0, help="training seconds per setting")
    t.add_argument("--threads", default="1,2", help="training.torch_threads values, comma-separated")
    t.add_argument("--interop", default="1", help="training.interop_threads values, comma-separated")
    t.add_argument("--wait-policy", default="passive,default",
                   help="OpenMP wait policies, comma-separated: passive, active, default")
    t.add_argument("--load", default="0", help="busy processes beside the trainer, comma-separated counts")
    t.add_argument("--preset", default="tiny", help="config preset")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    t.add_argument("--json", action="store_true", help="print the results as JSON")
    t.set_defaults(func=_runner("train"))

    db = bsub.add_parser("dashboard", help="the dashboard's cost: trainer steps/s with the live state and watchers; "
                         "time to first page and memory with many games", formatter_class=DEFAULTS)
    db.add_argument("--part", choices=("training", "games"), default="training", help="what to measure")
    db.add_argument("--steps", type=int, default=30_000, help="training: timesteps per run")
    db.add_argument("--rounds", type=int, default=2, help="training: rounds of every condition (alternating order)")
    db.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 20],
                    help="training: event-stream clients watching (comma-separated counts)")
    db.add_argument("--preset", default="tiny", help="training: config preset")
    db.add_argument("--games", type=int, default=10_000, help="games: recorded games in the run")
    db.add_argument("--json", default=None, help="write the figures as JSON to this file")
    db.set_defaults(func=_runner("dashboard"))

    par = bsub.add_parser("parallel", help="self-play SPS: one process vs N actor processes (same preset)", 
                        formatter_class=DEFAULTS)
    par.add_argument("--seconds", type=float, default=60.0, help="training loop time per configuration")
    par.add_argument("--workers", default="1,2,4", help="comma-separated parallel.num_workers values")
    par.add_argument("--preset", default="tiny", help="config preset")
    par.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    par.add_argument("--no-single", action="store_true", help="skip the one-process baseline")
    par.add_argument("--json", action="store_true", help="print the result as one JSON object")
    par.set_defaults(func=_runner("parallel"))
