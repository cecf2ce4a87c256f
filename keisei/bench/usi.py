"""`keisei bench usi`: how long the real `keisei usi` engine takes per move at a byoyomi, with K busy processes
beside it (a loaded machine, reproducibly), as a GUI sees it: from writing `go` to reading `bestmove`.

The engine runs in a subprocess on a checkpoint (default: the tiny preset's random weights), plays both sides of
games from the start position (a few random plies first, so positions differ) and every move is timed. The
figures (median, 99th percentile, max, moves over the byoyomi) go in the README; tests never assert them.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keisei.shogi import Game


def main(args) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(args.checkpoint) if args.checkpoint else _random_checkpoint(Path(tmp) / "tiny.pt")
        result = run_usi_bench(checkpoint, args.byoyomi, args.moves, args.load, args.options, args.seed,
                               train_load=args.train_load, scratch=Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"keisei usi at byoyomi {args.byoyomi} ms, {args.load} busy process(es) and {args.train_load} "
              f"`keisei train --preset tiny` run(s) beside it, "
              f"{result['moves']} moves: median {result['median_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
              f"max {result['max_ms']:.0f} ms; over the byoyomi: {result['over_byoyomi']}"
              + (f"; median nps {result['median_nps']:,.0f}" if result["median_nps"] is not None else ""))
    return 0


def _random_checkpoint(path: Path) -> Path:
    from keisei.config import load_config
    from keisei.models import build_model
    from keisei.run.checkpoints import model_payload

    config = load_config(preset="tiny")
    from keisei.checkpoint import save_checkpoint

    payload = model_payload(config, build_model(config.model), {"timesteps": 0, "updates": 0, "games": 0})
    return save_checkpoint(path, payload)


class _Engine:
    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.last_nps: int | None = None  # nps of the last info line read

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def until(self, word: str) -> str:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"keisei usi ended before {word!r} (exit {self.proc.poll()})")
            words = line.split()
            if words[:1] == ["info"] and "nps" in words[:-1]:
                self.last_nps = int(words[words.index("nps") + 1])
            if words[:1] == [word]:
                return line.strip()


def run_usi_bench(checkpoint: Path, byoyomi: int, moves: int, load: int, options: list[str], seed: int, *,
                  train_load: int = 0, scratch: Path | None = None) -> dict:
    """Time ``moves`` moves of the engine at ``byoyomi`` ms with ``load`` busy-looping processes and
    ``train_load`` real `keisei train --preset tiny` runs (default threads) running beside it."""
    argv = [sys.executable, "-m", "keisei.cli", "usi", "--checkpoint", str(checkpoint)]
    for option in ("Threads=1", *options):
        argv += ["--option", option]
    engine = _Engine(argv)
    busy: list[subprocess.Popen] = []
    times: list[float] = []
    nps: list[int] = []
    rng = random.Random(seed)
    try:
        engine.send("usi")
        engine.until("usiok")
        engine.send("isready")
        engine.until("readyok")
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        root = scratch or Path(tempfile.mkdtemp())
        busy += [subprocess.Popen([sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny", "--run-dir",
                                   str(root / f"load{k}"), "--set", "training.max_wall_seconds=3600",
                                   "--set", "evaluation.enable_periodic_evaluation=false"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(train_load)]
        time.sleep(0.5 + 8.0 * bool(train_load))  # the training runs past their start-up
        game = None
        while len(times) < moves:
            if game is None or game.result is not None or game.ply >= 160:
                game = Game()
                for _ in range(rng.randrange(0, 6)):
                    game.push_usi(rng.choice(game.legal_moves()))
                engine.send("usinewgame")
            engine.send(f"position sfen {game.start_sfen} moves {' '.join(game.moves)}".replace(" moves \n", "\n")
                        if game.moves else f"position sfen {game.start_sfen}")
            started = time.perf_counter()
            engine.last_nps = None
            engine.send(f"go btime 0 wtime 0 byoyomi {byoyomi}")
            answer = engine.until("bestmove").split()[1]
            times.append((time.perf_counter() - started) * 1000)
            if engine.last_nps is not None:
                nps.append(engine.last_nps)
            if answer in ("resign", "win"):
                game = None
                continue
            game.push_usi(answer)
        engine.send("quit")
        engine.proc.wait(timeout=30)
    finally:
        for p in busy:
            p.kill()
            p.wait()
        if engine.proc.poll() is None:
            engine.proc.kill()
    ordered = sorted(times)
    return {"byoyomi_ms": byoyomi, "load": load, "moves": len(times), "median_ms": statistics.median(times),
            "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "max_ms": ordered[-1],
            "over_byoyomi": sum(t > byoyomi for t in times),
            "median_nps": statistics.median(nps) if nps else None, "options": ["Threads=1", *options],
            "train_load": train_load}
