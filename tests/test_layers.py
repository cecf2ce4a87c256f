"""The house's import rules (docs/CONTRACTS.md, the dependency map), read from the source with ast: every
import counts, also the ones inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

KEISEI = Path(__file__).resolve().parents[1] / "keisei"

# package -> packages (or third-party roots) it must never import
FORBIDDEN = {
    "shogi": {"torch", "keisei.models", "keisei.rl", "keisei.search", "keisei.training", "keisei.evaluation",
              "keisei.usi", "keisei.sl", "keisei.run", "keisei.engine"},
    "usi": {"torch", "keisei.models", "keisei.rl", "keisei.search", "keisei.training", "keisei.evaluation",
            "keisei.sl", "keisei.run", "keisei.engine"},
    "models": {"keisei.rl", "keisei.search", "keisei.training", "keisei.evaluation", "keisei.sl", "keisei.run"},
    "rl": {"keisei.training", "keisei.evaluation", "keisei.sl", "keisei.search", "keisei.run"},
    "search": {"keisei.usi", "keisei.training", "keisei.evaluation", "keisei.sl", "keisei.run", "keisei.engine"},
    "run": {"keisei.training", "keisei.evaluation", "keisei.sl", "keisei.engine", "keisei.commands"},
    "training": {"keisei.evaluation", "keisei.sl", "keisei.commands"},
    "evaluation": {"keisei.training", "keisei.sl", "keisei.commands"},
    "sl": {"keisei.training", "keisei.commands"},
    "engine": {"keisei.training", "keisei.evaluation", "keisei.sl", "keisei.commands"},
}


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _hits(name: str, banned: set[str]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def test_every_package_imports_only_below_itself():
    broken = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((KEISEI / package).rglob("*.py")):
            for line, name in imports(path):
                if _hits(name, banned):
                    broken.append(f"{path.relative_to(KEISEI.parent)}:{line} imports {name}")
    assert not broken, "\n".join(broken)


def test_the_rule_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from keisei.training.trainer import Trainer\n", encoding="utf-8")
    assert _hits(imports(bad)[0][1], FORBIDDEN["sl"])
    assert not _hits("keisei.trainingx", {"keisei.training"})


def test_no_import_cycle_between_packages():
    edges: dict[str, set[str]] = {}
    for path in KEISEI.rglob("*.py"):
        rel = path.relative_to(KEISEI)
        if len(rel.parts) < 2:  # top-level modules (cli, config, errors, ...) are not packages
            continue
        src = rel.parts[0]
        for _, name in imports(path):
            parts = name.split(".")
            if parts[0] == "keisei" and len(parts) > 1 and (KEISEI / parts[1]).is_dir() and parts[1] != src:
                edges.setdefault(src, set()).add(parts[1])

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(p for p in edges if p in reach(p))
    assert not cycles, f"packages on an import cycle: {cycles} ({ {p: sorted(edges[p]) for p in cycles} })"
