"""A comparable snapshot of a database's schema from the system catalogs."""

from __future__ import annotations

IGNORED = ("_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock")


def snapshot(conn, tables: tuple[str, ...] | None = None) -> dict:
    """Columns (type, default, nullability), constraints and indexes of public tables."""
    where = "c.relnamespace = 'public'::regnamespace AND c.relname <> ALL(%(ignored)s)"
    params = {"ignored": list(IGNORED)}
    if tables:
        where += " AND c.relname = ANY(%(tables)s)"
        params["tables"] = list(tables)
    columns = conn.execute(
        f"""
        SELECT c.relname AS table, a.attname AS column, a.attnum AS position,
               format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
               pg_get_expr(d.adbin, d.adrelid) AS default
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relkind = 'r' AND {where}
        ORDER BY 1, 3
        """,
        params,
    ).fetchall()
    constraints = conn.execute(
        f"""
        SELECT c.relname AS table, k.conname AS name, k.contype AS kind,
               pg_get_constraintdef(k.oid) AS definition
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE {where} AND k.contype <> 'n'
        ORDER BY 1, 2
        """,
        params,
    ).fetchall()
    indexes = conn.execute(
        f"""
        SELECT c.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
        WHERE {where}
        ORDER BY 1, 2
        """,
        params,
    ).fetchall()
    return {
        "columns": [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in columns],
        "constraints": [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in constraints],
        "indexes": [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in indexes],
    }
