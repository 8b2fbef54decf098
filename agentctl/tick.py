"""The tick: advance the research cycle by exactly one step (SPEC §3).

Lock, ensure today's budget row, load the active session, decide, act, write
exactly one `agent_triggers` row, invoke the agent at most once. State changes
and the trigger row that explains them commit together, so a process killed on
any line leaves either the old state or the new one, never half of each.

Polling imports nothing heavy: the agent (anthropic) and the lab's training
code (pandas, scikit-learn, TA-Lib) are imported only on the paths that use them.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.domain import Outcome, Phase, SkipReason, StateMoved, TriggerReason
from agentctl.store import storable

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot

# pg_advisory_lock key: "agentctl" packed into a bigint.
TICK_LOCK_KEY = int.from_bytes(b"agentctl", "big") & 0x7FFFFFFFFFFFFFFF

EXIT_OK, EXIT_NEEDS_PERSON, EXIT_TEMPFAIL = 0, 1, 75


@dataclass
class TickResult:
    """What one tick saw and did; the CLI turns it into output and an exit code."""

    trigger_reason: str | None = None
    skip_reason: str | None = None
    agent_invoked: bool = False
    session_id: int | None = None
    phase: str | None = None
    outcome: str | None = None
    message: str = ""
    exit_code: int = EXIT_OK
    locked_out: bool = False
    agent: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One human line describing the tick."""
        if self.locked_out:
            return "another tick holds the lock: nothing to do"
        parts = [self.trigger_reason or "?"]
        if self.session_id is not None:
            parts.append(f"cycle {self.session_id}")
        if self.agent_invoked:
            parts.append(f"agent {self.agent} invoked")
        if self.skip_reason:
            parts.append(f"skip: {self.skip_reason}")
        if self.outcome:
            parts.append(f"outcome: {self.outcome}")
        elif self.phase:
            parts.append(f"phase: {self.phase}")
        if self.message:
            parts.append(self.message)
        return " · ".join(parts)


def _q():
    from agentctl.store.queries import load

    return load("cycles")


def _json(value: Any):
    from psycopg.types.json import Jsonb

    # Strict JSON for JSONB: a non-finite metric is stored as null (missing), never 'NaN'.
    cleaned = None if value is None else storable.json_value(value, nonfinite_null=True)
    return None if cleaned is None else Jsonb(cleaned, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _dec(value: Any, places: int, digits: int) -> Decimal | None:
    """A float fitted into DECIMAL(digits, places): None when missing or not finite, clamped at the bounds."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    bound = float(10 ** (digits - places)) - 10.0**-places
    f = max(-bound, min(bound, f))
    return Decimal(str(round(f, places)))


class Tick:
    """One tick against the configured database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url: str | None = None

    # -- entry point -----------------------------------------------------------

    def run(self) -> TickResult:
        """Take the lock and advance the active cycle (or start one) by one step."""
        from agentctl.store import connect, database_url
        from agentctl.store.migrate import ensure_schema

        self.url = database_url(self.settings)
        conn = connect(self.settings, autocommit=True, url=self.url)
        try:
            ensure_schema(conn, self.url)
            if not conn.execute(_q()["try_tick_lock"], {"key": TICK_LOCK_KEY}).fetchone()["locked"]:
                return TickResult(locked_out=True)
            try:
                return self._step(conn)
            finally:
                if not conn.closed and not conn.broken:
                    conn.execute(_q()["tick_unlock"], {"key": TICK_LOCK_KEY})
        finally:
            conn.close()

    def connect(self) -> psycopg.Connection:
        """A fresh connection for the agent (it manages its own transactions)."""
        from agentctl.store import connect

        return connect(self.settings, url=self.url)

    # -- decision ----------------------------------------------------------------

    def _step(self, conn: psycopg.Connection) -> TickResult:
        from agentctl.store.budget import Budget

        budget = Budget(self.settings)
        # We hold the lock and only its holder calls the model: open reservations are orphans.
        budget.ensure_today(conn, orphans=True)
        snap = budget.snapshot(conn)
        session = conn.execute(_q()["active_session"]).fetchone()
        if session is None:
            return self._start_new_cycle(conn, snap)
        phase = Phase(session["phase"])
        if phase is Phase.DESIGNING:
            # Only a tick holding the lock designs, and we hold it: that tick died.
            return self._finish(
                conn,
                session,
                Outcome.FAILED_DESIGN,
                "the tick designing this cycle died before saving a strategy",
                trigger=(TriggerReason.GATE_CHECK, SkipReason.SESSION_INTERRUPTED, snap, {"phase": phase.value}),
            )
        if phase is Phase.TRAINING:
            return self._poll_training(conn, session, snap)
        if phase is Phase.BACKTESTING:
            return self._poll_backtest(conn, session, snap)
        return self._assess(conn, session, snap, arriving=None)

    # -- no active session ---------------------------------------------------------

    def _start_new_cycle(self, conn, snap: BudgetSnapshot) -> TickResult:
        reason = TriggerReason.START_NEW_CYCLE
        context: dict[str, Any] = {"budget": _budget_context(snap)}
        skip = None
        agent = None
        if self.settings.paused:
            skip = SkipReason.PAUSED
        elif self.settings.daily_cycle_limit is not None and snap.cycles_started >= self.settings.daily_cycle_limit:
            skip = SkipReason.CYCLE_LIMIT
            context["daily_cycle_limit"] = self.settings.daily_cycle_limit
        else:
            from agentctl.agent import AgentMisconfigured, select_agent

            try:
                agent = select_agent(self.settings)
                if self._cannot_afford(snap, "design", context):
                    skip = SkipReason.BUDGET_EXCEEDED
            except AgentMisconfigured as err:
                context["error"] = str(err)
                self._trigger(conn, reason, None, SkipReason.AGENT_MISCONFIGURED, snap, context)
                return TickResult(
                    trigger_reason=reason,
                    skip_reason=SkipReason.AGENT_MISCONFIGURED,
                    message=str(err),
                    exit_code=EXIT_NEEDS_PERSON,
                )
        if skip is not None:
            self._trigger(conn, reason, None, skip, snap, context)
            return TickResult(trigger_reason=reason, skip_reason=skip)

        context["agent"] = agent
        with conn.transaction():
            session = conn.execute(_q()["create_session"]).fetchone()
            conn.execute(_q()["count_cycle_started"])
            self._trigger(conn, reason, session["id"], None, snap, context, invoked=True)
        return self._design(conn, session, agent)

    def _design(self, conn, session, agent: str) -> TickResult:
        from agentctl.agent import AgentMisconfigured, AgentUnavailable, run_design
        from agentctl.store.budget import BudgetExceeded

        sid = session["id"]
        result = TickResult(
            trigger_reason=TriggerReason.START_NEW_CYCLE, agent_invoked=True, session_id=sid, agent=agent
        )
        try:
            design = run_design(self.connect, self.settings, sid)
        except AgentUnavailable as err:
            done = self._finish(conn, session, Outcome.FAILED_DESIGN, f"API unavailable: {err}")
            return replace(
                done, agent_invoked=True, agent=agent, exit_code=EXIT_TEMPFAIL, trigger_reason=result.trigger_reason
            )
        except AgentMisconfigured as err:
            done = self._finish(conn, session, Outcome.FAILED_DESIGN, f"agent misconfigured: {err}")
            return replace(
                done,
                agent_invoked=True,
                agent=agent,
                exit_code=EXIT_NEEDS_PERSON,
                trigger_reason=result.trigger_reason,
                message=str(err),
            )
        except BudgetExceeded as err:
            design = None
            failure = str(err)
        else:
            failure = design.failure_reason or "the design ended without a saved strategy"
        if design is None or not design.saved or design.config is None:
            done = self._finish(conn, session, Outcome.FAILED_DESIGN, failure)
            return replace(done, agent_invoked=True, agent=agent, trigger_reason=result.trigger_reason)

        from agentctl.lab.operations import start_training

        op_id = start_training(conn, self.settings, design.config, sid)
        with conn.transaction():
            moved = conn.execute(_q()["start_training"], {"id": sid, "operation_id": op_id}).fetchone()
            if moved is None:
                raise StateMoved(f"cycle {sid} left 'designing' while its strategy was being saved")
        result.phase = Phase.TRAINING
        result.message = f"strategy {design.strategy_name} saved; training {op_id} started"
        return result

    # -- polling operations -------------------------------------------------------

    def _poll_training(self, conn, session, snap) -> TickResult:
        from agentctl.lab.gates import training_gate

        op, context = self._operation(conn, session["training_operation_id"])
        if op is None or op.status in ("failed", "cancelled"):
            why = _operation_failure(session["training_operation_id"], op)
            return self._finish(
                conn,
                session,
                Outcome.FAILED_TRAINING,
                why,
                trigger=(TriggerReason.TRAINING_FAILED, SkipReason.OPERATION_FAILED, snap, context),
            )
        if op.status != "completed":
            return self._still_running(conn, session, snap, context)

        results = dict(op.result or {})
        verdict = training_gate(results, self._thresholds())
        results["gate"] = verdict.model_dump()
        context["gate"] = verdict.model_dump()
        if not verdict.passed:
            return self._finish(
                conn,
                session,
                Outcome.FAILED_TRAINING_GATE,
                "; ".join(verdict.reasons),
                trigger=(TriggerReason.TRAINING_COMPLETED, SkipReason.GATE_FAILED, snap, context),
                gate_failed="training",
                training_results=results,
            )

        from agentctl.lab.operations import start_backtest
        from agentctl.lab.strategy import StrategyConfig

        config = StrategyConfig.model_validate(session["strategy_config"])
        n_trials = self._trials(conn, config)
        bt_id = start_backtest(conn, self.settings, config, results["model_path"], session["id"], n_trials)
        context["backtest_operation_id"] = bt_id
        with conn.transaction():
            moved = conn.execute(
                _q()["start_backtest"], {"id": session["id"], "operation_id": bt_id, "training_results": _json(results)}
            ).fetchone()
            if moved is None:
                raise StateMoved(f"cycle {session['id']} left 'training' while its backtest was starting")
            self._trigger(
                conn, TriggerReason.TRAINING_COMPLETED, session["id"], SkipReason.NO_AGENT_NEEDED, snap, context
            )
        return TickResult(
            trigger_reason=TriggerReason.TRAINING_COMPLETED,
            skip_reason=SkipReason.NO_AGENT_NEEDED,
            session_id=session["id"],
            phase=Phase.BACKTESTING,
            message=f"backtest {bt_id} started",
        )

    def _poll_backtest(self, conn, session, snap) -> TickResult:
        from agentctl.lab.gates import backtest_gate

        op, context = self._operation(conn, session["backtest_operation_id"])
        if op is None or op.status in ("failed", "cancelled"):
            why = _operation_failure(session["backtest_operation_id"], op)
            return self._finish(
                conn,
                session,
                Outcome.FAILED_BACKTEST,
                why,
                trigger=(TriggerReason.BACKTEST_FAILED, SkipReason.OPERATION_FAILED, snap, context),
            )
        if op.status != "completed":
            return self._still_running(conn, session, snap, context)

        results = dict(op.result or {})
        verdict = backtest_gate(results, self._thresholds())
        results["gate"] = verdict.model_dump()
        context["gate"] = verdict.model_dump()
        if not verdict.passed:
            return self._finish(
                conn,
                session,
                Outcome.FAILED_BACKTEST_GATE,
                "; ".join(verdict.reasons),
                trigger=(TriggerReason.BACKTEST_COMPLETED, SkipReason.GATE_FAILED, snap, context),
                gate_failed="backtest",
                backtest_results=results,
            )
        return self._assess(conn, session, snap, arriving=results)

    def _operation(self, conn, op_id: str | None):
        from agentctl.lab.operations import check_operation

        op = check_operation(conn, self.settings, op_id) if op_id else None
        context: dict[str, Any] = {"operation_id": op_id}
        if op is not None:
            context.update(
                status=op.status,
                progress_pct=op.progress_pct,
                progress_message=op.progress_message,
                heartbeat_at=op.heartbeat_at.isoformat() if op.heartbeat_at else None,
            )
            if op.error:
                context["error"] = op.error
        return op, context

    def _still_running(self, conn, session, snap, context) -> TickResult:
        self._trigger(conn, TriggerReason.GATE_CHECK, session["id"], SkipReason.OPERATION_STILL_RUNNING, snap, context)
        return TickResult(
            trigger_reason=TriggerReason.GATE_CHECK,
            skip_reason=SkipReason.OPERATION_STILL_RUNNING,
            session_id=session["id"],
            phase=session["phase"],
            progress=context,
            message=f"{context.get('progress_pct') or 0:.0f}% {context.get('progress_message') or ''}".strip(),
        )

    # -- assessment -------------------------------------------------------------------

    def _assess(self, conn, session, snap, arriving: dict | None) -> TickResult:
        """Assess a cycle whose backtest passed; `arriving` holds the results on the tick that moves it here."""
        sid = session["id"]
        reason = TriggerReason.BACKTEST_COMPLETED
        attempts = conn.execute(_q()["assessment_attempts"], {"id": sid}).fetchone()["n"]
        context: dict[str, Any] = {
            "assessment_attempts": attempts,
            "max_attempts": self.settings.assessment_max_attempts,
        }
        if arriving is not None:
            context["gate"] = arriving.get("gate")
        if attempts >= self.settings.assessment_max_attempts:
            return self._finish(
                conn,
                session,
                Outcome.FAILED_ASSESSMENT,
                f"no assessment saved after {attempts} attempts",
                trigger=(reason, SkipReason.ASSESSMENT_FAILED, snap, context),
            )

        skip = None
        agent = None
        from agentctl.agent import AgentMisconfigured, select_agent

        try:
            agent = select_agent(self.settings)
            if self._cannot_afford(snap, "assessment", context):
                skip = SkipReason.BUDGET_EXCEEDED
        except AgentMisconfigured as err:
            skip, context["error"] = SkipReason.AGENT_MISCONFIGURED, str(err)
        context["agent"] = agent
        with conn.transaction():
            if arriving is not None:
                moved = conn.execute(
                    _q()["start_assessing"], {"id": sid, "backtest_results": _json(arriving)}
                ).fetchone()
                if moved is None:
                    raise StateMoved(f"cycle {sid} left 'backtesting' before its assessment")
            self._trigger(conn, reason, sid, skip, snap, context, invoked=skip is None)
        if skip is not None:
            return TickResult(
                trigger_reason=reason,
                skip_reason=skip,
                session_id=sid,
                phase=Phase.ASSESSING,
                message=context.get("error", ""),
                exit_code=EXIT_NEEDS_PERSON if skip is SkipReason.AGENT_MISCONFIGURED else EXIT_OK,
            )

        from agentctl.agent import AgentMisconfigured, AgentUnavailable, run_assessment
        from agentctl.store.budget import BudgetExceeded

        fresh = conn.execute(_q()["session_by_id"], {"id": sid}).fetchone()
        result = TickResult(
            trigger_reason=reason, agent_invoked=True, session_id=sid, phase=Phase.ASSESSING, agent=agent
        )
        try:
            outcome = run_assessment(self.connect, self.settings, sid, assessment_context(fresh))
        except AgentUnavailable as err:
            result.exit_code, result.message = EXIT_TEMPFAIL, f"API unavailable: {err}; retried on a later tick"
            return result
        except AgentMisconfigured as err:
            result.exit_code, result.message = EXIT_NEEDS_PERSON, str(err)
            return result
        except BudgetExceeded as err:
            result.message = f"{err}; retried on a later tick"
            return result
        if not outcome.saved or outcome.assessment is None:
            result.message = f"no assessment saved ({outcome.failure_reason}); retried on a later tick"
            return result
        done = self._finish(conn, fresh, Outcome.SUCCESS, None, assessment=outcome.assessment)
        return replace(done, trigger_reason=reason, agent_invoked=True, agent=agent)

    # -- completing a cycle --------------------------------------------------------------

    def _finish(
        self,
        conn,
        session,
        outcome: Outcome,
        failure_reason: str | None,
        *,
        trigger=None,
        gate_failed: str | None = None,
        training_results: dict | None = None,
        backtest_results: dict | None = None,
        assessment: dict | None = None,
    ) -> TickResult:
        """End the cycle in one transaction: session, metrics row, budget counter (and the trigger row)."""
        sid, phase = session["id"], session["phase"]
        q = _q()
        with conn.transaction():
            if training_results is not None or backtest_results is not None:
                conn.execute(
                    q["record_results"],
                    {
                        "id": sid,
                        "phase": phase,
                        "training_results": _json(training_results),
                        "backtest_results": _json(backtest_results),
                    },
                )
            if (
                assessment is not None
                and conn.execute(q["record_assessment"], {"id": sid, "assessment": _json(assessment)}).fetchone()
                is None
            ):
                raise StateMoved(f"cycle {sid} left 'assessing' before its assessment was stored")
            done = conn.execute(
                q["complete_session"],
                {"id": sid, "phase": phase, "outcome": outcome.value, "failure_reason": storable.text(failure_reason)},
            ).fetchone()
            if done is None:
                raise StateMoved(f"cycle {sid} left {phase!r} while it was being completed")
            costs = conn.execute(q["session_costs"], {"id": sid}).fetchone()
            conn.execute(q["insert_metrics"], _metrics_row(done, costs, outcome, gate_failed))
            conn.execute(q["count_cycle_completed"])
            if trigger is not None:
                reason, skip, snap, context = trigger
                context = dict(context, outcome=outcome.value)
                self._trigger(conn, reason, sid, skip, snap, context)
        return TickResult(
            trigger_reason=trigger[0] if trigger else None,
            skip_reason=trigger[1] if trigger else None,
            session_id=sid,
            outcome=outcome.value,
            message=failure_reason or "",
        )

    # -- helpers -----------------------------------------------------------------------------

    def _trigger(self, conn, reason, session_id, skip, snap, context, *, invoked: bool = False) -> None:
        conn.execute(
            _q()["insert_trigger"],
            {
                "reason": str(reason),
                "session_id": session_id,
                "context": _json(context),
                "agent_invoked": invoked,
                "skip_reason": str(skip) if skip else None,
                "used": snap.used,
                "remaining": snap.remaining,
            },
        )

    def _cannot_afford(self, snap, invocation: str, context: dict) -> bool:
        """True when what is left today cannot cover the invocation's first call (0 for the baseline)."""
        from agentctl.agent import first_call_worst_case

        need = first_call_worst_case(self.settings, invocation, snap.date)
        context["first_call_worst_case_usd"] = str(need)
        return snap.exhausted or snap.remaining < need

    def _thresholds(self):
        return self.settings.gates

    def _trials(self, conn, config) -> int:
        row = conn.execute(
            _q()["trials_on_dataset"], {"symbol": config.dataset.symbol, "timeframe": config.dataset.timeframe}
        ).fetchone()
        return int(row["n"]) + 1  # this strategy included


def _budget_context(snap) -> dict[str, Any]:
    return {
        "date": snap.date.isoformat(),
        "limit": str(snap.limit),
        "used": str(snap.used),
        "reserved": str(snap.reserved),
        "remaining": str(snap.remaining),
    }


def _operation_failure(op_id: str | None, op) -> str:
    if op_id is None:
        return "no operation was recorded for this phase"
    if op is None:
        return f"operation {op_id} vanished (no record of it)"
    return f"operation {op_id} {op.status}: {op.error or 'no reason recorded'}"


def _metrics_row(session, costs, outcome: Outcome, gate_failed: str | None) -> dict[str, Any]:
    tr = session.get("training_results") or {}
    bt = session.get("backtest_results") or {}
    return {
        "id": session["id"],
        "started_at": session["created_at"],
        "completed_at": session["completed_at"],
        "training_accuracy": _dec(tr.get("accuracy"), 4, 5),
        "training_final_loss": _dec(tr.get("log_loss"), 6, 10),
        "training_epochs_completed": tr.get("iterations"),
        "training_early_stopped": tr.get("early_stopped"),
        "backtest_sharpe": _dec(bt.get("sharpe"), 4, 10),
        "backtest_win_rate": _dec(bt.get("win_rate"), 4, 5),
        "backtest_max_drawdown": _dec(bt.get("max_drawdown"), 4, 5),
        "backtest_total_trades": bt.get("total_trades"),
        "backtest_profit_factor": _dec(bt.get("profit_factor"), 4, 10),
        "tokens_input": costs["tokens_input"],
        "tokens_output": costs["tokens_output"],
        "cost_usd": costs["cost_usd"],
        "outcome": outcome.value,
        "gate_failed": gate_failed,
    }


def assessment_context(session) -> dict[str, Any]:
    """What the assessor sees: config, results and verdicts; the equity curve stays out (tokens)."""
    bt = dict(session.get("backtest_results") or {})
    bt.pop("equity_curve", None)
    return {
        "cycle": session["id"],
        "strategy": session.get("strategy_config"),
        "training_results": session.get("training_results"),
        "backtest_results": bt,
        "gates": {
            "training": (session.get("training_results") or {}).get("gate"),
            "backtest": bt.get("gate"),
        },
        "deflated_sharpe": bt.get("deflated_sharpe"),
        "buy_and_hold_return": bt.get("buy_and_hold_return"),
    }


def cancel_active(settings: Settings, wait_s: float = 30.0) -> TickResult:
    """End the active cycle with outcome `cancelled`, stopping its operation."""
    import time

    from agentctl.store import connect, database_url
    from agentctl.store.migrate import ensure_schema

    url = database_url(settings)
    conn = connect(settings, autocommit=True, url=url)
    try:
        ensure_schema(conn, url)
        deadline = time.monotonic() + wait_s
        while not conn.execute(_q()["try_tick_lock"], {"key": TICK_LOCK_KEY}).fetchone()["locked"]:
            if time.monotonic() > deadline:
                return TickResult(
                    locked_out=True,
                    exit_code=EXIT_TEMPFAIL,
                    message=f"a tick has held the lock for {wait_s:.0f}s; try again",
                )
            time.sleep(0.2)
        try:
            session = conn.execute(_q()["active_session"]).fetchone()
            if session is None:
                return TickResult(message="no active cycle")
            phase = Phase(session["phase"])
            op_id = {
                Phase.TRAINING: session["training_operation_id"],
                Phase.BACKTESTING: session["backtest_operation_id"],
            }.get(phase)
            if op_id:
                from agentctl.lab.operations import cancel_operation

                cancel_operation(conn, op_id)
            return Tick(settings)._finish(
                conn, session, Outcome.CANCELLED, f"cancelled by `agentctl cancel` in phase {phase.value}"
            )
        finally:
            conn.execute(_q()["tick_unlock"], {"key": TICK_LOCK_KEY})
    finally:
        conn.close()


def completed_since(conn, after_id: int) -> int:
    """How many cycles with id > after_id have completed."""
    return int(conn.execute(_q()["completed_since"], {"after_id": after_id}).fetchone()["n"])


def max_session_id(conn) -> int:
    """The newest session id (0 when none)."""
    return int(conn.execute(_q()["max_session_id"]).fetchone()["id"])


def print_err(message: str) -> None:
    """One line on stderr."""
    print(f"agentctl: {message}", file=sys.stderr)
