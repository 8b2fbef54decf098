"""Processes for the budget concurrency tests (importable by multiprocessing's spawn)."""

from __future__ import annotations

import random
import time
from decimal import Decimal


def _settings(url: str):
    from agentctl.settings import Settings

    return Settings(database_url=url)


def spend(url: str, seed: int, rounds: int) -> tuple[int, int]:
    """Reserve and spend at random, like concurrent agents: (calls made, calls refused)."""
    from agentctl.store import connect
    from agentctl.store.actions import ActionRow, insert_action
    from agentctl.store.budget import Budget, BudgetExceeded

    settings = _settings(url)
    conn = connect(settings, autocommit=True)
    budget, rng = Budget(settings), random.Random(seed)
    made = refused = 0
    for _ in range(rounds):
        worst = Decimal(rng.randint(1, 40)) / 100
        try:
            res = budget.reserve(conn, worst, agent="claude", call_name="messages.create")
        except BudgetExceeded:
            refused += 1
            continue
        time.sleep(rng.random() * 0.005)  # the HTTP call
        actual = Decimal(0) if rng.random() < 0.2 else worst * rng.randint(1, 100) / 100
        with conn.transaction():  # the action row and the settlement: one transaction
            spent = budget.settle(conn, res, actual)
            insert_action(
                conn,
                ActionRow(
                    session_id=None,
                    tool_name="messages.create",
                    agent="claude",
                    invocation="test",
                    cost_usd=spent,
                    budget_date=res.date,
                ),
            )
        made += 1
    conn.close()
    return made, refused


def reserve_and_hang(url: str, amount: str) -> None:
    """Reserve, then hang as if waiting for the HTTP response (killed with SIGKILL by the test)."""
    from agentctl.store import connect
    from agentctl.store.budget import Budget

    settings = _settings(url)
    conn = connect(settings, autocommit=True)
    Budget(settings).reserve(
        conn, Decimal(amount), agent="claude", call_name="messages.create", model="claude-sonnet-5-5"
    )
    time.sleep(600)
