"""The hard cap holds across processes, and a killed process's reservation does not leak."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import budget_worker

from agentctl.store.budget import Budget

PROCESSES = 8
ROUNDS = 40


def test_many_processes_never_spend_past_the_limit(settings, conn, db_url):
    budget = Budget(settings)
    budget.set_limit(conn, Decimal("5.00"))
    budget.ensure_today(conn)
    seen, stop = [], threading.Event()

    def watch():
        from agentctl.store import connect

        with connect(settings, autocommit=True) as c:
            while not stop.is_set():
                snap = budget.snapshot(c)
                seen.append(snap.used + snap.reserved)
                time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        results = list(pool.map(budget_worker.spend, [db_url] * PROCESSES, range(PROCESSES), [ROUNDS] * PROCESSES))
    stop.set()
    watcher.join()

    made = sum(m for m, _ in results)
    refused = sum(r for _, r in results)
    snap = budget.snapshot(conn)
    assert made + refused == PROCESSES * ROUNDS
    assert refused > 0 and made > 0  # the cap was reached and enforced
    assert snap.reserved == 0
    assert snap.used <= snap.limit
    assert snap.used == budget.day_action_cost(conn, snap.date)
    assert snap.used > snap.limit - Decimal("0.40")  # filled up to within one call's worst case
    assert seen and max(seen) <= snap.limit  # never over, at any moment observed


def test_a_killed_process_reservation_is_charged_once_expired(settings, conn, db_url):
    budget = Budget(settings)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=budget_worker.reserve_and_hang, args=(db_url, "0.30"))
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while budget.snapshot(conn).reserved == 0:
            assert time.monotonic() < deadline and proc.is_alive()
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    assert budget.ensure_today(conn) == 0  # not expired yet: still held
    assert budget.snapshot(conn).reserved == Decimal("0.30")
    with conn.transaction():
        conn.execute("UPDATE agent_budget_reservations SET expires_at = now() - interval '1 second'")
    assert budget.ensure_today(conn) == 1
    snap = budget.snapshot(conn)
    assert (snap.used, snap.reserved) == (Decimal("0.30"), 0)
    assert snap.used == budget.day_action_cost(conn, snap.date)
    row = conn.execute("SELECT * FROM agent_actions").fetchone()
    assert not row["success"] and "expired unsettled" in row["error_message"]
    assert row["tool_args"]["pid"] == proc.pid
