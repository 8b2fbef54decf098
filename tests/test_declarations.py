"""One declaration per fact: no class name is declared in two modules of agentctl/."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "agentctl"

# Known twins, each removed by the change that fixes it; nothing else may be added here.
KNOWN: set[str] = set()


def _declared(source: str) -> list[str]:
    """Class names declared in the source, nested ones and those under `if TYPE_CHECKING` included."""
    return [node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)]


def _twins(sources: dict[str, str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = defaultdict(list)
    for name, source in sources.items():
        for cls in _declared(source):
            where[cls].append(name)
    return {cls: files for cls, files in where.items() if len(files) > 1}


def test_no_class_name_is_declared_in_two_modules():
    sources = {str(p.relative_to(ROOT.parent)): p.read_text() for p in sorted(ROOT.rglob("*.py"))}
    twins = _twins(sources)
    assert set(twins) - KNOWN == set(), {c: f for c, f in twins.items() if c not in KNOWN}
    assert set(twins) >= KNOWN, f"fixed: remove {KNOWN - set(twins)} from KNOWN"


def test_a_twin_in_another_package_is_found():
    sources = {
        "agentctl/store/a.py": "class Row:\n    pass\n",
        "agentctl/reports/b.py": "if True:\n    class Row:\n        pass\n",
        "agentctl/reports/c.py": "class Other:\n    pass\n",
    }
    assert _twins(sources) == {"Row": ["agentctl/store/a.py", "agentctl/reports/b.py"]}
