"""Schema migrations: yoyo SQL files in migrations/, applied in batch mode under yoyo's lock."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


class MigrationError(RuntimeError):
    """A migration could not be applied; the schema is left as it was (exit 1)."""


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied_at: datetime | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None


def migrations_dir() -> Path:
    """migrations/ of the source tree, or the copy a wheel installs under share/."""
    source = Path(__file__).resolve().parents[2] / "migrations"
    if source.is_dir():
        return source
    installed = Path(sys.prefix) / "share" / "agentctl" / "migrations"
    if installed.is_dir():
        return installed
    raise MigrationError(f"migrations not found in {source} or {installed}: reinstall agentctl")


def migration_ids(directory: Path | None = None) -> list[str]:
    """Ids of the migrations shipped with this version, in order."""
    directory = directory or migrations_dir()
    return sorted(p.stem for p in directory.glob("*.sql") if not p.name.endswith(".rollback.sql"))


def _yoyo_url(url: str) -> str:
    _scheme, sep, rest = url.partition("://")
    if not sep:
        # A libpq keyword string (host=... dbname=...); yoyo needs a URL.
        raise MigrationError("AGENTCTL_DATABASE_URL must be a postgresql:// URL")
    return "postgresql+psycopg://" + rest


def _backend_and_migrations(url: str, directory: Path | None):
    from yoyo import get_backend, read_migrations

    backend = get_backend(_yoyo_url(url))
    return backend, read_migrations(str(directory or migrations_dir()))


def upgrade(url: str, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; returns the ids applied (empty when current)."""
    from yoyo.exceptions import LockTimeout

    backend, migrations = _backend_and_migrations(url, directory)
    try:
        with backend.lock(timeout=60):
            pending = backend.to_apply(migrations)
            ids = [m.id for m in pending]
            try:
                backend.apply_migrations(pending)
            except Exception as err:  # yoyo re-raises the driver's error
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise MigrationError(_failure(backend, pending, first)) from None
            return ids
    except LockTimeout:
        raise MigrationError("another process holds the migration lock; try again") from None
    finally:
        backend.connection.close()


def _failure(backend, pending, reason: str) -> str:
    """What a failed upgrade left: yoyo commits each migration on its own, so earlier ones may have gone in."""
    try:
        kept = [m.id for m in pending if backend.is_applied(m)]
    except Exception:
        kept = []
    failed = next((m.id for m in pending if m.id not in kept), "?")
    if not kept:
        return f"migration {failed} failed, schema unchanged: {reason}"
    return f"migration {failed} failed and was rolled back (applied before it: {', '.join(kept)}): {reason}"


def status(url: str, directory: Path | None = None) -> list[MigrationState]:
    """Every known migration with when it was applied (None when pending)."""

    ids = migration_ids(directory)
    applied = _applied(url)
    return [MigrationState(i, applied.get(i)) for i in ids] + [
        MigrationState(i, at) for i, at in sorted(applied.items()) if i not in ids
    ]


def _applied(url: str) -> dict[str, datetime]:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        return _applied_on(conn)


def _applied_on(conn: psycopg.Connection[Any]) -> dict[str, datetime]:
    from agentctl.store.queries import load

    q = load("server")
    if not q.one(conn, "migration_log_exists")["found"]:
        return {}
    rows = q.all(conn, "applied_migrations")
    conn.commit() if not conn.autocommit else None
    return {row["migration_id"]: row["applied_at_utc"] for row in rows}


def pending(conn: psycopg.Connection[Any], directory: Path | None = None) -> list[str]:
    """Ids not applied yet, in one query on an open connection (no yoyo import)."""
    from psycopg.errors import UndefinedTable

    from agentctl.store.queries import load

    ids = migration_ids(directory)
    q = load("server")
    try:
        if conn.autocommit:  # a failed statement leaves nothing behind: no transaction needed
            rows = q.all(conn, "unapplied_migrations", {"ids": ids})
        else:  # a savepoint, so the caller's transaction survives a database yoyo never ran on
            with conn.transaction():
                rows = q.all(conn, "unapplied_migrations", {"ids": ids})
    except UndefinedTable:
        return ids  # yoyo's log does not exist yet: nothing is applied
    return [row["id"] for row in rows]


def ensure_schema(conn: psycopg.Connection[Any], url: str) -> list[str]:
    """Apply pending migrations on first use; a no-op costing one query when current."""
    if not pending(conn):
        return []
    return upgrade(url)
