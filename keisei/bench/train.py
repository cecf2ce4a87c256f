"""`keisei bench train`: the real trainer's steps/s for each CPU thread setting, optionally beside busy processes.

Every setting runs `keisei train` in a fresh child process (OpenMP reads ``OMP_*`` once, when torch loads, so a
setting cannot be changed inside one process) for ``--seconds`` of training in a temporary run directory, with
``training.max_wall_seconds``, no periodic evaluation and no TensorBoard. The child runs with
``OMP_DISPLAY_ENV=VERBOSE``: torch's OpenMP runtime then prints the wait policy and spin count it really uses,
which the bench reports (so "is OMP_WAIT_POLICY honoured?" is answered by the runtime, not assumed).
``--load K`` starts K busy-looping processes for the duration of each run (a loaded machine, reproducibly).

Wait policies: ``passive`` (workers sleep at once: what `keisei` sets unless OMP_WAIT_POLICY is set),
``active`` (workers spin), ``default`` (the runtime's own default: spin a while, then sleep; the child
imports torch before keisei can set the variable).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from keisei.run.threads import available_cores, parse_line

POLICIES = ("passive", "active", "default")
_DONE_RE = re.compile(r"done: ([\d,]+) steps, (\d+) updates, \d+ games in ([\d.]+)s \(([\d,]+) SPS\)")
_OMP_RE = re.compile(r"^\s*(OMP_WAIT_POLICY|GOMP_SPINCOUNT) = '([^']*)'", re.MULTILINE)
_CHILD = ("import sys\n"
          "if sys.argv[1] == 'default':\n"
          "    import torch  # loaded first: keisei cannot set OMP_WAIT_POLICY any more\n"
          "from keisei.cli import main\n"
          "sys.exit(main(sys.argv[2:]))\n")


def _ints(option: str, text: str, minimum: int) -> list[int]:
    from keisei.errors import KeiseiError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < minimum for v in values):
        raise KeiseiError(f"{option}: expected comma-separated integers >= {minimum}, got {text!r}")
    return values


def _policies(text: str) -> list[str]:
    from keisei.errors import KeiseiError

    values = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in POLICIES]
    if not values or bad:
        raise KeiseiError(f"--wait-policy: expected some of {', '.join(POLICIES)}, got {text!r}")
    return values


def main(args) -> int:
    from keisei.config import load_config
    from keisei.errors import KeiseiError

    if args.seconds <= 0:
        raise KeiseiError(f"--seconds must be > 0, got {args.seconds}")
    load_config(preset=args.preset, overrides=args.overrides)  # a bad preset or override: one line, now
    res = run_train_bench(args.seconds, _ints("--threads", args.threads, 1), _ints("--interop", args.interop, 0),
                          _policies(args.wait_policy), _ints("--load", args.load, 0), args.preset, args.overrides)
    print(json.dumps(res) if args.json else format_table(res), flush=True)
    return 0


def run_train_bench(seconds: float, threads: list[int], interop: list[int], policies: list[str], loads: list[int],
                    preset: str = "tiny", overrides: list[str] | None = None) -> dict:
    """Every combination of the settings, each in a fresh `keisei train` child; -> {"results": [...], ...}."""
    results = []
    for load in loads:
        for policy in policies:
            for n in threads:
                for k in interop:
                    results.append(_one(seconds, n, k, policy, load, preset, list(overrides or [])))
    return {"preset": preset, "seconds": seconds, "cores": available_cores(), "results": results}


def _one(seconds: float, threads: int, interop: int, policy: str, load: int, preset: str,
         overrides: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"
    here = str(Path(__file__).resolve().parents[2])  # the child imports this keisei, not another one
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy.upper()
    sets = ["training.total_timesteps=1000000000000", f"training.max_wall_seconds={seconds}",
            f"training.torch_threads={threads}", f"training.interop_threads={interop}",
            "training.checkpoint_interval_timesteps=1000000000000", "evaluation.enable_periodic_evaluation=false",
            "logging.tensorboard=false", "logging.wandb=false", "display.mode=plain", *overrides]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        with tempfile.TemporaryDirectory(prefix="keisei-bench-train-") as tmp:
            cmd = [sys.executable, "-c", _CHILD, policy, "train", "--preset", preset,
                   "--run-dir", str(Path(tmp) / "run")]
            for item in sets:
                cmd += ["--set", item]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                                  timeout=seconds * 10 + 300)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
    done = _DONE_RE.search(proc.stdout)
    if proc.returncode != 0 or done is None:
        from keisei.errors import KeiseiError

        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise KeiseiError(f"bench child (threads {threads}, {policy}) exited {proc.returncode}: {tail}")
    omp = dict(_OMP_RE.findall(proc.stderr))
    effective = parse_line(proc.stdout)
    steps, secs, sps = int(done[1].replace(",", "")), float(done[3]), float(done[4].replace(",", ""))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "torch_threads": threads, "interop_threads": interop, "wait_policy": policy, "load": load,
        "effective_torch_threads": effective.torch_threads if effective else None,
        "effective_interop_threads": effective.interop_threads if effective else None,
        "omp_wait_policy": omp.get("OMP_WAIT_POLICY"),  # what the OpenMP runtime says it uses
        "omp_spin_count": int(omp["GOMP_SPINCOUNT"]) if omp.get("GOMP_SPINCOUNT", "").isdigit() else None,
        "steps": steps, "seconds": secs, "steps_per_s": sps, "cpu_seconds": cpu,
    }


def format_table(res: dict) -> str:
    """A table of the results; CPU s is the child's CPU time, start-up included."""
    head = (f"keisei bench train: preset {res['preset']}, {res['seconds']:g} s of training per setting, "
            f"{res['cores']} cores")
    columns = (f"{'threads':>7} {'inter-op':>8} {'policy':>8} {'runtime':>22} {'load':>4} {'steps/s':>9} "
               f"{'CPU s':>6}")
    lines = [head, columns]
    for r in res["results"]:
        spin = r["omp_spin_count"] if r["omp_spin_count"] is not None else "?"
        runtime = f"{r['omp_wait_policy'] or '?'}/spin {spin}"
        threads = r["effective_torch_threads"] or r["torch_threads"]
        interop = r["effective_interop_threads"] or r["interop_threads"]
        lines.append(f"{threads:>7} {interop:>8} {r['wait_policy']:>8} {runtime:>22} {r['load']:>4} "
                     f"{r['steps_per_s']:>9,.0f} {r['cpu_seconds']:>6.1f}")
    return "\n".join(lines)
