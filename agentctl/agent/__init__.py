"""The agent: designs a strategy and assesses its results, with Claude or the offline baseline.

Importing this package is cheap (no anthropic, no lab): a tick that only polls
never pays for the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from agentctl.agent.errors import AgentMisconfigured, AgentUnavailable, BudgetExceeded
from agentctl.agent.outcomes import AgentName, AssessmentOutcome, DesignOutcome

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

__all__ = [
    "AgentMisconfigured",
    "AgentUnavailable",
    "AssessmentOutcome",
    "BudgetExceeded",
    "DesignOutcome",
    "run_assessment",
    "run_design",
    "select_agent",
]

ConnFactory = Callable[[], "psycopg.Connection"]


def select_agent(settings: Settings) -> AgentName:
    """'claude' or 'baseline': AGENTCTL_AGENT, else claude when an API key is configured."""
    key = settings.anthropic_api_key.get_secret_value().strip() if settings.anthropic_api_key else ""
    if settings.agent == "baseline":
        return "baseline"
    if settings.agent == "claude":
        if not key:
            raise AgentMisconfigured("no API key: set ANTHROPIC_API_KEY or AGENTCTL_AGENT=baseline")
        return "claude"
    return "claude" if key else "baseline"


def run_design(conn_factory: ConnFactory, settings: Settings, session_id: int) -> DesignOutcome:
    """Design one strategy for the session (phase designing); it is saved onto the session."""
    if select_agent(settings) == "claude":
        from agentctl.agent.claude import design
    else:
        from agentctl.agent.baseline import design
    return design(conn_factory, settings, session_id)


def run_assessment(
    conn_factory: ConnFactory, settings: Settings, session_id: int, context: dict[str, Any]
) -> AssessmentOutcome:
    """Assess the session's results (phase assessing); the assessment is saved onto the session."""
    if select_agent(settings) == "claude":
        from agentctl.agent.claude import assess
    else:
        from agentctl.agent.baseline import assess
    return assess(conn_factory, settings, session_id, context)
