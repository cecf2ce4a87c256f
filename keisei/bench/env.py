"""Throughput benchmark: VecEnv random self-play (encoding + legal masks) against the raw cshogi loop.

Figures for the README; tests never assert them. Single-threaded; the action choice (uniform over each
env's legal mask, vectorised) is counted in the VecEnv time.
"""

from __future__ import annotations

import random
import time

import cshogi
import numpy as np

from keisei.shogi.vecenv import VecEnv, random_legal_actions

__all__ = ["run_env_bench"]


def _vecenv_rate(seconds: float, num_envs: int, seed: int) -> tuple[float, int, int]:
    env = VecEnv(num_envs, seed=seed)
    _, mask = env.reset()
    rng = np.random.default_rng(seed)
    steps = games = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        result = env.step(random_legal_actions(mask, rng))
        steps += num_envs
        games += len(result.infos)
    return steps / elapsed, steps, games


def _raw_rate(seconds: float, seed: int, max_plies: int = 512) -> tuple[float, int]:
    """``list(board.legal_moves)`` + a random ``push``, restarting when a game ends or hits ``max_plies``."""
    board = cshogi.Board()
    rng = random.Random(seed)
    plies = ply = 0
    start = time.perf_counter()
    while True:
        for _ in range(256):
            moves = list(board.legal_moves)
            if not moves or ply >= max_plies:
                board.reset()
                ply = 0
                continue
            board.push(rng.choice(moves))
            ply += 1
            plies += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return plies / elapsed, plies


def run_env_bench(seconds: float = 5.0, num_envs: int = 64, seed: int = 0) -> dict:
    """Measure both loops for ``seconds`` each; returns rates, their ratio and counts."""
    if seconds <= 0 or num_envs < 1:
        raise ValueError(f"need seconds > 0 and num_envs >= 1, got {seconds} and {num_envs}")
    env_rate, env_steps, games = _vecenv_rate(seconds, num_envs, seed)
    raw_rate, raw_plies = _raw_rate(seconds, seed)
    return {
        "env_steps_per_s": env_rate,
        "raw_plies_per_s": raw_rate,
        "ratio": env_rate / raw_rate,
        "num_envs": num_envs,
        "seconds": seconds,
        "env_steps": env_steps,
        "games_finished": games,
        "raw_plies": raw_plies,
    }


def main(args) -> int:
    """`keisei bench env`."""
    import json

    res = run_env_bench(seconds=args.seconds, num_envs=args.envs)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"VecEnv (encode + legal mask): {res['env_steps_per_s']:,.0f} env steps/s")
        print(f"raw cshogi loop:              {res['raw_plies_per_s']:,.0f} plies/s")
        print(f"ratio:                        {res['ratio']:.3f}")
    return 0
