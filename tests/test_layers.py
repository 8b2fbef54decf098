"""The layer rule of ARCHITECTURE.md, read from the imports (function-level and TYPE_CHECKING ones included).

A module imports its own package and the layers below it, never one beside or above it;
no module reaches into another module's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "agentctl"

# Lowest first: each layer may import itself and any layer before it (ARCHITECTURE.md "Layers").
LAYERS: list[tuple[str, ...]] = [
    ("agentctl.domain", "agentctl.fmt", "agentctl.procs", "agentctl.files"),
    ("agentctl.gates", "agentctl.results", "agentctl.pricing", "agentctl.plot"),
    ("agentctl.settings",),
    ("agentctl.store",),
    ("agentctl.lab",),
    ("agentctl.agent",),
    ("agentctl.tick", "agentctl.reports"),
    ("agentctl.runner",),
    ("agentctl.cli",),
    ("agentctl.__main__", "agentctl"),
]

# Known breaks, each removed by the change that fixes it; nothing else may be added here.
KNOWN: set[tuple[str, str]] = set()
KNOWN_PRIVATE: set[tuple[str, str]] = set()
# Private names of other libraries that are their public API in all but name.
FOREIGN_PRIVATE = {"_exit", "_custom_shell_complete", "_asdict", "_replace", "_fields", "_make"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    me = _module(path)
    return _imports_in(path.read_text(), me if path.name == "__init__.py" else me.rpartition(".")[0])


def _source_of(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` reads from, relative imports resolved against `package`."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    return ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))


def _imports_in(source: str, package: str) -> list[str]:
    """Every agentctl module the source imports, wherever the import statement stands."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _source_of(node, package)
            # `from agentctl import fmt` imports the module agentctl.fmt.
            out += [f"{target}.{a.name}" if target == "agentctl" else target for a in node.names]
    return [t for t in out if t == "agentctl" or t.startswith("agentctl.")]


def _layer(module: str) -> tuple[int, str]:
    """The layer index and the unit (package or top-level module) of `module`."""
    for i, units in enumerate(LAYERS):
        for unit in sorted(units, key=len, reverse=True):
            if unit == "agentctl" and module != "agentctl":
                continue
            if module == unit or module.startswith(unit + "."):
                return i, unit
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to ARCHITECTURE.md")


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _breaks(me: str, targets: list[str]) -> list[str]:
    mine, my_unit = _layer(me)
    wrong = []
    for target in targets:
        theirs, their_unit = _layer(target)
        if their_unit == my_unit or theirs < mine or (my_unit, their_unit) in KNOWN:
            continue
        wrong.append(f"{me} imports {target} ({'beside' if theirs == mine else 'above'} it)")
    return wrong


def test_every_import_goes_down_or_stays_in_its_package():
    wrong = [w for path in _sources() for w in _breaks(_module(path), _imports(path))]
    assert not wrong, "\n".join(wrong)


def test_the_known_breaks_still_exist():
    """An exception left in KNOWN after its fix would hide the next break of the same pair."""
    seen = {(_layer(_module(p))[1], _layer(t)[1]) for p in _sources() for t in _imports(p)}
    assert seen >= KNOWN, f"fixed: remove {KNOWN - seen} from KNOWN"


def _private_uses(path: Path) -> list[str]:
    """Private names of another module: imported by name, or read off anything but self and cls."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            out += [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            if node.attr not in FOREIGN_PRIVATE:
                out.append(node.attr)
    return out


def test_no_module_uses_another_modules_private_names():
    found = {(str(p.relative_to(ROOT.parent)), name) for p in _sources() for name in _private_uses(p)}
    assert found - KNOWN_PRIVATE == set()
    assert found >= KNOWN_PRIVATE, f"fixed: remove {KNOWN_PRIVATE - found} from KNOWN_PRIVATE"


def test_the_rule_sees_imports_inside_functions_and_type_checking():
    """Where cycles hide: a planted upward import in a function or under TYPE_CHECKING is caught."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from agentctl.domain import Phase\n"
        "from . import queries\n"
        "if TYPE_CHECKING:\n    from agentctl.lab.gates import Result\n"
        "def f():\n    from ..tick import core\n"
    )
    targets = _imports_in(source, "agentctl.store")
    assert targets == ["agentctl.domain", "agentctl.store", "agentctl.lab.gates", "agentctl.tick"]
    assert _breaks("agentctl.store.planted", targets) == [
        "agentctl.store.planted imports agentctl.lab.gates (above it)",
        "agentctl.store.planted imports agentctl.tick (above it)",
    ]
    assert _breaks("agentctl.tick.planted", ["agentctl.runner"]) == [
        "agentctl.tick.planted imports agentctl.runner (above it)"
    ]


# Import cycles between modules (function-level imports included) that are still there.
KNOWN_CYCLES = {
    frozenset({"agentctl.tick.assess", "agentctl.tick.core"}),  # the assessor's tick and the stage table
    frozenset({"agentctl.lab.data", "agentctl.lab.periods", "agentctl.lab.userfile"}),
    frozenset({"agentctl.lab.backtest", "agentctl.lab.training"}),
    frozenset({"agentctl.lab.executors", "agentctl.lab.executors.local", "agentctl.lab.executors.ray"}),
    frozenset({"agentctl.cli.cycle", "agentctl.cli.entry", "agentctl.cli.main"}),
}


def _module_graph() -> dict[str, set[str]]:
    """Each module and the agentctl modules it imports (`from pkg import mod` names the module)."""
    modules = {_module(p): p for p in _sources()}
    graph: dict[str, set[str]] = {}
    for me, path in modules.items():
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = _source_of(node, package)
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        graph[me] = {m for m in found if m in modules and m != me}
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module."""
    reach = {m: set() for m in graph}
    for m in graph:
        todo = list(graph[m])
        while todo:
            n = todo.pop()
            if n not in reach[m]:
                reach[m].add(n)
                todo += graph[n]
    return {frozenset({m} | {n for n in reach[m] if m in reach[n]}) for m in graph if m in reach[m]}


def test_no_new_import_cycles():
    found = _cycles(_module_graph())
    assert found - KNOWN_CYCLES == set(), [sorted(c) for c in found - KNOWN_CYCLES]
    assert found >= KNOWN_CYCLES, f"fixed: remove {[sorted(c) for c in KNOWN_CYCLES - found]} from KNOWN_CYCLES"
