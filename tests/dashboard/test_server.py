"""`keisei dashboard` as a real server process over a real run: the API, bad requests, the read-only rule,
Play, and the token."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import cshogi
from cshogi import CSA, KIF
from dash_helpers import REPO, env


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (what the dashboard must not change)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_api_reads_the_run(runs_dir, dashboard_of) -> None:
    d = dashboard_of(runs_dir)
    status, data = d.request("api/runs")
    assert status == 200
    [run] = [r for r in data["runs"] if r["name"] == "done"]
    assert run["state"] == "finished" and run["timesteps"] == 1024 and run["algorithm"] == "ppo"
    from keisei.evaluation.store import GameStore

    with GameStore(runs_dir / "done" / "evaluation.sqlite", readonly=True, immutable=True) as store:
        stored, ratings = store.games(), store.rating_history()
    evaluated = {g.timestep for g in stored}  # background evaluations: under load one may be skipped
    assert run["last_checkpoint"] == "ckpt_1024.pt" and run["last_evaluation"]["timestep"] == ratings[-1].timestep

    status, data = d.request("api/runs/done/scalars?tags=charts/SPS,losses/entropy")
    assert status == 200 and len(data["series"]["charts/SPS"]["step"]) >= 8
    assert data["series"]["charts/SPS"]["step"][-1] == 1024 and "losses/policy_loss" in data["tags"]

    status, ev = d.request("api/runs/done/evaluation")
    assert status == 200 and ev["games"] == len(stored) >= 4 and evaluated <= {512, 1024}
    assert {r["timestep"] for r in ev["per_opponent"]} == evaluated
    assert all(r["opponent"] == "random" and r["wins"] + r["draws"] + r["losses"] == 4 for r in ev["per_opponent"])
    assert ev["history"]["agent"][-1]["timestep"] == ratings[-1].timestep


def test_games_list_replay_and_download(runs_dir, dashboard_of) -> None:
    d = dashboard_of(runs_dir)
    from dash_helpers import wait_for

    def complete():
        listing = d.request("api/runs/done/games")[1]
        return listing if listing["indexed"] == listing["records"] else None

    listing = wait_for(complete)
    kinds = {g["kind"] for g in listing["games"]}
    assert kinds == {"selfplay", "evaluation"} and listing["total"] == listing["records"] >= 9
    status, evals = d.request("api/runs/done/games?kind=evaluation&player=random")
    on_disk = list((runs_dir / "done" / "eval_games").rglob("*.kif"))
    assert status == 200 and evals["total"] == len(on_disk) >= 4
    assert all("random" in g["black"] + g["white"] for g in evals["games"])
    lengths = sorted(g["plies"] for g in listing["games"])
    cut = lengths[len(lengths) // 2]
    status, short = d.request(f"api/runs/done/games?max_plies={cut}")
    status2, long = d.request(f"api/runs/done/games?min_plies={cut + 1}")
    assert status == status2 == 200 and short["total"] + long["total"] == listing["total"]
    assert all(g["plies"] <= cut for g in short["games"]) and all(g["plies"] > cut for g in long["games"])

    game_id = next(g["id"] for g in listing["games"] if g["kind"] == "selfplay")
    status, game = d.request("api/runs/done/game?id=" + urllib.parse.quote(game_id))
    assert status == 200 and len(game["sfens"]) == len(game["moves"]) + 1
    board = cshogi.Board(game["start_sfen"])  # replay with cshogi, not with Keisei's code
    for move in game["moves"]:
        board.push_usi(move)
    assert board.sfen().split()[:3] == game["sfens"][-1].split()[:3]

    status, kif = d.request("api/runs/done/game?download=kif&id=" + urllib.parse.quote(game_id))
    assert status == 200
    parsed = KIF.Parser.parse_str(kif)  # cshogi's KIF reader reads the download
    assert [cshogi.move_to_usi(m) for m in parsed.moves] == game["moves"]
    status, csa = d.request("api/runs/done/game?download=csa&id=" + urllib.parse.quote(game_id))
    assert status == 200
    parsed = CSA.Parser.parse_str(csa)[0]
    assert [cshogi.move_to_usi(m) for m in parsed.moves] == game["moves"]


def test_bad_requests_are_4xx_with_a_message(runs_dir, dashboard_of) -> None:
    d = dashboard_of(runs_dir)
    cases = [
        ("api/runs/nope", None, 404, "no such run"),
        ("api/runs/..%2F..%2Fetc", None, 404, ""),
        ("api/runs/done/game?id=../config.toml", None, 404, "not a record"),
        ("api/runs/done/game?id=games/../../../etc/passwd.kif", None, 404, "'..'"),
        ("api/runs/done/game?id=games/nothing.kif", None, 404, "no such record"),
        ("api/runs/done/game?id=games/selfplay_00000001.kif&download=pdf", None, 400, "fmt"),
        ("api/runs/done/games?limit=abc", None, 400, "limit"),
        ("api/runs/done/games?kind=bogus", None, 400, "kind"),
        ("api/runs/done/scalars?since=x", None, 400, "since"),
        ("api/nothing", None, 404, ""),
        ("api/runs/done/analyse", b"{not json", 400, "not JSON"),
        ("api/runs/done/analyse", {"checkpoint": "../../x.pt"}, 404, "checkpoint"),
        ("api/runs/done/analyse", {"checkpoint": "nope.pt"}, 404, "not in"),
        ("api/runs/done/analyse", {"checkpoint": "ckpt_1024.pt", "moves": ["1a1a"]}, 400, "1a1a"),
        ("api/runs/done/analyse", {"checkpoint": "ckpt_1024.pt", "moves": "7g7f"}, 400, "moves"),
        ("api/runs/done/analyse", {"checkpoint": "ckpt_1024.pt", "nodes": "many"}, 400, "nodes"),
        ("api/play", {"run": "done", "checkpoint": "ckpt_1024.pt", "side": "purple"}, 400, "side"),
        ("api/play/0123456789abcdef", {"move": "7g7f"}, 404, "no such game"),
    ]
    for path, body, status, text in cases:
        raw = body if isinstance(body, bytes) else None
        got, data = d.request(path, None if raw else body, raw=raw)
        assert got == status, (path, got, data)
        assert isinstance(data, dict) and text in data["error"] and "Traceback" not in data["error"], (path, data)


def test_analysis_and_play(runs_dir, dashboard_of) -> None:
    d = dashboard_of(runs_dir, "--max-play-games", "1", "--max-nodes", "16")
    status, a = d.request("api/runs/done/analyse", {"checkpoint": "ckpt_1024.pt", "moves": ["7g7f"], "nodes": 500})
    assert status == 200 and a["searched"] == 16  # capped at --max-nodes
    board = cshogi.Board()
    board.push_usi("7g7f")
    legal = {cshogi.move_to_usi(m) for m in board.legal_moves}
    assert a["lines"] and all(line["move"] in legal for line in a["lines"])

    status, g = d.request("api/play", {"run": "done", "checkpoint": "best.pt", "side": "black", "nodes": 8})
    assert status == 200 and g["turn"] == "black" and g["moves"] == []
    status, refused = d.request(f"api/play/{g['id']}", {"move": "5e5d"})
    assert status == 400 and "not a legal move" in refused["error"]
    status, g2 = d.request(f"api/play/{g['id']}", {"move": "7g7f"})
    assert status == 200 and g2["moves"][0] == "7g7f" and len(g2["moves"]) == 2
    assert g2["moves"][1] in legal and g2["turn"] == "black"
    status, full = d.request("api/play", {"run": "done", "checkpoint": "best.pt", "side": "black"})
    assert status == 429 and "cap" in full["error"]
    status, rec = d.request(f"api/play/{g['id']}?download=csa")
    assert status == 200 and [cshogi.move_to_usi(m) for m in CSA.Parser.parse_str(rec)[0].moves] == g2["moves"]


def test_a_corrupt_checkpoint_is_a_clear_422(runs_dir, tmp_path, dashboard_of) -> None:
    run = tmp_path / "broken"
    shutil.copytree(runs_dir / "done", run, ignore=shutil.ignore_patterns("events.out.*", "games", "eval_games"))
    (run / "checkpoints" / "ckpt_1024.pt").write_bytes(b"not a checkpoint at all")
    d = dashboard_of(run)
    status, data = d.request("api/runs/broken/analyse", {"checkpoint": "ckpt_1024.pt"})
    assert status == 422 and "ckpt_1024.pt" in data["error"]
    status, data = d.request("api/play", {"run": "broken", "checkpoint": "ckpt_1024.pt", "side": "black"})
    assert status == 422 and "ckpt_1024.pt" in data["error"]


def test_the_dashboard_never_writes_into_a_run(runs_dir, dashboard_of) -> None:
    before = tree_state(runs_dir)
    d = dashboard_of(runs_dir)
    for path in ("api/runs", "api/runs/done", "api/runs/done/scalars", "api/runs/done/evaluation",
                 "api/runs/done/games", "api/runs/done/game?id=games/selfplay_00000001.kif"):
        assert d.request(path)[0] == 200
    status, g = d.request("api/play", {"run": "done", "checkpoint": "ckpt_512.pt", "side": "white", "nodes": 4})
    assert status == 200 and len(g["moves"]) == 1  # the engine opened as black
    assert d.request(f"api/play/{g['id']}", {"resign": True})[1]["reason"] == "resign"
    d.stop()
    assert tree_state(runs_dir) == before


def test_symlinked_runs_and_files_out_of_the_tree_are_refused(runs_dir, tmp_path, dashboard_of) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "outside").symlink_to(runs_dir / "done")  # a run linked in from elsewhere is not served
    inner = tmp_path / "inner"
    shutil.copytree(runs_dir / "done", inner, ignore=shutil.ignore_patterns("events.out.*", "eval_games"))
    secret = tmp_path / "secret.kif"
    shutil.copy(next((inner / "games").glob("*.kif")), secret)
    (inner / "games" / "leak.kif").symlink_to(secret)
    shutil.move(str(inner), served / "inner")
    d = dashboard_of(served)
    names = {r["name"] for r in d.request("api/runs")[1]["runs"]}
    assert names == {"inner"}
    status, data = d.request("api/runs/inner/game?id=games/leak.kif")
    assert status == 404 and "outside" in data["error"]


def test_token_is_required_when_set(runs_dir, dashboard_of) -> None:
    d = dashboard_of(runs_dir, "--token", "s3cret-token")
    assert "?token=s3cret-token" in d.url
    status, data = d.request("api/runs")
    assert status == 401 and "token" in data["error"]
    assert d.request("api/runs?token=wrong-token")[0] == 401
    assert d.request("api/runs?token=s3cret-token")[0] == 200
    assert d.request("api/runs", headers={"Authorization": "Bearer s3cret-token"})[0] == 200


def test_cli_usage_errors_exit_2(tmp_path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "keisei", "dashboard", *args], capture_output=True, text=True,
                              env=env(), cwd=REPO, timeout=60, check=False)

    res = run(str(tmp_path / "missing"))
    assert res.returncode == 2 and "missing: no such directory" in res.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        res = run(str(tmp_path), "--port", str(busy.getsockname()[1]))
    assert res.returncode == 2 and "cannot listen" in res.stderr and "Traceback" not in res.stderr
    res = run(str(tmp_path), "--token", "short")
    assert res.returncode == 2 and "--token" in res.stderr


def test_another_address_gets_a_generated_token(tmp_path, dashboard_of) -> None:
    if not any(os.path.exists(p) for p in ("/proc/net/if_inet6", "/proc/net/dev")):
        return
    d = dashboard_of(tmp_path, "--host", "0.0.0.0")
    assert "?token=" in d.url and len(d.url.split("token=")[1]) >= 16
    assert d.request("api/runs")[0] == 401
