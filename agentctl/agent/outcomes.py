"""What an invocation hands back to the tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentctl.domain import Blame

if TYPE_CHECKING:
    from agentctl.lab.strategy import StrategyConfig

AgentName = Literal["claude", "baseline"]


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
