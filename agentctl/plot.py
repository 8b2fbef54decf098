"""Equity curves and spend bars: drawn in the terminal (plotext) or written as an image (matplotlib).

Both libraries are imported inside the functions: only `show` pays for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agentctl import fmt


def points(curve: Sequence[tuple[Any, float]]) -> tuple[list[datetime], list[float]]:
    """A stored curve's times and values."""
    xs, ys = [], []
    for t, v in curve:
        xs.append(t if isinstance(t, datetime) else datetime.fromisoformat(str(t)))
        ys.append(float(v))
    return xs, ys


def drawdown(ys: Sequence[float]) -> list[float]:
    """Each point's loss from the running peak (the starting equity, 1.0, is the first peak), as a fraction <= 0."""
    peak, out = 1.0, []
    for y in ys:
        peak = max(peak, y)
        out.append(y / peak - 1.0)
    return out


def buy_and_hold(xs: Sequence[datetime], close: Any) -> list[float] | None:
    """Buy and hold over the curve's bars, starting at 1.0: each time's close over the first time's close.

    `close` is the dataset's close series (a pandas Series on its timestamps); None when
    a time of the curve is not one of its bars (the data changed since the backtest).
    """
    import pandas as pd

    stamps = pd.DatetimeIndex([_utc_naive(pd.Timestamp(x)) for x in xs])
    at = close.reindex(stamps)
    if at.isna().any():
        return None
    base = float(at.iloc[0])
    return [float(v) / base for v in at]


def _utc_naive(t: Any) -> Any:
    """The datasets' timestamps are UTC without a zone; a stored curve's carry one."""
    return t.tz_convert(None) if t.tzinfo is not None else t


def equity_text(
    curve: Sequence[tuple[Any, float]],
    *,
    width: int = 72,
    height: int = 16,
    color: bool = False,
    benchmark: Sequence[float] | None = None,
    holdout_from: str | None = None,
) -> str:
    """The equity curve for the terminal: a plotext chart when `color`, else a plain series.

    Drawn with buy and hold over the same bars (`benchmark`) on a date axis, and the
    drawdown below it. Plain (a pipe, NO_COLOR) means no box drawing: plotext frames
    its chart with box characters even without colour, so scripts get dates and values.
    `holdout_from`: where the final holdout's bars begin (marked with a vertical line).
    """
    xs, ys = points(curve)
    dd = drawdown(ys)
    bh = " and buy and hold" if benchmark else ""
    split = _index_of(xs, holdout_from)
    title = f"equity (starts at 1.0){bh}, {fmt.day(xs[0])} to {fmt.day(xs[-1])}, {len(ys)} points"
    if split is not None:
        title += f"; final holdout from {fmt.day(xs[split])}"
    if not color:
        return "\n".join([title, *plain_series(xs, ys, benchmark=benchmark, drawdowns=dd, split=split)])
    import plotext as plt

    fig = plt.figure
    fig.clear.all()
    fig.plot_size(width, height + max(6, height // 2))
    fig.subplots(2, 1)
    top, bottom = fig.subplot(1, 1), fig.subplot(2, 1)
    for panel in (top, bottom):
        panel.date().activate(form="%Y-%m-%d")  # ISO dates on the axes, as everywhere else
    top.draw(top.signal(xs, ys))
    if benchmark:
        top.draw(top.signal(xs, list(benchmark), marker="dot"))
    # plotext drops a title wider than the chart: the dates are on the axis, so the title stays short.
    top.title(f"equity from 1.0 ({len(ys)} points)" + (", dots: buy and hold" if benchmark else ""))
    if split is not None:
        top.line(xs[split], orientation="vertical", style="dotted")
        top.title(f"equity from 1.0, final holdout from {fmt.day(xs[split])} (|)")
    bottom.draw(bottom.signal(xs, dd))
    bottom.title(f"drawdown (worst {fmt.pct(min(dd))})")
    out = str(fig.build())
    fig.clear.all()
    return out


def plain_series(
    xs: Sequence[datetime],
    ys: Sequence[float],
    points: int = 12,
    *,
    benchmark: Sequence[float] | None = None,
    drawdowns: Sequence[float] | None = None,
    split: int | None = None,
) -> list[str]:
    """At most `points` evenly spaced (time, equity[, buy and hold, drawdown]) lines, first and last included.

    `split`: the index of the final holdout's first bar, always listed and marked.
    """
    n = len(ys)
    picks = set(round(k * (n - 1) / (points - 1)) for k in range(points)) if n > points else set(range(n))
    if split is not None:
        picks.add(split)
    lines = []
    for i in sorted(picks):
        line = f"  {fmt.day(xs[i])}  {_equity(ys[i])}"
        if benchmark:
            line += f"  buy and hold {_equity(benchmark[i])}"
        if drawdowns:
            line += f"  drawdown {fmt.pct(drawdowns[i])}"
        if i == split:
            line += "  <- final holdout starts"
        lines.append(line)
    lines.append(f"  min {_equity(min(ys))}  max {_equity(max(ys))}  last {_equity(ys[-1])}")
    return lines


def _equity(v: float) -> str:
    """Equity from a start of 1.0: 3 decimals say a tenth of a percent."""
    return f"{v:.3f}"


def _index_of(xs: Sequence[datetime], at: str | None) -> int | None:
    if at is None:
        return None
    t = datetime.fromisoformat(str(at))
    return next((i for i, x in enumerate(xs) if x >= t), None)


# Formats matplotlib writes without extra packages, by file suffix.
IMAGE_FORMATS = ("png", "svg", "pdf")


def image_format(path: str | Path) -> str:
    """The image format a path's suffix asks for; ValueError naming the formats we write otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in IMAGE_FORMATS:
        shown = f"'.{suffix}'" if suffix else "no suffix"
        raise ValueError(f"{path} has {shown}: name the file .png, .svg or .pdf")
    return suffix


def equity_png(
    curve: Sequence[tuple[Any, float]],
    path: Path,
    *,
    title: str = "equity",
    benchmark: Sequence[float] | None = None,
    holdout_from: str | None = None,
) -> Path:
    """Write the equity curve (with buy and hold, and its drawdown below) in the format of the path's suffix."""
    fmt = image_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    xs, ys = points(curve)
    fig, (ax, dd_ax) = pyplot.subplots(
        2, 1, figsize=(9, 5.5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    try:
        ax.plot(xs, ys, linewidth=1.2, label="strategy")
        if benchmark:
            ax.plot(xs, list(benchmark), linewidth=1.0, color="grey", label="buy and hold")
            ax.legend(loc="upper left")
        ax.axhline(1.0, color="grey", linewidth=0.6, linestyle="--")
        split = _index_of(xs, holdout_from)
        if split is not None:
            for a in (ax, dd_ax):
                a.axvspan(xs[split], xs[-1], color="tab:orange", alpha=0.12, label=None)
            ax.text(xs[split], ax.get_ylim()[1], " final holdout", va="top", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel("equity (starts at 1.0)")
        ax.grid(alpha=0.3)
        dd = [100 * v for v in drawdown(ys)]
        dd_ax.fill_between(xs, dd, 0, color="tab:red", alpha=0.4)
        dd_ax.set_ylabel("drawdown %")
        dd_ax.grid(alpha=0.3)
        import matplotlib.dates as mdates

        dd_ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # ISO dates, as in every report
        fig.autofmt_xdate()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, format=fmt)
    finally:
        pyplot.close(fig)
    return path


def bar(value: float, scale: float, width: int = 30, char: str = "#") -> str:
    """A horizontal bar of `value` against `scale` (full width), at least one char when non-zero."""
    if scale <= 0 or value <= 0:
        return ""
    n = round(min(value, scale) / scale * width)
    return char * max(1, n)
