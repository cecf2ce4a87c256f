"""The USI engine's options: declarations for ``usi``, parsing of ``setoption`` values.

Names are matched case-insensitively (as GUIs differ); values keep the declared type. The reserved
``USI_Hash`` and ``USI_Ponder`` are declared (tournament managers validate the options they set), and the draw
ply limit is declared under the names of the YaneuraOu and dlshogi families too (``MaxMovesToDraw``,
``Draw_Ply``: aliases of ``DrawPly``), so a manager that syncs its ply limit with the engine works on its defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

OptionType = Literal["spin", "check", "combo", "string", "filename"]
Value = int | bool | str


@dataclass(frozen=True)
class UsiOption:
    """One engine option; ``declaration()`` is its ``option name ...`` line."""

    name: str
    type: OptionType
    default: Value
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def declaration(self) -> str:
        if self.type == "check":
            default = "true" if self.default else "false"
        else:
            default = str(self.default) if str(self.default) != "" else "<empty>"
        line = f"option name {self.name} type {self.type} default {default}"
        if self.type == "spin":
            line += f" min {self.min} max {self.max}"
        if self.type == "combo":
            line += "".join(f" var {choice}" for choice in self.choices)
        return line

    def parse(self, text: str) -> Value:
        """The typed value of ``text``; ValueError naming the option and the allowed values."""
        text = text.strip()
        if self.type == "spin":
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"option {self.name}: {text!r} is not an integer") from None
            assert self.min is not None and self.max is not None
            if not self.min <= value <= self.max:
                raise ValueError(f"option {self.name}: {value} is outside [{self.min}, {self.max}]")
            return value
        if self.type == "check":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"option {self.name}: {text!r} is not true or false")
            return text.lower() == "true"
        if self.type == "combo":
            for choice in self.choices:
                if choice.lower() == text.lower():
                    return choice
            raise ValueError(f"option {self.name}: {text!r} is not one of {', '.join(self.choices)}")
        return "" if text == "<empty>" else text


# The engine's declared options, in the order of the `usi` answer. ModelFile's default is the checkpoint.
ENGINE_OPTIONS: tuple[UsiOption, ...] = (
    UsiOption("ModelFile", "filename", "", help="Keisei checkpoint to play (loaded at isready)"),
    UsiOption("NodesLimit", "spin", 0, 0, 100_000_000, help="simulations per move; 0 = by the clock"),
    UsiOption("MultiPV", "spin", 1, 1, 20, help="principal variations reported"),
    UsiOption("Threads", "spin", 1, 1, 256, help="CPU threads of the network (torch)"),
    UsiOption("BatchSize", "spin", 16, 1, 1024, help="leaves evaluated per network call"),
    UsiOption("SearchAlgorithm", "combo", "puct", choices=("puct", "gumbel", "policy"),
              help="tree search, or 'policy': play the network's raw policy (argmax) without search"),
    UsiOption("Backend", "combo", "auto", choices=("auto", "torch", "onnx"),
              help="network calls: torch, onnx (onnxruntime, CPU) or auto (onnxruntime for small batches on a CPU)"),
    UsiOption("ByoyomiMargin", "spin", 200, 0, 60_000, help="ms kept back from a byoyomi"),
    UsiOption("TimeMargin", "spin", 500, 0, 60_000, help="ms kept back from main time / increments"),
    UsiOption("ResignValue", "spin", 3000, 0, 32_000, help="resign when the score is <= -this cp; 0 = never"),
    UsiOption("DrawPly", "spin", 0, 0, 100_000, help="game length (plies, from move 1) scored a draw; 0 = none"),
    UsiOption("EnteringKingRule", "combo", "CSARule27", choices=("CSARule27", "CSARule24", "NoEnteringKing"),
              help="entering-king declaration rule for 'bestmove win' and the search"),
    UsiOption("MateSearchNodes", "spin", 20_000, 0, 10_000_000,
              help="df-pn nodes tried at the root before each search; 0 = off"),
    UsiOption("RandomOpeningPly", "spin", 0, 0, 512,
              help="the first N plies of a game are drawn from the search's visits (or the policy): variety; 0 = off"),
    UsiOption("Device", "string", "cpu", help="torch device of the network (cpu, cuda, cuda:1, ...)"),
    UsiOption("USI_Hash", "spin", 256, 0, 1 << 30, help="MiB of search tree kept between moves"),
    UsiOption("USI_Ponder", "check", False, help="the GUI may send go ponder (Keisei ponders when asked)"),
)
# Other engines' names for one of ours: declared too, with the same range; setting one sets ours.
ALIASES: dict[str, str] = {"MaxMovesToDraw": "DrawPly", "Draw_Ply": "DrawPly"}
IMPLICIT_OPTIONS: tuple[UsiOption, ...] = ()
# Changing one of these makes the next `isready` rebuild the thinker (reload the network).
RELOAD_OPTIONS = frozenset({"ModelFile", "Threads", "BatchSize", "SearchAlgorithm", "Backend", "Device", "USI_Hash"})


class OptionValues:
    """Current values of every option; ``set(name, text)`` validates (ValueError naming the problem)."""

    def __init__(self, model_file: str = "", defaults: Mapping[str, Value] | None = None) -> None:
        """``defaults``: starting values that replace the declared defaults (e.g. from the ``[search]`` config);
        they are what ``usi`` declares. Checked like ``setoption`` values."""
        self._options = {o.name.lower(): o for o in (*ENGINE_OPTIONS, *IMPLICIT_OPTIONS)}
        self._aliases = {alias.lower(): self._options[name.lower()] for alias, name in ALIASES.items()}
        self._values: dict[str, Value] = {o.name: o.default for o in self._options.values()}
        self._values["ModelFile"] = model_file
        for name, value in (defaults or {}).items():
            self.set(name, str(value).lower() if isinstance(value, bool) else str(value))

    def declarations(self) -> list[str]:
        """The ``option`` lines, each with its current value as the default."""
        lines = [dataclasses.replace(o, default=self._values[o.name]).declaration() for o in ENGINE_OPTIONS]
        for alias, name in ALIASES.items():
            option = self._options[name.lower()]
            lines.append(dataclasses.replace(option, name=alias, default=self._values[name]).declaration())
        return lines

    def knows(self, name: str) -> bool:
        return name.lower() in self._options or name.lower() in self._aliases

    def set(self, name: str, text: str) -> str:
        """Set option ``name`` from ``text``; -> its canonical name. KeyError if unknown, ValueError if bad."""
        option = self._options.get(name.lower()) or self._aliases.get(name.lower())
        if option is None:
            raise KeyError(name)
        self._values[option.name] = option.parse(text)
        return option.name

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def as_dict(self) -> dict[str, Value]:
        return dict(self._values)
