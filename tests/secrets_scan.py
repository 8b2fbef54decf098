"""Where a test API key could leak: database rows, files, captured output. Used by conftest's session-end check."""

from __future__ import annotations

from pathlib import Path

# Keys the tests hand to agentctl; none may be written anywhere.
SECRETS = ("sk-ant-SENTINEL-0123456789abcdef-never-store-me", "sk-ant-api03-SECRET-do-not-print")
MAX_FILE_BYTES = 64 * 1024 * 1024


def rows_with_secret(url: str) -> list[str]:
    """'table: n rows' for each table of the database at `url` with a secret in any column (rows as text)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5, autocommit=True) as c:
        return rows_with_secret_on(c, url.split("?")[0])


def rows_with_secret_on(c, name: str) -> list[str]:
    """rows_with_secret over an open connection `c` to the database called `name` (one query)."""
    from psycopg import sql

    tables = c.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    if not tables:
        return []
    count = sql.SQL(
        "SELECT {label}, count(*) FROM {table} t WHERE strpos(t::text, %(a)s) > 0 OR strpos(t::text, %(b)s) > 0"
    )
    query = sql.SQL(" UNION ALL ").join(
        count.format(label=sql.Literal(f"{schema}.{table}"), table=sql.Identifier(schema, table))
        for schema, table in tables
    )
    rows = c.execute(query, {"a": SECRETS[0], "b": SECRETS[1]}).fetchall()
    return [f"{name} {table}: {n} row(s)" for table, n in rows if n]


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
