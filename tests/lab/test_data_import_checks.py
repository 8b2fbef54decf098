"""`agentctl data import` refuses bars of another timeframe, reads epoch timestamps, says gaps in
human units; `agentctl data remove` deletes what was imported and nothing else."""

from __future__ import annotations

import json

from lab_helpers import aapl_1h, sp500, write_csv
from typer.testing import CliRunner

from agentctl.cli.data import app

runner = CliRunner()


def invoke(*args: str):
    from agentctl import settings as settings_mod

    settings_mod.get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        settings_mod.get_settings.cache_clear()


def test_daily_bars_imported_as_hourly_are_refused_with_the_fix(sp500, settings, tmp_path):
    csv = write_csv(sp500.iloc[:300], tmp_path / "daily.csv")
    out = invoke("import", str(csv), "--symbol", "DAILY", "--timeframe", "1h")
    assert out.exit_code == 1
    assert "bars are usually 1 day apart, not 1 h: use --timeframe 1d" in out.stderr
    assert invoke("import", str(csv), "--symbol", "DAILY", "--timeframe", "1d").exit_code == 0


def test_hourly_bars_imported_as_daily_are_refused(aapl_1h, settings, tmp_path):
    csv = write_csv(aapl_1h.iloc[:300], tmp_path / "hourly.csv")
    out = invoke("import", str(csv), "--symbol", "HOURLY", "--timeframe", "1d")
    assert out.exit_code == 1 and "bars are usually 1 h apart, not 1 day: use --timeframe 1h" in out.stderr


def test_epoch_seconds_and_milliseconds_read_as_utc(aapl_1h, settings, tmp_path):
    bars = aapl_1h.iloc[:200].copy()
    epoch_s = bars.index.as_unit("s").asi8
    for unit, stamps in (("s", epoch_s), ("ms", epoch_s * 1000)):
        table = bars.reset_index(drop=True)
        table.insert(0, "timestamp", stamps)
        path = tmp_path / f"epoch_{unit}.csv"
        table.to_csv(path, index=False)
        out = invoke("import", str(path), "--symbol", f"EPOCH{unit.upper()}", "--timeframe", "1h", "--json")
        assert out.exit_code == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["first_bar"].startswith(bars.index[0].strftime("%Y-%m-%dT%H:%M"))
        assert info["bars"] == 200


def test_a_gap_is_said_in_days(aapl_1h, settings, tmp_path):
    import pandas as pd

    bars = aapl_1h.iloc[:300]
    gappy = pd.concat([bars.iloc[:100], bars.iloc[100:].set_axis(bars.index[100:] + pd.Timedelta(days=101))])
    out = invoke("import", str(write_csv(gappy, tmp_path / "g.csv")), "--symbol", "GAP", "--timeframe", "1h")
    assert out.exit_code == 1
    assert "gap of 10" in out.stderr and " days" in out.stderr and "exceeds 4 days for 1h bars" in out.stderr
    assert "00:00:00" not in out.stderr.split("after")[0]


def test_remove_deletes_an_imported_dataset_only(aapl_1h, settings, conn, tmp_path):
    csv = write_csv(aapl_1h.iloc[:200], tmp_path / "mine.csv")
    assert invoke("import", str(csv), "--symbol", "MINE", "--timeframe", "1h").exit_code == 0
    bundled = invoke("remove", "AAPL/1h")
    assert bundled.exit_code == 1 and "bundled with agentctl and cannot be removed" in bundled.stderr
    assert invoke("remove", "NOPE/1h").exit_code == 1  # names no dataset: bad input
    assert invoke("remove", "MINE").exit_code == 2
    # A cycle used it: removing needs --force, and says why.
    conn.execute(
        "INSERT INTO agent_sessions (phase, strategy_config) VALUES ('idle', %s)",
        (json.dumps({"dataset": {"symbol": "MINE", "timeframe": "1h"}}),),
    )
    conn.commit()
    used = invoke("remove", "MINE/1h")
    assert used.exit_code == 2 and "1 cycle(s) used MINE/1h" in used.stderr and "--force" in used.stderr
    assert "MINE" in invoke("list").stdout
    done = invoke("remove", "MINE/1h", "--force")
    assert done.exit_code == 0 and done.stdout.strip() == "removed MINE/1h"
    assert "MINE" not in invoke("list").stdout
    assert not list((settings.home / "datasets").glob("MINE_1h*"))
