"""The schema contract (docs/schema.md, the seed document kept verbatim in the repository)."""

from __future__ import annotations

import re
from pathlib import Path

SCHEMA_DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def _sections() -> tuple[str, str]:
    text = SCHEMA_DOC.read_text()
    schema, _, queries = text.partition("## Useful Queries")
    return schema, queries


def schema_blocks() -> list[str]:
    """The CREATE TABLE / CREATE INDEX blocks, in document order."""
    return re.findall(r"```sql\n(.*?)```", _sections()[0], re.S)


def useful_queries() -> dict[str, str]:
    """Heading -> SQL of the four "Useful Queries"."""
    out = {}
    for title, sql in re.findall(r"### (.+?)\n```sql\n(.*?)```", _sections()[1], re.S):
        out[title.strip()] = sql.strip()
    return out
