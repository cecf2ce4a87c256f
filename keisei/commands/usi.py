"""`keisei usi`: run a checkpoint as a USI engine on stdin/stdout, or write a launcher a GUI can register.

Heavy imports (torch, the network) wait until the GUI's first ``isready`` (keisei.engine.thinker), so
``usi`` is answered at once. While the engine runs, file descriptor 1 is kept for the protocol and anything
else printed to stdout (by a library) is sent to stderr.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from keisei.commands._search_args import (
    add_search_config_arguments,
    config_args,
    option_defaults,
    search_config,
)
from keisei.errors import KeiseiError


def _epilog() -> str:
    from keisei.usi.options import ENGINE_OPTIONS

    rows = "\n".join(f"  {o.name:<17} {o.type:<8} {str(o.default) if o.default != '' else '(checkpoint)':<12} {o.help}"
                     for o in ENGINE_OPTIONS)
    return (
        "USI options (setoption name <id> value <x>; or --option NAME=VALUE at start):\n"
        f"  {'name':<17} {'type':<8} {'default':<12} meaning\n{rows}\n"
        "  MaxMovesToDraw and Draw_Ply (YaneuraOu's and dlshogi's names) are declared aliases of DrawPly.\n"
        "  A ModelFile that cannot be loaded: no readyok at isready; the engine exits with status 2.\n\n"
        "Scores: the value v in [-1, 1] (side to move) is reported as centipawns by the logistic scale\n"
        "  cp = 600 * ln((1 + v) / (1 - v)) (win rate p = (1 + v) / 2 = 1 / (1 + exp(-cp / 600))),\n"
        "  clipped to +-30000: v = 0.5 is +659 cp, v = 0.9 is +1767 cp; proved mates are 'score mate N'.\n"
        "go mate [<ms>|infinite] [nodes N]: df-pn mate search, always answered 'checkmate <moves>',\n"
        "  'checkmate nomate' (proved: no mate) or 'checkmate timeout' (time or nodes up, or stop).\n"
        "go nodes N infinite / go depth N infinite: the explicit limit ends the search (no stop needed).\n"
        "The protocol alone is written to stdout; anything else printed (libraries) goes to stderr."
    )


def register(sub) -> None:
    import argparse

    p = sub.add_parser("usi", help="play a checkpoint as a USI engine (GUIs: ShogiHome, ShogiGUI, Shogidokoro)",
                       description="Run a Keisei checkpoint as a USI engine on stdin/stdout.", epilog=_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="Keisei checkpoint (the ModelFile option)")
    add_search_config_arguments(p)
    p.add_argument("--option", dest="options", action="append", default=[], metavar="NAME=VALUE",
                   help="starting value of a USI option, e.g. --option NodesLimit=128 (repeatable)")
    p.add_argument("--write-launcher", default=None, metavar="PATH",
                   help="write an executable script that starts this engine (register it in a GUI) and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from keisei.checkpoint_path import resolve_checkpoint_path

    checkpoint = resolve_checkpoint_path(Path(args.checkpoint).expanduser()).resolve()
    if not checkpoint.is_file():
        raise KeiseiError(f"--checkpoint {args.checkpoint}: file not found")
    search = search_config(args)  # [search]: every search setting; SearchAlgorithm/BatchSize default to it
    options = _parse_options(args.options)
    if args.write_launcher:
        from keisei.checkpoint import load_model_from_checkpoint

        load_model_from_checkpoint(checkpoint)  # a file the engine could not load: one line, exit 2, nothing written
        path = write_launcher(Path(args.write_launcher), checkpoint, args.options, config_args(args))
        print(f"wrote {path}: register this file as a USI engine in your GUI")
        return 0
    from keisei.usi.server import UsiServer

    out_fd = os.dup(1)  # the protocol's channel
    os.dup2(2, 1)  # stray prints (libraries) go to stderr, never into the protocol
    global _SEARCH
    _SEARCH = search
    server = UsiServer(_build_thinker, model_file=str(checkpoint), out_fd=out_fd, log=_log,
                       option_defaults=option_defaults(search), name=engine_name(checkpoint))
    for name, value in options.items():
        server.options.set(name, value)
    try:
        rc = server.run()
    finally:
        os.close(out_fd)
    # A GUI waits for the engine to end after `quit`; tearing the interpreter down with torch loaded takes
    # 0.3-0.7 s more, with nothing left to save (the protocol is written unbuffered). End here.
    sys.stderr.flush()
    os._exit(rc)


def engine_name(checkpoint: Path) -> str:
    """``id name``: version, checkpoint and the first hex digits of its bytes' sha256, so that a tournament's
    records tell two nets apart, e.g. ``Keisei 0.1.0 ckpt_20480 4f1c2a``."""
    from keisei import __version__
    from keisei.checkpoint_path import file_sha256
    from keisei.usi.server import ENGINE_NAME

    try:
        digest = file_sha256(checkpoint)[:6]
    except OSError:
        digest = "unreadable"
    return f"{ENGINE_NAME} {__version__} {checkpoint.stem} {digest}"


def _parse_options(items: list[str]) -> dict[str, str]:
    from keisei.usi.options import OptionValues

    check = OptionValues()
    options: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise KeiseiError(f"--option {item!r}: expected NAME=VALUE")
        try:
            options[check.set(name.strip(), value)] = value
        except KeyError:
            raise KeiseiError(f"--option {item!r}: unknown option {name.strip()!r}") from None
        except ValueError as exc:
            raise KeiseiError(f"--option {item!r}: {exc}") from None
    return options


def write_launcher(path: Path, checkpoint: Path, options: list[str], config: list[str] = ()) -> Path:
    """A /bin/sh script that execs this Python on ``keisei usi --checkpoint ...`` (absolute paths; ``config``:
    the --config/--preset/--set arguments, passed on)."""
    import keisei

    root = Path(keisei.__file__).resolve().parents[1]  # so the script runs this Keisei, installed or not
    argv = [sys.executable, "-m", "keisei.cli", "usi", "--checkpoint", str(checkpoint)]
    argv += list(config)
    for item in options:
        argv += ["--option", item]
    text = (
        "#!/bin/sh\n"
        "# Keisei USI engine (written by `keisei usi --write-launcher`): register this file in a Shogi GUI.\n"
        f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f"exec {' '.join(shlex.quote(a) for a in argv)} \"$@\"\n"
    )
    path = path.expanduser().resolve()
    if path.is_dir():
        raise KeiseiError(f"--write-launcher {path}: is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


_SEARCH = None  # this engine process's [search] section (set by run)


def _build_thinker(options: Mapping[str, object]):
    from keisei.engine.thinker import build_thinker

    return build_thinker(options, _SEARCH)


def _log(message: str) -> None:
    print(f"keisei usi: {message}", file=sys.stderr, flush=True)
