"""A user's own file of bars (`data import`, `predict`): read, checked, and every error naming the file and row.

Rows are numbered from 1, the header excluded, as a spreadsheet shows them less one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.lab.data import (
    COLUMNS,
    MIN_IMPORT_BARS,
    DatasetError,
    human,
    max_gap,
    timeframe_delta,
)

if TYPE_CHECKING:
    import pandas as pd


def read_checked(path: Path, timeframe: str, allow_gaps: bool = False, spacing: bool = True) -> pd.DataFrame:
    """A user's CSV or Parquet bars, read and checked; every error names the file (and the row, if one)."""
    path = Path(path)
    try:
        df = _read_user_file(path)
        check_ohlcv(df, timeframe, allow_gaps)
        if spacing:
            check_spacing(df, timeframe)
    except DatasetError as err:
        text = str(err)
        if text.startswith((f"{path.name}:", f"{path}:")):
            raise
        raise type(err)(f"{path.name}: {text}") from None
    return df


def _read_user_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet") or suffix.endswith(".pq"):
            raw = pd.read_parquet(path)
            if not isinstance(raw.index, pd.RangeIndex):
                raw = raw.reset_index()
        elif ".csv" in suffix or suffix.endswith(".txt"):
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise DatasetError(f"{path.name}: unsupported file type; use .csv (optionally .gz) or .parquet")
    except DatasetError:
        raise
    except UnicodeDecodeError:
        raise DatasetError(f"{path.name}: {_not_utf8(path)}: save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path.name}: the file is empty: it needs a header row and bars") from None
    except ImportError as exc:
        raise DatasetError(f"{path.name}: reading Parquet needs pyarrow ({exc})") from exc
    except Exception as exc:
        raise DatasetError(f"{path.name}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from exc
    return _normalise_columns(raw, path.name)


def _not_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: the row (1-based, header excluded) and the byte."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as f:
        for line_no, line in enumerate(f):
            try:
                line.decode()
            except UnicodeDecodeError as err:
                where = "the header row" if line_no == 0 else f"row {line_no}"
                return f"{where}: byte 0x{line[err.start]:02x} (column {err.start + 1} of the line) is not UTF-8 text"
    return "not UTF-8 text"


_TIME_NAMES = ("timestamp", "datetime", "date", "time", "ts")


def _normalise_columns(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = {str(c).strip().lower(): c for c in raw.columns}
    time_col = next((cols[n] for n in _TIME_NAMES if n in cols), None)
    if time_col is None:
        raise DatasetError(f"{name}: no timestamp column; name one of {', '.join(_TIME_NAMES)}")
    missing = [c for c in ("open", "high", "low", "close") if c not in cols]
    if missing:
        raise DatasetError(f"{name}: missing column(s) {', '.join(missing)}; need open, high, low, close[, volume]")
    if len(raw) == 0:
        raise DatasetError(f"{name}: no rows")

    ts = _timestamps(raw[time_col])
    bad = np.flatnonzero(ts.isna().to_numpy())
    if len(bad):
        raise DatasetError(f"row {bad[0] + 1}: timestamp {str(raw[time_col].iloc[bad[0]])[:40]!r} is not a date/time")
    out = pd.DataFrame(index=pd.DatetimeIndex(ts.dt.tz_convert(None), name="timestamp").as_unit("ns"))
    for c in COLUMNS:
        if c not in cols:
            out[c] = 0.0
            continue
        values = pd.to_numeric(raw[cols[c]], errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise DatasetError(f"row {bad[0] + 1}: {c} {str(raw[cols[c]].iloc[bad[0]])[:40]!r} is not a finite number")
        out[c] = values
    return out


def _timestamps(column: pd.Series) -> pd.Series:
    """Dates and times as text, or epoch seconds or milliseconds (told apart by size), as UTC."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):  # Parquet keeps real timestamps
        return pd.to_datetime(column, utc=True)
    numbers = pd.to_numeric(column, errors="coerce")
    if len(numbers) and numbers.notna().all():
        # Epoch milliseconds are above 1e11 from 1973 on; seconds stay below it until the year 5138.
        unit = "ms" if float(numbers.abs().median()) > 1e11 else "s"
        return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
    return pd.to_datetime(column, errors="coerce", utc=True, format="mixed")


def _timeframe_of(step: timedelta) -> str:
    for unit, size in (("w", timedelta(weeks=1)), ("d", timedelta(days=1)), ("h", timedelta(hours=1))):
        if step >= size and step % size == timedelta(0):
            return f"{step // size}{unit}"
    return f"{max(1, int(step.total_seconds() // 60))}m"


def check_spacing(df: pd.DataFrame, timeframe: str) -> None:
    """The bars' usual spacing must be the timeframe's: daily bars imported as 1h are refused."""
    import numpy as np

    step_ns = np.diff(df.index.as_unit("ns").asi8)
    if not len(step_ns):
        return
    usual = timedelta(microseconds=float(np.median(step_ns)) / 1000)
    bar = timeframe_delta(timeframe)
    # Closures make some steps longer, never the median of a series shorter than its bars;
    # a daily series' median is one day (weekends are a minority of steps).
    if not (bar * 0.75 <= usual <= bar * 1.5):
        raise DatasetError(
            f"bars are usually {human(usual)} apart, not {human(bar)}: use --timeframe {_timeframe_of(usual)}"
        )


def check_ohlcv(df: pd.DataFrame, timeframe: str, allow_gaps: bool = False) -> None:
    """Raise DatasetError at the first row breaking an OHLCV rule."""
    import numpy as np

    o, h, l, c, v = (df[k].to_numpy() for k in COLUMNS)
    if len(df) < MIN_IMPORT_BARS:
        raise DatasetError(f"{len(df)} rows; at least {MIN_IMPORT_BARS} bars are needed")
    rules = (
        ((o <= 0) | (h <= 0) | (l <= 0) | (c <= 0), "prices must be positive"),
        (h < np.maximum(o, c), "high >= max(open, close)"),
        (l > np.minimum(o, c), "low <= min(open, close)"),
        (v < 0, "volume must be >= 0"),
    )
    for broken, rule in rules:
        rows = np.flatnonzero(broken)
        if len(rows):
            r = rows[0]
            raise DatasetError(
                f"row {r + 1}: open={o[r]:g} high={h[r]:g} low={l[r]:g} close={c[r]:g} volume={v[r]:g} "
                f"breaks rule: {rule}"
            )
    step = np.diff(df.index.as_unit("ns").asi8)
    rows = np.flatnonzero(step <= 0)
    if len(rows):
        r = rows[0] + 1
        raise DatasetError(
            f"row {r + 1}: timestamp {df.index[r]} not after the previous row's; timestamps must be unique and increasing"
        )
    if not allow_gaps:
        limit = max_gap(timeframe)
        rows = np.flatnonzero(step > limit // timedelta(microseconds=1) * 1000)
        if len(rows):
            r = rows[0] + 1
            gap = df.index[r] - df.index[r - 1]
            raise DatasetError(
                f"row {r + 1}: gap of {human(gap)} after {df.index[r - 1]} exceeds {human(limit)} for {timeframe}"
                " bars; pass --allow-gaps if the series really has holes"
            )
