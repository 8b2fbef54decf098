"""How every command writes to the terminal: one table renderer, one colour rule, one way to print JSON.

Plain output (no colour, no box drawing) when NO_COLOR is set, to any value, or the
stream is not a terminal. rich is imported only to draw a table on a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import typer

from agentctl import fmt


def plain(stream: TextIO | None = None) -> bool:
    """Plain text on `stream` (stdout by default): NO_COLOR set, or not a terminal."""
    return "NO_COLOR" in os.environ or not (stream or sys.stdout).isatty()


def width(stream: TextIO | None = None) -> int | None:
    """The terminal's width in columns, or None when `stream` (stdout by default) is not a terminal."""
    if not (stream or sys.stdout).isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


def echo(text: str = "", *, err: bool = False) -> None:
    """Prose to stdout (stderr with `err`), wrapped by us at the terminal's width, not mid-word by the terminal.

    A pipe gets each line whole, for scripts. A wrapped line's continuation is indented two
    spaces past the line's own indent, so a reader sees where one item ends.
    """
    cols = width(sys.stderr if err else sys.stdout)
    if cols is not None:
        text = "\n".join(wrap(line, cols) for line in text.split("\n"))
    typer.echo(text, err=err)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def visible(text: str) -> int:
    """The columns `text` takes on a terminal (colour codes take none)."""
    return len(ANSI.sub("", text))


def wrap(line: str, cols: int) -> str:
    """One line broken at spaces into lines of at most `cols` visible characters; a word longer is cut."""
    if visible(line) <= cols:
        return line
    indent = len(line) - len(line.lstrip(" "))
    hang = " " * min(indent + 2, cols // 2)
    out: list[str] = []
    cur = line[:indent]
    for word in line[indent:].split(" "):
        candidate = f"{cur} {word}" if cur.strip() else cur + word
        if visible(candidate) <= cols or not cur.strip():
            cur = candidate
        else:
            out.append(cur)
            cur = hang + word
        while visible(cur) > cols:  # a path or a long token: cut it rather than overflow
            out.append(cur[:cols])
            cur = hang + cur[cols:]
    out.append(cur)
    return "\n".join(out)


def print_json(model: Any) -> None:
    """A report's model (or plain data) as indented JSON on stdout."""
    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@dataclass(frozen=True)
class Col:
    """A table column and how it gives way on a narrow terminal.

    `drop`: 0 is always shown; higher numbers are dropped first when the row does not fit.
    `max_width`: cells longer than this end in an ellipsis (on a terminal only); such a
    column may also shrink to its header's width before any column is dropped.
    """

    header: str
    right: bool = False
    drop: int = 0
    max_width: int | None = None


GAP = 2  # spaces between columns, plain and rich alike
READABLE = 16  # characters of a truncated name worth keeping over an optional column


def table(
    headers: Sequence[str | Col], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = (), width: int | None = None
) -> None:
    """Columns padded to their widest cell (`right`: right-aligned indexes, or Col.right).

    Plain text (pipes, NO_COLOR): every column and every character, one row a line, for scripts.
    On a terminal: one line per row at the terminal's width (`width` overrides it), long cells
    cut with an ellipsis and low-priority columns dropped first.
    """
    cols = [h if isinstance(h, Col) else Col(h, right=i in right) for i, h in enumerate(headers)]
    cells = [[cell(c) for c in r] for r in rows]
    if plain():
        _plain_table(cols, cells)
        return
    from rich.console import Console

    console = Console(width=width) if width else Console()
    keep, widths = fit(cols, cells, console.width)
    if sum(widths) + GAP * (len(keep) - 1) > console.width:
        # Too narrow even with optional columns dropped and long cells cut: a header of several
        # words takes two lines (`training gate` over `training` / `gate`) rather than be cut.
        cols = [stacked(c) for c in cols]
        keep, widths = fit(cols, cells, console.width)
    _rich_table(console, [cols[i] for i in keep], [[r[i] for i in keep] for r in cells], widths)


def stacked(c: Col) -> Col:
    """The column with its header on two lines, split at the space nearest its middle."""
    spaces = [i for i, ch in enumerate(c.header) if ch == " "]
    if not spaces or "\n" in c.header:
        return c
    at = min(spaces, key=lambda i: abs(len(c.header) - 2 * i))
    return Col(c.header[:at] + "\n" + c.header[at + 1 :], right=c.right, drop=c.drop, max_width=c.max_width)


def _header_width(c: Col) -> int:
    return max(len(part) for part in c.header.split("\n"))


def _plain_table(cols: Sequence[Col], cells: Sequence[Sequence[str]]) -> None:
    widths = [max(len(c.header), *(len(r[i]) for r in cells)) if cells else len(c.header) for i, c in enumerate(cols)]

    def line(vals: Sequence[str]) -> str:
        out = [v.rjust(w) if c.right else v.ljust(w) for v, w, c in zip(vals, widths, cols, strict=False)]
        return (" " * GAP).join(out).rstrip()

    echo(line([c.header for c in cols]))
    for r in cells:
        echo(line(r))


def fit(cols: Sequence[Col], cells: Sequence[Sequence[str]], total: int) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide, so one row fits in `total` characters."""
    head = [_header_width(c) for c in cols]
    natural = [max([head[i], *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)]
    capped = [
        min(n, max(c.max_width, head[i])) if c.max_width else n
        for i, (n, c) in enumerate(zip(natural, cols, strict=True))
    ]
    least = [min(w, head[i]) if c.max_width else w for i, (w, c) in enumerate(zip(capped, cols, strict=True))]
    # A name cut to a few characters says nothing: drop optional columns before cutting below this.
    readable = [
        min(w, max(head[i], READABLE)) if c.max_width else w for i, (w, c) in enumerate(zip(capped, cols, strict=True))
    ]
    keep = list(range(len(cols)))

    def room() -> int:
        return total - GAP * (len(keep) - 1)

    while sum(readable[i] for i in keep) > room() and any(cols[i].drop for i in keep):
        worst = max((i for i in keep if cols[i].drop), key=lambda i: (cols[i].drop, i))
        keep.remove(worst)
    widths = {i: natural[i] for i in keep}
    # Too wide: first cut cells beyond their column's max_width, then the widest truncatable column,
    # one character at a time, down to a readable width before any goes shorter, until the row fits. A wide terminal shows whole names.
    for floor in (capped, readable, least):
        while sum(widths.values()) > room():
            shrinkable = [i for i in keep if widths[i] > floor[i]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: widths[i] - floor[i])
            widths[widest] -= 1
    return keep, [widths[i] for i in keep]


def _rich_table(console: Any, cols: Sequence[Col], cells: Sequence[Sequence[str]], widths: Sequence[int]) -> None:
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, GAP - 1, 0, 0))
    for c, w in zip(cols, widths, strict=True):
        t.add_column(c.header, justify="right" if c.right else "left", width=w, no_wrap=True, overflow="ellipsis")
    for r in cells:
        t.add_row(*r)
    console.print(t)


def cell(v: Any) -> str:
    """A table cell: '-' for none, yes/no, times to the second."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, datetime):
        return fmt.when(v)
    if isinstance(v, float):
        return fmt.number(v)
    return str(v)


def short(text: str | None, n: int) -> str | None:
    """One line of at most `n` characters (an ellipsis marks the cut)."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def name(strategy: str | None) -> str | None:
    """A strategy's name in a table: on a terminal without a baseline's `baseline-N-` prefix (it fills
    the room a name gets and says only who designed it); whole in a pipe, for scripts."""
    if plain():
        return strategy
    from agentctl.reports.gate_words import short_name

    return short_name(strategy)


def bold(text: str) -> str:
    return text if plain() else typer.style(text, bold=True)


def warn(text: str) -> str:
    return f"warning: {text}" if plain() else typer.style(f"warning: {text}", fg="yellow")


def mark(ok: bool) -> str:
    """A check's verdict: `ok  ` or `FAIL`, green or red on a terminal."""
    text = "ok  " if ok else "FAIL"
    return text if plain() else typer.style(text, fg="green" if ok else "red", bold=not ok)
