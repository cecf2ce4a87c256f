"""`keisei` command line: subcommands live in keisei/commands/<name>.py, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from keisei.errors import KeiseiError

COMMANDS = ("train", "evaluate", "ratings", "bench", "sl", "records")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keisei", description="Shogi self-play reinforcement learning.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"keisei.commands.{name}").register(sub)
    for command in sub.choices.values():  # `keisei train --debug` as well as `keisei --debug train`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _console_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (KeiseiError, ValueError, FileNotFoundError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"keisei {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


def _console_logging() -> None:
    """Warnings and errors (e.g. a failed callback's traceback) also reach stderr, not only the run's log file."""
    pkg = logging.getLogger("keisei")
    if not any(getattr(h, "_keisei_console", False) for h in pkg.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._keisei_console = True  # type: ignore[attr-defined]
        pkg.addHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
