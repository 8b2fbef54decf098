"""`agentctl cancel`: end the active cycle with outcome `cancelled`, stopping its lab operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.domain import ExitCode, Outcome
from agentctl.store import cycles, database_url
from agentctl.tick.finish import Ending, finish
from agentctl.tick.lock import held
from agentctl.tick.result import TickResult

if TYPE_CHECKING:
    from agentctl.settings import Settings


def cancel_active(settings: Settings, wait_s: float = 30.0) -> TickResult:
    """Wait up to `wait_s` for the tick lock, then cancel the active cycle."""
    with held(settings, database_url(settings), wait_s=wait_s) as conn:
        if conn is None:
            message = f"a tick has held the lock for {wait_s:.0f}s; try again"
            return TickResult(locked_out=True, exit_code=ExitCode.TEMPFAIL, message=message)
        cycle = cycles.active(conn)
        if cycle is None:
            return TickResult(message="no active cycle")
        if cycle.operation_id:
            from agentctl.lab.operations import cancel_operation

            cancel_operation(conn, cycle.operation_id)
        why = f"cancelled by `agentctl cancel` in phase {cycle.phase.value}"
        return finish(conn, settings, cycle, Ending(Outcome.CANCELLED, why), None)
