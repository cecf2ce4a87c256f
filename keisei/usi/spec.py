"""USI engine specs: ``usi:PATH[?name=value&...]`` -> executable, ``setoption`` values and ``go`` limits.

``nodes``, ``depth``, ``byoyomi`` (ms) and ``movetime`` (ms) are ``go`` limits; every other name is a
``setoption``. Names and values are URL-decoded (``Skill%20Level`` or ``Skill+Level`` or a plain space).
A bare name (``usi:fairy-stockfish``) is looked up on PATH, then in /usr/games (or the directories in the
environment variable ``KEISEI_ENGINE_DIRS``, ``os.pathsep``-separated; empty = PATH only).

Some engines need more than the spec says; ``KNOWN_ENGINES`` holds what was found by running them:

* Fairy-Stockfish answers ``usi`` in USI mode with ``UCI_Variant`` defaulting to ``shogi``; the client still
  sets ``UCI_Variant=shogi`` explicitly (unless the spec sets it) so another build's default cannot bite.
  It prints ``Unknown command: gameover`` for ``gameover``, which the client ignores.
* gpsusi aborts (``unknown option in go depth``) on any ``go`` limit but the clock, so only ``byoyomi``
  is accepted for it.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

GO_LIMITS = ("nodes", "depth", "byoyomi", "movetime")
SEARCH_DIRS = ("/usr/games",)  # the default of KEISEI_ENGINE_DIRS
ENGINE_DIRS_ENV = "KEISEI_ENGINE_DIRS"


def search_dirs() -> tuple[str, ...]:
    """Where bare engine names are looked up after PATH: ``$KEISEI_ENGINE_DIRS`` when set, else SEARCH_DIRS."""
    value = os.environ.get(ENGINE_DIRS_ENV)
    if value is None:
        return SEARCH_DIRS
    return tuple(d for d in value.split(os.pathsep) if d)


@dataclass(frozen=True)
class KnownEngine:
    """Defaults and restrictions for an engine recognised by its executable's file name."""

    default_options: dict[str, str] = field(default_factory=dict)
    go_limits: tuple[str, ...] = GO_LIMITS


KNOWN_ENGINES: dict[str, KnownEngine] = {
    "fairy-stockfish": KnownEngine(default_options={"UCI_Variant": "shogi"}),
    "gpsusi": KnownEngine(go_limits=("byoyomi",)),
}


def resolve_executable(name: str) -> str | None:
    """The absolute path of an executable ``name`` (a path, or a bare name on PATH or in ``search_dirs()``)."""
    if os.sep in name:
        path = Path(name).expanduser()
        return str(path.resolve()) if path.is_file() and os.access(path, os.X_OK) else None
    dirs = search_dirs()
    found = shutil.which(name) or (shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None)
    return str(Path(found).resolve()) if found else None


@dataclass(frozen=True)
class EngineSpec:
    """A parsed ``usi:`` spec; ``parse(spec.to_spec()) == spec``."""

    path: str
    options: dict[str, str] = field(default_factory=dict)
    go: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> EngineSpec:
        """Parse ``usi:PATH[?name=value&...]``; ValueError naming the spec when it is not valid."""
        if not isinstance(spec, str) or not spec.startswith("usi:"):
            raise ValueError(f"engine spec {spec!r} must look like usi:PATH[?name=value&...]")
        target, _, query = spec[len("usi:"):].partition("?")
        target = target.strip()
        if not target:
            raise ValueError(f"engine spec {spec!r}: missing the engine executable after 'usi:'")
        path = resolve_executable(target)
        if path is None:
            where = ", ".join(search_dirs()) or f"no other directory (${ENGINE_DIRS_ENV} is empty)"
            raise ValueError(
                f"engine spec {spec!r}: executable {target!r} not found (or not executable); "
                f"looked on PATH and in {where}"
            )
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError as exc:
            raise ValueError(f"engine spec {spec!r}: bad option list {query!r} ({exc})") from None
        options: dict[str, str] = {}
        go: dict[str, int] = {}
        for name, value in pairs:
            name = name.strip()
            if not name:
                raise ValueError(f"engine spec {spec!r}: an option has an empty name")
            if name in options or name in go:
                raise ValueError(f"engine spec {spec!r}: option {name!r} given twice")
            if any(c in name + value for c in "\r\n"):
                raise ValueError(f"engine spec {spec!r}: option {name!r} contains a line break")
            if name in GO_LIMITS:
                go[name] = _positive_int(spec, name, value)
            else:
                options[name] = value
        known = KNOWN_ENGINES.get(Path(path).name)
        if known is not None:
            unsupported = sorted(set(go) - set(known.go_limits))
            if unsupported:
                raise ValueError(
                    f"engine spec {spec!r}: {Path(path).name} does not support go limit(s) "
                    f"{', '.join(unsupported)}; use {', '.join(known.go_limits)}"
                )
        return cls(path=path, options=options, go=go)

    @property
    def command(self) -> list[str]:
        """The argv that starts the engine."""
        return [self.path]

    @property
    def name(self) -> str:
        """A stable display/rating name: ``fairy-stockfish[Skill Level=0,nodes=1000]``."""
        settings = [f"{k}={v}" for k, v in sorted(self.options.items())]
        settings += [f"{k}={v}" for k, v in sorted(self.go.items())]
        base = Path(self.path).name
        return f"{base}[{','.join(settings)}]" if settings else base

    def effective_options(self) -> dict[str, str]:
        """The options to send: the known engine's defaults, overridden by the spec's own options."""
        known = KNOWN_ENGINES.get(Path(self.path).name)
        defaults = known.default_options if known is not None else {}
        return {**defaults, **self.options}

    def to_spec(self) -> str:
        """The canonical ``usi:`` string for this spec."""
        pairs = sorted(self.options.items()) + sorted((k, str(v)) for k, v in self.go.items())
        query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
        return f"usi:{self.path}" + (f"?{query}" if query else "")

    def __hash__(self) -> int:
        return hash(self.to_spec())


def _positive_int(spec: str, name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"engine spec {spec!r}: {name} must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"engine spec {spec!r}: {name} must be a positive integer, got {value!r}")
    return number
