"""The daily budget: a hard cap on model spend, safe across concurrent processes.

Before every model call its worst case is reserved under a row lock on the day's
`agent_budget` row: refused when used + reserved + worst case > limit. After the
call, the reservation is replaced by the actual cost, in the same transaction as
the call's `agent_actions` row, so `budget_used_usd` is always the sum of that
day's action costs.

Crash safety: each reservation is a row in `agent_budget_reservations` with an
expiry (the call's timeout plus a margin). A process killed between reserving and
settling leaves its row behind; once it expires, the next tick (`ensure_today`)
or the next `reserve` charges it at its worst case, as a failed action row under
the agent and call names it was reserved with, because the call may have been
billed. So money held by a dead process is never leaked forever, and never
silently forgotten. Should the process turn out to
be alive and settle late, that charge is refunded and the real cost recorded.

Every method takes a connection: in autocommit mode each method is its own
transaction; inside the caller's transaction it becomes part of it (`settle` is
meant to be called that way, together with the action row insert).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

_sql = load("budget")


class BudgetExceeded(RuntimeError):
    """The call's worst case does not fit in what is left of today's budget."""

    def __init__(self, needed: Decimal, remaining: Decimal, day: date):
        self.needed, self.remaining, self.day = needed, remaining, day
        super().__init__(
            f"budget exceeded for {day}: a call needs up to ${needed} and ${remaining} is left "
            f"(raise it with `agentctl budget set AMOUNT`)"
        )


class FencedOut(RuntimeError):
    """This process's tick no longer holds the tick lock: it makes no further call and writes no state."""


@dataclass(frozen=True)
class Fence:
    """The proof a tick still owns the cycle: its lock connection's backend still holds the tick lock."""

    pid: int  # the lock connection's backend pid
    key: int  # the tick lock's advisory key

    def check(self, conn: psycopg.Connection[Any]) -> None:
        """Raise FencedOut unless the lock is still held (inside the caller's transaction)."""
        row = _sql.maybe(conn, "fence_holds", {"pid": self.pid, "key": self.key})
        if row is None or not row["held"]:
            raise FencedOut(
                "this tick lost the tick lock (its lock connection is gone; another tick may own the cycle): "
                "it stops without another call"
            )


# The fence of the tick this process runs (one tick per process), set by tick/lock.held().
# Every reservation, and so every billed call, is made only after it passed, in the same
# transaction; None (a library call, a test without a tick) checks nothing.
_fence: Fence | None = None


def hold_fence(fence: Fence | None) -> None:
    """Set (or with None clear) the fence every later reservation of this process must pass."""
    global _fence
    _fence = fence


def check_fence(conn: psycopg.Connection[Any]) -> None:
    """Raise FencedOut if this process runs a tick that lost its lock (before a tool writes state)."""
    if _fence is not None:
        with conn.transaction():
            _fence.check(conn)


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
    exists: bool = True  # False: no tick has opened the day yet (read as untouched, at the default limit)
    overrun_at: datetime | None = None  # a call cost more than it reserved: invocations wait for `resume`
    overrun_usd: Decimal = Decimal(0)  # by how much, summed over the day's overruns

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class Reservation:
    id: int | None  # None: nothing held (a model priced at 0), so nothing to take back
    date: date
    amount: Decimal
    expires_at: datetime
    call_name: str  # the call it was reserved for: a late settlement finds its orphan charge by it


class BudgetChange(BaseModel):
    """What `budget set` changed; money in USD rounded to 4 places, as every report shows it."""

    model_config = ConfigDict(defer_build=True)  # built by `budget set`, not on every tick

    scope: Literal["day", "default"]
    date: date | None  # the day changed (scope "day")
    old_limit_usd: float | None  # null: the day had no row yet (it had the default)
    new_limit_usd: float
    used_usd: float | None = None  # spend already charged to that day


class Budget:
    """Operations on the agent_budget rows; one method per database operation.

    Connections are typed `Connection[Any]`: store.connect() gives every one dict rows.
    """

    def __init__(self, settings: Settings):
        self.settings = settings

    def ensure_today(self, conn: psycopg.Connection[Any], *, orphans: bool = False) -> int:
        """Create today's row if missing and charge expired reservations (all open ones with
        `orphans`, see charge_expired); returns how many were charged."""
        with conn.transaction():
            self._ensure_row(conn)
            return self.charge_expired(conn, orphans=orphans)

    def snapshot(self, conn: psycopg.Connection[Any], day: date | None = None) -> BudgetSnapshot:
        """Today's (or `day`'s) figures; a day without a row reads as untouched at the default limit."""
        with conn.transaction():
            row = _sql.maybe(conn, "snapshot", {"date": day})
            if row is None:
                limit = self.default_limit(conn)
                zero = Decimal(0)
                return BudgetSnapshot(day or _today(conn), limit, zero, zero, limit, 0, 0, 0, exists=False)
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
            overrun_at=row["overrun_at"],
            overrun_usd=Decimal(row["overrun_usd"] or 0),
        )

    def reserve(
        self,
        conn: psycopg.Connection[Any],
        worst_case_usd: Decimal,
        *,
        agent: str,
        call_name: str,
        cycle_id: int | None = None,
        model: str | None = None,
        ttl_s: float = 600.0,
    ) -> Reservation:
        """Hold `worst_case_usd` of today's budget for one call, or raise BudgetExceeded.

        `agent` and `call_name` are the names the call's action row is logged under:
        should the reservation be orphaned, its charge is logged under them too.
        """
        from agentctl.pricing import to_ledger  # the price table: not on a tick that only polls

        amount = to_ledger(Decimal(worst_case_usd))
        if amount < 0:
            raise ValueError("a reservation cannot be negative")
        self.ensure_today(conn)  # its own step: a refusal below must not undo it
        if amount == 0:
            # A model priced at 0 (a price override) holds nothing; its call is still recorded.
            check_fence(conn)
            return Reservation(None, _today(conn), amount, datetime.max.replace(tzinfo=UTC), call_name)
        with conn.transaction():
            if _fence is not None:
                _fence.check(conn)  # no billed call from a tick that lost its lock
            row = _sql.one(conn, "lock_today")
            limit = Decimal(row["budget_limit_usd"] or 0)
            used = Decimal(row["budget_used_usd"] or 0)
            reserved = Decimal(row["budget_reserved_usd"] or 0)
            if used + reserved + amount > limit:
                raise BudgetExceeded(amount, max(Decimal(0), limit - used - reserved), row["date"])
            params = {
                "date": row["date"],
                "amount": amount,
                "session_id": cycle_id,
                "agent": agent,
                "call_name": call_name,
                "model": model,
                "pid": os.getpid(),
                "ttl_s": ttl_s + self.settings.reservation_grace_s,
            }
            res = _sql.one(conn, "insert_reservation", params)
            _sql.run(conn, "add_reserved", {"date": row["date"], "amount": amount})
        return Reservation(
            res["id"], res["budget_date"], Decimal(res["amount_usd"]), res["expires_at"], res["call_name"]
        )

    def settle(self, conn: psycopg.Connection[Any], reservation: Reservation, actual_usd: Decimal) -> Decimal:
        """Replace the reservation by the actual cost (0 releases it); returns the ledger amount charged.

        Call it in the same transaction as the insert of the call's action row. A cost above
        the reservation is recorded in full and marks the day overrun (see `overrun`).
        A settlement that arrives after its reservation was charged as an orphan charges only
        what the real cost adds to that charge: the day's spend never goes down.
        """
        from agentctl.pricing import to_ledger

        spent = to_ledger(Decimal(actual_usd))
        if spent < 0:
            raise ValueError(f"a call cannot cost less than nothing (${spent})")
        with conn.transaction():
            _sql.run(conn, "lock_day", {"date": reservation.date})
            taken = None
            if reservation.id is not None:
                taken = _sql.maybe(conn, "take_reservation", {"id": reservation.id})
            released = Decimal(taken["amount_usd"]) if taken else Decimal(0)
            charged = spent
            if taken is None and reservation.id is not None:
                charged = max(Decimal(0), spent - self._orphan_charge(conn, reservation))
            settlement = {"date": reservation.date, "spent": charged, "released": released}
            _sql.run(conn, "apply_settlement", settlement)
            if spent > reservation.amount:
                _sql.run(conn, "mark_overrun", {"date": reservation.date, "over": spent - reservation.amount})
        return charged

    def _orphan_charge(self, conn: psycopg.Connection[Any], reservation: Reservation) -> Decimal:
        """Expired and charged as an orphan meanwhile: that charge stands (flagged), and says how much."""
        found = {"id": reservation.id, "call_name": reservation.call_name}
        charge = _sql.maybe(conn, "expired_charge_amount", found)
        if charge is None:
            return Decimal(0)
        _sql.run(conn, "mark_settled_late", {"id": charge["id"]})
        return Decimal(charge["cost_usd"])

    def refresh_metrics(self, conn: psycopg.Connection[Any], cycle_ids: list[int | None]) -> None:
        """A charge that reached a finished cycle: its metrics row again sums its actions."""
        ids = [i for i in cycle_ids if i is not None]
        if ids:
            _sql.run(conn, "refresh_metrics", {"ids": ids})

    def charge_expired(self, conn: psycopg.Connection[Any], *, orphans: bool = False) -> int:
        """Charge reservations whose process died before settling (see module doc).

        `orphans=True` charges every open reservation, expired or not: only a process
        holding the tick lock makes model calls, so for the lock's new holder any
        reservation left open belongs to a process that is gone.
        """
        before = "infinity" if orphans else None
        with conn.transaction():
            if not _sql.all(conn, "lock_days_with_expired", {"before": before}):
                return 0
            row = _sql.one(conn, "charge_expired", {"before": before})
            self.refresh_metrics(conn, list(row["cycles"] or []))
            charged: int = row["charged"]
            return charged

    def count_invocation(self, conn: psycopg.Connection[Any]) -> None:
        """invocations_count + 1 on today's row (one per agent invocation)."""
        with conn.transaction():
            self._ensure_row(conn)
            _sql.run(conn, "count_invocation")

    def count_cycle(self, conn: psycopg.Connection[Any], *, started: bool) -> None:
        """cycles_started (or, with started=False, cycles_completed) + 1 on today's row.

        Joins the caller's transaction, so the count commits with the cycle's own change.
        """
        with conn.transaction():
            self._ensure_row(conn)
            _sql.run(conn, "count_cycle_started" if started else "count_cycle_completed")

    def set_limit(self, conn: psycopg.Connection[Any], limit_usd: Decimal, day: date | None = None) -> date:
        """Set the limit of today (or `day`); returns the day set."""
        with conn.transaction():
            set_day: date = _sql.one(conn, "set_limit", {"date": day, "limit": Decimal(limit_usd)})["date"]
            return set_day

    def set_default_limit(self, conn: psycopg.Connection[Any], limit_usd: Decimal) -> None:
        """The limit given to days that have no row yet (overrides settings.default_budget_usd)."""
        with conn.transaction():
            _sql.run(conn, "set_default_limit", {"limit": Decimal(limit_usd)})

    def stored_default_limit(self, conn: psycopg.Connection[Any]) -> Decimal | None:
        """`budget set --default`'s limit; None when none was set (the setting gives the default)."""
        row = _sql.maybe(conn, "stored_default_limit")
        return None if row is None else Decimal(row["budget_limit_usd"])

    def default_limit(self, conn: psycopg.Connection[Any]) -> Decimal:
        """The limit a day without a row gets: `budget set --default`, else the setting."""
        row = _sql.one(conn, "default_limit", {"fallback": self.settings.default_budget_usd})
        return Decimal(row["budget_limit_usd"])

    def change(
        self, conn: psycopg.Connection[Any], amount: Decimal, *, day: date | None = None, default: bool = False
    ) -> BudgetChange:
        """`budget set`: change a day's limit (today unless `day`), or with `default` the limit for new days.

        A `day` before today is a ValueError: a past day's limit no longer limits anything.
        """
        if default:
            old_default = self.default_limit(conn)
            self.set_default_limit(conn, amount)
            return BudgetChange(scope="default", date=None, old_limit_usd=_usd(old_default), new_limit_usd=_usd(amount))
        if day is not None and day < _today(conn):
            raise ValueError(f"{day} is in the past: only today's or a later day's limit can change")
        before = self.snapshot(conn, day)
        changed = self.set_limit(conn, amount, day)
        return BudgetChange(
            scope="day",
            date=changed,
            old_limit_usd=_usd(before.limit) if before.exists else None,
            new_limit_usd=_usd(amount),
            used_usd=_usd(self.snapshot(conn, changed).used),
        )

    def day_action_cost(self, conn: psycopg.Connection[Any], day: date) -> Decimal:
        """Sum of the action costs charged to `day` (equals its budget_used_usd)."""
        with conn.transaction():
            return Decimal(_sql.one(conn, "day_action_cost", {"date": day})["total"])

    def _ensure_row(self, conn: psycopg.Connection[Any]) -> None:
        _sql.run(conn, "ensure_today", {"default_limit": self.settings.default_budget_usd})


def _today(conn: psycopg.Connection[Any]) -> date:
    today: date = _sql.one(conn, "today")["today"]
    return today


def _usd(value: Decimal) -> float:
    return float(round(value, 4))
