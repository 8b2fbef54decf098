"""ARCHITECTURE.md's map stays true: its table of SQL files names every file and module as they are."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SQL = REPO / "agentctl" / "store" / "sql"
ROW = re.compile(r"^\| `(?P<file>\w+\.sql)` \| (?P<tables>[^|]+) \| (?P<modules>[^|]+) \|$")
# How a store module names the SQL file whose statements it runs.
USES = re.compile(r"""(?:load|Statements|statements)\(\s*["'](\w+)["']""")


def _table() -> dict[str, set[str]]:
    """The "Where SQL lives" table: SQL file -> the store modules it names."""
    text = (REPO / "ARCHITECTURE.md").read_text()
    section = text.split("## Where SQL lives", 1)[1].split("\n## ", 1)[0]
    rows = [m for m in map(ROW.match, section.splitlines()) if m]
    return {m["file"]: set(re.findall(r"`(store/\w+\.py)`", m["modules"])) for m in rows}


def _users() -> dict[str, set[str]]:
    """SQL file -> the modules under agentctl/ that load its statements."""
    out: dict[str, set[str]] = {}
    for path in (REPO / "agentctl").rglob("*.py"):
        for family in USES.findall(path.read_text()):
            out.setdefault(f"{family}.sql", set()).add(path.relative_to(REPO / "agentctl").as_posix())
    return out


def test_every_sql_file_is_in_the_table_and_every_row_is_a_file():
    listed = set(_table())
    on_disk = {p.name for p in SQL.glob("*.sql")}
    assert listed == on_disk, f"missing from ARCHITECTURE.md: {on_disk - listed}; gone: {listed - on_disk}"


def test_each_row_names_the_modules_that_run_its_statements():
    table, users = _table(), _users()
    for file, modules in table.items():
        assert modules, f"{file}: the table names no module"
        for m in modules:
            assert (REPO / "agentctl" / m).is_file(), f"{file}: {m} does not exist"
        assert users.get(file, set()) == modules, (
            f"{file}: the table says {sorted(modules)}, the code {sorted(users.get(file, set()))}"
        )
