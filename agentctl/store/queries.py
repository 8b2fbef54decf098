"""Named SQL statements: every query lives in agentctl/store/sql/<group>.sql.

A block starts with a line `-- name: some_name` and runs to the next one. Parameters
are always bound (`%(name)s`), never formatted in. A statement may leave a slot
(`{order}`, `{action_columns}`) for a fragment of the same file: the caller picks it by
name, or the fragment named like the slot fills it. The choice is among the file's own
text, so no input ever reaches the SQL.

`Statements` runs them, one method per answer a caller expects:
`.one` (the row; raise if there is none), `.maybe` (the row or None), `.all` (every
row) and `.run` (no answer). None of them opens a transaction: a store function
that needs one says so with `with conn.transaction():` (or `@atomic`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    import psycopg

SQL_DIR = Path(__file__).resolve().parent / "sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_SLOT = re.compile(r"\{(\w+)\}")

P = ParamSpec("P")
R = TypeVar("R")
Row = dict[str, Any]
Params = dict[str, Any] | None


class NoRow(RuntimeError):
    """A statement that always answers with a row (an aggregate, a RETURNING, NOW()) returned none."""


def parse(text: str) -> dict[str, str]:
    """Split a .sql file into its named statements."""
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=False):
        if name in out:
            raise ValueError(f"query {name!r} defined twice")
        out[name] = body.strip().rstrip(";").strip()
    return out


class Statements:
    """The named statements of agentctl/store/sql/<group>.sql, parsed on first use."""

    def __init__(self, group: str):
        self.group = group

    @functools.cached_property
    def _texts(self) -> dict[str, str]:
        return parse((SQL_DIR / f"{self.group}.sql").read_text())

    def names(self) -> list[str]:
        return list(self._texts)

    def sql(self, name: str, **parts: str) -> str:
        """The text of `name`, each `{slot}` filled with a fragment of this file: the one `parts` names,
        else the fragment named like the slot (a column list written once)."""
        texts = self._texts
        if name not in texts or not set(parts.values()) <= set(texts):
            unknown = next(n for n in (name, *parts.values()) if n not in texts)
            raise KeyError(f"no query named {unknown!r} in agentctl/store/sql/{self.group}.sql")
        text = texts[name]
        slots = set(_SLOT.findall(text)) if "{" in text else set()
        if not set(parts) <= slots:
            raise KeyError(f"{self.group}.{name} has no slot {sorted(set(parts) - slots)}")
        for slot in slots:
            fragment = parts.get(slot, slot)
            if fragment in texts:  # else a slot psycopg.sql composes (an identifier)
                text = text.replace("{" + slot + "}", texts[fragment])
        return text

    def __getitem__(self, name: str) -> str:
        """The text alone, for a caller that composes it (psycopg.sql) or times it (bench/)."""
        return self.sql(name)

    def _cursor(self, conn: psycopg.Connection[Any], name: str, params: Params, parts: dict[str, str]) -> Any:
        from psycopg.rows import dict_row

        cur = conn.cursor(row_factory=dict_row)
        return cur.execute(self.sql(name, **parts), params or {})

    def one(self, conn: psycopg.Connection[Any], name: str, params: Params = None, **parts: str) -> Row:
        """The row of a statement that always returns one; NoRow if it did not."""
        row = self.maybe(conn, name, params, **parts)
        if row is None:
            raise NoRow(f"statement {self.group}.{name} returned no row")
        return row

    def maybe(self, conn: psycopg.Connection[Any], name: str, params: Params = None, **parts: str) -> Row | None:
        """The first row, or None when there is none (a guarded move that found nothing to move)."""
        with self._cursor(conn, name, params, parts) as cur:
            row: Row | None = cur.fetchone()
        return row

    def all(self, conn: psycopg.Connection[Any], name: str, params: Params = None, **parts: str) -> list[Row]:
        """Every row."""
        with self._cursor(conn, name, params, parts) as cur:
            rows: list[Row] = cur.fetchall()
        return rows

    def run(self, conn: psycopg.Connection[Any], name: str, params: Params = None, **parts: str) -> None:
        """Run for its effect; whatever it returns is not read."""
        self._cursor(conn, name, params, parts).close()


@cache
def load(group: str) -> Statements:
    """The statements of agentctl/store/sql/<group>.sql (one object per file)."""
    return Statements(group)


StoreFunction = Callable[Concatenate["psycopg.Connection[Any]", P], R]


def atomic(fn: StoreFunction[P, R]) -> StoreFunction[P, R]:
    """Run a store function in a transaction block: its own on an idle connection, a savepoint in the caller's."""

    @functools.wraps(fn)
    def in_transaction(conn: psycopg.Connection[Any], /, *args: P.args, **kwargs: P.kwargs) -> R:
        with conn.transaction():
            return fn(conn, *args, **kwargs)

    return in_transaction
