"""The configuration reference (docs/configuration.md), generated from the schema in keisei.config.

``keisei config --reference`` prints it; a test fails when the committed page and the schema disagree, and
every field must carry a description. Run ``keisei config --reference > docs/configuration.md`` after
changing the schema.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from keisei.config import KeiseiConfig

HEADER = """# Configuration reference

Generated from the schema (`keisei/config.py`) by `keisei config --reference`; a test keeps this page and the
schema in step. Layers: defaults, then a preset (`--preset tiny|small|base`, `keisei/presets/*.toml`), then
`--config FILE` (TOML), then `--set section.key=value`. Unknown keys and out-of-range values are errors that
name the dotted field. PPO's keys were under `[training]` before `[ppo]` existed: old files, `--set` names and
checkpoints still load (a config file or `--set` gets one deprecation line naming the new keys).
"""


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"' if value else '""'
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        return f"{value:.0e}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:_}"
    return str(value).replace("'", '"')


def _bounds(metadata: list[Any]) -> list[str]:
    out = []
    for m in metadata:
        for cls, sym in ((annotated_types.Ge, ">="), (annotated_types.Gt, ">"), (annotated_types.Le, "<="),
                         (annotated_types.Lt, "<")):
            if isinstance(m, cls):
                out.append(f"{sym} {getattr(m, next(iter(cls.__dataclass_fields__)))}")
    return out


def _choices(annotation: Any) -> list[str]:
    """Literal choices anywhere in the annotation (e.g. ``int | Literal["auto"]``)."""
    if typing.get_origin(annotation) is Literal:
        return [f'"{a}"' if isinstance(a, str) else str(a) for a in typing.get_args(annotation)]
    out: list[str] = []
    for arg in typing.get_args(annotation):
        out += _choices(arg)
    return out


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return "choice"
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args)
    return getattr(annotation, "__name__", str(annotation))


def _range(info: FieldInfo) -> str:
    parts = _bounds(info.metadata)
    for arg in typing.get_args(info.annotation):  # bounds inside Annotated members of a union
        if typing.get_origin(arg) is typing.Annotated:
            for m in typing.get_args(arg)[1:]:
                parts += _bounds(getattr(m, "metadata", [m]))
    choices = _choices(info.annotation)
    if choices:
        parts.append("one of " + ", ".join(choices))
    return "; ".join(parts) or "-"


def section_table(name: str, model: type[BaseModel]) -> list[str]:
    lines = [f"## [{name}]", ""]
    doc = (model.__doc__ or "").strip()
    if doc:
        lines += [" ".join(doc.split()), ""]
    lines += ["| field | type | default | range | meaning |", "|---|---|---|---|---|"]
    for field, info in model.model_fields.items():
        meaning = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{name}.{field}` | {_type_name(info.annotation)} | `{_default(info)}` | {_range(info)} | "
                     f"{meaning} |")
    return [*lines, ""]


def undocumented() -> list[str]:
    """Dotted fields without a description (the reference must say what each one means)."""
    return [f"{section}.{field}" for section, info in KeiseiConfig.model_fields.items()
            for field, f in info.annotation.model_fields.items() if not f.description]


def reference_markdown() -> str:
    lines = [HEADER]
    for section, info in KeiseiConfig.model_fields.items():
        lines += section_table(section, info.annotation)
    return "\n".join(lines).rstrip() + "\n"
