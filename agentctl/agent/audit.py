"""The audit rows of model calls: each call's charge settled with its action row, in one transaction.

A reply that arrived was billed: whatever it holds, and whatever goes wrong while it is
recorded, it keeps one action row with its request id, charged at its usage when that
can be believed and at its reservation otherwise (agent_actions.charge_basis says which,
agent_actions.flags why). Should the full row fail to write, a plain one (no content
summary) is tried; should that fail too, the database is gone: the reservation stays
open and the next tick charges it at its worst case.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.agent.errors import AgentUnavailable
from agentctl.store.actions import ActionRow, insert_action, redact

if TYPE_CHECKING:
    import psycopg

    from agentctl.agent.charge import Charge
    from agentctl.agent.provider import Provider, Reply
    from agentctl.store.budget import Budget, Reservation

log = logging.getLogger("agentctl.agent")

RECONNECT_POLL_S = 0.5  # how often a lost database is tried again
RECONNECT_MARGIN_S = 2.0  # stop trying this long before the reservation expires (then a later tick charges it)


class Audit:
    """Writes one invocation's model-call rows."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        budget: Budget,
        provider: Provider,
        *,
        cycle_id: int,
        invocation: str,
        model: str,
        reconnect: Callable[[], psycopg.Connection[Any]] | None = None,
        on_reconnect: Callable[[psycopg.Connection[Any]], None] | None = None,
    ):
        self.conn, self.budget, self.provider = conn, budget, provider
        self.cycle_id, self.invocation, self.model = cycle_id, invocation, model
        self.reconnect, self.on_reconnect = reconnect, on_reconnect
        self.gone = False  # the database stayed away for a whole grace: no further wait

    def _row(self, reservation: Reservation, args: dict[str, Any], **fields: Any) -> ActionRow:
        return ActionRow(
            session_id=self.cycle_id,
            tool_name=self.provider.call_name,
            agent=self.provider.agent,
            invocation=self.invocation,
            tool_args=args,
            model=self.model,
            budget_date=reservation.date,
            **fields,
        )

    def reply(
        self, reservation: Reservation, args: dict[str, Any], reply: Reply, charge: Charge, latency: int, attempt: int
    ) -> Decimal:
        """Settle and record a reply that arrived; returns the amount charged."""
        flags = [*charge.flags, *reply.problems]
        if charge.amount > reservation.amount:
            flags.append("overrun")
        usage = charge.usage
        fields: dict[str, Any] = {
            "success": not reply.problems,
            "tokens_input": usage.input_tokens if usage else 0,
            "tokens_output": usage.output_tokens if usage else 0,
            "tokens_cache_write": usage.cache_write_tokens if usage else None,
            "tokens_cache_read": usage.cache_read_tokens if usage else None,
            "latency_ms": latency,
            "request_id": reply.request_id,
            "stop_reason": reply.stop_reason,
            "attempt": attempt,
            "charge_basis": charge.basis,
        }
        summary = {
            "stop_reason": reply.stop_reason,
            "content": [_block_summary(b) for b in reply.content],
            "usage": reply.usage_reported,
            "charged_usd": str(charge.amount),
        }
        try:
            spent = self._write(
                reservation, charge.amount, self._row(reservation, args, tool_result=summary, flags=flags, **fields)
            )
        except Exception as err:  # a billed reply keeps its row: the plain one below is tried
            # The plain row carries the flag; say it only in the detail log.
            log.info("agent: the full row of a %s call failed (%s); recording a plain one", self.invocation, _line(err))
            fields["stop_reason"] = None if reply.stop_reason is None else str(reply.stop_reason)[:100]
            flags.append(f"record_retried:{type(err).__name__}")
            plain = self._row(
                reservation, args, tool_result={"stop_reason": fields["stop_reason"]}, flags=flags, **fields
            )
            try:
                spent = self._write(reservation, charge.amount, plain)
            except Exception as again:  # the database is gone: the tick ends with exit 75
                log.error(
                    "agent: a billed %s call (request %s) could not be recorded (%s): its reservation is charged "
                    "on a later tick",
                    self.invocation,
                    reply.request_id,
                    _line(again),
                )
                raise AgentUnavailable(f"the database refused a billed call's row: {type(again).__name__}") from None
        _log_usage(self.invocation, self.model, args["turn"], charge, spent, latency)
        return spent

    def failure(
        self,
        reservation: Reservation,
        args: dict[str, Any],
        detail: str,
        latency: int,
        request_id: str | None,
        attempt: int,
        *,
        charge: bool,
    ) -> None:
        """Record a failed attempt: charged at its reservation when it may have been billed, else nothing."""
        amount = reservation.amount if charge else Decimal(0)
        if charge:
            detail += "; outcome unknown, charged at the reserved worst case"
        row = self._row(
            reservation,
            args,
            success=False,
            error_message=detail,
            latency_ms=latency,
            request_id=request_id,
            attempt=attempt,
            charge_basis="reservation" if charge else "none",
        )
        try:
            self._write(reservation, amount, row)
        except Exception as err:  # the reservation stays open: the next tick charges it
            raise AgentUnavailable(f"the database refused a failed call's row: {type(err).__name__}") from None
        log.warning("agent: %s call attempt %d failed: %s", self.invocation, attempt, redact(detail))

    def _write(self, reservation: Reservation, amount: Decimal, row: ActionRow) -> Decimal:
        """Settle and insert in one transaction; a lost connection is replaced within the grace."""
        import psycopg

        while True:
            try:
                return self._write_once(reservation, amount, row)
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                if self.gone or self.reconnect is None or not (self.conn.closed or self.conn.broken):
                    raise
                self._reconnect(reservation, err)
                log.warning("agent: the database connection was lost (%s); recorded on a new one", _line(err))

    def _write_once(self, reservation: Reservation, amount: Decimal, row: ActionRow) -> Decimal:
        with self.conn.transaction():
            spent = self.budget.settle(self.conn, reservation, amount)
            if spent < amount:
                # Charged as an orphan meanwhile: that charge stands, this row adds the rest.
                row = row.model_copy(update={"flags": [*row.flags, "after_orphan_charge"]})
            insert_action(self.conn, row.model_copy(update={"cost_usd": spent}))
            self.budget.refresh_metrics(self.conn, [row.session_id])
        return spent

    def _reconnect(self, reservation: Reservation, lost: BaseException) -> None:
        """A new connection before the reservation's grace runs out, or raise `lost` again."""
        import psycopg

        assert self.reconnect is not None
        log.info("agent: the database connection was lost (%s); reconnecting to record the call", _line(lost))
        while True:
            left = (reservation.expires_at - datetime.now(UTC)).total_seconds() - RECONNECT_MARGIN_S
            if left <= 0:
                self.gone = True
                raise lost
            try:
                conn = self.reconnect()
            except psycopg.OperationalError:
                time.sleep(min(RECONNECT_POLL_S, left))
                continue
            self.conn.close()
            self.conn = conn
            if self.on_reconnect is not None:
                self.on_reconnect(conn)
            return


def _log_usage(invocation: str, model: str, turn: int, charge: Charge, spent: Decimal, latency: int) -> None:
    u = charge.usage
    tokens = (
        f"{u.input_tokens} in + {u.cache_write_tokens} cache-write + {u.cache_read_tokens} cache-read / "
        f"{u.output_tokens} out tokens"
        if u
        else "usage unknown"
    )
    note = f" (charged at its {charge.basis}: {', '.join(charge.flags)})" if charge.flags else ""
    log.info("agent: %s call %d (%s): %s, $%s%s, %d ms", invocation, turn, model, tokens, spent, note, latency)


def _block_summary(block: dict[str, Any]) -> dict[str, Any]:
    """What a content block said, compactly (thinking is not kept)."""
    if block.get("type") == "text":
        return {"type": "text", "text": str(block.get("text", ""))[:2000]}
    if block.get("type") == "tool_use":
        return {"type": "tool_use", "id": block.get("id"), "name": block.get("name")}
    return {"type": block.get("type")}


def _line(err: BaseException) -> str:
    """An error's first line: a log record stays one line."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
