"""`agentctl data list` and `agentctl data import`."""

import json

from lab_helpers import aapl_1h, write_csv
from typer.testing import CliRunner

from agentctl.cli.data import app

runner = CliRunner()


def invoke(args, home, monkeypatch):
    from agentctl import settings as settings_mod

    monkeypatch.setenv("AGENTCTL_HOME", str(home))
    settings_mod.get_settings.cache_clear()
    try:
        return runner.invoke(app, args, catch_exceptions=False)
    finally:
        settings_mod.get_settings.cache_clear()


def test_list_plain_and_json(tmp_path, monkeypatch):
    out = invoke(["list"], tmp_path, monkeypatch)
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["SYMBOL", "TF", "FIRST", "BAR", "LAST"]
    assert any(line.split()[:5] == ["SP500", "1d", "2007-10-01", "2018-12-31", "2833"] for line in lines)
    data = json.loads(invoke(["list", "--json"], tmp_path, monkeypatch).stdout)
    assert {"symbol": "AAPL", "timeframe": "1h"}.items() <= next(d for d in data if d["timeframe"] == "1h").items()
    assert {"first_bar", "last_bar", "bars", "source", "holdout_start"} <= set(data[0])


def test_import_then_list(aapl_1h, tmp_path, monkeypatch):
    csv = write_csv(aapl_1h.iloc[:150], tmp_path / "mine.csv")
    out = invoke(["import", str(csv), "--symbol", "MINE", "--timeframe", "1h"], tmp_path / "home", monkeypatch)
    assert out.exit_code == 0
    assert out.stdout.startswith("imported MINE/1h: 150 bars, 2024-08-06 13:30 to ")
    listed = json.loads(invoke(["list", "--json"], tmp_path / "home", monkeypatch).stdout)
    assert listed[-1]["symbol"] == "MINE" and listed[-1]["source"] == "imported from mine.csv"


def test_bad_rows_give_one_line_and_exit_1(aapl_1h, tmp_path, monkeypatch):
    df = aapl_1h.iloc[:150].copy()
    df.iloc[41, df.columns.get_loc("low")] = 1e9
    csv = write_csv(df, tmp_path / "bad.csv")
    out = invoke(["import", str(csv), "--symbol", "BAD", "--timeframe", "1h"], tmp_path / "home", monkeypatch)
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("agentctl: bad.csv: row 42: ") and "low <= min(open, close)" in out.stderr
    assert not (tmp_path / "home" / "datasets").exists() or not list((tmp_path / "home" / "datasets").iterdir())


def test_a_missing_file_exits_1_and_a_bad_timeframe_2(tmp_path, monkeypatch):
    out = invoke(["import", str(tmp_path / "nope.csv"), "--symbol", "X", "--timeframe", "1h"], tmp_path, monkeypatch)
    assert out.exit_code == 1 and "no such file" in out.stderr  # bad input, not bad usage
    (tmp_path / "x.csv").write_text("date,open,high,low,close\n")
    out = invoke(["import", str(tmp_path / "x.csv"), "--symbol", "X", "--timeframe", "1 hour"], tmp_path, monkeypatch)
    assert out.exit_code == 2 and "bad timeframe" in out.stderr
