"""The offline baseline: valid, distinct strategies, rule-based assessments, audit rows, cost 0."""

from __future__ import annotations

from agent_helpers import actions, conn_factory, new_cycle

from agentctl.agent import run_assessment, run_design, select_agent
from agentctl.agent.baseline import judge
from agentctl.lab.strategy import strategy_hash, validate_strategy
from agentctl.store.budget import Budget


def test_baseline_is_the_default_without_a_key(settings):
    assert select_agent(settings) == "baseline"


def test_hundred_designs_in_a_row_all_valid_all_distinct(settings, conn):
    factory = conn_factory(settings)
    hashes, names = set(), set()
    for _ in range(100):
        sid = new_cycle(conn)
        out = run_design(factory, settings, sid)
        assert out.saved, out.failure_reason
        assert out.agent_name == "baseline"
        report = validate_strategy(out.config.model_dump(mode="json"), settings.home)
        assert report.ok, report.errors
        hashes.add(strategy_hash(report.config))
        names.add(out.strategy_name)
        with conn.transaction():
            conn.execute(
                "UPDATE agent_sessions SET phase = 'idle', outcome = 'failed_training_gate', "
                "completed_at = now() WHERE id = %s",
                [sid],
            )
    assert len(hashes) == 100 and len(names) == 100
    rows = actions(conn)
    assert {r["tool_name"] for r in rows} == {"validate_strategy", "save_strategy"}
    assert all(
        r["success"] and r["cost_usd"] == 0 and r["tokens_input"] == 0 and r["agent"] == "baseline" for r in rows
    )
    assert Budget(settings).snapshot(conn).invocations == 100
    families = {r["tool_args"]["input"]["config"]["model"]["family"] for r in rows}
    datasets = {r["tool_args"]["input"]["config"]["dataset"]["symbol"] for r in rows}
    assert len(families) >= 3 and len(datasets) >= 2  # it explores


def test_baseline_refuses_a_session_not_designing(settings, conn):
    sid = new_cycle(conn, "training")
    out = run_design(conn_factory(settings), settings, sid)
    assert not out.saved and "designing" in out.failure_reason


def test_baseline_assessment_is_rule_based_and_metrics_come_from_the_backtest(settings, conn):
    backtest = {
        "sharpe": 1.4,
        # The backtest gate's evidence: the baseline passes on the same figures the gate passed.
        "snooping_p_value": 0.01,
        "snooping_trials": 9,
        "buy_and_hold_drawdown": 0.3,
        "deflated_sharpe": 0.6,
        "total_return": 0.31,
        "buy_and_hold_return": 0.12,
        "max_drawdown": 0.11,
        "total_trades": 64,
        "win_rate": 0.55,
        "profit_factor": 1.6,
        # As the lab writes it: (time, equity) pairs.
        "equity_curve": [["2024-01-02T00:00:00+00:00", 1.0], ["2024-01-03T00:00:00+00:00", 1.01]],
    }
    sid = new_cycle(conn, "assessing")
    with conn.transaction():
        conn.execute(
            "UPDATE agent_sessions SET backtest_results = %s::jsonb WHERE id = %s",
            [__import__("json").dumps(backtest), sid],
        )
    out = run_assessment(conn_factory(settings), settings, sid)
    assert out.saved and out.agent_name == "baseline"
    a = out.assessment
    assert a["passed"] is True and a["verdict"] == "promising"
    assert a["metrics"]["sharpe"] == 1.4 and "equity_curve" not in a["metrics"]
    assert set(a) == {"passed", "explanation", "metrics", "verdict", "strengths", "weaknesses", "suggestions"}
    stored = conn.execute("SELECT assessment FROM agent_sessions WHERE id = %s", [sid]).fetchone()["assessment"]
    assert stored == a
    [row] = actions(conn, sid)
    assert row["tool_name"] == "save_assessment" and row["success"] and row["cost_usd"] == 0


def test_judge_verdicts():
    assert judge({"sharpe": -0.3, "total_return": -0.05})["verdict"] == "poor"
    assert judge({"sharpe": 0.6, "total_return": 0.05, "total_trades": 12})["verdict"] == "neutral"
    assert judge({})["verdict"] == "poor"


def test_every_record_mirrors_its_lab_result():
    from agentctl.results import BacktestResult, HoldoutResult, TrainingResult
    from agentctl.store.records import BacktestRecord, HoldoutRecord, TrainingRecord

    for result, record in (
        (TrainingResult, TrainingRecord),
        (BacktestResult, BacktestRecord),
        (HoldoutResult, HoldoutRecord),
    ):
        assert set(record.model_fields) == set(result.model_fields) | {"gate"}, record.__name__
        assert all(not f.is_required() for f in record.model_fields.values()), record.__name__
    # A row from before walk-forward still reads, its majority baseline as the constant guess.
    old = TrainingRecord.model_validate({"accuracy": 0.55, "majority_baseline_accuracy": 0.52})
    assert old.constant_accuracy == old.majority_baseline_accuracy == 0.52


def test_judge_reads_backtest_result_names():
    from agentctl.results import BacktestResult
    from agentctl.store.records import BacktestRecord

    # judge reads BacktestRecord: the same names as the BacktestResult the worker writes, plus the tick's gate.
    assert set(BacktestRecord.model_fields) == set(BacktestResult.model_fields) | {"gate"}
    figures = {"sharpe": 1.4, "snooping_p_value": 0.004, "snooping_trials": 7, "buy_and_hold_drawdown": 0.25}
    figures |= {"total_return": 0.31, "buy_and_hold_return": 0.12}
    with_gate = judge({**figures, "max_drawdown": 0.11, "total_trades": 64, "gate": {"gate": "backtest"}})
    assert with_gate["verdict"] == "promising" and "return 31.0% beats buy-and-hold 12.0%" in with_gate["strengths"]
    # The same figures with a snooping p-value the gate would refuse: not passed, and it says why.
    lucky = judge({**figures, "snooping_p_value": 0.2, "max_drawdown": 0.11, "total_trades": 64})
    assert lucky["passed"] is False and lucky["verdict"] == "neutral"
    assert "snooping p < 0.05" in lucky["explanation"]
