"""`keisei config`: the effective config of a preset, file and overrides as TOML, or the generated reference."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser("config", help="print the effective config (TOML) or the configuration reference")
    p.add_argument("--config", default=None, help="TOML config file")
    p.add_argument("--preset", default=None, help="tiny | small | base")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (repeatable)")
    p.add_argument("--reference", action="store_true",
                   help="print the reference of every field (docs/configuration.md) instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reference:
        from keisei.config_reference import reference_markdown

        sys.stdout.write(reference_markdown())
        return 0
    from keisei.config import load_config

    sys.stdout.write(load_config(args.config, args.preset, args.overrides).to_toml())
    return 0
