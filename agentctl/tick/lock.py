"""The tick's lock: one holder at a time advances the research cycle (`tick` and `cancel`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentctl.store import connect, cycles
from agentctl.store.budget import Fence, hold_fence
from agentctl.store.migrate import ensure_schema

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

POLL_S = 0.2  # how often a waiting `cancel` retries the lock


@contextmanager
def held(
    settings: Settings, url: str, *, wait_s: float = 0.0, sleep: Callable[[float], None] = time.sleep
) -> Iterator[psycopg.Connection[Any] | None]:
    """An autocommit connection holding the tick lock, or None if another holder kept it for `wait_s`.

    The lock is session-level: it lasts for the whole tick and dies with the process.
    """
    conn = connect(settings, autocommit=True, url=url)
    try:
        ensure_schema(conn, url)
        deadline = time.monotonic() + wait_s
        while not cycles.try_lock(conn):
            if time.monotonic() >= deadline:
                yield None
                return
            sleep(POLL_S)
        # From here every reservation (so every billed call) of this process first proves,
        # in its own transaction, that this connection still holds the lock.
        hold_fence(Fence(conn.info.backend_pid, cycles.TICK_LOCK_KEY))
        try:
            yield conn
        finally:
            hold_fence(None)
            _unlock(conn)
    finally:
        conn.close()


def _unlock(conn: psycopg.Connection[Any]) -> None:
    """Let the lock go; a lock connection that died took its lock with it (nothing to say)."""
    import psycopg

    if conn.closed or conn.broken:
        return
    try:
        cycles.unlock(conn)
    except psycopg.OperationalError:
        pass  # killed under us (a restart, a takeover): the lock went with the connection
