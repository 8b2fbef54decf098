"""Equity curves and spend bars: drawn in the terminal (plotext) or written as a PNG (matplotlib).

Both libraries are imported inside the functions: only `show` pays for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path


def _points(curve: Sequence[tuple[str, float]]) -> tuple[list[datetime], list[float]]:
    xs, ys = [], []
    for t, v in curve:
        xs.append(datetime.fromisoformat(str(t)))
        ys.append(float(v))
    return xs, ys


def equity_text(curve: Sequence[tuple[str, float]], *, width: int = 72, height: int = 16, color: bool = False) -> str:
    """The equity curve as terminal text (x: bars of the backtest); plain characters unless `color`."""
    import plotext as plt

    xs, ys = _points(curve)
    fig = plt.figure
    fig.clear.all()
    fig.plot_size(width, height)
    fig.theme("dark" if color else "colorless")
    fig.draw(fig.signal(list(range(len(ys))), ys))
    fig.title(f"equity (starts at 1.0), {xs[0]:%Y-%m-%d} to {xs[-1]:%Y-%m-%d}, {len(ys)} points")
    out = str(fig.build())
    fig.clear.all()
    return out if color else plt.uncolorize(out)


def equity_png(curve: Sequence[tuple[str, float]], path: Path, *, title: str = "equity") -> Path:
    """Write the equity curve as a PNG image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    xs, ys = _points(curve)
    fig, ax = pyplot.subplots(figsize=(9, 4), dpi=110)
    try:
        ax.plot(xs, ys, linewidth=1.2)  # type: ignore[arg-type]  # matplotlib plots datetimes; its stubs take numbers only
        ax.axhline(1.0, color="grey", linewidth=0.6, linestyle="--")
        ax.set_title(title)
        ax.set_ylabel("equity (starts at 1.0)")
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, format="png")
    finally:
        pyplot.close(fig)
    return path


def bar(value: float, scale: float, width: int = 30, char: str = "#") -> str:
    """A horizontal bar of `value` against `scale` (full width), at least one char when non-zero."""
    if scale <= 0 or value <= 0:
        return ""
    n = round(min(value, scale) / scale * width)
    return char * max(1, n)
