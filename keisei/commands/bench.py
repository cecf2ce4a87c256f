"""`keisei bench env|learn|search|train|parallel`: benchmarks (figures for the README; never asserted in tests)."""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("bench", help="benchmarks")
    bsub = p.add_subparsers(dest="bench", required=True, metavar="BENCH")

    e = bsub.add_parser("env", help="VecEnv random self-play throughput vs the raw cshogi loop")
    e.add_argument("--seconds", type=float, default=5.0)
    e.add_argument("--envs", type=int, default=64)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_bench_env)

    lp = bsub.add_parser("learn", help="train the CPU preset from scratch and score vs random/greedy over time")
    lp.add_argument("--minutes", type=float, default=30.0)
    lp.add_argument("--points", type=str, default="5,10,20,30", help="wall-clock minutes at which to evaluate")
    lp.add_argument("--games", type=int, default=200)
    lp.add_argument("--preset", default="tiny")
    lp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    lp.add_argument("--run-dir", default=None)
    lp.add_argument("--json", default=None, help="write the curve as JSON to this file")
    lp.set_defaults(func=_bench_learn)

    __import__("keisei.search.bench", fromlist=["register"]).register(bsub)  # `keisei bench search`
    __import__("keisei.training.bench_train", fromlist=["register"]).register(bsub)  # `keisei bench train`
    __import__("keisei.training.parallel.bench", fromlist=["register"]).register(bsub)  # `keisei bench parallel`


def _bench_env(args) -> int:
    from keisei.shogi.bench import run_env_bench

    res = run_env_bench(seconds=args.seconds, num_envs=args.envs)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"VecEnv (encode + legal mask): {res['env_steps_per_s']:,.0f} env steps/s")
        print(f"raw cshogi loop:              {res['raw_plies_per_s']:,.0f} plies/s")
        print(f"ratio:                        {res['ratio']:.3f}")
    return 0


def _bench_learn(args) -> int:
    from keisei.training.bench_learn import run_learn_bench

    return run_learn_bench(args)
