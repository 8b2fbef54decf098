"""show's chart: a date axis, buy and hold beside the strategy, the drawdown below; plain text without box drawing."""

from __future__ import annotations

import re

from agentctl.plot import drawdown, equity_png, equity_text

BOX = re.compile("[\u2500-\u257f\u2580-\u259f]")
CURVE = [
    (f"2024-01-{d:02d}T00:00:00+00:00", v)
    for d, v in zip(range(1, 11), [1, 1.1, 1.05, 0.99, 1.2, 1.1, 1.3, 1.25, 1.4, 1.35], strict=True)
]
BENCH = [1 + 0.02 * k for k in range(10)]


def test_drawdown_is_the_loss_from_the_running_peak():
    assert [round(v, 4) for v in drawdown([1.0, 1.1, 0.99, 1.2])] == [0.0, 0.0, -0.1, 0.0]
    assert round(drawdown([0.9])[0], 10) == -0.1  # the starting equity is the first peak


def test_terminal_chart_has_dates_buy_and_hold_and_drawdown():
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", equity_text(CURVE, color=True, benchmark=BENCH))
    assert "buy and hold" in text and "drawdown (worst" in text
    assert re.search(r"2024-01-\d\d", text) and not re.search(r"\d\d/01/2024", text)  # ISO dates on the axis


def test_plain_chart_is_a_dated_series_without_box_drawing():
    text = equity_text(CURVE, color=False, benchmark=BENCH)
    assert not BOX.search(text)
    assert "  2024-01-04  0.990  buy and hold 1.060  drawdown -10.0%" in text


def test_png_has_both_panels(tmp_path):
    path = equity_png(CURVE, tmp_path / "c.png", benchmark=BENCH)
    assert path.stat().st_size > 1000
