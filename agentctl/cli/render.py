"""How every command writes to the terminal: one table renderer, one colour rule, one way to print JSON.

Plain output (no colour, no box drawing) when NO_COLOR is set, to any value, or the
stream is not a terminal. rich is imported only to draw a table on a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

import typer


def plain(stream: TextIO | None = None) -> bool:
    """Plain text on `stream` (stdout by default): NO_COLOR set, or not a terminal."""
    return "NO_COLOR" in os.environ or not (stream or sys.stdout).isatty()


def echo(text: str = "") -> None:
    typer.echo(text)


def print_json(model: Any) -> None:
    """A report's model (or plain data) as indented JSON on stdout."""
    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> None:
    """Columns padded to their widest cell (`right`: right-aligned column indexes); rich on a terminal."""
    cells = [[cell(c) for c in r] for r in rows]
    if plain():
        widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

        def line(vals: Sequence[str]) -> str:
            out = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(vals, widths, strict=False))]
            return "  ".join(out).rstrip()

        echo(line(headers))
        for r in cells:
            echo(line(r))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i in right else "left", overflow="fold")
    for r in cells:
        t.add_row(*r)
    Console().print(t)


def cell(v: Any) -> str:
    """A table cell: '-' for none, yes/no, times to the second."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, datetime):
        return when(v)
    return str(v)


def when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def usd(v: float | None, places: int = 4) -> str:
    return "-" if v is None else f"${v:,.{places}f}"


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def fixed(v: float | None, places: int = 2) -> str:
    return "-" if v is None else f"{v:.{places}f}"


def duration(seconds: float | None) -> str:
    """4s, 3m05s, 2h05m, 1d03h."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def short(text: str | None, n: int) -> str | None:
    """One line of at most `n` characters (an ellipsis marks the cut)."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def bold(text: str) -> str:
    return text if plain() else typer.style(text, bold=True)


def warn(text: str) -> str:
    return f"warning: {text}" if plain() else typer.style(f"warning: {text}", fg="yellow")


def mark(ok: bool) -> str:
    """A check's verdict: `ok  ` or `FAIL`, green or red on a terminal."""
    text = "ok  " if ok else "FAIL"
    return text if plain() else typer.style(text, fg="green" if ok else "red", bold=not ok)
