"""Whether a tick may start an invocation: pause, overrun, circuit breaker, the invocation's full cost.

Light: no SDK, no lab. The tick asks `admit` before it starts a cycle (invocation
"design") and before it invokes the assessor ("assessment"); a refusal is a SkipReason
and a context that says why, written on the tick's trigger row.

- paused: a person ran `agentctl pause` (new cycles only; AGENTCTL_PAUSED is the tick's own check);
- budget_overrun: a call cost more than it reserved, since the last `agentctl resume`;
- circuit_open: the last cycles all ended by the agent itself failing; new cycles back off;
- budget_exceeded: what is left today does not cover the invocation's expected full cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agentctl.domain import Outcome, SkipReason
from agentctl.store import admission as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot

# How long new cycles wait once the breaker opens, then after each further failure.
BACKOFF = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(days=1))
AGENT_FAILURES = (Outcome.FAILED_DESIGN.value, Outcome.FAILED_ASSESSMENT.value)
# A cycle ended by the budget is the budget's doing, not the agent's; one whose tick was
# killed (a signal, a lost lock) is the machine's: neither counts.
NOT_THE_AGENT = ("budget ", "the tick designing this cycle died")
RESUME = "run `agentctl resume` once you have looked"


@dataclass(frozen=True)
class Admission:
    """None: go ahead. Else the skip reason; `context` explains it either way."""

    skip: SkipReason | None
    context: dict[str, Any] = field(default_factory=dict)


def admit(
    conn: psycopg.Connection[Any], settings: Settings, snap: BudgetSnapshot, invocation: str = "design"
) -> Admission:
    """May this tick start `invocation` ('design' starts a cycle; 'assessment')?"""
    state = store.state(conn)
    if state.needs_person_at is not None:
        return Admission(
            SkipReason.AGENT_MISCONFIGURED, {"admission": _needs_person(state), "error": _needs_person(state)}
        )
    if invocation == "design" and state.paused_at is not None:
        return Admission(SkipReason.PAUSED, {"admission": _paused(state)})
    if state.overrun_at is not None:
        context = {"admission": _overrun(state), "overrun_at": state.overrun_at.isoformat()}
        return Admission(SkipReason.BUDGET_OVERRUN, context)
    if invocation == "design":
        opened = circuit(conn, settings, state)
        if opened is not None:
            return opened
    return _afford(conn, settings, snap, invocation)


def why_no_new_cycle(conn: psycopg.Connection[Any], settings: Settings) -> list[tuple[SkipReason, str]]:
    """What stops new cycles right now, each with the sentence that explains it (status, doctor, metrics)."""
    state = store.state(conn)
    out: list[tuple[SkipReason, str]] = []
    if settings.paused:
        out.append((SkipReason.PAUSED, "AGENTCTL_PAUSED is set: no new cycle starts until it is unset"))
    if state.paused_at is not None:
        out.append((SkipReason.PAUSED, _paused(state)))
    if state.overrun_at is not None:
        out.append((SkipReason.BUDGET_OVERRUN, _overrun(state)))
    if state.needs_person_at is not None:
        out.append((SkipReason.AGENT_MISCONFIGURED, _needs_person(state)))
    opened = circuit(conn, settings, state)
    if opened is not None:
        out.append((SkipReason.CIRCUIT_OPEN, str(opened.context["admission"])))
    return out


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
    from agentctl.agent import AgentMisconfigured, invocation_need

    try:
        need, context = invocation_need(conn, settings, invocation, snap.date)
    except AgentMisconfigured:
        return Admission(None)  # the tick's own check reports it, with the fix
    if need > 0 and (snap.exhausted or snap.remaining < need):
        context["admission"] = (
            f"today's remaining ${snap.remaining} does not cover a {invocation} invocation (about ${need} in all)"
        )
        return Admission(SkipReason.BUDGET_EXCEEDED, context)
    return Admission(None, context)


def _agent_failed(ending: store.Ending) -> bool:
    if ending.outcome not in AGENT_FAILURES:
        return False
    reason = (ending.failure_reason or "").lower()
    return not reason.startswith(NOT_THE_AGENT)


def _reason(ending: store.Ending) -> str:
    return f"last: {ending.outcome}: {(ending.failure_reason or 'no reason recorded')[:120]}"


def _span(wait: timedelta) -> str:
    minutes = int(wait.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def breaker_summary(conn: psycopg.Connection[Any], settings: Settings) -> tuple[store.AdmissionState, Admission | None]:
    """For reports: the stored state and the breaker's verdict now (None: closed)."""
    state = store.state(conn)
    return state, circuit(conn, settings, state)
