"""The reports: what a researcher reads in a terminal and a dashboard scrapes.

One function per report, each taking an open connection and returning a pydantic
model (its `model_dump(mode="json")` is the command's `--json`, keys documented in
README "Reports"). No printing here, and nothing heavy imported at module level:
`agentctl status` must stay fast. Money is USD as JSON numbers (4 decimal places),
times are ISO 8601 with offset, durations are seconds.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

NO_TICK_WARNING_S = 300.0  # cron runs the tick every minute: 5 minutes of silence means it stopped
MAX_DAILY_LIMIT_USD = Decimal("10000")  # a sane upper bound for `budget set`
EQUITY_CURVE_KEY = "equity_curve"
NO_CYCLES_HINT = "no cycles yet: run `agentctl tick` or install the crontab line (see crontab.example)"
NO_TICK_HINT = "no tick has run yet: run `agentctl tick` or install the crontab line (see crontab.example)"


def _q():
    from agentctl.store.queries import load

    return load("reports")


def _money(value: Any) -> float | None:
    return None if value is None else float(round(Decimal(value), 4))


def _num(value: Any, places: int = 4) -> float | None:
    if value is None:
        return None
    try:
        return round(float(value), places)
    except (TypeError, ValueError):
        return None


# -- shared rows ---------------------------------------------------------------------------


class BudgetDay(BaseModel):
    date: date
    limit_usd: float
    used_usd: float
    reserved_usd: float
    remaining_usd: float
    invocations: int
    cycles_started: int
    cycles_completed: int
    exists: bool  # false: no tick has created the day's row yet (figures are the defaults)


class TriggerRow(BaseModel):
    id: int
    triggered_at: datetime
    trigger_reason: str
    session_id: int | None
    agent_invoked: bool
    skip_reason: str | None
    budget_used_today_usd: float | None
    budget_remaining_usd: float | None


class ActionRow(BaseModel):
    id: int
    session_id: int | None
    action_at: datetime | None
    tool_name: str
    agent: str | None
    invocation: str | None
    model: str | None
    success: bool | None
    error_message: str | None
    tokens_input: int | None
    tokens_output: int | None
    tokens_cache_write: int | None
    tokens_cache_read: int | None
    cost_usd: float
    latency_ms: int | None
    request_id: str | None
    stop_reason: str | None
    attempt: int | None


class OperationProgress(BaseModel):
    id: str
    kind: str | None = None
    status: str | None = None
    progress_pct: float | None = None
    progress_message: str | None = None
    heartbeat_at: datetime | None = None
    heartbeat_age_s: float | None = None
    source: str  # "operations" (the lab's table) or "last_trigger" (what the last tick saw)


class Warning_(BaseModel):
    code: str  # no_tick_yet, no_recent_tick, budget_exhausted, operation_no_heartbeat
    message: str


def _budget_day(row: dict[str, Any]) -> BudgetDay:
    limit = Decimal(row["budget_limit_usd"] or 0)
    used = Decimal(row["budget_used_usd"] or 0)
    reserved = Decimal(row.get("budget_reserved_usd") or 0)
    return BudgetDay(
        date=row["date"],
        limit_usd=_money(limit),
        used_usd=_money(used),
        reserved_usd=_money(reserved),
        remaining_usd=_money(max(Decimal(0), limit - used - reserved)),
        invocations=row.get("invocations_count") or 0,
        cycles_started=row.get("cycles_started") or 0,
        cycles_completed=row.get("cycles_completed") or 0,
        exists=True,
    )


def default_limit(conn: psycopg.Connection, settings: Settings) -> Decimal:
    """The limit a day without a row gets: `budget set --default`, else settings."""
    row = conn.execute(_q()["budget_default_limit"]).fetchone()
    return Decimal(row["budget_limit_usd"]) if row else Decimal(settings.default_budget_usd)


def today_budget(conn: psycopg.Connection, settings: Settings) -> BudgetDay:
    """Today's figures; read-only, so a day no tick has opened reads as untouched."""
    rows = conn.execute(_q()["budget_days"], {"days": 1}).fetchall()
    if rows:
        return _budget_day(rows[0])
    today = conn.execute(_q()["now"]).fetchone()["today"]
    limit = _money(default_limit(conn, settings))
    return BudgetDay(
        date=today,
        limit_usd=limit,
        used_usd=0.0,
        reserved_usd=0.0,
        remaining_usd=limit,
        invocations=0,
        cycles_started=0,
        cycles_completed=0,
        exists=False,
    )


def _trigger(row: dict[str, Any]) -> TriggerRow:
    return TriggerRow(
        id=row["id"],
        triggered_at=row["triggered_at"],
        trigger_reason=row["trigger_reason"],
        session_id=row["session_id"],
        agent_invoked=bool(row["agent_invoked"]),
        skip_reason=row["skip_reason"],
        budget_used_today_usd=_money(row.get("budget_used_today_usd")),
        budget_remaining_usd=_money(row.get("budget_remaining_usd")),
    )


def _action(row: dict[str, Any]) -> ActionRow:
    return ActionRow(**{**row, "cost_usd": _money(row.get("cost_usd") or 0)})


# -- operations (the lab's table, migration 0003) -------------------------------------------------


def operation_progress(
    conn: psycopg.Connection, op_id: str | None, last_trigger: dict[str, Any] | None = None
) -> OperationProgress | None:
    """The operation's status and progress from the lab's table, else as the last tick saw it."""
    if not op_id:
        return None
    row = conn.execute(_q()["operation"], {"id": str(op_id)}).fetchone()
    if row is not None:
        return OperationProgress(
            **{**row, "progress_pct": _num(row["progress_pct"], 1), "heartbeat_age_s": _num(row["heartbeat_age_s"], 1)},
            source="operations",
        )
    ctx = (last_trigger or {}).get("context") or {}
    if ctx.get("operation_id") == op_id:
        hb = ctx.get("heartbeat_at")
        hb_at = datetime.fromisoformat(hb) if isinstance(hb, str) else None
        return OperationProgress(
            id=str(op_id),
            status=ctx.get("status"),
            progress_pct=_num(ctx.get("progress_pct"), 1),
            progress_message=ctx.get("progress_message"),
            heartbeat_at=hb_at,
            source="last_trigger",
        )
    return OperationProgress(id=str(op_id), source="last_trigger")


def stuck_operations(conn: psycopg.Connection, settings: Settings) -> list[OperationProgress]:
    """Pending or running operations with no sign of life within settings.heartbeat_timeout_s."""
    rows = conn.execute(_q()["stuck_operations"], {"timeout_s": settings.heartbeat_timeout_s}).fetchall()
    return [
        OperationProgress(
            **{**r, "progress_pct": _num(r["progress_pct"], 1), "heartbeat_age_s": _num(r["heartbeat_age_s"], 1)},
            source="operations",
        )
        for r in rows
    ]


# -- status --------------------------------------------------------------------------------------


class ActiveCycle(BaseModel):
    id: int
    phase: str
    strategy: str | None
    created_at: datetime
    phase_since: datetime
    seconds_in_phase: float
    seconds_since_start: float
    operation: OperationProgress | None


class LastTrigger(BaseModel):
    id: int
    triggered_at: datetime
    age_s: float
    trigger_reason: str
    skip_reason: str | None
    agent_invoked: bool
    session_id: int | None


class Status(BaseModel):
    now: datetime
    active_cycle: ActiveCycle | None
    budget: BudgetDay
    last_trigger: LastTrigger | None
    warnings: list[Warning_]


def status(conn: psycopg.Connection, settings: Settings) -> Status:
    """The active cycle, today's budget, the last trigger and what needs attention."""
    q = _q()
    now = conn.execute(q["now"]).fetchone()["now"]
    session = conn.execute(q["current_cycle"]).fetchone()
    trig = conn.execute(q["last_trigger"]).fetchone()
    budget = today_budget(conn, settings)
    active = None
    if session is not None:
        op_id = {
            "training": session.get("training_operation_id"),
            "backtesting": session.get("backtest_operation_id"),
        }.get(session["phase"])
        since = session.get("updated_at") or session["created_at"]
        active = ActiveCycle(
            id=session["id"],
            phase=session["phase"],
            strategy=session.get("strategy_name"),
            created_at=session["created_at"],
            phase_since=since,
            seconds_in_phase=max(0.0, (now - since).total_seconds()),
            seconds_since_start=max(0.0, (now - session["created_at"]).total_seconds()),
            operation=operation_progress(conn, op_id, trig),
        )
    last = None
    if trig is not None:
        last = LastTrigger(
            id=trig["id"],
            triggered_at=trig["triggered_at"],
            age_s=max(0.0, trig["age_s"]),
            trigger_reason=trig["trigger_reason"],
            skip_reason=trig["skip_reason"],
            agent_invoked=bool(trig["agent_invoked"]),
            session_id=trig["session_id"],
        )
    return Status(
        now=now,
        active_cycle=active,
        budget=budget,
        last_trigger=last,
        warnings=_status_warnings(settings, active, budget, last),
    )


def _status_warnings(
    settings: Settings, active: ActiveCycle | None, budget: BudgetDay, last: LastTrigger | None
) -> list[Warning_]:
    out = []
    if last is None:
        out.append(Warning_(code="no_tick_yet", message=NO_TICK_HINT))
    elif last.age_s > NO_TICK_WARNING_S:
        out.append(
            Warning_(
                code="no_recent_tick", message=f"no tick for {_age(last.age_s)}: is cron running? (see crontab.example)"
            )
        )
    if budget.remaining_usd <= 0:
        out.append(
            Warning_(
                code="budget_exhausted",
                message=f"today's budget is exhausted (${budget.used_usd:.2f} of ${budget.limit_usd:.2f}): "
                "raise it with `agentctl budget set AMOUNT`",
            )
        )
    op = active.operation if active else None
    silent = op is not None and (op.heartbeat_age_s is None or op.heartbeat_age_s > settings.heartbeat_timeout_s)
    if op is not None and silent and op.status in ("running", "pending") and op.source == "operations":
        seen = "never" if op.heartbeat_age_s is None else f"{_age(op.heartbeat_age_s)} ago"
        out.append(
            Warning_(
                code="operation_no_heartbeat",
                message=f"operation {op.id} has no heartbeat (last {seen}): its worker may have died; "
                "the next tick marks it failed",
            )
        )
    return out


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


# -- cycles --------------------------------------------------------------------------------------


class CycleRow(BaseModel):
    id: int
    strategy: str | None
    outcome: str | None
    sharpe: float | None
    win_rate: float | None
    max_drawdown: float | None
    trades: int | None
    cost_usd: float | None
    duration_s: int | None
    verdict: str | None
    completed_at: datetime | None


def recent_cycles(conn: psycopg.Connection, limit: int = 10, outcome: str | None = None) -> list[CycleRow]:
    """The seed's "Recent completed cycles", newest first, optionally of one outcome."""
    q = _q()
    if outcome:
        rows = conn.execute(q["recent_cycles_by_outcome"], {"limit": limit, "outcome": outcome}).fetchall()
    else:
        rows = conn.execute(q["recent_cycles"], {"limit": limit}).fetchall()
    return [
        CycleRow(
            id=r["id"],
            strategy=r["strategy_name"],
            outcome=r["outcome"],
            sharpe=_num(r["backtest_sharpe"]),
            win_rate=_num(r["backtest_win_rate"]),
            max_drawdown=_num(r["backtest_max_drawdown"]),
            trades=r["backtest_total_trades"],
            cost_usd=_money(r["estimated_cost_usd"]),
            duration_s=r["cycle_duration_seconds"],
            verdict=r["verdict"],
            completed_at=r["completed_at"],
        )
        for r in rows
    ]


# -- show ----------------------------------------------------------------------------------------


class ActionTotals(BaseModel):
    actions: int
    model_calls: int
    tokens_input: int
    tokens_output: int
    tokens_cache_write: int
    tokens_cache_read: int
    cost_usd: float


class CycleDetail(BaseModel):
    id: int
    phase: str
    outcome: str | None
    failure_reason: str | None
    strategy: str | None
    strategy_file_path: str | None
    hypothesis: str | None
    config: dict[str, Any] | None
    created_at: datetime | None
    completed_at: datetime | None
    duration_s: float | None
    training_operation_id: str | None
    backtest_operation_id: str | None
    training: dict[str, Any] | None  # TrainingResult fields, without "gate"
    backtest: dict[str, Any] | None  # BacktestResult fields, without "gate" and the equity curve
    gates: dict[str, Any]  # {"training": {gate, passed, reasons} | null, "backtest": ...}
    assessment: dict[str, Any] | None
    metrics: dict[str, Any] | None  # the agent_metrics row
    equity_curve: list[tuple[str, float]]  # [[iso time, equity], ...]
    totals: ActionTotals
    actions: list[ActionRow]
    actions_shown: int
    triggers: list[TriggerRow]


def cycle_detail(conn: psycopg.Connection, session_id: int, action_limit: int = 200) -> CycleDetail | None:
    """One cycle in full; None when there is no such cycle."""
    q = _q()
    s = conn.execute(q["session"], {"id": session_id}).fetchone()
    if s is None:
        return None
    m = conn.execute(q["session_metrics"], {"id": session_id}).fetchone()
    totals = conn.execute(q["session_action_totals"], {"id": session_id}).fetchone()
    actions = conn.execute(q["session_actions"], {"id": session_id, "limit": action_limit}).fetchall()
    triggers = conn.execute(q["session_triggers"], {"id": session_id, "limit": 500}).fetchall()
    tr = dict(s.get("training_results") or {}) or None
    bt = dict(s.get("backtest_results") or {}) or None
    gates = {"training": tr.pop("gate", None) if tr else None, "backtest": bt.pop("gate", None) if bt else None}
    curve = [(str(t), float(v)) for t, v in (bt.pop(EQUITY_CURVE_KEY, None) or [])] if bt else []
    cfg = s.get("strategy_config")
    end = s.get("completed_at")
    metrics = None
    if m is not None:
        metrics = {
            k: (_num(v, 6) if isinstance(v, Decimal) else v) for k, v in m.items() if k not in ("id", "session_id")
        }
    return CycleDetail(
        id=s["id"],
        phase=s["phase"],
        outcome=s.get("outcome"),
        failure_reason=s.get("failure_reason"),
        strategy=s.get("strategy_name"),
        strategy_file_path=s.get("strategy_file_path"),
        hypothesis=(cfg or {}).get("hypothesis") if isinstance(cfg, dict) else None,
        config=cfg if isinstance(cfg, dict) else None,
        created_at=s.get("created_at"),
        completed_at=end,
        duration_s=(end - s["created_at"]).total_seconds() if end and s.get("created_at") else None,
        training_operation_id=s.get("training_operation_id"),
        backtest_operation_id=s.get("backtest_operation_id"),
        training=tr,
        backtest=bt,
        gates=gates,
        assessment=s.get("assessment"),
        metrics=metrics,
        equity_curve=curve,
        totals=ActionTotals(**{**totals, "cost_usd": _money(totals["cost_usd"])}),
        actions=[_action(a) for a in actions],
        actions_shown=len(actions),
        triggers=[_trigger(t) for t in triggers],
    )


# -- budget --------------------------------------------------------------------------------------


class BudgetReport(BaseModel):
    today: BudgetDay
    default_limit_usd: float
    days: list[BudgetDay]  # today first, then earlier days that have a row


def budget_report(conn: psycopg.Connection, settings: Settings, days: int = 7) -> BudgetReport:
    """Today and the `days` - 1 days before it."""
    today = today_budget(conn, settings)
    rows = [_budget_day(r) for r in conn.execute(_q()["budget_days"], {"days": days}).fetchall()]
    if not today.exists:
        rows.insert(0, today)
    return BudgetReport(today=today, default_limit_usd=_money(default_limit(conn, settings)), days=rows)


class BudgetChange(BaseModel):
    scope: str  # "day" or "default"
    date: date | None  # the day changed (scope "day")
    old_limit_usd: float | None  # null: the day had no row yet (it had the default)
    new_limit_usd: float
    used_usd: float | None  # spend already charged to that day


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_amount(text: str) -> Decimal:
    """A daily limit from the command line: positive, at most cents, at most MAX_DAILY_LIMIT_USD."""
    raw = text.strip()
    try:
        value = Decimal(raw.lstrip("$"))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in dollars (e.g. 10 or 2.50)") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount")
    if value <= 0:
        raise ValueError(f"{text} is not positive: the limit is dollars per day (AGENTCTL_PAUSED=1 stops new cycles)")
    if value > MAX_DAILY_LIMIT_USD:
        raise ValueError(f"{text} is above the ${MAX_DAILY_LIMIT_USD} daily maximum")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text} has more than cents: use at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


def parse_day(text: str, today: date | None = None) -> date:
    """A YYYY-MM-DD date that exists and is not in the past."""
    raw = text.strip()
    if not _DAY.match(raw):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text} is not a real date") from None
    if today is not None and day < today:
        raise ValueError(f"{text} is in the past: only today's or a later day's limit can change")
    return day


def set_budget(
    conn: psycopg.Connection, settings: Settings, amount: Decimal, *, day: date | None = None, default: bool = False
) -> BudgetChange:
    """Change a day's limit (today unless `day`) or the default for days not yet created."""
    from agentctl.store.budget import Budget

    q = _q()
    budget = Budget(settings)
    if default:
        old = conn.execute(q["budget_default_limit"]).fetchone()
        old_value = Decimal(old["budget_limit_usd"]) if old else Decimal(settings.default_budget_usd)
        budget.set_default_limit(conn, amount)
        return BudgetChange(
            scope="default", date=None, old_limit_usd=_money(old_value), new_limit_usd=_money(amount), used_usd=None
        )
    today = conn.execute(q["now"]).fetchone()["today"]
    if day is not None and day < today:
        raise ValueError(f"{day} is in the past: only today's or a later day's limit can change")
    old = conn.execute(q["budget_day"], {"date": day}).fetchone()
    changed = budget.set_limit(conn, amount, day)
    now = conn.execute(q["budget_day"], {"date": changed}).fetchone()
    return BudgetChange(
        scope="day",
        date=changed,
        old_limit_usd=_money(old["budget_limit_usd"]) if old else None,
        new_limit_usd=_money(amount),
        used_usd=_money(now["budget_used_usd"]),
    )


# -- cost ----------------------------------------------------------------------------------------


class CostLine(BaseModel):
    name: str
    calls: int
    cost_usd: float


class OutcomeCost(BaseModel):
    outcome: str | None
    cycles: int
    cost_usd: float


class CostlyFailure(BaseModel):
    id: int
    strategy: str | None
    outcome: str | None
    cost_usd: float
    failure_reason: str | None
    completed_at: datetime | None


class CostReport(BaseModel):
    # The seed's "Cost per successful strategy": the average metrics cost of successful cycles.
    avg_cost_per_success_usd: float | None
    successes: int
    # What that leaves out: every dollar spent (failed cycles included) divided by what it bought.
    total_spend_usd: float
    cycles_completed: int
    spend_per_success_usd: float | None
    promising: int  # successful cycles whose assessment passed
    spend_per_promising_usd: float | None
    by_outcome: list[OutcomeCost]
    by_model: list[CostLine]
    by_phase: list[CostLine]  # invocation: design, assessment
    costliest_failures: list[CostlyFailure]


def cost_report(conn: psycopg.Connection, failures: int = 5) -> CostReport:
    """Cost per success, and everything the seed's average leaves out."""
    q = _q()
    seed = conn.execute(q["cost_per_success"]).fetchone()
    avg, n = seed["avg"], seed["count"]
    tot = conn.execute(q["cost_totals"]).fetchone()
    total = Decimal(tot["total_spend_usd"] or 0)
    by_model: dict[str, list] = {}
    by_phase: dict[str, list] = {}
    for r in conn.execute(q["cost_by_model"]).fetchall():
        for bucket, key in ((by_model, r["model"]), (by_phase, r["invocation"])):
            acc = bucket.setdefault(key, [0, Decimal(0)])
            acc[0] += r["calls"]
            acc[1] += Decimal(r["cost_usd"])

    def lines(bucket):
        return [
            CostLine(name=k, calls=v[0], cost_usd=_money(v[1]))
            for k, v in sorted(bucket.items(), key=lambda kv: (-kv[1][1], kv[0]))
        ]

    def per(count):
        return _money(total / count) if count else None

    return CostReport(
        avg_cost_per_success_usd=_money(avg),
        successes=n,
        total_spend_usd=_money(total),
        cycles_completed=tot["cycles_completed"],
        spend_per_success_usd=per(tot["successes"]),
        promising=tot["promising"],
        spend_per_promising_usd=per(tot["promising"]),
        by_outcome=[
            OutcomeCost(outcome=r["outcome"], cycles=r["cycles"], cost_usd=_money(r["cost_usd"]))
            for r in conn.execute(q["cost_by_outcome"]).fetchall()
        ],
        by_model=lines(by_model),
        by_phase=lines(by_phase),
        costliest_failures=[
            CostlyFailure(
                id=r["id"],
                strategy=r["strategy_name"],
                outcome=r["outcome"],
                cost_usd=_money(r["estimated_cost_usd"]),
                failure_reason=r["failure_reason"],
                completed_at=r["cycle_completed_at"],
            )
            for r in conn.execute(q["costliest_failures"], {"limit": failures}).fetchall()
        ],
    )


# -- audit trail -----------------------------------------------------------------------------------


def recent_actions(conn: psycopg.Connection, session_id: int | None = None, limit: int = 50) -> list[ActionRow]:
    """The newest actions first, of one cycle or of all."""
    q = _q()
    if session_id is None:
        rows = conn.execute(q["recent_actions"], {"limit": limit}).fetchall()
    else:
        rows = conn.execute(q["recent_session_actions"], {"id": session_id, "limit": limit}).fetchall()
    return [_action(r) for r in rows]


class TriggerCount(BaseModel):
    trigger_reason: str
    skip_reason: str | None
    agent_invoked: bool
    count: int


class TriggerReport(BaseModel):
    today_only: bool
    triggers: list[TriggerRow]  # newest first
    counts_today: list[TriggerCount] | None  # with --today: how today's ticks decided


def recent_triggers(conn: psycopg.Connection, limit: int = 50, today: bool = False) -> TriggerReport:
    """The newest trigger rows first; with `today`, only today's (budget day) and their counts."""
    q = _q()
    rows = conn.execute(q["recent_triggers_today" if today else "recent_triggers"], {"limit": limit}).fetchall()
    counts = None
    if today:
        counts = [
            TriggerCount(
                trigger_reason=r["trigger_reason"],
                skip_reason=r["skip_reason"],
                agent_invoked=bool(r["agent_invoked"]),
                count=r["n"],
            )
            for r in conn.execute(q["triggers_today_counts"]).fetchall()
        ]
    return TriggerReport(today_only=today, triggers=[_trigger(r) for r in rows], counts_today=counts)


def session_exists(conn: psycopg.Connection, session_id: int) -> bool:
    return conn.execute(_q()["session"], {"id": session_id}).fetchone() is not None


# -- doctor ----------------------------------------------------------------------------------------


class Check(BaseModel):
    name: str  # database, migrations, data, agent, prices, last_tick, operations
    ok: bool
    detail: str
    fix: str | None  # what a person should do when not ok


class DoctorReport(BaseModel):
    ok: bool
    checks: list[Check]


def doctor(settings: Settings) -> DoctorReport:
    """Every check a person would run by hand; never prints or stores the API key."""
    checks: list[Check] = []
    conn = None
    try:
        conn, _url = _doctor_connect(settings, checks)
        if conn is not None:
            _check_migrations(conn, checks)
        _check_data(settings, checks)
        _check_agent(settings, checks)
        _check_prices(settings, checks)
        if conn is not None and checks[1].ok:
            _check_last_tick(conn, checks)
            _check_operations(conn, settings, checks)
    finally:
        if conn is not None:
            conn.close()
    return DoctorReport(ok=all(c.ok for c in checks), checks=checks)


def _doctor_connect(settings: Settings, checks: list[Check]):
    from agentctl.store.connection import DatabaseUnavailable, connect, database_url, redact

    where = "embedded PostgreSQL in " + str(settings.home / "pgdata") if settings.embedded else "AGENTCTL_DATABASE_URL"
    try:
        url = database_url(settings)
        conn = connect(settings, autocommit=True, url=url)
        version = conn.execute("SHOW server_version").fetchone()["server_version"]
    except DatabaseUnavailable as err:
        checks.append(
            Check(
                name="database",
                ok=False,
                detail=redact(str(err)),
                fix="start PostgreSQL or fix AGENTCTL_DATABASE_URL"
                if not settings.embedded
                else f"see {settings.home / 'logs' / 'postgres.log'}",
            )
        )
        return None, None
    checks.append(Check(name="database", ok=True, detail=f"reachable ({where}, PostgreSQL {version})", fix=None))
    return conn, url


def _check_migrations(conn, checks: list[Check]) -> None:
    from agentctl.store.migrate import MigrationError, pending

    try:
        todo = pending(conn)
    except MigrationError as err:
        checks.append(Check(name="migrations", ok=False, detail=str(err), fix="reinstall agentctl"))
        return
    if todo:
        checks.append(
            Check(
                name="migrations",
                ok=False,
                detail=f"{len(todo)} pending: {', '.join(todo)}",
                fix="run `agentctl db upgrade`",
            )
        )
    else:
        checks.append(Check(name="migrations", ok=True, detail="schema is current", fix=None))


def _check_data(settings: Settings, checks: list[Check]) -> None:
    try:
        from agentctl.lab.data import list_datasets

        sets = list_datasets(settings.home)
    except Exception as err:  # a broken data directory is a finding, not a crash
        checks.append(
            Check(
                name="data",
                ok=False,
                detail=f"cannot list datasets: {err}",
                fix="reinstall agentctl, or `agentctl data import FILE`",
            )
        )
        return
    if not sets:
        checks.append(
            Check(
                name="data",
                ok=False,
                detail="no dataset available",
                fix="reinstall agentctl, or `agentctl data import FILE`",
            )
        )
        return
    names = ", ".join(f"{d.symbol} {d.timeframe}" for d in sets[:5]) + (" ..." if len(sets) > 5 else "")
    checks.append(Check(name="data", ok=True, detail=f"{len(sets)} dataset(s): {names}", fix=None))


def _check_agent(settings: Settings, checks: list[Check]) -> None:
    from agentctl.agent import AgentMisconfigured, select_agent

    try:
        agent = select_agent(settings)
    except AgentMisconfigured as err:
        checks.append(
            Check(
                name="agent",
                ok=False,
                detail=str(err),
                fix="set ANTHROPIC_API_KEY (or AGENTCTL_ANTHROPIC_API_KEY_FILE), or AGENTCTL_AGENT=baseline",
            )
        )
        return
    if agent == "claude":
        checks.append(Check(name="agent", ok=True, detail="claude: API key present", fix=None))
    else:
        checks.append(Check(name="agent", ok=True, detail="baseline designer selected (no API key needed)", fix=None))


def _check_prices(settings: Settings, checks: list[Check]) -> None:
    from agentctl.pricing import UnknownModel, price_for

    day = date.today()
    unknown, known = [], []
    for model in dict.fromkeys((settings.design_model, settings.assess_model)):
        try:
            price_for(model, day, settings.price_overrides)
            known.append(model)
        except UnknownModel:
            unknown.append(model)
    if unknown:
        checks.append(
            Check(
                name="prices",
                ok=False,
                detail=f"no price known for {', '.join(unknown)}",
                fix="pick a model from agentctl.pricing.PRICE_TABLE or set AGENTCTL_PRICE_OVERRIDES",
            )
        )
    else:
        checks.append(Check(name="prices", ok=True, detail=f"known for {', '.join(known)}", fix=None))


def _check_last_tick(conn, checks: list[Check]) -> None:
    trig = conn.execute(_q()["last_trigger"]).fetchone()
    if trig is None:
        checks.append(
            Check(
                name="last_tick",
                ok=False,
                detail="no tick has run yet",
                fix="run `agentctl tick`, then install the crontab line (see crontab.example)",
            )
        )
    elif trig["age_s"] > NO_TICK_WARNING_S:
        checks.append(
            Check(
                name="last_tick",
                ok=False,
                detail=f"last tick {_age(trig['age_s'])} ago",
                fix="cron is not running the tick: check `crontab -l` and the tick's log",
            )
        )
    else:
        checks.append(Check(name="last_tick", ok=True, detail=f"last tick {_age(trig['age_s'])} ago", fix=None))


def _check_operations(conn, settings: Settings, checks: list[Check]) -> None:
    stuck = stuck_operations(conn, settings)
    if stuck:
        ids = ", ".join(f"{o.id} ({o.kind or '?'})" for o in stuck[:5])
        checks.append(
            Check(
                name="operations",
                ok=False,
                detail=f"{len(stuck)} running without a heartbeat for > {settings.heartbeat_timeout_s:g}s: {ids}",
                fix="the next tick marks them failed; if ticks are running, `agentctl cancel` ends the cycle",
            )
        )
    else:
        checks.append(Check(name="operations", ok=True, detail="no stuck operations", fix=None))


# -- metrics (Prometheus) ----------------------------------------------------------------------


class Sample(BaseModel):
    name: str
    labels: dict[str, str]
    value: float


class MetricFamily(BaseModel):
    name: str
    type: str  # gauge or counter
    help: str
    samples: list[Sample]


class MetricsReport(BaseModel):
    families: list[MetricFamily]


PHASES = ("idle", "designing", "training", "backtesting", "assessing")


def metrics(conn: psycopg.Connection, settings: Settings) -> MetricsReport:
    """Gauges and counters for node_exporter's textfile collector."""
    from agentctl.domain import Outcome

    q = _q()
    st = status(conn, settings)
    b = st.budget
    by_outcome = {r["outcome"]: r["n"] for r in conn.execute(q["cycles_by_outcome"]).fetchall()}
    outcomes = list(dict.fromkeys([o.value for o in Outcome] + sorted(by_outcome)))
    phase = st.active_cycle.phase if st.active_cycle else "idle"
    op = st.active_cycle.operation if st.active_cycle else None

    def fam(name, type_, help_, samples):
        return MetricFamily(
            name=name, type=type_, help=help_, samples=[Sample(name=name, labels=lab, value=v) for lab, v in samples]
        )

    families = [
        fam("agentctl_budget_spent_usd", "gauge", "Spend charged to today's budget (USD).", [({}, b.used_usd)]),
        fam("agentctl_budget_limit_usd", "gauge", "Today's budget limit (USD).", [({}, b.limit_usd)]),
        fam(
            "agentctl_budget_reserved_usd",
            "gauge",
            "Budget held for model calls in flight (USD).",
            [({}, b.reserved_usd)],
        ),
        fam("agentctl_budget_remaining_usd", "gauge", "What is left of today's budget (USD).", [({}, b.remaining_usd)]),
        fam("agentctl_agent_invocations_today", "gauge", "Agent invocations charged to today.", [({}, b.invocations)]),
        fam("agentctl_cycles_started_today", "gauge", "Cycles started today.", [({}, b.cycles_started)]),
        fam(
            "agentctl_cycles_total",
            "counter",
            "Completed cycles by outcome.",
            [({"outcome": o}, by_outcome.get(o, 0)) for o in outcomes],
        ),
        fam(
            "agentctl_last_tick_timestamp_seconds",
            "gauge",
            "Unix time of the last tick (0: never).",
            [({}, st.last_trigger.triggered_at.timestamp() if st.last_trigger else 0.0)],
        ),
        fam(
            "agentctl_active_phase",
            "gauge",
            "1 for the phase of the active cycle (idle when none).",
            [({"phase": p}, 1.0 if p == phase else 0.0) for p in PHASES],
        ),
        fam(
            "agentctl_active_cycle_id",
            "gauge",
            "Id of the active cycle (0: none).",
            [({}, st.active_cycle.id if st.active_cycle else 0)],
        ),
        fam(
            "agentctl_operation_progress_ratio",
            "gauge",
            "Progress of the active cycle's operation (0..1).",
            [({}, (op.progress_pct or 0.0) / 100.0 if op else 0.0)],
        ),
    ]
    return MetricsReport(families=families)


def prometheus_text(report: MetricsReport) -> str:
    """The Prometheus text exposition format (0.0.4)."""
    lines = []
    for f in report.families:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.type}")
        for s in f.samples:
            labels = ",".join(f'{k}="{_esc(v)}"' for k, v in s.labels.items())
            lines.append(f"{s.name}{{{labels}}} {_fmt(s.value)}" if labels else f"{s.name} {_fmt(s.value)}")
    return "\n".join(lines) + "\n"


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
