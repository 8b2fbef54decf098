"""`agentctl predict ID PATH`: the position a strategy's model takes on the last bar of the user's own data.

The file is read and checked as `agentctl data import` reads and checks one; the
features are the lab's own; the model is the one `export` ships (reports/replay.py);
the strategy's confidence rule turns the class probabilities into long, short or flat.
The position is decided at the last bar's close and held from the next bar's open,
as the backtests trade.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.reports.replay import ModelChoice, ReplayError, choose_model, load_artifact, model_of, strategy_config
from agentctl.store import reports as store

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.settings import Settings

Position = Literal["long", "short", "flat"]


class Prediction(BaseModel):
    cycle: int
    strategy: str
    dataset: str  # the dataset the strategy was researched on
    model: ModelChoice
    file: str
    bars: int
    last_bar: datetime
    probabilities: dict[str, float]  # by class: down, flat, up
    confidence: float
    direction: str  # long_only or long_short
    rule: str
    position: Position  # decided at the last bar's close, held from the next bar's open
    note: str | None  # e.g. the last bar lies inside the period the model was fitted on
    forced: list[str] = []  # why the bars did not fit the strategy, when --force predicted anyway


class UnfitBars(Exception):
    """The file's bars are not the strategy's market or bar size (overridden by --force)."""


def read_bars(path: Path, timeframe: str, allow_gaps: bool) -> pd.DataFrame:
    """The user's CSV or Parquet bars, read and checked as `agentctl data import` does (spacing apart)."""
    from agentctl.lab.userfile import read_checked

    return read_checked(Path(path), timeframe, allow_gaps, spacing=False)


def fit_problems(df: pd.DataFrame, config: StrategyConfig, home: Path) -> list[str]:
    """Why these bars are not the strategy's: another bar size, or prices on another scale than its symbol's."""
    from agentctl.lab.data import DatasetError
    from agentctl.lab.userfile import check_spacing

    name = f"{config.dataset.symbol}/{config.dataset.timeframe}"
    out = []
    try:
        check_spacing(df, config.dataset.timeframe)
    except DatasetError as err:
        out.append(f"{str(err).split(': use --timeframe')[0]} as {name} is")
    scale = _scale_problem(df, config, home)
    if scale:
        out.append(scale)
    return out


def _scale_problem(df: pd.DataFrame, config: StrategyConfig, home: Path) -> str | None:
    """The file's closes against the dataset's research bars: on shared dates within 25%, else within a drift."""
    import numpy as np

    from agentctl.lab.data import DatasetError, holdout_index, load_ohlcv

    symbol = config.dataset.symbol
    try:
        ref = load_ohlcv(symbol, config.dataset.timeframe, home)
    except DatasetError:
        return None  # the dataset is gone: nothing to compare with
    ref = ref.iloc[: holdout_index(len(ref))]  # the sealed final holdout is read by its operation only
    common = df.index.intersection(ref.index)
    if len(common) >= 20:
        ratio = float(np.median(df.loc[common, "close"].to_numpy() / ref.loc[common, "close"].to_numpy()))
        band, where = 1.25, f"on the {len(common)} dates both have"
    else:
        # No shared bars: compare the nearest ends, letting prices drift 25% a year between them.
        after = df.index[0] >= ref.index[-1]
        mine, theirs = (
            (df["close"].iloc[0], ref["close"].iloc[-1]) if after else (df["close"].iloc[-1], ref["close"].iloc[0])
        )
        years = abs((df.index[0] - ref.index[-1]) if after else (ref.index[0] - df.index[-1])).days / 365.25
        ratio, band, where = float(mine / theirs), 2 * 1.25**years, "where the two series meet"
    if 1 / band <= ratio <= band:
        return None
    return f"its closes are {ratio:.2f} times {symbol}'s {where}: other prices than {symbol}'s"


def rule_text(config: StrategyConfig) -> str:
    t = config.trading
    rule = f"long when P(up) >= {t.confidence:g}"
    if t.direction == "long_short":
        rule += f", short when P(down) >= {t.confidence:g} and above P(up)"
    return rule + ", else flat"


def decide(config: StrategyConfig, art: dict[str, Any], model: Any, df: pd.DataFrame) -> tuple[dict[str, float], int]:
    """The class probabilities on the last bar of `df` and the position (-1, 0, 1) the rule takes."""
    import numpy as np

    from agentctl.lab.backtest import signals_from_proba
    from agentctl.lab.features import CLASS_NAMES, LabError, compute_features, feature_lookback
    from agentctl.lab.training import predict

    features = compute_features(df, config.features)
    if list(features.columns) != list(art.get("columns", features.columns)):
        raise ReplayError("the model was fitted on other feature columns than the strategy computes")
    last = features.to_numpy(dtype="float64")[-1:]
    if not np.all(np.isfinite(last)):
        need = feature_lookback(config.features) + 1
        raise LabError(f"the last bar has no value for every feature: the file needs at least {need} bars")
    classes = [int(c) for c in art["classes"]]
    proba = predict(model, last, np.asarray(classes))
    t = config.trading
    signal = signals_from_proba(proba, classes, t.confidence, t.direction == "long_short")
    return {CLASS_NAMES[c]: round(float(p), 6) for c, p in zip(classes, proba[0], strict=True)}, int(signal[0])


def predict(
    conn: psycopg.Connection[Any],
    settings: Settings,
    cycle_id: int,
    path: Path,
    allow_gaps: bool = False,
    force: bool = False,
) -> Prediction | None:
    """The position cycle `cycle_id`'s model takes on the last bar of `path`; None when there is no such cycle.

    Bars of another bar size or another market than the strategy's raise UnfitBars, unless `force`.
    """
    cycle = store.cycle(conn, cycle_id)
    if cycle is None:
        return None
    config = strategy_config(cycle)
    choice = choose_model(cycle, config, settings.home)
    art = load_artifact(choice)
    model = model_of(art, choice)
    df = read_bars(path, config.dataset.timeframe, allow_gaps)
    problems = fit_problems(df, config, settings.home)
    if problems and not force:
        name = f"{config.dataset.symbol}/{config.dataset.timeframe}"
        raise UnfitBars(f"{Path(path).name} does not look like {name}: {'; '.join(problems)} (--force predicts anyway)")
    probabilities, signal = decide(config, art, model, df)
    last_bar = df.index[-1].to_pydatetime()
    return Prediction(
        cycle=cycle.id,
        strategy=config.name,
        dataset=f"{config.dataset.symbol}/{config.dataset.timeframe}",
        model=choice,
        file=str(path),
        bars=len(df),
        last_bar=last_bar,
        probabilities=probabilities,
        confidence=config.trading.confidence,
        direction=config.trading.direction,
        rule=rule_text(config),
        position="long" if signal > 0 else "short" if signal < 0 else "flat",
        note=_note(art, last_bar),
        forced=problems,
    )


def _note(art: dict[str, Any], last_bar: datetime) -> str | None:
    """Say so when the last bar is one the model was fitted on: its position is then no forecast."""
    through = art.get("fitted_through")
    if through is None and art.get("parts") and art.get("timestamps") is not None:
        import pandas as pd

        # The last fold's model was fitted on bars before its fold (a purge gap earlier).
        first = art["parts"][-1][0] - art["positions"][0]
        through = pd.Timestamp(int(art["timestamps"][first])).to_pydatetime()
    if through is not None and last_bar <= through:
        return (
            f"the last bar ({last_bar:%Y-%m-%d %H:%M}) is inside the bars the model was fitted on "
            f"(to {through:%Y-%m-%d %H:%M}): this position is no forecast"
        )
    return None
