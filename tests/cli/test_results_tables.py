"""The results commands on an 80-column pseudo-terminal and in a pipe: one line per row, no box drawing in plain."""

from __future__ import annotations

import json

from test_tables import BOX, LONG, _on_terminal, _plain, _seed


def _cycles_with_configs(conn, n: int) -> list[int]:
    """Seeded cycles (long names) whose configs differ in fees and features, with research figures."""
    ids = _seed(conn, n)
    for k, sid in enumerate(ids):
        cfg = {
            "name": f"s{k}",
            "hypothesis": "h",
            "dataset": {"symbol": "AAPL", "timeframe": "1d"},
            "features": [{"function": "RSI", "params": {"timeperiod": 10 + k}}],
            "label": {"horizon": 1, "threshold": 0.0, "classes": "up_down"},
            "model": {"family": "logistic", "C": 1.0},
            "trading": {"confidence": 0.55, "direction": "long_only", "fee_bps": 1.0 + k, "slippage_bps": 1.0},
        }
        bt = {
            "sharpe": 0.41,
            "total_return": 0.03,
            "buy_and_hold_return": 0.09,
            "deflated_sharpe": 0.12,
            "max_drawdown": 0.22,
            "total_trades": 6,
            "gate": {"gate": "backtest", "passed": False, "reasons": ["total_trades 6: needs at least 10 (fails)"]},
        }
        conn.execute(
            "UPDATE agent_sessions SET strategy_config = %s, backtest_results = %s, failure_reason = %s WHERE id = %s",
            (json.dumps(cfg), json.dumps(bt), "total_trades 6: needs at least 10 (fails)", sid),
        )
    conn.commit()
    return ids


def test_compare_and_sorted_cycles_fit_80_columns(settings, conn):
    ids = _cycles_with_configs(conn, 6)
    for args in (["compare", *map(str, ids)], ["cycles", "--sort", "dsr", "--dataset", "AAPL/1d"]):
        code, text = _on_terminal(args, 80)
        assert code == 0, text
        # The table's rows (free text after it, such as the keys in common, wraps as text does).
        lines = [line for line in text.split("same in every cycle")[0].splitlines() if line.strip()]
        assert lines and all(len(line) <= 80 for line in lines), text
    _, text = _on_terminal(["compare", *map(str, ids)], 80)
    rows = [line for line in text.splitlines() if line.startswith(("strategy ", "trading.fee_bps "))]
    assert len(rows) == 2, text  # one line per row, whatever the names' length, row names whole
    # A difference too long for a column is listed below the table, every cycle's value in full.
    listed = text.split("features:")[1].splitlines()[1:7]
    assert [line.strip() for line in listed] == [f"cycle {i}: RSI(timeperiod={9 + k})" for k, i in enumerate(ids, 1)]


def test_compare_and_show_plain_have_no_box_drawing(settings, conn):
    ids = _cycles_with_configs(conn, 2)
    res = _plain(["compare", str(ids[0]), str(ids[1])])
    assert res.returncode == 0, res.stderr
    assert not BOX.search(res.stdout)
    assert f"{LONG}_0" in res.stdout and "trading.fee_bps" in res.stdout and "features" in res.stdout
    # The failed gate's reasons once, in words; the failure line points at the gate instead of repeating them.
    assert res.stdout.count("trades 6: needs at least 10 (fails)") == 2  # once per cycle
    show = _plain(["show", str(ids[0])])
    assert show.returncode == 0, show.stderr
    assert not BOX.search(show.stdout)
    assert show.stdout.count("needs at least 10") == 1
    assert "failure: the backtest gate failed (its reasons below)" in show.stdout
    assert "costs: fee 1 bp and slippage 1 bp per side" in show.stdout
