"""`export`, `predict` and `compare` on real cycles: the baseline designer, real training, backtests and holdout.

Export then predict on the same data reproduces the position the strategy's backtest
held on its last bar: the final holdout's for a confirmed strategy (the model fitted on
the research period), the research backtest's otherwise (the last fold's model).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tickutil import OPEN_GATES, completed, session, tick_until
from typer.testing import CliRunner

from agentctl.cli.main import app
from agentctl.lab.data import load_ohlcv
from agentctl.lab.strategy import StrategyConfig
from agentctl.reports.replay import holdout_replay, research_replay

# The deflated Sharpe is a probability: no backtest clears 1.01, so the cycle ends at the backtest gate.
SHUT_BACKTEST = {**OPEN_GATES, "AGENTCTL_GATES__RESEARCH_ALPHA": "1e-300"}


def cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def run_cycle(conn, monkeypatch, gates: dict[str, str]) -> dict:
    monkeypatch.setenv("AGENTCTL_AGENT", "baseline")
    before = session(conn)
    tick_until(
        conn,
        lambda c: completed(c) and (before is None or session(c)["id"] != before["id"]),
        timeout_s=600,
        **gates,
    )
    return session(conn)


def bars_csv(df, path: Path) -> Path:
    """The bars as a user's CSV file (timestamp, open, high, low, close, volume)."""
    out = df.reset_index()
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out.to_csv(path, index=False)
    return path


def position(sim) -> str:
    held = int(sim.position[-1])
    return {1: "long", -1: "short", 0: "flat"}[held]


def test_a_confirmed_strategy_exports_its_final_model_and_predicts_its_holdout_position(
    conn, settings, tmp_path, monkeypatch
):
    s = run_cycle(conn, monkeypatch, OPEN_GATES)
    assert s["outcome"] == "success"
    sid = str(s["id"])
    out = tmp_path / "export"
    rep = json.loads(cli("export", sid, str(out), "--json"))
    assert rep["model"]["kind"] == "final" and rep["holdout"] == "shown"
    assert set(rep["files"]) >= {"strategy.json", "model.joblib", "metrics.json", "equity.csv", "trades.csv"}
    assert {"equity_holdout.csv", "trades_holdout.csv", "summary.md"} <= set(rep["files"])
    assert [t["backtest"] for t in rep["trades"]] == ["research backtest", "final holdout"]
    assert all(t["matches_stored"] for t in rep["trades"]), rep
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_holdout"]["sharpe"] == s["final_holdout_results"]["sharpe"]
    assert json.loads((out / "strategy.json").read_text()) == s["strategy_config"]
    summary = (out / "summary.md").read_text()
    assert "strategies tried (all datasets)" in summary and "purge gap" in summary and "final holdout from" in summary
    trades = (out / "trades_holdout.csv").read_text().splitlines()
    assert trades[0] == "trade,direction,entry_time,entry_price,exit_time,exit_price,bars_held,return"
    assert len(trades) - 1 == s["final_holdout_results"]["total_trades"]

    # Every bar's equity, not the stored curve's 500 points, and the files say what they hold.
    config = StrategyConfig.model_validate(s["strategy_config"])
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, settings.home)
    equity = (out / "equity_holdout.csv").read_text().splitlines()
    assert equity[0] == "time,equity,drawdown,buy_and_hold"
    assert len(equity) - 1 == s["final_holdout_results"]["bars"]
    research_rows = len((out / "equity.csv").read_text().splitlines()) - 1
    assert research_rows == s["training_results"]["oof_bars"] > len(s["backtest_results"]["equity_curve"])
    assert {e["file"]: e["holds"] for e in rep["equity"]} == {
        "equity.csv": "every bar",
        "equity_holdout.csv": "every bar",
    }
    assert "- equity.csv: equity (from 1.0), drawdown and buy and hold, every bar" in summary

    # show: the parameters, every trade with --trades, the holdout marked on the chart.
    shown = cli("show", sid, "--trades")
    assert "parameters:" in shown and "feature 1" in shown
    n = s["final_holdout_results"]["total_trades"]
    assert f"trades: {n} trade{'s' if n != 1 else ''} in the final holdout" in shown
    assert "<- final holdout starts" in shown and "; final holdout from " in shown

    # A second export into the same directory is refused; --force writes over it.
    assert "is not empty" in CliRunner().invoke(app, ["export", sid, str(out)]).output
    cli("export", sid, str(out), "--force")

    import joblib

    replay = holdout_replay(config, joblib.load(out / "model.joblib"), df)
    # The bar before the last: the position it decides at its close is the one held on the last bar.
    pred = json.loads(cli("predict", sid, str(bars_csv(df.iloc[:-1], tmp_path / "bars.csv")), "--json"))
    assert pred["position"] == position(replay.sim)
    assert pred["model"]["kind"] == "final" and pred["note"] is None
    assert len(pred["probabilities"]) >= 2 and set(pred["probabilities"]) <= {"down", "flat", "up"}
    assert abs(sum(pred["probabilities"].values()) - 1) < 1e-6
    text = cli("predict", sid, str(tmp_path / "bars.csv"))
    assert f"position: {pred['position']}" in text and "rule: long when P(up) >=" in text


def test_a_research_only_strategy_exports_its_training_artifact_and_compare_keeps_it_sealed(
    conn, settings, tmp_path, monkeypatch
):
    s = run_cycle(conn, monkeypatch, SHUT_BACKTEST)
    assert s["outcome"] == "failed_backtest_gate" and s["final_holdout_results"] is None
    sid = str(s["id"])
    # Its research trades are listed (the last 10), and no holdout is marked on its chart.
    shown = cli("show", sid)
    assert "in the research backtest" in shown and "final holdout starts" not in shown
    rep = json.loads(cli("export", sid, str(tmp_path / "x"), "--json"))
    assert rep["model"]["kind"] == "training" and rep["holdout"] == "sealed"
    assert [t["file"] for t in rep["trades"]] == ["trades.csv"] and rep["trades"][0]["matches_stored"]
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert metrics["final_holdout"] == {"state": "sealed", "why": "final holdout: sealed (the assessment did not pass)"}

    config = StrategyConfig.model_validate(s["strategy_config"])
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, settings.home)
    import joblib

    art = joblib.load(tmp_path / "x" / "model.joblib")
    replay = research_replay(config, art, df)
    end = art["positions"][1]  # one past the research backtest's last bar
    pred = json.loads(cli("predict", sid, str(bars_csv(df.iloc[: end - 1], tmp_path / "r.csv")), "--json"))
    assert pred["position"] == position(replay.sim) and pred["model"]["kind"] == "training"

    # Side by side with a confirmed strategy: config differences only, and this one's holdout sealed.
    other = run_cycle(conn, monkeypatch, OPEN_GATES)
    cmp = json.loads(cli("compare", sid, str(other["id"]), "--json"))
    assert [c["holdout"]["state"] for c in cmp["cycles"]] == ["sealed", "shown"]
    assert cmp["cycles"][1]["holdout"]["results"]["sharpe"] == other["final_holdout_results"]["sharpe"]
    assert all(len(set(d["values"])) > 1 for d in cmp["differences"])
    assert "the assessment" not in json.dumps(cmp["cycles"][1]["holdout"]["line"])
    text = cli("compare", sid, str(other["id"]))
    assert "holdout sharpe" in text and "sealed" in text
    assert "backtest gate: " in text and "deflated Sharpe" in text  # the failed gate's reasons, in words, once
    assert text.count("deflated Sharpe ") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "1"], "compare takes 2 to 6 cycles, got 1"),
        (["compare", "1", "1"], "a cycle is named twice"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(settings, conn, args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and message in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "998", "999"], "no cycle 998"),
        (["export", "999", "/tmp/never-written"], "no cycle 999"),
        (["show", "999"], "no cycle 999"),
    ],
)
def test_a_cycle_id_naming_no_cycle_is_bad_input_exit_1(settings, conn, args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and message in res.output


def test_predict_on_no_such_cycle_is_bad_input_exit_1(settings, conn):
    res = CliRunner().invoke(app, ["predict", "999", "/tmp/none.csv"])
    assert res.exit_code == 1 and "no cycle 999" in res.output
