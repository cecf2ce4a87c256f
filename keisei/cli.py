"""`keisei` command line: subcommands live in keisei/commands/<name>.py, each with `register(subparsers)`.

Errors are one line on stderr, `keisei <command>: error: <message>` (`--debug` adds the traceback); the exit
codes are listed in keisei/errors.py (2: usage, input and OS errors; 3: `keisei evaluate` had an opponent
without a completed game; 4: a durable write failed).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from keisei import __version__
from keisei.errors import EXIT_USAGE, KeiseiError, os_error_line
from keisei.run.threads import prepare_openmp_env

COMMANDS = ("train", "evaluate", "curve", "ratings", "bench", "sl", "records", "usi", "play", "analyse", "export",
            "dashboard", "config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keisei", description="Shogi self-play reinforcement learning.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"keisei {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"keisei.commands.{name}").register(sub)
    for command in sub.choices.values():  # `keisei train --debug` as well as `keisei --debug train`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    prepare_openmp_env()  # before any subcommand imports torch: OpenMP reads it once, when torch loads
    argv = sys.argv[1:] if argv is None else argv
    _console_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (KeiseiError, ValueError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        text = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
        # one write call for the whole line: torchrun ranks share one stderr, and print() writes the text and
        # its newline separately, so two ranks' lines could run together
        sys.stderr.write(f"keisei {args.command}: error: {text}\n")
        sys.stderr.flush()
        return getattr(exc, "exit_code", EXIT_USAGE) if isinstance(exc, KeiseiError) else EXIT_USAGE
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
        handler.addFilter(lambda record: getattr(record, "console", True))  # extra={"console": False}: log only
        handler._keisei_console = True  # type: ignore[attr-defined]
        pkg.addHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
