"""Where a test API key could leak: database rows, files, captured output. Used by conftest's session-end check."""

from __future__ import annotations

from pathlib import Path

# Keys the tests hand to agentctl; none may be written anywhere.
SECRETS = ("sk-ant-SENTINEL-0123456789abcdef-never-store-me", "sk-ant-api03-SECRET-do-not-print")
MAX_FILE_BYTES = 64 * 1024 * 1024


def rows_with_secret(url: str) -> list[str]:
    """'table: n rows' for each table of the database at `url` with a secret in any column (rows as text)."""
    import psycopg
    from psycopg import sql

    found = []
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as c:
        tables = c.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            for secret in SECRETS:
                q = sql.SQL("SELECT count(*) FROM {}.{} t WHERE strpos(t::text, %s) > 0").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                n = c.execute(q, [secret]).fetchone()[0]
                if n:
                    found.append(f"{url.split('?')[0]} {schema}.{table}: {n} row(s)")
    return found


def files_with_secret(root: Path) -> list[str]:
    """Files under `root` (logs, strategies, operation logs, postgres logs...) containing a secret."""
    needles = [s.encode() for s in SECRETS]
    found = []
    for p in Path(root).rglob("*"):
        if "pgdata" in p.parts:
            continue  # PostgreSQL's own storage (WAL keeps dropped rows): the row scan covers the databases
        try:
            if not p.is_file() or p.is_symlink() or p.stat().st_size > MAX_FILE_BYTES:
                continue
            data = p.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            found.append(str(p))
    return found


def text_has_secret(text: str) -> bool:
    return any(s in text for s in SECRETS)
