"""The daily budget: a hard cap on model spend, safe across concurrent processes.

Before every model call its worst case is reserved under a row lock on the day's
`agent_budget` row: refused when used + reserved + worst case > limit. After the
call, the reservation is replaced by the actual cost, in the same transaction as
the call's `agent_actions` row, so `budget_used_usd` is always the sum of that
day's action costs.

Crash safety: each reservation is a row in `agent_budget_reservations` with an
expiry (the call's timeout plus a margin). A process killed between reserving and
settling leaves its row behind; once it expires, the next tick (`ensure_today`)
or the next `reserve` charges it at its worst case, as a failed `messages.create`
action, because the call may have been billed. So money held by a dead process is
never leaked forever, and never silently forgotten. Should the process turn out to
be alive and settle late, that charge is refunded and the real cost recorded.

Every method takes a connection: in autocommit mode each method is its own
transaction; inside the caller's transaction it becomes part of it (`settle` is
meant to be called that way, together with the action row insert).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from agentctl.pricing import to_ledger

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

# Beyond a call's own timeout, how long its reservation is kept before it is
# presumed dead: covers the commit after the response and clock skew.
RESERVATION_GRACE_S = 120.0


class BudgetExceeded(RuntimeError):
    """The call's worst case does not fit in what is left of today's budget."""

    def __init__(self, needed: Decimal, remaining: Decimal, day: date):
        self.needed, self.remaining, self.day = needed, remaining, day
        super().__init__(
            f"budget exceeded for {day}: a call needs up to ${needed} and ${remaining} is left "
            f"(raise it with `agentctl budget set AMOUNT`)"
        )


@dataclass(frozen=True)
class BudgetSnapshot:
    date: date
    limit: Decimal
    used: Decimal
    reserved: Decimal
    remaining: Decimal
    invocations: int
    cycles_started: int
    cycles_completed: int

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class Reservation:
    id: int
    date: date
    amount: Decimal
    expires_at: datetime


def _q():
    from agentctl.store.queries import load

    return load("budget")


class Budget:
    """Operations on the agent_budget rows; one method per database operation."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def ensure_today(self, conn: psycopg.Connection, *, orphans: bool = False) -> int:
        """Create today's row if missing and charge expired reservations (all open ones with
        `orphans`, see charge_expired); returns how many were charged."""
        with conn.transaction():
            conn.execute(_q()["ensure_today"], {"default_limit": self.settings.default_budget_usd})
            return self.charge_expired(conn, orphans=orphans)

    def snapshot(self, conn: psycopg.Connection, day: date | None = None) -> BudgetSnapshot:
        """Today's (or `day`'s) figures; a day without a row reads as untouched at the default limit."""
        with conn.transaction():
            row = conn.execute(_q()["snapshot"], {"date": day}).fetchone()
            if row is None:
                limit = Decimal(self.settings.default_budget_usd)
                return BudgetSnapshot(day or _today(conn), limit, Decimal(0), Decimal(0), limit, 0, 0, 0)
        limit, used, reserved = (
            Decimal(row[k] or 0) for k in ("budget_limit_usd", "budget_used_usd", "budget_reserved_usd")
        )
        return BudgetSnapshot(
            date=row["date"],
            limit=limit,
            used=used,
            reserved=reserved,
            remaining=max(Decimal(0), limit - used - reserved),
            invocations=row["invocations_count"] or 0,
            cycles_started=row["cycles_started"] or 0,
            cycles_completed=row["cycles_completed"] or 0,
        )

    def reserve(
        self,
        conn: psycopg.Connection,
        worst_case_usd: Decimal,
        *,
        session_id: int | None = None,
        model: str | None = None,
        ttl_s: float = 600.0,
    ) -> Reservation:
        """Hold `worst_case_usd` of today's budget for one call, or raise BudgetExceeded."""
        amount = to_ledger(Decimal(worst_case_usd))
        if amount <= 0:
            raise ValueError("a reservation must be positive")
        q = _q()
        self.ensure_today(conn)  # its own step: a refusal below must not undo it
        with conn.transaction():
            row = conn.execute(q["lock_today"]).fetchone()
            limit = Decimal(row["budget_limit_usd"] or 0)
            used = Decimal(row["budget_used_usd"] or 0)
            reserved = Decimal(row["budget_reserved_usd"] or 0)
            if used + reserved + amount > limit:
                raise BudgetExceeded(amount, max(Decimal(0), limit - used - reserved), row["date"])
            res = conn.execute(
                q["insert_reservation"],
                {
                    "date": row["date"],
                    "amount": amount,
                    "session_id": session_id,
                    "model": model,
                    "pid": os.getpid(),
                    "ttl_s": ttl_s + self.settings.reservation_grace_s,
                },
            ).fetchone()
            conn.execute(q["add_reserved"], {"date": row["date"], "amount": amount})
        return Reservation(res["id"], res["budget_date"], Decimal(res["amount_usd"]), res["expires_at"])

    def settle(self, conn: psycopg.Connection, reservation: Reservation, actual_usd: Decimal) -> Decimal:
        """Replace the reservation by the actual cost (0 releases it); returns the ledger amount spent.

        Call it in the same transaction as the insert of the call's action row.
        """
        spent = to_ledger(Decimal(actual_usd))
        q = _q()
        with conn.transaction():
            conn.execute(q["lock_day"], {"date": reservation.date})
            taken = conn.execute(q["take_reservation"], {"id": reservation.id}).fetchone()
            released = Decimal(taken["amount_usd"]) if taken else Decimal(0)
            if taken is None:
                # Expired and charged at its worst case meanwhile: undo that charge.
                charge = conn.execute(q["expired_charge_amount"], {"id": reservation.id}).fetchone()
                if charge is not None:
                    conn.execute(q["zero_action_cost"], {"id": charge["id"]})
                    conn.execute(
                        q["apply_settlement"],
                        {"date": charge["budget_date"], "spent": -Decimal(charge["cost_usd"]), "released": 0},
                    )
            conn.execute(q["apply_settlement"], {"date": reservation.date, "spent": spent, "released": released})
        return spent

    def release(self, conn: psycopg.Connection, reservation: Reservation) -> None:
        """Give the reservation back: the call billed nothing."""
        self.settle(conn, reservation, Decimal(0))

    def charge_expired(self, conn: psycopg.Connection, *, orphans: bool = False) -> int:
        """Charge reservations whose process died before settling (see module doc).

        `orphans=True` charges every open reservation, expired or not: only a process
        holding the tick lock makes model calls, so for the lock's new holder any
        reservation left open belongs to a process that is gone.
        """
        q = _q()
        before = "infinity" if orphans else None
        with conn.transaction():
            if not conn.execute(q["lock_days_with_expired"], {"before": before}).fetchall():
                return 0
            return conn.execute(q["charge_expired"], {"before": before}).fetchone()["charged"]

    def count_invocation(self, conn: psycopg.Connection) -> None:
        """invocations_count + 1 on today's row (one per agent invocation)."""
        with conn.transaction():
            conn.execute(_q()["ensure_today"], {"default_limit": self.settings.default_budget_usd})
            conn.execute(_q()["count_invocation"])

    def count_cycle_started(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute(_q()["ensure_today"], {"default_limit": self.settings.default_budget_usd})
            conn.execute(_q()["count_cycle_started"])

    def count_cycle_completed(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute(_q()["ensure_today"], {"default_limit": self.settings.default_budget_usd})
            conn.execute(_q()["count_cycle_completed"])

    def set_limit(self, conn: psycopg.Connection, limit_usd: Decimal, day: date | None = None) -> date:
        """Set the limit of today (or `day`); returns the day set."""
        with conn.transaction():
            return conn.execute(_q()["set_limit"], {"date": day, "limit": Decimal(limit_usd)}).fetchone()["date"]

    def set_default_limit(self, conn: psycopg.Connection, limit_usd: Decimal) -> None:
        """The limit given to days that have no row yet (overrides settings.default_budget_usd)."""
        with conn.transaction():
            conn.execute(_q()["set_default_limit"], {"limit": Decimal(limit_usd)})

    def day_action_cost(self, conn: psycopg.Connection, day: date) -> Decimal:
        """Sum of the action costs charged to `day` (equals its budget_used_usd)."""
        with conn.transaction():
            return Decimal(conn.execute(_q()["day_action_cost"], {"date": day}).fetchone()["total"])


def _today(conn: psycopg.Connection) -> date:
    return conn.execute(_q()["today"]).fetchone()["today"]
