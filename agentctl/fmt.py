"""How every figure reads, in every command, chart and exported summary: one formatter per kind.

Money is `$x.xx` (more decimals only below a cent); Sharpe and other ratios take 2
decimals; returns, drawdowns, win rates and accuracies are percentages; p-values 3
decimals; dates are ISO; durations are `3m05s`. A missing figure is `-`. No Python
repr reaches a reader: booleans are yes/no, whole floats lose their `.0`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any

MISSING = "-"


def _float(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def money(v: Any) -> str:
    """$1,234.50; $0.0042 below a cent (so a sub-cent call is not shown as free); -$0.25. Half a cent rounds up."""
    if v is None or isinstance(v, bool):
        return MISSING
    try:
        x = Decimal(str(v))
    except ArithmeticError:
        return MISSING
    if not x.is_finite():
        return MISSING
    sign, x = ("-" if x < 0 else ""), abs(x)
    if 0 < x < Decimal("0.01"):
        places = Decimal("0.0001") if x >= Decimal("0.00005") else Decimal("0.000001")
        return f"{sign}${x.quantize(places, ROUND_HALF_UP)}"
    return f"{sign}${x.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def ratio(v: Any) -> str:
    """A Sharpe, Sortino, Calmar, profit factor or deflated Sharpe: 2 decimals."""
    x = _float(v)
    return MISSING if x is None else f"{x:.2f}"


def pct(v: Any, *, signed: bool = False, places: int = 1) -> str:
    """A fraction as a percentage: 0.2077 -> 20.8% (signed: +20.8%)."""
    x = _float(v)
    if x is None:
        return MISSING
    return f"{x * 100:+.{places}f}%" if signed else f"{x * 100:.{places}f}%"


def p_value(v: Any) -> str:
    """A p-value: 3 decimals, `<0.001` below that."""
    x = _float(v)
    if x is None:
        return MISSING
    return "<0.001" if 0 <= x < 0.0005 else f"{x:.3f}"


def number(v: Any) -> str:
    """A parameter or count as a person writes it: 37 (not 37.0), 0.25, 1,200, 1.5e-05."""
    x = _float(v)
    if x is None:
        return MISSING if v is None else text(v)
    if isinstance(v, int) or (x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}" if abs(x) >= 10000 else str(int(x))
    return f"{x:.4g}"


def count(v: Any) -> str:
    return MISSING if v is None else number(v)


def day(t: date | datetime | str | None) -> str:
    """An ISO date; a datetime with a time of day other than midnight keeps its hours and minutes."""
    if t is None:
        return MISSING
    if isinstance(t, str):
        try:
            return day(datetime.fromisoformat(t))
        except ValueError:
            return t
    if isinstance(t, datetime):
        return f"{t:%Y-%m-%d}" if (t.hour, t.minute) == (0, 0) else f"{t:%Y-%m-%d %H:%M}"
    return t.isoformat()


def when(t: datetime | None) -> str:
    """An instant to the second, ISO order, no microseconds."""
    return MISSING if t is None else f"{t:%Y-%m-%d %H:%M:%S}"


# How a span of seconds is said: the first row it is under gives its unit and, if any, a second,
# finer unit. A duration keeps two units; a warning's age is coarser (5m, 3d).
_Unit = tuple[int, str, int, str]  # (seconds in the unit, its letter, the finer unit's seconds or 0, its letter)
_DURATION: tuple[tuple[float, _Unit], ...] = (
    (60, (1, "s", 0, "")),
    (3600, (60, "m", 1, "s")),
    (86400, (3600, "h", 60, "m")),
    (float("inf"), (86400, "d", 3600, "h")),
)
_AGE: tuple[tuple[float, _Unit], ...] = (
    (120, (1, "s", 0, "")),
    (7200, (60, "m", 0, "")),
    (172800, (3600, "h", 60, "m")),
    (float("inf"), (86400, "d", 0, "")),
)


def _span(seconds: float, table: tuple[tuple[float, _Unit], ...]) -> str:
    s = int(seconds)
    unit, letter, finer, finer_letter = next(u for below, u in table if s < below)
    return f"{s // unit}{letter}" + (f"{(s % unit) // finer:02d}{finer_letter}" if finer else "")


def duration(seconds: float | None) -> str:
    """4s, 3m05s, 2h05m, 1d03h."""
    return MISSING if seconds is None else _span(seconds, _DURATION)


def age(seconds: float) -> str:
    """A coarse age for warnings: 90s, 5m, 2h05m, 3d."""
    return _span(seconds, _AGE)


def yes_no(v: bool | None) -> str:
    return MISSING if v is None else "yes" if v else "no"


def text(v: Any) -> str:
    """Any stored value for a reader: yes/no, 37 not 37.0, `a=1, b=2` for a mapping, never a repr."""
    if v is None:
        return MISSING
    if isinstance(v, bool):
        return yes_no(v)
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, (int, float, Decimal)):
        return number(v)
    if isinstance(v, datetime | date):
        return day(v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={text(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(text(x) for x in v)
    return str(v)


def plural(n: int | None, one: str, many: str | None = None) -> str:
    """`1 trade`, `3 trades`, `- trades` when unknown."""
    word = one if n == 1 else (many or one + "s")
    return f"{count(n)} {word}"
