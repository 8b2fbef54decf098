"""A dataset's periods: research, purge gap and the sealed final holdout, and what its holdout can confirm.

The holdout is a property of the dataset alone (its last HOLDOUT_FRACTION of bars), so
every strategy on a dataset is confirmed on the same bars and none of them ever
researched on those.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from agentctl.lab.data import DatasetInfo

# The last HOLDOUT_FRACTION of every dataset is its sealed final holdout (AGENTCTL_HOLDOUT_SHARE), at least
# the timeframe's minimum bars (AGENTCTL_MIN_HOLDOUT_BARS): only the holdout operation reads it.
HOLDOUT_FRACTION = 0.2
MIN_RESEARCH_BARS = 300  # a holdout that leaves fewer research bars than this leaves nothing to research on


class Periods(NamedTuple):
    """A dataset's three periods in time order, as bar positions: research, purge gap, sealed final holdout.

    The holdout's start is a property of the dataset alone (its last HOLDOUT_FRACTION), so
    every strategy on a dataset is confirmed on the same bars and none of them ever
    researched on those. The research period ends `purge` bars earlier, so no label
    (`horizon` bars ahead) of a research bar and no feature (`lookback` bars back) of a
    holdout bar reaches across the gap.
    """

    research_start: int  # first research bar
    research_end: int  # one past the last research bar
    holdout_start: int  # first bar of the sealed final holdout; [research_end, holdout_start) is the purge gap
    end: int  # number of bars

    @property
    def purge(self) -> int:
        return self.holdout_start - self.research_end


def holdout_policy() -> tuple[float, dict[str, int]]:
    """(share, minimum bars per timeframe) of every dataset's final holdout, from the settings."""
    return _policy(*policy_key())


def policy_key() -> tuple[str | None, str | None]:
    """What the holdout policy is read from: a cache of anything derived from it is keyed by this."""
    import os

    return os.environ.get("AGENTCTL_HOLDOUT_SHARE"), os.environ.get("AGENTCTL_MIN_HOLDOUT_BARS")


@functools.lru_cache(maxsize=8)
def _policy(share: str | None, minimum: str | None) -> tuple[float, dict[str, int]]:
    from agentctl.settings import Settings

    settings = Settings()
    return settings.holdout_share, dict(settings.min_holdout_bars)


def holdout_index(n: int, timeframe: str | None = None) -> int:
    """First bar of the sealed final holdout of n bars: a property of the dataset, not of any strategy.

    Its last share of bars, or the timeframe's minimum when that is longer; the minimum
    may not leave fewer than MIN_RESEARCH_BARS to research on.
    """
    share, minimum = holdout_policy() if timeframe is not None else (HOLDOUT_FRACTION, {})
    length = max(n - int(n * (1 - share)), minimum.get(timeframe or "", 0))
    if timeframe is not None and n - length < min(MIN_RESEARCH_BARS, int(n * (1 - share))):
        from agentctl.lab.data import DatasetError

        raise DatasetError(
            f"AGENTCTL_MIN_HOLDOUT_BARS: a {length}-bar holdout of a {timeframe} dataset of {n} bars leaves "
            f"{n - length} to research on (need {MIN_RESEARCH_BARS}); lower it for {timeframe}"
        )
    return n - length


def holdout_start_time(symbol: str, timeframe: str, home: Path | None) -> datetime:
    """When the dataset's sealed final holdout starts under the current policy: the bars its one test trades."""
    from agentctl.lab.data import load_ohlcv

    df = load_ohlcv(symbol, timeframe, home)
    start: datetime = df.index[holdout_index(len(df), timeframe)].to_pydatetime()
    return start


def periods(n: int, horizon: int, lookback: int, timeframe: str | None = None) -> Periods:
    """The research period, purge gap and final holdout of n bars for a label `horizon` and feature `lookback`.

    The purge gap is horizon + lookback bars, so a label computed in the research period
    never reads a holdout close, and a holdout feature never reads a bar whose label trained
    a model. Raises DatasetError when nothing is left to research on.
    """
    start = holdout_index(n, timeframe)
    purge = max(0, int(horizon)) + max(0, int(lookback))
    if start >= n or start - purge <= 0:
        from agentctl.lab.data import DatasetError

        raise DatasetError(
            f"{n} bars are too few: a {purge}-bar purge gap (label horizon {horizon} + feature lookback {lookback}) "
            f"before the final holdout at bar {start} leaves no research period"
        )
    return Periods(0, start - purge, start, n)


def fold_parts(p: Periods, folds: int) -> list[tuple[int, int]]:
    """The walk-forward folds' scored parts, [start, end) per fold, in time order.

    The research period as the dataset defines it, [research_start, holdout_start), is cut
    into folds + 1 equal parts; part 0 only trains, fold i scores part i. The parts are the
    dataset's (the same for every strategy with the same fold count); only the last is cut
    short, at research_end, by the strategy's purge gap.
    """
    span = p.holdout_start - p.research_start
    cuts = [p.research_start + span * k // (folds + 1) for k in range(folds + 2)]
    return [(cuts[k], min(cuts[k + 1], p.research_end)) for k in range(1, folds + 1)]


def holdout_years(info: DatasetInfo) -> float:
    """The final holdout's length in calendar years."""
    return max(0.0, (info.last_bar - info.holdout_start).total_seconds() / 86400 / 365.25)


def confirmable_sharpe(info: DatasetInfo, alpha: float, power: float) -> float:
    """The annualized excess Sharpe a strategy needs for `power` chance of confirmation on this dataset's holdout."""
    from agentctl.lab.excess import needed_sharpe

    return needed_sharpe(holdout_years(info), alpha, power)


CONFIRMABLE_SHARPE = 2.0  # a holdout that cannot confirm this Sharpe at 80% is marked, and proposed on less


class Confirmability(BaseModel):
    """What a dataset's final holdout can confirm: the excess Sharpe a strategy needs for a 50% and an 80% chance."""

    holdout_years: float
    sharpe_for_50: float
    sharpe_for_80: float
    can_confirm: bool  # Sharpe CONFIRMABLE_SHARPE is confirmed at least 80% of the time

    def words(self) -> str:
        mark = "" if self.can_confirm else " *"
        return f"{self.sharpe_for_50:.2f}/{self.sharpe_for_80:.2f}{mark}"


def confirmability(info: DatasetInfo, alpha: float = 0.05) -> Confirmability:
    """The Sharpe this dataset's holdout needs for confirmation at the holdout gate's alpha."""
    s80 = confirmable_sharpe(info, alpha, 0.8)
    return Confirmability(
        holdout_years=round(holdout_years(info), 2),
        sharpe_for_50=round(confirmable_sharpe(info, alpha, 0.5), 2),
        sharpe_for_80=round(s80, 2),
        can_confirm=s80 <= CONFIRMABLE_SHARPE,
    )
