"""The shape of the code holds: sizes, SQL only in the store, reasons on every suppression, no path hacks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "agentctl"
SOURCES = sorted(PACKAGE.rglob("*.py"))
# The tests and the benchmarks are code too: the size rules and the path rule hold for them.
TESTS_AND_BENCH = sorted([*(REPO / "tests").rglob("*.py"), *(REPO / "bench").rglob("*.py")])
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

# A statement, not a word in a sentence: the keyword followed by what only SQL puts after it, in either
# case. SHOW is an English word too: only a string that is nothing but `SHOW name` counts.
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|"
    r"ALTER\s+TABLE|DROP\s+(TABLE|INDEX))|\A\s*SHOW\s+[\w.]+\s*;?\s*\Z",
    re.IGNORECASE,
)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_the_package_has_sources():
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", [*SOURCES, *TESTS_AND_BENCH], ids=_rel)
def test_module_size(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_rel(path)} has {lines} lines (at most {MAX_MODULE_LINES})"


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_function_size():
    long = []
    for path in [*SOURCES, *TESTS_AND_BENCH]:
        for fn in _functions(ast.parse(path.read_text())):
            n = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if n > MAX_FUNCTION_LINES:
                long.append(f"{_rel(path)}:{fn.lineno} {fn.name} ({n} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


@pytest.mark.parametrize(
    "text",
    [
        "SELECT id FROM cycles",
        "select id from cycles",
        "insert into agent_actions (id) values (%(id)s)",
        "Update agent_sessions Set phase = 'idle'",
        "delete from lab_operations",
        "create index idx on t (c)",
        "alter table t add column c int",
        "drop table t",
        "show server_version",
        "SHOW server_version;",
    ],
)
def test_the_sql_check_finds_sql_in_either_case(text):
    assert SQL.search(text)


@pytest.mark.parametrize(
    "text", ["agentctl show 7 --png cycle7.png", "as the trigger tables show it.", "Which columns to show and how"]
)
def test_the_sql_check_passes_prose(text):
    assert not SQL.search(text)


def test_no_sql_outside_the_store():
    found = []
    for path in SOURCES:
        if path.is_relative_to(PACKAGE / "store"):
            continue
        for node in _strings(ast.parse(path.read_text())):
            if SQL.search(node.value):
                found.append(f"{_rel(path)}:{node.lineno} {node.value.strip()[:60]!r}")
    assert not found, "SQL outside agentctl/store/:\n" + "\n".join(found)


def test_store_statements_are_named_files():
    """Store modules run named statements; SQL text lives only in store/sql/*.sql."""
    found = []
    for path in sorted((PACKAGE / "store").rglob("*.py")):
        for node in _strings(ast.parse(path.read_text())):
            if SQL.search(node.value):
                found.append(f"{_rel(path)}:{node.lineno} {node.value.strip()[:60]!r}")
    assert not found, "inline SQL in the store (put it in store/sql/<family>.sql):\n" + "\n".join(found)


def test_every_suppression_says_why():
    bare = re.compile(r"#\s*(noqa(:\s*[A-Z0-9, ]+)?|type:\s*ignore(\[[\w, -]+\])?)\s*$")
    found = []
    for path in [*SOURCES, *sorted((REPO / "tests").rglob("*.py")), *sorted((REPO / "bench").rglob("*.py"))]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if bare.search(line):
                found.append(f"{_rel(path)}:{n}: {line.strip()}")
    assert not found, "a noqa or type: ignore without its reason:\n" + "\n".join(found)


def test_no_words_users_do_not_have():
    """Comments and output cite the product, not our planning documents."""
    words = re.compile(r"SPEC\s*§|\bissue \d+\b|\(seed query\)")
    found = []
    for path in [*SOURCES, *sorted((PACKAGE / "store" / "sql").glob("*.sql"))]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if words.search(line):
                found.append(f"{_rel(path)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def _path_edits(tree: ast.AST):
    """Calls that change the import path: sys.path.insert/append/extend, site.addsitedir."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = ast.unparse(node.func.value)
        if (owner == "sys.path" and node.func.attr in ("insert", "append", "extend")) or (
            owner == "site" and node.func.attr == "addsitedir"
        ):
            yield node


def test_no_import_path_edits_in_tests_or_bench():
    """Helpers are found through pytest's `pythonpath`; benchmarks run as `python -m bench.<name>`."""
    found = []
    for path in TESTS_AND_BENCH:
        for node in _path_edits(ast.parse(path.read_text())):
            found.append(f"{_rel(path)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "sys.path edited (use pyproject's pytest pythonpath, or run as a module):\n" + "\n".join(found)


def test_the_path_check_finds_an_edit():
    code = "import sys\nsys.path.insert(0, 'x')\nsys.path.append('y')\n"
    assert len(list(_path_edits(ast.parse(code)))) == 2
