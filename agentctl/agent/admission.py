"""Whether a tick may start an invocation: the one admission decision, for the tick and the reports.

Light: no SDK, no lab. The tick asks `admit` before it starts a cycle (invocation
"design") and before it invokes the assessor ("assessment"); a refusal is a SkipReason
and a context that says why, written on the tick's trigger row. The reports ask
`holds` what stops new cycles now: the same checks, in the same order.

In order (the first that holds refuses):
- paused: AGENTCTL_PAUSED, or a person ran `agentctl pause` (new cycles only);
- agent_misconfigured: an API failure no retry can fix, since the last `agentctl resume`;
- budget_overrun: a call cost more than it reserved, since the last `agentctl resume`;
- circuit_open: the last cycles all ended by the agent itself failing; new cycles back off;
- cycle_limit: AGENTCTL_DAILY_CYCLE_LIMIT cycles started today (new cycles only);
- agent_misconfigured: no agent can be chosen (a missing key, a model without a price);
- budget_exceeded: what is left today does not cover the invocation's expected full cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from agentctl.domain import Blame, Outcome, SkipReason
from agentctl.store import admission as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.agent.outcomes import AgentName
    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot

Invocation = Literal["design", "assessment"]
# How long new cycles wait once the breaker opens, then after each further failure.
BACKOFF = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(days=1))
AGENT_FAILURES = (Outcome.FAILED_DESIGN.value, Outcome.FAILED_ASSESSMENT.value)
RESUME = "run `agentctl resume` once you have looked"
ENV_PAUSED = "AGENTCTL_PAUSED is set: no new cycle starts until it is unset"


@dataclass(frozen=True)
class Admission:
    """skip None: go ahead with `agent`. Else the skip reason; `context` explains it either way."""

    skip: SkipReason | None
    context: dict[str, Any] = field(default_factory=dict)
    agent: AgentName | None = None

    @property
    def needs_person(self) -> bool:
        """Refused for something only a person can fix (the tick exits 1 so cron mails them)."""
        return self.skip is SkipReason.AGENT_MISCONFIGURED

    @property
    def message(self) -> str:
        return str(self.context.get("error", ""))


def admit(
    conn: psycopg.Connection[Any], settings: Settings, snap: BudgetSnapshot, invocation: Invocation = "design"
) -> Admission:
    """May this tick start `invocation` ('design' starts a cycle; 'assessment')? The first refusal, or go."""
    starting = invocation == "design"
    if starting and settings.paused:
        return Admission(SkipReason.PAUSED)  # the tick's own switch: nothing else is read
    agent = _agent(settings)  # named on a refusal's trigger row too; a misconfiguration refuses below
    for refusal in _standing(conn, settings, store.state(conn), starting=starting):
        return replace(refusal, agent=agent)
    if starting and settings.daily_cycle_limit is not None and snap.cycles_started >= settings.daily_cycle_limit:
        return Admission(SkipReason.CYCLE_LIMIT, {"daily_cycle_limit": settings.daily_cycle_limit}, agent)
    return _afford(conn, settings, snap, invocation)


def _agent(settings: Settings) -> AgentName | None:
    from agentctl.agent import AgentMisconfigured, select_agent

    try:
        return select_agent(settings)
    except AgentMisconfigured:
        return None


def why_no_new_cycle(conn: psycopg.Connection[Any], settings: Settings) -> list[tuple[SkipReason, str]]:
    """What stops new cycles right now, each with the sentence that explains it (status, doctor, metrics)."""
    out = [(SkipReason.PAUSED, ENV_PAUSED)] if settings.paused else []
    for refusal in _standing(conn, settings, store.state(conn), starting=True):
        out.append((refusal.skip or SkipReason.PAUSED, str(refusal.context["admission"])))
    return out


def _standing(
    conn: psycopg.Connection[Any], settings: Settings, state: store.AdmissionState, *, starting: bool
) -> Iterator[Admission]:
    """The refusals stored in the database, in order: a pause, a person needed, an overrun, the breaker."""
    if starting and state.paused_at is not None:
        yield Admission(SkipReason.PAUSED, {"admission": _paused(state)})
    if state.needs_person_at is not None:
        why = _needs_person(state)
        yield Admission(SkipReason.AGENT_MISCONFIGURED, {"admission": why, "error": why})
    if state.overrun_at is not None:
        yield Admission(
            SkipReason.BUDGET_OVERRUN, {"admission": _overrun(state), "overrun_at": state.overrun_at.isoformat()}
        )
    if starting:
        opened = circuit(conn, settings, state)
        if opened is not None:
            yield opened


def _paused(state: store.AdmissionState) -> str:
    assert state.paused_at is not None
    note = f" ({state.pause_note})" if state.pause_note else ""
    return f"paused by `agentctl pause` at {state.paused_at.isoformat(timespec='seconds')}{note}; `agentctl resume` starts cycles again"


def _needs_person(state: store.AdmissionState) -> str:
    assert state.needs_person_at is not None
    when = state.needs_person_at.isoformat(timespec="seconds")
    return f"needs a person since {when}: {state.needs_person_reason}; fix it, then run `agentctl resume`"


def _overrun(state: store.AdmissionState) -> str:
    return (
        f"budget overrun on {state.overrun_date}: calls cost ${state.overrun_usd} more than they reserved; "
        "no new invocation until a person checks the day's spend and runs `agentctl resume`"
    )


def circuit(conn: psycopg.Connection[Any], settings: Settings, state: store.AdmissionState) -> Admission | None:
    """The circuit breaker: open (a skip) while the back-off after consecutive agent failures runs."""
    limit = settings.circuit_breaker_failures
    endings = store.recent_endings(conn, state.resumed_at, limit + len(BACKOFF))
    streak = 0
    for ending in endings:
        if not _agent_failed(ending):
            break
        streak += 1
    if streak < limit:
        return None
    wait = BACKOFF[min(streak - limit, len(BACKOFF) - 1)]
    last = endings[0].completed_at
    until = last + wait
    if state.now >= until:
        return None  # the back-off ran out: one cycle may try (another failure waits longer)
    why = (
        f"the last {streak} cycles ended by the agent failing ({_reason(endings[0])}); "
        f"new cycles wait {_span(wait)}, until {until.isoformat()}, or {RESUME}"
    )
    context = {"admission": why, "consecutive_failures": streak, "retry_at": until.isoformat()}
    return Admission(SkipReason.CIRCUIT_OPEN, context | {"failed_sessions": [e.id for e in endings[:streak]]})


def _afford(conn: psycopg.Connection[Any], settings: Settings, snap: BudgetSnapshot, invocation: str) -> Admission:
    """The agent, and whether what is left today covers its invocation's expected full cost (0 for the baseline:
    then only an exhausted day refuses)."""
    from agentctl.agent import AgentMisconfigured, invocation_need, select_agent

    try:
        agent = select_agent(settings)
        need, context = invocation_need(conn, settings, invocation, snap.date)
    except AgentMisconfigured as err:
        return Admission(SkipReason.AGENT_MISCONFIGURED, {"error": str(err)})
    context.setdefault("first_call_worst_case_usd", str(need))
    if snap.exhausted or snap.remaining < need:
        if need > 0:
            context["admission"] = (
                f"today's remaining ${snap.remaining} does not cover a {invocation} invocation (about ${need} in all)"
            )
        return Admission(SkipReason.BUDGET_EXCEEDED, context, agent)
    return Admission(None, context, agent)


def _agent_failed(ending: store.RecentEnding) -> bool:
    """The agent's own failure: the budget's or the machine's doing does not count (their typed blame)."""
    return ending.outcome in AGENT_FAILURES and ending.blame is Blame.AGENT


def _reason(ending: store.RecentEnding) -> str:
    return f"last: {ending.outcome}: {(ending.failure_reason or 'no reason recorded')[:120]}"


def _span(wait: timedelta) -> str:
    minutes = int(wait.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
