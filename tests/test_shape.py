"""The shape of the code holds: sizes, SQL only in the store, reasons on every suppression."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "agentctl"
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

# A statement, not a word in a sentence: the keyword followed by what only SQL puts after it.
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|SHOW\s+\w+|"
    r"ALTER\s+TABLE|DROP\s+(TABLE|INDEX))",
)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_the_package_has_sources():
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_module_size(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_rel(path)} has {lines} lines (at most {MAX_MODULE_LINES})"


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_function_size():
    long = []
    for path in SOURCES:
        for fn in _functions(ast.parse(path.read_text())):
            n = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if n > MAX_FUNCTION_LINES:
                long.append(f"{_rel(path)}:{fn.lineno} {fn.name} ({n} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


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
