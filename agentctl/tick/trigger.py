"""Why a tick did what it did: one agent_triggers row per tick."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentctl.domain import SkipReason, TriggerReason
from agentctl.store import cycles

if TYPE_CHECKING:
    import psycopg

    from agentctl.store.budget import BudgetSnapshot


@dataclass(frozen=True)
class Trigger:
    """A trigger row before it is written: reason, why the agent was skipped (if it was), context."""

    reason: TriggerReason
    skip: SkipReason | None = None
    context: dict[str, Any] = field(default_factory=dict)
    invoked: bool = False

    def with_context(self, **more: Any) -> Trigger:
        return replace(self, context={**self.context, **more})

    def write(self, conn: psycopg.Connection[Any], cycle_id: int | None, snap: BudgetSnapshot) -> None:
        cycles.insert_trigger(
            conn,
            reason=str(self.reason),
            cycle_id=cycle_id,
            context=self.context,
            agent_invoked=self.invoked,
            skip_reason=str(self.skip) if self.skip else None,
            used=snap.used,
            remaining=snap.remaining,
        )


def budget_context(snap: BudgetSnapshot) -> dict[str, Any]:
    return {
        "date": snap.date.isoformat(),
        "limit": str(snap.limit),
        "used": str(snap.used),
        "reserved": str(snap.reserved),
        "remaining": str(snap.remaining),
    }
