"""The README's commands work as written: every line of its "Using it" block parses with the real `keisei`
parser, and a walk through them runs each one briefly (tiny sizes added with --set; engine opponents, CUDA,
torchrun and teacher records are covered by their own tests)."""

from __future__ import annotations

import re
import shlex
import stat
import sys
from pathlib import Path

import pytest
from training_helpers import REPO, cli_env, run_cli, sets

from keisei.cli import build_parser
from keisei.shogi import Game, save_record

pytestmark = pytest.mark.slow


def readme_commands() -> list[list[str]]:
    """The `keisei` argv of every command in the README's "Using it" block (continuations joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Using it\s+```bash\n(.*?)```", text, re.DOTALL)
    assert block, "README has no ## Using it bash block"
    joined = re.sub(r"\\\n\s*", " ", block.group(1))
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == ".venv/bin/keisei":
            commands.append(words[1:])
        elif words[0] == ".venv/bin/torchrun":
            commands.append(words[words.index("keisei") + 1:])
        else:
            pytest.fail(f"README command not run through .venv/bin: {line}")
    return commands


def test_every_readme_command_parses_with_the_real_parser():
    commands = readme_commands()
    assert len(commands) >= 15
    subcommands = {c[0] for c in commands}
    assert {"train", "evaluate", "ratings", "curve", "usi", "play", "analyse", "records", "sl", "bench"} <= subcommands
    parser = build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"README command does not parse: keisei {' '.join(argv)}")


def test_the_two_setup_targets_exist():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"(?m)^train:", makefile) and re.search(r"(?m)^test:", makefile)
    assert "$(BIN)/python -m pytest" in makefile


def _ok(result, what):
    assert result.returncode == 0, f"{what}: exit {result.returncode}\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    return result


def test_a_walk_through_the_readme_commands(tmp_path):
    run = tmp_path / "runs" / "my-run"
    _ok(run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=64"), "--run-dir", str(run)), "train")
    _ok(run_cli("train", "--run-dir", str(run), "--resume", "latest", "--set", "training.total_timesteps=96"),
        "train --resume latest")
    for name in ("config.toml", "train.log", "checkpoints/latest"):  # what the README says a run directory holds
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*"))
    net = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    assert net.name == "ckpt_96.pt"
    seeded = tmp_path / "seeded"
    out = _ok(run_cli("train", "--preset", "tiny", "--seed", "7", *sets("training.total_timesteps=32"),
                      "--run-dir", str(seeded)), "train --seed").stdout
    assert re.search(r"(?m)^seed: +7$", out), out
    _ok(run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=32", "parallel.enabled=true",
                                                   "parallel.num_workers=2"), "--run-dir", str(tmp_path / "par")),
        "train with actor processes")
    result = tmp_path / "result.json"
    _ok(run_cli("evaluate", "--checkpoint", str(net), "--opponent", "random", "--opponent", "greedy",
                "--games", "2", "--json", str(result), "--run-dir", str(run), "--set", "evaluation.max_plies=40"),
        "evaluate")
    assert result.is_file() and (run / "evaluation.sqlite").is_file()
    _ok(run_cli("evaluate", "--checkpoint", str(net), "--sims", "4", "--opponent", f"checkpoint:{net}",
                "--games", "2", "--set", "evaluation.max_plies=20"), "evaluate --sims")
    _ok(run_cli("ratings", str(run)), "ratings")
    _ok(run_cli("curve", str(run), "--games", "2", "--set", "evaluation.max_plies=20"), "curve")
    assert (run / "curve.png").is_file()
    launcher = tmp_path / "keisei-engine"
    _ok(run_cli("usi", "--checkpoint", str(net), "--write-launcher", str(launcher)), "usi --write-launcher")
    assert launcher.stat().st_mode & stat.S_IXUSR
    played = run_cli_input(["play", "--checkpoint", str(run), "--nodes", "8"], "7g7f\nquit\n")  # a run dir
    _ok(played, "play")
    assert "ply 2, black to move" in played.stdout  # our 7g7f and the engine's reply were played
    game = Game()
    for usi in ("7g7f", "3c3d", "2g2f"):
        game.push_usi(usi)
    kif = tmp_path / "game.kif"
    save_record(game, kif, fmt="kif")
    _ok(run_cli("analyse", "--checkpoint", str(net), str(kif), "--nodes", "8"), "analyse")
    _ok(run_cli("train", "--preset", "tiny", "--init-from", str(net), *sets("training.total_timesteps=32"),
                "--run-dir", str(tmp_path / "init")), "train --init-from")
    _ok(run_cli("config", "--preset", "tiny", "--set", "ppo.gamma=0.95"), "config")


def run_cli_input(args: list[str], stdin: str):
    import subprocess

    return subprocess.run([sys.executable, "-m", "keisei.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=240, cwd=REPO, env=cli_env(), check=False)


def test_readme_paths_named_in_the_docs_table_exist():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (REPO / link).is_file(), link
    assert Path(REPO / "docs" / "configuration.md").is_file()
