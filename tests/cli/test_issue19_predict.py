"""`predict` checks its input: bars of another bar size or another market than the strategy's are refused
in one line (exit 1); --force predicts anyway with a warning. A real cycle: the baseline on SP500 daily."""

from __future__ import annotations

import json
from pathlib import Path

from tickutil import OPEN_GATES, completed, session, tick_until
from typer.testing import CliRunner

from agentctl.cli.main import app
from agentctl.lab.data import holdout_index, load_ohlcv

# No backtest clears a deflated Sharpe of 1.01: the cycle ends at the backtest gate with its training model.
SHUT_BACKTEST = {**OPEN_GATES, "AGENTCTL_GATES__RESEARCH_ALPHA": "1e-300"}


def _csv(df, path: Path) -> Path:
    out = df.reset_index()
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out.to_csv(path, index=False)
    return path


def _predict(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["predict", *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_predict_refuses_other_bars_and_force_overrides_with_a_warning(conn, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCTL_AGENT", "baseline")
    monkeypatch.setenv("AGENTCTL_DATASETS", "SP500/1d")
    tick_until(conn, completed, timeout_s=600, **SHUT_BACKTEST)
    sid = str(session(conn)["id"])

    sp500 = load_ohlcv("SP500", "1d", None)
    research = sp500.iloc[: holdout_index(len(sp500))]
    own = _csv(research.iloc[-400:], tmp_path / "sp500.csv")
    code, out, err = _predict(sid, str(own), "--json")
    assert code == 0 and json.loads(out)["forced"] == [] and err == ""

    hourly = _csv(load_ohlcv("AAPL", "1h", None).iloc[:600], tmp_path / "hourly.csv")
    code, out, err = _predict(sid, str(hourly))
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "hourly.csv does not look like SP500/1d: bars are usually 1 h apart, not 1 day" in err
    assert "--force predicts anyway" in err

    nasdaq = load_ohlcv("NASDAQ", "1d", None)
    other = _csv(nasdaq.loc["2012-01-01":"2014-01-01"], tmp_path / "nasdaq.csv")
    code, out, err = _predict(sid, str(other))
    assert code == 1 and "nasdaq.csv does not look like SP500/1d: its closes are" in err
    assert "times SP500's on the" in err and "bars are usually" not in err

    code, out, err = _predict(sid, str(other), "--force")
    assert code == 0 and "position: " in out
    assert err.startswith("agentctl: warning: --force: its closes are")
