"""Bundled datasets and `import_dataset` validation."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from lab_helpers import aapl_1h, write_csv

from agentctl.lab.data import (
    DatasetError,
    bars_per_year,
    dataset_keys,
    import_dataset,
    list_datasets,
    load_ohlcv,
)
from agentctl.lab.periods import fold_parts, holdout_index, periods


def test_bundled_datasets_are_real_and_clean():
    infos = {(d.symbol, d.timeframe): d for d in list_datasets(None)}
    assert {("SP500", "1d"), ("NASDAQ", "1d"), ("AAPL", "1h")} <= set(infos)
    sp = infos["SP500", "1d"]
    assert sp.bars == 2833 and str(sp.first_bar.date()) == "2007-10-01" and sp.last_bar.year == 2018
    assert sp.first_bar < sp.holdout_start < sp.last_bar
    hourly = load_ohlcv("AAPL", "1h", None)
    assert hourly.index.is_monotonic_increasing and hourly.index.is_unique
    assert (hourly.index[1:] - hourly.index[:-1]).min() == pd.Timedelta(hours=1) or len(hourly) > 3000
    for df in (hourly, load_ohlcv("SP500", "1d", None)):
        assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
        assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    assert 245 < bars_per_year(load_ohlcv("SP500", "1d", None).index) < 260


def _stale_open_share(df):
    """Share of bars whose open is exactly the previous bar's close."""
    return (df["open"].to_numpy()[1:] == df["close"].to_numpy()[:-1]).mean()


def test_no_stale_open_years():
    """SP500's vendor gave the previous close as the open until September 2007; those years are not offered.

    A later spell (December 2012 to April 2013) is documented in DATA_SOURCES.md and kept.
    """
    sp = load_ohlcv("SP500", "1d", None)
    for year, bars in sp.groupby(sp.index.year):
        assert _stale_open_share(bars) < (0.30 if year in (2012, 2013) else 0.10), year
    assert _stale_open_share(load_ohlcv("NASDAQ", "1d", None)) < 0.01  # NASDAQ's opens are real from 1999


def test_partial_last_sessions_are_dropped():
    daily, hourly = load_ohlcv("AAPL", "1d", None), load_ohlcv("AAPL", "1h", None)
    assert str(daily.index[-1].date()) == "2026-08-05" and str(hourly.index[-1].date()) == "2026-08-05"
    assert len(daily) == 11503 and len(hourly) == 3478


def test_periods_research_purge_holdout():
    p = periods(1000, 5, 14)
    assert (p.research_start, p.research_end, p.holdout_start, p.end, p.purge) == (0, 781, 800, 1000, 19)
    assert periods(1000, 1, 0).holdout_start == p.holdout_start  # the holdout is the dataset's, not the strategy's
    with pytest.raises(DatasetError, match="too few"):
        periods(50, 30, 20)


def test_fold_parts_are_the_datasets_cut_short_by_the_purge():
    p, q = periods(1000, 1, 0), periods(1000, 10, 30)
    assert fold_parts(p, 5) == [(133, 266), (266, 400), (400, 533), (533, 666), (666, 799)]
    assert fold_parts(q, 5) == [(133, 266), (266, 400), (400, 533), (533, 666), (666, 760)]
    assert fold_parts(p, 3) == [(200, 400), (400, 600), (600, 799)]


def test_import_csv_round_trip(aapl_1h, tmp_path):
    path = write_csv(aapl_1h.iloc[:500], tmp_path / "bars.csv")
    info = import_dataset(path, "MYAAPL", "1h", tmp_path / "home")
    assert info.bars == 500 and info.source == "imported from bars.csv"
    assert ("MYAAPL", "1h") in dataset_keys(tmp_path / "home")
    back = load_ohlcv("MYAAPL", "1h", tmp_path / "home")
    pd.testing.assert_frame_equal(back, aapl_1h.iloc[:500], check_freq=False, check_index_type=False)
    assert [d.symbol for d in list_datasets(tmp_path / "home")][-1] == "MYAAPL"
    with pytest.raises(DatasetError, match="already exists"):
        import_dataset(path, "MYAAPL", "1h", tmp_path / "home")


def test_import_parquet(aapl_1h, tmp_path):
    path = tmp_path / "bars.parquet"
    aapl_1h.iloc[:200].to_parquet(path)
    assert import_dataset(path, "PQ", "1h", tmp_path / "home").bars == 200


def broken(aapl_1h, tmp_path, row, **values):
    df = aapl_1h.iloc[:300].copy()
    for k, v in values.items():
        df.iloc[row - 1, df.columns.get_loc(k)] = v
    return write_csv(df, tmp_path / "bad.csv")


@pytest.mark.parametrize(
    "row,values,message",
    [
        (7, {"close": -1.0}, "row 7: .* breaks rule: prices must be positive"),
        (12, {"high": 1.0}, r"row 12: .* breaks rule: high >= max\(open, close\)"),
        (13, {"low": 1e6}, r"row 13: .* breaks rule: low <= min\(open, close\)"),
        (20, {"volume": -5.0}, "row 20: .* volume must be >= 0"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(aapl_1h, tmp_path, row, values, message):
    home = tmp_path / "home"
    with pytest.raises(DatasetError, match=message):
        import_dataset(broken(aapl_1h, tmp_path, row, **values), "BAD", "1h", home)
    assert not (home / "datasets").exists() or not any((home / "datasets").iterdir())


def test_timestamps_unique_increasing_and_gaps(aapl_1h, tmp_path):
    df = aapl_1h.iloc[:300].copy()
    idx = df.index.to_list()
    idx[50] = idx[49]
    dup = df.set_axis(pd.DatetimeIndex(idx, name="timestamp"))
    with pytest.raises(DatasetError, match=r"row 51: timestamp .* unique and increasing"):
        import_dataset(write_csv(dup, tmp_path / "d.csv"), "DUP", "1h", tmp_path)
    gappy = pd.concat([df.iloc[:100], df.iloc[100:].set_axis(df.index[100:] + pd.Timedelta(days=30))])
    with pytest.raises(DatasetError, match=r"row 101: gap of 3[0-9] days .* --allow-gaps"):
        import_dataset(write_csv(gappy, tmp_path / "g.csv"), "GAP", "1h", tmp_path)
    assert import_dataset(tmp_path / "g.csv", "GAP", "1h", tmp_path, allow_gaps=True).bars == 300


def test_unreadable_files(tmp_path):
    (tmp_path / "x.csv").write_text("when,price\n2020-01-01,1\n")
    with pytest.raises(DatasetError, match="no timestamp column"):
        import_dataset(tmp_path / "x.csv", "X", "1d", tmp_path)
    (tmp_path / "y.csv").write_text("date,open,high,low,close\n2020-01-01,1,1,1,1\nnot-a-date,1,1,1,1\n")
    with pytest.raises(DatasetError, match="row 2: timestamp 'not-a-date'"):
        import_dataset(tmp_path / "y.csv", "Y", "1d", tmp_path)
    (tmp_path / "z.csv").write_text("date,open,high,low,close\n2020-01-01,1,abc,1,1\n")
    with pytest.raises(DatasetError, match="row 1: high 'abc' is not a finite number"):
        import_dataset(tmp_path / "z.csv", "Z", "1d", tmp_path)
    with pytest.raises(DatasetError, match="bundled dataset"):
        import_dataset(tmp_path / "z.csv", "SP500", "1d", tmp_path)
    with pytest.raises(DatasetError, match="bad symbol"):
        import_dataset(tmp_path / "z.csv", "../x", "1d", tmp_path)
    with pytest.raises(DatasetError, match="no such file"):
        import_dataset(tmp_path / "nope.csv", "N", "1d", tmp_path)


def test_the_holdout_share_and_minimum_are_settings(monkeypatch):
    assert holdout_index(2000, "1d") == 1600  # the default 20%, no minimum
    monkeypatch.setenv("AGENTCTL_HOLDOUT_SHARE", "0.3")
    assert holdout_index(2000, "1d") == 1400
    monkeypatch.setenv("AGENTCTL_MIN_HOLDOUT_BARS", '{"1d": 700}')
    assert holdout_index(2000, "1d") == 1300 and holdout_index(2000, "1h") == 1400
    monkeypatch.setenv("AGENTCTL_MIN_HOLDOUT_BARS", '{"1d": 1900}')
    with pytest.raises(DatasetError, match=r"AGENTCTL_MIN_HOLDOUT_BARS: a 1900-bar holdout .* leaves 100"):
        holdout_index(2000, "1d")


LIST_IN_A_NEW_PROCESS = """
import json, sys
from agentctl.lab.data import list_datasets
infos = [d.model_dump(mode="json") for d in list_datasets(sys.argv[1])]
print(json.dumps({"infos": infos, "pandas": "pandas" in sys.modules}))
"""


def _listed(home, **env: str) -> dict:
    full = {**os.environ, "AGENTCTL_CONFIG": os.devnull, **env}
    p = subprocess.run(
        [sys.executable, "-c", LIST_IN_A_NEW_PROCESS, str(home)], capture_output=True, text=True, env=full
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_bundled_info_is_read_once_then_cached_per_file_and_policy(tmp_path, monkeypatch):
    """The first listing reads the files (pandas); later processes read the user's cache, unless the policy or cache changed."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    home = tmp_path / "home"
    cache = tmp_path / "xdg-cache" / "agentctl" / "datasets.json"
    first = _listed(home)
    assert first["pandas"] and cache.is_file() and not (home / "cache").exists()
    assert _listed(tmp_path / "another-home")["pandas"] is False  # every home of this user shares it
    again = _listed(home)
    assert again == {"infos": first["infos"], "pandas": False}
    assert first["infos"] == [d.model_dump(mode="json") for d in list_datasets(None)]  # as read without a cache

    # Another policy, from the config file: read afresh, another holdout start; the same one from the environment
    # then reads what the file's policy cached (the key is the policy as it resolves, not where it came from).
    config = tmp_path / "config.toml"
    config.write_text("holdout_share = 0.3\n")
    from_file = _listed(home, AGENTCTL_CONFIG=str(config))
    assert from_file["pandas"]
    assert [d["holdout_start"] for d in from_file["infos"]] != [d["holdout_start"] for d in first["infos"]]
    assert _listed(home, AGENTCTL_HOLDOUT_SHARE="0.3") == {"infos": from_file["infos"], "pandas": False}
    assert _listed(home) == {"infos": first["infos"], "pandas": False}  # both policies stay cached

    cache.write_text('{"SP500/1d": [1, 2')  # damaged: ignored and rewritten
    assert _listed(home) == first
    assert _listed(home) == {"infos": first["infos"], "pandas": False}

    # Written by other code (an upgrade that reads or places holdouts differently): not trusted, read afresh.
    older = {
        key.rsplit(" ", 1)[0] + " " + "0" * 16: {**info, "bars": 1}
        for key, info in json.loads(cache.read_text()).items()
    }
    cache.write_text(json.dumps(older))
    assert _listed(home) == first


def test_the_info_cache_keeps_its_newest_entries(tmp_path, monkeypatch):
    from agentctl.lab.data import _InfoCache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    info = list_datasets(None)[0]
    cache = _InfoCache(tmp_path / "home")
    for n in range(_InfoCache.KEEP + 8):
        cache.put(f"key{n}", info.model_copy(update={"bars": n}))
    kept = json.loads((tmp_path / "agentctl" / "datasets.json").read_text())
    assert list(kept) == [f"key{n}" for n in range(8, _InfoCache.KEEP + 8)]
    newest = f"key{_InfoCache.KEEP + 7}"
    assert cache.get(newest).bars == _InfoCache.KEEP + 7 and cache.get("key0") is None
    assert _InfoCache(None).get(newest) is None  # no home: no cache
