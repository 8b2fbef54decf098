"""Gate reasons in words, and a failure reason that only repeats a gate's reasons said once."""

from __future__ import annotations

from agentctl.cli.cycle import _print_summary
from agentctl.gates import GateVerdict
from agentctl.reports.gate_words import failure_once, plain_reasons
from agentctl.runner import CycleSummary

REASONS = ["total_trades 6: needs at least 10 (fails)", "deflated_sharpe 0.120: needs at least 0.950 (fails)"]
GATE = GateVerdict(gate="backtest", passed=False, reasons=REASONS)


def test_reasons_name_their_metric_in_words():
    assert (
        plain_reasons(GATE)
        == "trades 6: needs at least 10 (fails); deflated Sharpe 0.120: needs at least 0.950 (fails)"
    )


def test_a_failure_that_repeats_a_gate_points_at_it():
    assert failure_once("; ".join(REASONS), [None, GATE]) == "the backtest gate failed (its reasons below)"
    holdout = GateVerdict(gate="holdout", passed=False, reasons=["holdout sharpe -0.2: not above 0 (fails)"])
    said = failure_once(
        "not confirmed on the sealed final holdout: holdout sharpe -0.2: not above 0 (fails)", [holdout]
    )
    assert said == "not confirmed on the sealed final holdout: the final holdout gate failed (its reasons below)"
    assert (
        failure_once("the design ended without a saved strategy", [GATE]) == "the design ended without a saved strategy"
    )


def test_run_summary_prints_each_reason_once(capsys):
    s = CycleSummary(
        id=3,
        strategy="x",
        hypothesis=None,
        dataset=None,
        model=None,
        outcome="failed_backtest_gate",
        failure_reason="; ".join(REASONS),
        gates={"training": None, "backtest": GATE},
        training=None,
        backtest=None,
        verdict=None,
        assessment_passed=None,
        cost_usd="0",
        duration_s=5,
        tokens={},
    )
    _print_summary(s)
    out = capsys.readouterr().out
    assert out.count("needs at least 10") == 1 and "trades 6:" in out
    assert "reason      the backtest gate failed (its reasons above)" in out
