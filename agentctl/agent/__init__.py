"""The agent: designs a strategy and assesses its results, with Claude or the offline baseline.

Importing this package is cheap (no anthropic, no lab): a tick that only polls
never pays for the SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.agent.errors import AgentMisconfigured, AgentUnavailable, BudgetExceeded, FencedOut

if TYPE_CHECKING:
    import psycopg

    from agentctl.agent.outcomes import AgentName, AssessmentOutcome, DesignOutcome
    from agentctl.settings import Settings

__all__ = [
    "AgentMisconfigured",
    "AgentUnavailable",
    "BudgetExceeded",
    "FencedOut",
    "first_call_worst_case",
    "invocation_need",
    "run_assessment",
    "run_design",
    "select_agent",
]

ConnFactory = Callable[[], "psycopg.Connection[Any]"]


def select_agent(settings: Settings) -> AgentName:
    """'claude' or 'baseline': AGENTCTL_AGENT, else claude when an API key is configured."""
    key = settings.anthropic_api_key.get_secret_value().strip() if settings.anthropic_api_key else ""
    if settings.agent == "baseline":
        return "baseline"
    if settings.key_file_problem and not key:
        # A key file was configured: running the baseline instead would hide the mistake.
        raise AgentMisconfigured(settings.key_file_problem)
    if settings.agent == "claude":
        if not key:
            raise AgentMisconfigured("no API key: set ANTHROPIC_API_KEY or AGENTCTL_AGENT=baseline")
        return "claude"
    return "claude" if key else "baseline"


# Upper bounds of a first call's request bytes (measured: ~29 KB for a design with 20
# cycles of memory, ~8 KB for an assessment; see BENCHMARKS.md "## Agent").
FIRST_CALL_BYTES = {"design": 48_000, "assessment": 16_000}


def first_call_worst_case(settings: Settings, invocation: str, day: date | None = None) -> Decimal:
    """What the first model call of an invocation may reserve: below this left, skip (budget_exceeded).

    0 for the baseline. Light: no SDK, no lab. Raises AgentMisconfigured for a model without a price.
    """
    from agentctl import pricing
    from agentctl.agent.anthropic_provider import AnthropicProvider

    if select_agent(settings) == "baseline":
        return Decimal(0)
    model = settings.design_model if invocation == "design" else settings.assess_model
    price = AnthropicProvider(settings).price(model, day or date.today())
    return pricing.to_ledger(pricing.worst_case(price, FIRST_CALL_BYTES[invocation], settings.max_tokens))


# Without enough history, an invocation is expected to make this many calls at the first
# call's worst case (a design validates, fixes and saves; an assessment saves, maybe after a nudge).
TYPICAL_CALLS = {"design": 3, "assessment": 2}
HISTORY_MIN = 5  # invocations of a kind before their own costs are trusted
HISTORY_WINDOW = 20
HISTORY_QUANTILE = 0.9


def invocation_need(
    conn: psycopg.Connection[Any], settings: Settings, invocation: str, day: date | None = None
) -> tuple[Decimal, dict[str, Any]]:
    """What an invocation is expected to need in all, and how that was worked out (for the trigger row).

    The 90th percentile of what the last invocations of that kind cost in full, plus one
    first call's worst case (the last call still reserves its worst case); without five of
    them, the first call's worst case times a typical call count. 0 for the baseline.
    """
    from agentctl import pricing
    from agentctl.agent.anthropic_provider import AnthropicProvider
    from agentctl.store.actions import invocation_cost

    first = first_call_worst_case(settings, invocation, day)
    if first == 0:
        return first, {}
    n, cost = invocation_cost(
        conn,
        invocation=invocation,
        agent=AnthropicProvider.agent,
        call_name=AnthropicProvider.call_name,
        quantile=HISTORY_QUANTILE,
        window=HISTORY_WINDOW,
    )
    if n >= HISTORY_MIN:
        need = pricing.to_ledger(cost + first)
        how = f"p90 of the last {n} {invocation} invocations (${pricing.to_ledger(cost)}) + one call's worst case"
    else:
        need = first * TYPICAL_CALLS[invocation]
        how = f"{TYPICAL_CALLS[invocation]} calls at the first call's worst case (${first})"
    return need, {"invocation_need_usd": str(need), "invocation_need": how, "first_call_worst_case_usd": str(first)}


def run_design(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> DesignOutcome:
    """Design one strategy for the cycle (phase designing); it is saved onto the cycle."""
    if select_agent(settings) == "claude":
        from agentctl.agent.claude import design
    else:
        from agentctl.agent.baseline import design
    return design(conn_factory, settings, cycle_id)


def run_assessment(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> AssessmentOutcome:
    """Assess the cycle's results (phase assessing); the assessment is saved onto the cycle.

    The assessor's context is built from the cycle's record (`prompts.assessment_context`)."""
    if select_agent(settings) == "claude":
        from agentctl.agent.claude import assess
    else:
        from agentctl.agent.baseline import assess
    return assess(conn_factory, settings, cycle_id)
