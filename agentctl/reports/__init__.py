"""The reports: what a researcher reads in a terminal and a dashboard scrapes.

One function per report, each taking an open connection (doctor: the settings) and
returning a pydantic model whose `model_dump(mode="json")` is the command's `--json`
(keys in README "Reports"). No printing here, and nothing heavy imported at module
level: `agentctl status` must stay fast. The queries are in agentctl/store/reports.py.

To add a report: its reads go in store/sql/reports.sql and store/reports.py, its model
and function in a module here (re-exported below), its command in agentctl/cli/.
"""

from agentctl.reports.activity import TriggerReport, recent_actions, recent_triggers
from agentctl.reports.common import NO_CYCLES_HINT, NO_TICK_HINT, BudgetDay
from agentctl.reports.costs import BudgetReport, CostReport, budget_report, cost_report, default_limit, today_budget
from agentctl.reports.cycles import (
    CycleDetail,
    CycleTrades,
    EquityChart,
    cycle_detail,
    cycle_exists,
    cycle_trades,
    equity_chart,
    recent_cycles,
)
from agentctl.reports.doctor import Check, DoctorReport, doctor
from agentctl.reports.integrity import IntegrityReport, integrity
from agentctl.reports.prometheus import MetricsReport, metrics, prometheus_text
from agentctl.reports.status import OperationProgress, Status, operation_progress, status
from agentctl.store.reports import CycleRow  # the report's row is the store's

__all__ = [
    "NO_CYCLES_HINT",
    "NO_TICK_HINT",
    "BudgetDay",
    "BudgetReport",
    "Check",
    "CostReport",
    "CycleDetail",
    "CycleRow",
    "CycleTrades",
    "DoctorReport",
    "EquityChart",
    "IntegrityReport",
    "MetricsReport",
    "OperationProgress",
    "Status",
    "TriggerReport",
    "budget_report",
    "cost_report",
    "cycle_detail",
    "cycle_exists",
    "cycle_trades",
    "default_limit",
    "doctor",
    "equity_chart",
    "integrity",
    "metrics",
    "operation_progress",
    "prometheus_text",
    "recent_actions",
    "recent_cycles",
    "recent_triggers",
    "status",
    "today_budget",
]
