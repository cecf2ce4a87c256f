"""`--config`/`--preset`/`--set` for the commands that search (`usi`, `play`, `analyse`): the ``[search]`` section.

Light (no torch): ``keisei usi`` answers ``usi`` before the network loads.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_search_config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, metavar="FILE", help="TOML config file (its [search] section is used)")
    p.add_argument("--preset", default=None, help="tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set search.algorithm=gumbel (repeatable)")


def search_config(args: argparse.Namespace):
    """The ``[search]`` section of the config these arguments build (ConfigError naming a bad field)."""
    from keisei.config import load_config

    return load_config(args.config, args.preset, args.overrides).search


def config_args(args: argparse.Namespace) -> list[str]:
    """The same arguments for another command line (a launcher), with the config file's absolute path."""
    out: list[str] = []
    if args.config:
        out += ["--config", str(Path(args.config).expanduser().resolve())]
    if args.preset:
        out += ["--preset", args.preset]
    for item in args.overrides:
        out += ["--set", item]
    return out


def option_defaults(search: Any) -> dict[str, object]:
    """USI option values that follow the ``[search]`` section (what ``usi`` declares; setoption overrides)."""
    return {"SearchAlgorithm": search.algorithm, "BatchSize": search.batch_size, "Backend": search.backend}
