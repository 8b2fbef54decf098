"""Named SQL statements: every query lives in agentctl/store/sql/<group>.sql.

A block starts with a line `-- name: some_name` and runs to the next one. Parameters
are always bound (`%(name)s`), never formatted in.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


class Queries(dict[str, str]):
    """name -> SQL text for one group; a missing name is a KeyError naming the file."""

    def __init__(self, group: str, items: dict[str, str]):
        super().__init__(items)
        self.group = group

    def __missing__(self, key: str) -> str:
        raise KeyError(f"no query named {key!r} in agentctl/store/sql/{self.group}.sql")


def parse(text: str) -> dict[str, str]:
    """Split a .sql file into its named statements."""
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=False):
        if name in out:
            raise ValueError(f"query {name!r} defined twice")
        out[name] = body.strip().rstrip(";").strip()
    return out


@cache
def load(group: str) -> Queries:
    """The named statements of agentctl/store/sql/<group>.sql, parsed once."""
    return Queries(group, parse((SQL_DIR / f"{group}.sql").read_text()))
