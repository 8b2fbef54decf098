"""The assessing phase: the assessor judges the research evidence; a pass is then tested once on the sealed
final holdout (see stages.HOLDOUT), and only a confirmation ends the cycle `success`.

Invoke the assessor once per tick until it saves or the attempts run out. An assessment that did not pass
ends the cycle `failed_assessment` with its verdict as the reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentctl.domain import ExitCode, Outcome, Phase, SkipReason, StateMoved, TriggerReason
from agentctl.store import cycles
from agentctl.tick.finish import Ending, finish
from agentctl.tick.result import TickResult
from agentctl.tick.trigger import Trigger

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.records import BacktestRecord, Cycle
    from agentctl.tick.core import Tick

REASON = TriggerReason.BACKTEST_COMPLETED


def assess(
    tick: Tick, conn: psycopg.Connection[Any], cycle_id: int, snap: BudgetSnapshot, arriving: BacktestRecord | None
) -> TickResult:
    """Assess a cycle whose backtest passed; `arriving` holds the results on the tick that moves it here."""
    from agentctl.agent.admission import admit

    settings = tick.settings
    cycle = _still_there(conn, cycle_id)  # the whole cycle: the tick decided on where it stands
    if cycle.assessment is not None:
        # Saved on an earlier tick that ended before acting on it.
        trigger = Trigger(TriggerReason.GATE_CHECK, SkipReason.NO_AGENT_NEEDED, {"assessment_saved": True})
        return after_assessment(tick, conn, cycle, trigger, snap)
    attempts = cycles.assessment_attempts(conn, cycle.id)
    context: dict[str, Any] = {"assessment_attempts": attempts, "max_attempts": settings.assessment_max_attempts}
    if arriving is not None:
        context["gate"] = arriving.gate.model_dump() if arriving.gate else None
    if attempts >= settings.assessment_max_attempts:
        why = f"no assessment saved after {attempts} attempts"
        trigger = Trigger(REASON, SkipReason.ASSESSMENT_FAILED, context)
        return finish(conn, tick.settings, cycle, Ending(Outcome.FAILED_ASSESSMENT, why, trigger), snap)

    admission = admit(conn, settings, snap, "assessment")  # a person needed, an overrun, the agent, its full cost
    context.update(admission.context)
    skip, agent = admission.skip, admission.agent
    context["agent"] = agent
    with conn.transaction():
        if arriving is not None:
            cycles.start_assessing(conn, cycle.id, arriving)
        Trigger(REASON, skip, context, invoked=skip is None).write(conn, cycle.id, snap)
    if skip is not None:
        return TickResult(
            trigger_reason=REASON,
            skip_reason=skip,
            cycle_id=cycle.id,
            phase=Phase.ASSESSING,
            message=admission.message,
            exit_code=ExitCode.NEEDS_PERSON if admission.needs_person else ExitCode.OK,
        )
    return _invoke(tick, conn, cycle.id, agent)


def _invoke(tick: Tick, conn: psycopg.Connection[Any], cycle_id: int, agent: str | None) -> TickResult:
    """Run the assessor; the cycle ends `success` once its assessment is saved (by the assessor's tool)."""
    from agentctl.agent import AgentMisconfigured, AgentUnavailable, BudgetExceeded, FencedOut, run_assessment
    from agentctl.store import admission

    _still_there(conn, cycle_id)  # gone: raise before a billed call
    result = TickResult(REASON, agent_invoked=True, cycle_id=cycle_id, phase=Phase.ASSESSING, agent=agent)
    try:
        outcome = run_assessment(tick.connect, tick.settings, cycle_id)
    except FencedOut as err:  # another tick owns the cycle now: write nothing
        result.exit_code, result.message = ExitCode.TEMPFAIL, str(err)
        return result
    except AgentUnavailable as err:
        result.exit_code, result.message = ExitCode.TEMPFAIL, f"API unavailable: {err}; retried on a later tick"
        return result
    except AgentMisconfigured as err:
        admission.needs_person(conn, str(err))  # new invocations wait for `agentctl resume`
        result.exit_code, result.message = ExitCode.NEEDS_PERSON, str(err)
        return result
    except BudgetExceeded as err:
        result.message = f"{err}; retried on a later tick"
        return result
    if not outcome.saved or outcome.assessment is None:
        result.message = f"no assessment saved ({outcome.failure_reason}); retried on a later tick"
        return result
    done = after_assessment(tick, conn, _still_there(conn, cycle_id), None, None)
    return replace(done, trigger_reason=REASON, agent_invoked=True, agent=agent)


def _still_there(conn: psycopg.Connection[Any], cycle_id: int) -> Cycle:
    """The cycle being assessed, read again; gone means someone else moved it (exit 1, no guess)."""
    cycle = cycles.get(conn, cycle_id)
    if cycle is None:
        raise StateMoved(f"cycle {cycle_id} vanished while being assessed")
    return cycle


def after_assessment(
    tick: Tick, conn: psycopg.Connection[Any], cycle: Cycle, trigger: Trigger | None, snap: BudgetSnapshot | None
) -> TickResult:
    """A saved assessment: not passed ends the cycle; passed starts its one test on the sealed final holdout."""
    assessment = cycle.assessment
    assert assessment is not None  # only called once it is saved
    if not assessment.passed:
        why = f"the assessment did not pass (verdict {assessment.verdict}): {(assessment.explanation or '')[:300]}"
        return finish(conn, tick.settings, cycle, Ending(Outcome.FAILED_ASSESSMENT, why.strip(), trigger), snap)

    from agentctl.lab.operations import start_holdout
    from agentctl.lab.strategy import StrategyConfig

    config = StrategyConfig.model_validate(cycle.strategy_config)
    moved = holdout_moved(conn, tick.settings, config)
    if moved:
        return finish(conn, tick.settings, cycle, Ending(Outcome.FAILED_ASSESSMENT, moved, trigger), snap)
    op_id = start_holdout(conn, tick.settings, config, cycle.id)
    with conn.transaction():
        cycles.start_holdout(conn, cycle.id, op_id)
        if trigger is not None and snap is not None:
            trigger.with_context(holdout_operation_id=op_id).write(conn, cycle.id, snap)
    return TickResult(
        trigger_reason=trigger.reason if trigger else None,
        skip_reason=trigger.skip if trigger else None,
        cycle_id=cycle.id,
        phase=Phase.ASSESSING,
        message=f"assessment passed; its test on the sealed final holdout ({op_id}) started",
    )


def holdout_moved(conn: psycopg.Connection[Any], settings: Settings, config: StrategyConfig) -> str | None:
    """Why the holdout may not be tested: a changed holdout policy moved it into bars a cycle researched."""
    from agentctl.lab.data import DatasetError
    from agentctl.lab.periods import holdout_start_time

    ds = config.dataset
    try:
        start = holdout_start_time(ds.symbol, ds.timeframe, settings.home)
    except DatasetError:
        return None  # the dataset is gone or unreadable: the holdout operation fails and says why, as before
    seen = cycles.researched_into_holdout(conn, ds.symbol, ds.timeframe, start.replace(tzinfo=None))
    if seen is None:
        return None
    first, then = seen
    return (
        f"not tested: the sealed final holdout of {ds.symbol}/{ds.timeframe} now starts {start:%Y-%m-%d %H:%M}, "
        f"inside bars cycle {first} researched (its holdout started {then:%Y-%m-%d %H:%M}): restore "
        "AGENTCTL_HOLDOUT_SHARE and AGENTCTL_MIN_HOLDOUT_BARS, or research in a new AGENTCTL_HOME"
    )
