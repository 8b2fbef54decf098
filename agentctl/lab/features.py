"""Feature and label computation: TA-Lib indicators on OHLCV, forward-return labels.

Features at bar t use bars <= t only (TA-Lib indicators are causal); labels at t
use the close at t + horizon and are therefore never features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.lab.catalog import CATALOG, Scale
from agentctl.lab.strategy import FeatureSpec, LabelSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLASS_NAMES = {-1: "down", 0: "flat", 1: "up"}


class LabError(Exception):
    """A lab run cannot go on; the message is the operation's failure reason."""


def compute_features(df: pd.DataFrame, features: list[FeatureSpec]) -> pd.DataFrame:
    """One column per feature output, indexed like df; warm-up bars are NaN."""
    import numpy as np
    import pandas as pd
    from talib import abstract

    inputs = {c: df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")}
    close = inputs["close"]
    columns: dict[str, np.ndarray] = {}
    for spec in features:
        ind = CATALOG[spec.function]
        fn = abstract.Function(ind.name, **spec.params)  # type: ignore[attr-defined]  # talib builds its abstract API at import time
        lookback = fn.lookback  # integer outputs (HT_TRENDMODE) are 0, not NaN, during warm-up
        raw = fn(inputs)
        outs = raw if isinstance(raw, list) else [raw]
        by_name = dict(zip(ind.outputs, outs, strict=True))
        for name, column in zip(spec.outputs or (), spec.column_names(), strict=True):
            values = np.asarray(by_name[name], dtype="float64").copy()
            values[:lookback] = np.nan
            if ind.scale is Scale.LEVEL:
                values = values / close - 1.0
            elif ind.scale is Scale.DIFF:
                values = values / close
            columns[column] = values
    out = pd.DataFrame(columns, index=df.index)
    return out.replace([np.inf, -np.inf], np.nan)


def feature_lookback(features: list[FeatureSpec]) -> int:
    """The longest TA-Lib lookback of the features: bars of history the first valid value needs."""
    from talib import abstract

    return max(
        (abstract.Function(CATALOG[f.function].name, **f.params).lookback for f in features),  # type: ignore[attr-defined]  # talib builds its abstract API at import time
        default=0,
    )


def warmup_bars(features: pd.DataFrame) -> int:
    """Leading bars before every feature has a value."""
    import numpy as np

    valid = features.notna().to_numpy()
    if not len(valid):
        return 0
    firsts = [int(np.argmax(col)) if col.any() else len(valid) for col in valid.T]
    return max(firsts, default=0)


def forward_returns(close: pd.Series, horizon: int) -> np.ndarray:
    """close[t + horizon] / close[t] - 1; NaN for the last `horizon` bars."""
    import numpy as np

    c = close.to_numpy(dtype="float64")
    out = np.full(len(c), np.nan)
    out[:-horizon] = c[horizon:] / c[:-horizon] - 1.0
    return out


def make_labels(close: pd.Series, label: LabelSpec) -> np.ndarray:
    """Class per bar (-1 down, 0 flat, 1 up) as float; NaN where the horizon runs past the data."""
    import numpy as np

    r = forward_returns(close, label.horizon)
    y = np.full(len(r), np.nan)
    known = ~np.isnan(r)
    if label.classes == "up_down":
        y[known] = np.where(r[known] > label.threshold, 1.0, -1.0)
    else:
        y[known] = np.where(r[known] > label.threshold, 1.0, np.where(r[known] < -label.threshold, -1.0, 0.0))
    return y
