"""`keisei dashboard [RUNS_DIR | RUN_DIR ...]`: a live, read-only web view of training runs.

Serves the runs found in the given directories (a run directory, or a directory of runs; default ``runs``):
the runs table, each run's progress and charts, live self-play boards, evaluation tables and the rating
history, every recorded game with a replay, and a Play page against a checkpoint. It binds to 127.0.0.1;
another address needs a token (generated and printed in the URL unless ``--token`` gives one). Nothing is
ever written into a run directory.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import socket
import sys
from pathlib import Path

from keisei.errors import KeiseiError


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="a live web view of runs: charts, boards, evaluation, games, play",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="*", metavar="RUNS_DIR|RUN_DIR", help="what to serve (default: runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--token", default=None, help="the access token (default: none on localhost, else generated)")
    p.add_argument("--max-nodes", type=int, default=800, metavar="N",
                   help="Play and analysis: search simulations per move at most (default 800)")
    p.add_argument("--max-play-games", type=int, default=4, metavar="N", help="concurrent Play games (default 4)")
    p.add_argument("--move-seconds", type=float, default=5.0, metavar="S",
                   help="Play and analysis: wall-clock cap per engine move (default 5)")
    p.set_defaults(func=run)


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import torch
    import uvicorn

    from keisei.dashboard.app import create_app
    from keisei.dashboard.play import Limits

    sources = [Path(s) for s in (args.sources or ["runs"])]
    for source in sources:
        if not source.is_dir():
            raise KeiseiError(f"{source}: no such directory (give a run directory or a directory of runs)")
    if not 0 <= args.port <= 65535:
        raise KeiseiError(f"--port {args.port}: between 0 and 65535")
    if args.max_nodes < 0 or args.max_play_games < 0 or args.move_seconds <= 0:
        raise KeiseiError("--max-nodes and --max-play-games must be >= 0, --move-seconds > 0")
    token = args.token
    if token is not None and len(token) < 8:
        raise KeiseiError("--token: at least 8 characters")
    if token is None and not loopback(args.host):
        token = secrets.token_urlsafe(18)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise KeiseiError(f"--host {args.host} --port {args.port}: cannot listen ({exc.strerror or exc}); "
                          "try another --port (0 picks a free one)") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    torch.set_num_threads(1)  # analysis and Play share one core with a training run beside it
    app = create_app(sources, token=token, limits=Limits(args.max_nodes, args.max_play_games, args.move_seconds))
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"keisei dashboard: serving {', '.join(str(s) for s in sources)} at {url}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    print("keisei dashboard: stopped", file=sys.stderr, flush=True)
    return 0
