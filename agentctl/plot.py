"""Equity curves and spend bars: drawn in the terminal (plotext) or written as an image (matplotlib).

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
    """The equity curve for the terminal: a plotext chart when `color`, else a plain series.

    Plain (a pipe, NO_COLOR) means no box drawing: plotext frames its chart with box
    characters even without colour, so scripts get dates and values instead.
    """
    xs, ys = _points(curve)
    title = f"equity (starts at 1.0), {xs[0]:%Y-%m-%d} to {xs[-1]:%Y-%m-%d}, {len(ys)} points"
    if not color:
        return "\n".join([title, *plain_series(xs, ys)])
    import plotext as plt

    fig = plt.figure
    fig.clear.all()
    fig.plot_size(width, height)
    fig.theme("dark")
    fig.draw(fig.signal(list(range(len(ys))), ys))
    fig.title(title)
    out = str(fig.build())
    fig.clear.all()
    return out


def plain_series(xs: Sequence[datetime], ys: Sequence[float], points: int = 12) -> list[str]:
    """At most `points` evenly spaced (time, equity) lines, first and last included, then min and max."""
    n = len(ys)
    picks = sorted({round(k * (n - 1) / (points - 1)) for k in range(points)}) if n > points else range(n)
    lines = [f"  {xs[i]:%Y-%m-%d %H:%M}  {ys[i]:.4f}" for i in picks]
    lines.append(f"  min {min(ys):.4f}  max {max(ys):.4f}  last {ys[-1]:.4f}")
    return lines


# Formats matplotlib writes without extra packages, by file suffix.
IMAGE_FORMATS = ("png", "svg", "pdf")


def image_format(path: str | Path) -> str:
    """The image format a path's suffix asks for; ValueError naming the formats we write otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in IMAGE_FORMATS:
        shown = f"'.{suffix}'" if suffix else "no suffix"
        raise ValueError(f"{path} has {shown}: name the file .png, .svg or .pdf")
    return suffix


def equity_png(curve: Sequence[tuple[str, float]], path: Path, *, title: str = "equity") -> Path:
    """Write the equity curve as an image in the format of the path's suffix (.png, .svg or .pdf)."""
    fmt = image_format(path)
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
