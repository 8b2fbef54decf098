"""What an invocation hands back to the tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentctl.domain import Blame, Phase

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.store.records import Cycle

AgentName = Literal["claude", "baseline"]


def cycle_in_phase(conn: psycopg.Connection[Any], cycle_id: int, phase: Phase) -> Cycle | str:
    """The cycle an invocation works on, or why it may not (gone, or moved on by another tick): every designer's check."""
    from agentctl.store import cycles

    cycle = cycles.get(conn, cycle_id)
    if cycle is None or cycle.phase is not phase:
        return f"cycle {cycle_id} is not in phase {phase.value}"
    return cycle


@dataclass(frozen=True)
class DesignOutcome:
    saved: bool
    agent_name: AgentName
    config: StrategyConfig | None = None
    strategy_name: str | None = None
    strategy_path: str | None = None
    failure_reason: str | None = None
    failure_blame: Blame = Blame.AGENT


@dataclass(frozen=True)
class AssessmentOutcome:
    saved: bool
    agent_name: AgentName
    assessment: dict[str, Any] | None = None
    failure_reason: str | None = None
