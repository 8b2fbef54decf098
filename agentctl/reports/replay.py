"""A strategy's model and its trades, from the artifacts the lab stored: what `export` and `predict` share.

Which model stands for a strategy: for a cycle tested on the sealed final holdout, the
model the holdout fitted on the whole research period (lab/holdout.py keeps it);
otherwise the training artifact, whose last fold's model made the research backtest's
last predictions. Trades are not stored with a backtest, so they are recomputed here
with the lab's own `trade()`/`simulate()` on the stored predictions or model, and
checked against the stored figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas as pd

    from agentctl.lab.backtest import Simulation
    from agentctl.lab.strategy import StrategyConfig
    from agentctl.store.records import Cycle


class ReplayError(Exception):
    """The strategy's artifacts cannot be used; the message says why and what to do."""


class ModelChoice(BaseModel):
    kind: Literal["final", "training"]  # fitted on the whole research period, or the training artifact
    location: str
    why: str


def strategy_config(cycle: Cycle) -> StrategyConfig:
    """The cycle's strategy as the lab reads it; ReplayError when it has none."""
    from agentctl.lab.strategy import StrategyConfig

    if not cycle.strategy_config:
        raise ReplayError(f"cycle {cycle.id} has no strategy (it ended before one was saved)")
    return StrategyConfig.model_validate(cycle.strategy_config)


def choose_model(cycle: Cycle, config: StrategyConfig, home: Path) -> ModelChoice:
    """The model that stands for the cycle's strategy (see the module's docstring)."""
    from agentctl.lab.artifacts import is_url
    from agentctl.lab.holdout import final_model_location

    training = cycle.training_results.model_path if cycle.training_results else None
    if cycle.final_holdout_results is not None:
        final = final_model_location(config, home)
        if is_url(final) or Path(final).exists():
            return ModelChoice(
                kind="final", location=final, why="tested on the final holdout: the model fitted on the research period"
            )
        if training is None:
            raise ReplayError(f"cycle {cycle.id}: its final model {final} is missing and it has no training artifact")
        return ModelChoice(
            kind="training",
            location=training,
            why=f"tested on the final holdout, but its final model was not kept ({final} is missing): the training artifact",
        )
    if training is None:
        raise ReplayError(f"cycle {cycle.id} has no trained model (its training did not complete)")
    return ModelChoice(kind="training", location=training, why="not tested on the final holdout: the training artifact")


def load_artifact(choice: ModelChoice) -> dict[str, Any]:
    from agentctl.lab import artifacts

    try:
        art = artifacts.load(choice.location)
    except FileNotFoundError:
        raise ReplayError(f"the model file {choice.location} is missing") from None
    if not isinstance(art, dict):
        raise ReplayError(f"{choice.location} is not a model file agentctl wrote")
    return art


def model_of(art: dict[str, Any], choice: ModelChoice) -> Any:
    """The fitted model in an artifact; ReplayError for a training artifact from before models were kept."""
    model = art.get("model")
    if model is None:
        raise ReplayError(
            f"{choice.location} holds out-of-fold predictions only (trained before agentctl kept the last fold's "
            "model): there is no model to predict with"
        )
    return model


@dataclass
class Replay:
    """A backtest recomputed: its bars and the lab's simulation of them."""

    what: str  # "research backtest" or "final holdout"
    bars: pd.DataFrame
    sim: Simulation


def research_replay(config: StrategyConfig, art: dict[str, Any], df: pd.DataFrame) -> Replay:
    """The research backtest again: the stored out-of-fold predictions traded by the strategy's rules."""
    import numpy as np

    from agentctl.lab.backtest import trade

    start, end = art["positions"]
    if not np.array_equal(df.index[start:end].asi8, art["timestamps"]):
        raise ReplayError("the dataset changed since training: its trades cannot be recomputed")
    bars = df.iloc[start:end]
    return Replay("research backtest", bars, trade(art["proba"], art["classes"], bars, config))


def holdout_replay(config: StrategyConfig, art: dict[str, Any], df: pd.DataFrame) -> Replay:
    """The final holdout again: the final model's predictions on the holdout bars, traded by the strategy's rules."""
    from agentctl.lab.backtest import trade
    from agentctl.lab.features import compute_features, feature_lookback
    from agentctl.lab.periods import periods
    from agentctl.lab.training import predict

    p = periods(len(df), config.label.horizon, feature_lookback(config.features), config.dataset.timeframe)
    if tuple(p) != tuple(art["periods"]):
        raise ReplayError("the dataset changed since the final holdout: its trades cannot be recomputed")
    X = compute_features(df, config.features).iloc[p.holdout_start :].to_numpy(dtype="float64")
    proba = predict(art["model"], X, _classes(art))
    bars = df.iloc[p.holdout_start :]
    return Replay("final holdout", bars, trade(proba, art["classes"], bars, config))


def _classes(art: dict[str, Any]) -> Any:
    import numpy as np

    return np.asarray(art["classes"])


def trades(replay: Replay) -> list[dict[str, Any]]:
    """One row per trade: direction, entry and exit bar and price (before slippage), bars held, net return."""
    sim, bars = replay.sim, replay.bars
    opens, closes, index = bars["open"].to_numpy(), bars["close"].to_numpy(), bars.index
    last = len(bars) - 1
    rows = []
    for k, (entry, exit_, direction, ret) in enumerate(
        zip(sim.entry_bar, sim.exit_bar, sim.direction, sim.trade_return, strict=True)
    ):
        # A trade closes at its exit bar's open; the last one, still open, at the last close.
        at_close = int(exit_) == last and (k == len(sim.entry_bar) - 1) and sim.position[last] != 0
        rows.append(
            {
                "trade": k + 1,
                "direction": "long" if direction > 0 else "short",
                "entry_time": index[int(entry)].isoformat(),
                "entry_price": float(opens[int(entry)]),
                "exit_time": index[int(exit_)].isoformat(),
                "exit_price": float(closes[last] if at_close else opens[int(exit_)]),
                "bars_held": int(exit_) - int(entry) + (1 if at_close else 0),
                "return": round(float(ret), 8),
            }
        )
    return rows


def matches(replay: Replay, trades_stored: int | None, return_stored: float | None) -> bool:
    """Whether the recomputed trades give the stored trade count and total return."""
    total = float(replay.sim.equity[-1] - 1) if len(replay.sim.equity) else 0.0
    same_count = trades_stored is None or trades_stored == len(replay.sim.trade_return)
    same_return = return_stored is None or abs(total - return_stored) < 1e-6
    return same_count and same_return


@dataclass
class Replays:
    """A cycle's backtests recomputed for `show`: each None with the reason in `notes` when it cannot be."""

    research: Replay | None
    holdout: Replay | None
    notes: list[str]


def cycle_replays(cycle: Cycle, home: Path, holdout_shown: bool) -> Replays:
    """The research backtest (training artifact) and, when its figures may be shown, the final holdout (final model)."""
    from agentctl.lab.data import DatasetError, load_ohlcv
    from agentctl.lab.features import LabError

    out = Replays(None, None, [])
    try:
        config = strategy_config(cycle)
        df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    except (ReplayError, DatasetError) as err:
        out.notes.append(f"trades not recomputed: {err}")
        return out
    path = cycle.training_results.model_path if cycle.training_results else None
    try:
        if path is not None and cycle.backtest_results is not None:
            out.research = research_replay(
                config, load_artifact(ModelChoice(kind="training", location=path, why="")), df
            )
        choice = choose_model(cycle, config, home) if holdout_shown else None
        if choice is not None and choice.kind == "final":
            out.holdout = holdout_replay(config, load_artifact(choice), df)
    except (ReplayError, LabError, KeyError) as err:
        out.notes.append(f"trades not recomputed: {err}")
    return out
