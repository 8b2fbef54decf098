"""Where a tick decides: lock, today's budget, the active cycle's phase, one step, one trigger row."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentctl.domain import Blame, ExitCode, Outcome, Phase, SkipReason, TriggerReason
from agentctl.store import admission, cycles
from agentctl.store.budget import Budget
from agentctl.tick.finish import Ending, finish
from agentctl.tick.lock import held
from agentctl.tick.result import TickResult
from agentctl.tick.stages import Stage, stage_of
from agentctl.tick.trigger import Trigger, budget_context

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.operations import Operation
    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.cycle_state import CycleState
    from agentctl.store.records import BacktestRecord


class Tick:
    """One tick against the configured database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url: str | None = None

    def run(self) -> TickResult:
        """Take the lock and advance the active cycle (or start one) by one step."""
        from agentctl.store import database_url

        self.url = database_url(self.settings)
        with held(self.settings, self.url) as conn:
            if conn is None:
                return TickResult(locked_out=True)
            return self._step(conn)

    def connect(self) -> psycopg.Connection[Any]:
        """A fresh connection for the agent (it manages its own transactions)."""
        from agentctl.store import connect

        return connect(self.settings, url=self.url)

    # -- decision --------------------------------------------------------------------

    def _step(self, conn: psycopg.Connection[Any]) -> TickResult:
        budget = Budget(self.settings)
        # We hold the lock and only its holder calls the model: open reservations are orphans.
        budget.ensure_today(conn, orphans=True)
        snap = budget.snapshot(conn)
        cycle = cycles.active(conn)
        if cycle is None:
            return self._start_new_cycle(conn, snap)
        if cycle.phase is Phase.DESIGNING:
            # Only a tick holding the lock designs, and we hold it: that tick died.
            why = "the tick designing this cycle died before saving a strategy"
            trigger = Trigger(TriggerReason.GATE_CHECK, SkipReason.SESSION_INTERRUPTED, {"phase": cycle.phase.value})
            ending = Ending(Outcome.FAILED_DESIGN, why, trigger, blame=Blame.INTERRUPTED)
            return finish(conn, self.settings, cycle, ending, snap)
        stage = stage_of(cycle)
        if stage is not None:
            return self._poll(conn, cycle, snap, stage)
        return self._assess(conn, cycle, snap, arriving=None)

    # -- no active cycle -----------------------------------------------------------------

    def _start_new_cycle(self, conn: psycopg.Connection[Any], snap: BudgetSnapshot) -> TickResult:
        from agentctl.agent.admission import admit

        reason = TriggerReason.START_NEW_CYCLE
        admission = admit(conn, self.settings, snap, "design")
        context: dict[str, Any] = {"budget": budget_context(snap)} | admission.context
        if admission.skip is not None:
            Trigger(reason, admission.skip, context).write(conn, None, snap)
            if admission.needs_person:
                return TickResult(reason, admission.skip, message=admission.message, exit_code=ExitCode.NEEDS_PERSON)
            return TickResult(trigger_reason=reason, skip_reason=admission.skip)
        if down := self._executor_unavailable():
            context["error"] = down  # the cluster may come back: exit 75, nothing started
            Trigger(reason, SkipReason.EXECUTOR_UNAVAILABLE, context).write(conn, None, snap)
            return TickResult(reason, SkipReason.EXECUTOR_UNAVAILABLE, message=down, exit_code=ExitCode.TEMPFAIL)

        assert admission.agent is not None  # admitted: an agent was chosen
        context["agent"] = admission.agent
        with conn.transaction():
            cycle = cycles.create(conn)
            Budget(self.settings).count_cycle(conn, started=True)
            Trigger(reason, None, context, invoked=True).write(conn, cycle.id, snap)
        return self._design(conn, cycle, admission.agent)

    def _design(self, conn: psycopg.Connection[Any], cycle: CycleState, agent: str) -> TickResult:
        from agentctl.agent import AgentMisconfigured, AgentUnavailable, BudgetExceeded, FencedOut, run_design

        try:
            design = run_design(self.connect, self.settings, cycle.id)
        except FencedOut as err:  # another tick owns the cycle now: write nothing
            return replace(
                _designed(TickResult(cycle_id=cycle.id), agent), exit_code=ExitCode.TEMPFAIL, message=str(err)
            )
        except AgentUnavailable as err:
            done = finish(conn, self.settings, cycle, Ending(Outcome.FAILED_DESIGN, f"API unavailable: {err}"), None)
            return replace(_designed(done, agent), exit_code=ExitCode.TEMPFAIL)
        except AgentMisconfigured as err:
            done = finish(
                conn, self.settings, cycle, Ending(Outcome.FAILED_DESIGN, f"agent misconfigured: {err}"), None
            )
            admission.needs_person(conn, str(err))  # new invocations wait for `agentctl resume`
            return replace(_designed(done, agent), exit_code=ExitCode.NEEDS_PERSON, message=str(err))
        except BudgetExceeded as err:
            ending = Ending(Outcome.FAILED_DESIGN, str(err), blame=Blame.BUDGET)
            return _designed(finish(conn, self.settings, cycle, ending, None), agent)
        if not design.saved or design.config is None:
            failure = design.failure_reason or "the design ended without a saved strategy"
            ending = Ending(Outcome.FAILED_DESIGN, failure, blame=design.failure_blame)
            return _designed(finish(conn, self.settings, cycle, ending, None), agent)

        from agentctl.lab.operations import start_training

        op_id = start_training(conn, self.settings, design.config, cycle.id)
        with conn.transaction():
            cycles.start_training(conn, cycle.id, op_id)
        message = f"strategy {design.strategy_name} saved; training {op_id} started"
        return _designed(TickResult(cycle_id=cycle.id, phase=Phase.TRAINING, message=message), agent)

    # -- polling the lab ---------------------------------------------------------------------

    def _poll(self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, stage: Stage) -> TickResult:
        """One routine for every stage: failed, still running, gate failed, or what its row says follows a pass."""
        op_id = cycle.operation_id
        op, context = self._operation(conn, op_id)
        if op is None or op.status in ("failed", "cancelled"):
            trigger = Trigger(stage.failed_reason, SkipReason.OPERATION_FAILED, context)
            return finish(
                conn, self.settings, cycle, Ending(stage.failed, _operation_failure(op_id, op), trigger), snap
            )
        if op.status != "completed":
            return self._still_running(conn, cycle, snap, context)

        from agentctl.store.records import RECORDS

        results = RECORDS[stage.gate].model_validate(op.result or {})
        results.gate = verdict = stage.check(results, self.settings.gates)
        context["gate"] = verdict.model_dump()
        if not verdict.passed:
            trigger = Trigger(stage.completed_reason, SkipReason.GATE_FAILED, context)
            why = stage.describe("; ".join(verdict.reasons))
            ending = Ending(stage.gate_failed, why, trigger, stage.gate, kept=results)
            return finish(conn, self.settings, cycle, ending, snap)
        passed = Trigger(stage.completed_reason, SkipReason.NO_AGENT_NEEDED, context)
        on_pass = {
            Phase.BACKTESTING: self._start_backtest,
            Phase.ASSESSING: self._arrive,
            Outcome.SUCCESS: self._confirm,
        }
        return on_pass[stage.passed](conn, cycle, snap, results, passed)

    def _confirm(
        self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, results: Any, passed: Trigger
    ) -> TickResult:
        """Confirmed on the sealed final holdout: the cycle ends `success`."""
        return finish(conn, self.settings, cycle, Ending(Outcome.SUCCESS, None, passed, kept=results), snap)

    def _arrive(
        self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, results: Any, passed: Trigger
    ) -> TickResult:
        """The backtest passed: on to the assessor, whose tick writes its own trigger row."""
        return self._assess(conn, cycle, snap, arriving=results)

    def _start_backtest(
        self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, results: Any, passed: Trigger
    ) -> TickResult:
        from agentctl.lab.operations import Trials, start_backtest
        from agentctl.lab.strategy import StrategyConfig

        config = StrategyConfig.model_validate(cycle.strategy_config)
        # Every strategy saved in this database, on any dataset, counts as a trial of the deflated Sharpe;
        # every strategy trained on this dataset is in its data-snooping family.
        n_trials, sharpes = cycles.strategies_tried(conn), cycles.trial_sharpes(conn)
        ds = config.dataset
        trained = cycles.dataset_trials(conn, ds.symbol, ds.timeframe, cycle.id)
        paths = [t.trial_path for t in trained if t.trial_path is not None]
        trials = Trials(n_trials, sharpes, paths)
        bt_id = start_backtest(conn, self.settings, config, results.model_path, cycle.id, trials)
        with conn.transaction():
            cycles.start_backtest(conn, cycle.id, bt_id, results)
            passed.with_context(backtest_operation_id=bt_id).write(conn, cycle.id, snap)
        return TickResult(
            trigger_reason=passed.reason,
            skip_reason=passed.skip,
            cycle_id=cycle.id,
            phase=Phase.BACKTESTING,
            message=f"backtest {bt_id} started",
        )

    def _operation(self, conn: psycopg.Connection[Any], op_id: str | None) -> tuple[Operation | None, dict[str, Any]]:
        from agentctl.lab.operations import check_operation

        op = check_operation(conn, self.settings, op_id) if op_id else None
        context: dict[str, Any] = {"operation_id": op_id}
        if op is not None:
            heartbeat = op.heartbeat_at.isoformat() if op.heartbeat_at else None
            context.update(status=op.status, progress_pct=op.progress_pct, progress_message=op.progress_message)
            context["heartbeat_at"] = heartbeat
            if op.error:
                context["error"] = op.error
        return op, context

    def _still_running(
        self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, context: dict[str, Any]
    ) -> TickResult:
        reason, skip = TriggerReason.GATE_CHECK, SkipReason.OPERATION_STILL_RUNNING
        Trigger(reason, skip, context).write(conn, cycle.id, snap)
        done = f"{context.get('progress_pct') or 0:.0f}% {context.get('progress_message') or ''}".strip()
        return TickResult(
            trigger_reason=reason,
            skip_reason=skip,
            cycle_id=cycle.id,
            phase=cycle.phase,
            progress=context,
            message=done,
        )

    # -- assessment ----------------------------------------------------------------------------

    def _assess(
        self, conn: psycopg.Connection[Any], cycle: CycleState, snap: BudgetSnapshot, arriving: BacktestRecord | None
    ) -> TickResult:
        """Assess a cycle whose backtest passed; `arriving` holds the results on the tick that moves it here."""
        from agentctl.tick.assess import assess

        return assess(self, conn, cycle.id, snap, arriving)

    def _executor_unavailable(self) -> str | None:
        """Why the lab's executor cannot take an operation now (a Ray cluster that does not answer), or None."""
        from agentctl.lab import executors

        return executors.get(self.settings.executor).unavailable(self.settings)


def _operation_failure(op_id: str | None, op: Operation | None) -> str:
    if op_id is None:
        return "no operation was recorded for this phase"
    if op is None:
        return f"operation {op_id} vanished (no record of it)"
    return f"operation {op_id} {op.status}: {op.error or 'no reason recorded'}"


def _designed(result: TickResult, agent: str) -> TickResult:
    """A tick that started a cycle and invoked the designer."""
    return replace(result, trigger_reason=TriggerReason.START_NEW_CYCLE, agent_invoked=True, agent=agent)
