"""`agentctl metrics`: gauges and counters in the Prometheus text format, for node_exporter's textfile collector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import Outcome, Phase, SkipReason
from agentctl.reports.status import Status, status
from agentctl.store import reports as store

HOLDS = (SkipReason.PAUSED.value, SkipReason.BUDGET_OVERRUN.value, SkipReason.CIRCUIT_OPEN.value)

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

Labelled = list[tuple[dict[str, str], float]]


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


def _family(name: str, type_: str, help_: str, samples: Labelled) -> MetricFamily:
    return MetricFamily(
        name=name, type=type_, help=help_, samples=[Sample(name=name, labels=lab, value=v) for lab, v in samples]
    )


def _gauge(name: str, help_: str, value: float) -> MetricFamily:
    return _family(name, "gauge", help_, [({}, value)])


def _budget_families(st: Status) -> list[MetricFamily]:
    b = st.budget
    return [
        _gauge("agentctl_budget_spent_usd", "Spend charged to today's budget (USD).", float(b.used_usd)),
        _gauge("agentctl_budget_limit_usd", "Today's budget limit (USD).", float(b.limit_usd)),
        _gauge("agentctl_budget_reserved_usd", "Budget held for model calls in flight (USD).", float(b.reserved_usd)),
        _gauge("agentctl_budget_remaining_usd", "What is left of today's budget (USD).", float(b.remaining_usd)),
        _gauge("agentctl_agent_invocations_today", "Agent invocations charged to today.", b.invocations),
        _gauge("agentctl_cycles_started_today", "Cycles started today.", b.cycles_started),
    ]


def _cycle_families(st: Status, by_outcome: dict[str, int]) -> list[MetricFamily]:
    outcomes = list(dict.fromkeys([o.value for o in Outcome] + sorted(by_outcome)))
    active = st.active_cycle
    phase = active.phase if active else Phase.IDLE
    op = active.operation if active else None
    last_tick = st.last_trigger.triggered_at.timestamp() if st.last_trigger else 0.0
    return [
        _family(
            "agentctl_cycles_total",
            "counter",
            "Completed cycles by outcome.",
            [({"outcome": o}, by_outcome.get(o, 0)) for o in outcomes],
        ),
        _gauge("agentctl_last_tick_timestamp_seconds", "Last tick, Unix time (0: never).", last_tick),
        _family(
            "agentctl_active_phase",
            "gauge",
            "1 for the active cycle's phase (idle: none).",
            [({"phase": p.value}, 1.0 if p == phase else 0.0) for p in Phase],
        ),
        _gauge("agentctl_active_cycle_id", "Id of the active cycle (0: none).", active.id if active else 0),
        _family(
            "agentctl_admission_hold",
            "gauge",
            "1 while new cycles are held back for this reason.",
            [({"reason": h}, 1.0 if h in {w.code for w in st.warnings} else 0.0) for h in HOLDS],
        ),
        _gauge(
            "agentctl_operation_progress_ratio",
            "The active operation's progress (0..1).",
            (op.progress_pct or 0.0) / 100.0 if op else 0.0,
        ),
    ]


def metrics(conn: psycopg.Connection[Any], settings: Settings) -> MetricsReport:
    """Gauges and counters for node_exporter's textfile collector."""
    st = status(conn, settings)
    return MetricsReport(families=_budget_families(st) + _cycle_families(st, store.cycles_by_outcome(conn)))


def prometheus_text(report: MetricsReport) -> str:
    """The Prometheus text exposition format (0.0.4)."""
    lines = []
    for f in report.families:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.type}")
        for s in f.samples:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels.items())
            value = _number(s.value)
            lines.append(f"{s.name}{{{labels}}} {value}" if labels else f"{s.name} {value}")
    return "\n".join(lines) + "\n"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
