"""`go` arguments and time management for the USI engine (pure functions, no clock reads).

``parse_go(tokens)`` turns the words after ``go`` into ``GoLimits``; ``think_time_ms(limits, turn, ...)`` says
how long to think. The rule (all times in milliseconds, for the side to move):

* ``available = time + inc + byoyomi`` (the increment counts for this move, as cshogi's match runner and the
  Shogidokoro convention add it before the move is charged);
* ``margin`` = ``byoyomi_margin`` when a byoyomi is given, else ``time_margin``; never more than half of
  ``available`` (so byoyomi 100 ms still leaves 50 ms to think);
* ``hard = available - margin`` is the most ever used; with main time left the engine spends
  ``time / moves_to_go + inc + byoyomi`` (at most ``hard``); with no main time left, ``hard``;
* ``movetime T`` thinks ``T - min(byoyomi_margin, T / 2)``;
* no clock at all (no btime/wtime/byoyomi/binc/winc/movetime): ``None`` (the caller applies a node limit or
  its default), and ``infinite`` / ``ponder`` mean no deadline until ``stop`` / ``ponderhit``.

The result is at least 1 ms: the search always runs at least one simulation and stops at its first check.
"""

from __future__ import annotations

from dataclasses import dataclass

CLOCK_FIELDS = ("btime", "wtime", "byoyomi", "binc", "winc", "movetime")
_INT_FIELDS = (*CLOCK_FIELDS, "nodes", "depth")
DEFAULT_MOVES_TO_GO = 30


@dataclass(frozen=True)
class GoLimits:
    """The arguments of one ``go`` command (times in ms; None when not given)."""

    btime: int | None = None
    wtime: int | None = None
    byoyomi: int | None = None
    binc: int | None = None
    winc: int | None = None
    movetime: int | None = None
    nodes: int | None = None
    depth: int | None = None
    infinite: bool = False
    ponder: bool = False
    mate: int | None = None  # go mate <ms>: a time limit; go mate infinite: -1
    is_mate: bool = False
    mate_nodes: int | None = None  # go mate ... nodes N: the df-pn node budget

    @property
    def has_clock(self) -> bool:
        return any(getattr(self, name) is not None for name in CLOCK_FIELDS)


def parse_go(tokens: list[str]) -> GoLimits:
    """Parse the words after ``go``; ValueError naming the bad word. Unknown words are errors too."""
    values: dict[str, int | bool | None] = {}
    i = 0
    if tokens[:1] == ["mate"]:
        return _parse_mate(tokens[1:])
    while i < len(tokens):
        word = tokens[i]
        if word in ("infinite", "ponder"):
            values[word] = True
            i += 1
        elif word in _INT_FIELDS:
            if i + 1 >= len(tokens):
                raise ValueError(f"{word} needs a value")
            values[word] = _nonnegative(word, tokens[i + 1])
            i += 2
        else:
            raise ValueError(f"unknown argument {word!r}")
    return GoLimits(**values)  # type: ignore[arg-type]


def _parse_mate(tokens: list[str]) -> GoLimits:
    """``go mate [<ms> | infinite] [nodes N] [movetime T] [depth D] ...`` as tools send it: a time, ``infinite``
    (the default), and a node budget; other limits (depth) are accepted and not used. ValueError naming a bad
    word, raised only after the words that could be read (the caller still answers ``checkmate``)."""
    mate, nodes, i = -1, None, 0
    while i < len(tokens):
        word = tokens[i]
        if word == "infinite":
            i += 1
        elif word.lstrip("-").isdigit():
            mate, i = _nonnegative("mate", word), i + 1
        elif word in ("nodes", "movetime", "depth", "byoyomi", "btime", "wtime") and i + 1 < len(tokens):
            value = _nonnegative(word, tokens[i + 1])
            if word == "nodes":
                nodes = value
            elif word in ("movetime", "byoyomi"):
                mate = value
            i += 2
        else:
            raise ValueError(f"mate: unknown argument {word!r}")
    return GoLimits(mate=mate, is_mate=True, mate_nodes=nodes)


def _nonnegative(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None
    return max(0, value)  # some GUIs send slightly negative remaining times; treat them as 0


def think_time_ms(
    limits: GoLimits,
    turn: str,
    *,
    byoyomi_margin: int,
    time_margin: int,
    moves_to_go: int = DEFAULT_MOVES_TO_GO,
) -> int | None:
    """How long to think for ``limits`` with ``turn`` ("black"/"white") to move; see the module doc."""
    if not limits.has_clock:
        return None
    if limits.movetime is not None:
        return max(1, limits.movetime - min(byoyomi_margin, limits.movetime // 2))
    black = turn == "black"
    main = (limits.btime if black else limits.wtime) or 0
    inc = (limits.binc if black else limits.winc) or 0
    byoyomi = limits.byoyomi or 0
    available = main + inc + byoyomi
    margin = min(byoyomi_margin if byoyomi > 0 else time_margin, available // 2)
    hard = available - margin
    if main > 0:
        target = min(hard, main // max(1, moves_to_go) + inc + byoyomi)
    else:
        target = hard
    return max(1, target)
