"""`keisei bench dashboard`: what the dashboard costs.

``--part training``: the trainer's steps/s (tiny preset, a fixed number of steps, one torch thread) with the
live state off, on, and on with `keisei dashboard` serving the run to 1 and 20 event-stream clients, in
alternating rounds. ``--part games``: a run with ``--games`` recorded games; the dashboard's time to the
first page, to the first games listing and to a complete index, and its memory (VmRSS) afterwards.
Figures for the README; never asserted in tests.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TRAIN_SETS = ["training.torch_threads=1", "evaluation.enable_periodic_evaluation=false", "display.mode=plain",
              "display.log_every_seconds=1000", "logging.save_selfplay_games_every=0",
              "training.checkpoint_interval_timesteps=100000000"]


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1")


def _train(root: Path, name: str, steps: int, live: bool, preset: str) -> float:
    sets = [*TRAIN_SETS, f"training.total_timesteps={steps}", f"logging.live_state={str(live).lower()}",
            f"logging.run_root={root}", f"logging.run_name={name}"]
    args = [sys.executable, "-m", "keisei", "train", "--preset", preset, *[a for s in sets for a in ("--set", s)]]
    out = subprocess.run(args, capture_output=True, text=True, env=_env(), check=False)
    m = re.search(r"\(([\d,]+) SPS\)", out.stdout + out.stderr)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"training failed: {(out.stderr or out.stdout)[-500:]}")
    return float(m.group(1).replace(",", ""))


class _Dashboard:
    def __init__(self, source: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "keisei", "dashboard", str(source), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://\S+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"keisei dashboard did not start: {line!r}")
        self.url = m.group(1)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _stream(url: str, run: str, stop: threading.Event, counts: list[int]) -> None:
    host, port = url.split("//")[1].split("/")[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", f"/api/runs/{run}/events")
    res = conn.getresponse()
    while not stop.is_set():
        line = res.readline()
        if not line:
            time.sleep(0.2)  # the run directory appears only once training starts
            continue
        if line.startswith(b"event:"):
            counts[0] += 1
    conn.close()


def part_training(args) -> dict:
    rounds, steps = args.rounds, args.steps
    conditions = ["off", "on", *[f"on+{k}" for k in args.clients]]
    results: dict[str, list[float]] = {c: [] for c in conditions}
    events: dict[str, list[int]] = {c: [] for c in conditions}
    with tempfile.TemporaryDirectory(prefix="keisei-bench-dash-") as tmp:
        root = Path(tmp)
        for r in range(rounds):
            order = conditions if r % 2 == 0 else list(reversed(conditions))
            for cond in order:
                name = f"{cond.replace('+', '_')}_{r}"
                clients = int(cond.split("+")[1]) if "+" in cond else 0
                dash, stop, threads, counts = None, threading.Event(), [], [0]
                if clients:
                    (root / name).mkdir()
                    (root / name / "config.toml").write_text("")  # served from the start
                    dash = _Dashboard(root)
                    for _ in range(clients):
                        t = threading.Thread(target=_stream, args=(dash.url, name, stop, counts), daemon=True)
                        t.start()
                        threads.append(t)
                sps = _train(root, name, steps, cond != "off", args.preset)
                stop.set()
                if dash is not None:
                    dash.stop()
                results[cond].append(sps)
                events[cond].append(counts[0])
                print(f"round {r + 1}/{rounds} {cond:>6}: {sps:,.0f} SPS" + (f", {counts[0]} events received" if clients else ""),
                      flush=True)
                shutil.rmtree(root / name, ignore_errors=True)
    base = statistics.median(results["off"])
    summary = {c: {"median_sps": statistics.median(v), "runs": v, "ratio_to_off": statistics.median(v) / base}
               for c, v in results.items()}
    for c, s in summary.items():
        print(f"{c:>6}: median {s['median_sps']:,.0f} SPS ({s['ratio_to_off']:.3f} of live state off) over {len(s['runs'])} runs")
    return {"steps": steps, "rounds": rounds, "preset": args.preset, "conditions": summary, "events": events}


def _make_run(root: Path, games: int, distinct: int) -> Path:
    from keisei.shogi import Game, save_record

    run = root / "many"
    (run / "games").mkdir(parents=True)
    (run / "config.toml").write_text("[training]\nalgorithm = \"ppo\"\n")
    rng = random.Random(0)
    sources = []
    for k in range(distinct):
        g = Game(max_plies=200)
        while g.result is None:
            g.push_usi(rng.choice(g.legal_moves()))
        sources.append(save_record(g, run / "games" / f"selfplay_{k + 1:08d}.kif", names=("bench", "bench")))
    for k in range(distinct, games):
        shutil.copy(sources[k % distinct], run / "games" / f"selfplay_{k + 1:08d}.kif")
    return run


def part_games(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="keisei-bench-dash-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        _make_run(root, args.games, min(args.games, 200))
        print(f"made {args.games:,} records in {time.perf_counter() - t0:.1f}s", flush=True)
        start = time.perf_counter()
        dash = _Dashboard(root)
        listening = time.perf_counter() - start
        try:
            t = time.perf_counter()
            urllib.request.urlopen(dash.url, timeout=60).read()
            first_page = time.perf_counter() - t
            t = time.perf_counter()
            runs = json.loads(urllib.request.urlopen(dash.url + "api/runs", timeout=60).read())
            runs_s = time.perf_counter() - t
            t = time.perf_counter()
            listing = json.loads(urllib.request.urlopen(dash.url + "api/runs/many/games", timeout=120).read())
            first_listing = time.perf_counter() - t
            while listing["indexed"] < listing["records"]:
                time.sleep(0.2)
                listing = json.loads(urllib.request.urlopen(dash.url + "api/runs/many/games", timeout=120).read())
            indexed = time.perf_counter() - t
            rss = dash.rss_mib()
        finally:
            dash.stop()
    out = {"games": args.games, "start_to_listening_s": listening, "first_page_s": first_page, "runs_api_s": runs_s,
           "first_games_listing_s": first_listing, "complete_index_s": indexed, "rss_mib": rss,
           "runs": len(runs["runs"])}
    print(f"{args.games:,} games: listening after {listening:.2f}s; first page {first_page * 1000:.1f} ms; "
          f"/api/runs {runs_s * 1000:.1f} ms; first games listing {first_listing * 1000:.1f} ms; "
          f"complete index after {indexed:.1f}s; dashboard memory {rss:.0f} MiB", flush=True)
    return out


def main(args) -> int:
    out = part_training(args) if args.part == "training" else part_games(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0
