"""The seed document (shared/seed/agent_schema.md), read verbatim at test time."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def seed_path() -> Path:
    candidates = [
        Path(os.environ.get("AGENTCTL_SEED_SCHEMA", "")),
        REPO.parent / "shared" / "seed" / "agent_schema.md",
        REPO / "tests" / "data" / "agent_schema.md",
    ]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError("shared/seed/agent_schema.md not found beside the repository")


def _sections() -> tuple[str, str]:
    text = seed_path().read_text()
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
