"""Operation results written to JSONB: what training, the research backtest and the final holdout report.

No numpy/pandas here: the polling tick imports this module.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TrainingResult(BaseModel):
    """What walk-forward training measured out of fold on the research period.

    Every figure is on out-of-fold (OOF) bars: each predicted by a model fitted only on
    bars before it, a purge gap earlier. The best constant guess of a fold is the majority
    class of that fold's training rows, so it is chosen on training data as the model is.
    """

    # Validators are built on first use: the tick that polls imports these and validates none.
    model_config = ConfigDict(extra="ignore", protected_namespaces=(), defer_build=True)

    accuracy: float = Field(description="out-of-fold accuracy over every scored research bar")
    constant_accuracy: float = Field(
        description="accuracy on the same bars of each fold's best constant guess (its training majority class)"
    )
    accuracy_p_value: float = Field(
        description="one-sided binomial p-value of accuracy > constant_accuracy on effective_bars bars"
    )
    oof_bars: int = Field(description="research bars predicted out of fold")
    oof_correct: int = Field(description="of those, how many the model called right")
    effective_bars: int = Field(
        description="oof_bars / label horizon: labels overlapping by horizon - 1 bars are not independent trials"
    )
    log_loss: float = Field(description="out-of-fold log loss")
    excess_sharpe: float | None = Field(
        default=None, description="annualized Sharpe of the out-of-fold trades' return in excess of the market exposure"
    )
    excess_t: float | None = Field(default=None, description="HAC t statistic of that mean excess return")
    excess_p_value: float | None = Field(
        default=None, description="one-sided HAC p-value of 'the out-of-fold mean excess return is <= 0'"
    )
    exposure_net: float | None = Field(default=None, description="average out-of-fold position (-1 .. 1)")
    oof_trades: int | None = Field(default=None, description="trades the rules made on the out-of-fold predictions")
    trial_path: str | None = Field(
        default=None, description="the out-of-fold excess returns, kept for the backtest's data-snooping test"
    )
    train_accuracy: float = Field(description="mean over folds of the accuracy on the fold's own training rows")
    folds: int
    fold_accuracy: list[float] = Field(description="out-of-fold accuracy per fold, in time order")
    fold_constant_accuracy: list[float] = Field(description="the best constant guess's accuracy per fold")
    fold_constant_class: list[str] = Field(description="each fold's best constant guess (training majority class)")
    iterations: int = Field(description="median over folds of epochs / boosting iterations / trees / solver iterations")
    early_stopped: bool = Field(description="some fold's model stopped early")
    class_balance: dict[str, float] = Field(description="label class fractions on the out-of-fold bars")
    prediction_balance: dict[str, float] = Field(description="predicted class fractions on the out-of-fold bars")
    classes: list[str]
    research_start: datetime = Field(description="first bar of the research period")
    oof_start: datetime = Field(description="first out-of-fold bar (fold 1's first)")
    research_end: datetime = Field(description="last bar of the research period")
    research_bars: int
    purge_bars: int = Field(description="bars between the research period and the final holdout: horizon + lookback")
    holdout_start: datetime = Field(description="first bar of the sealed final holdout (never read here)")
    feature_columns: list[str]
    model_family: str
    model_path: str = Field(description="the artifact holding the out-of-fold predictions the backtest reads")
    strategy_hash: str
    duration_s: float


class Performance(BaseModel):
    """A simulation's performance over its bars.

    Ratios a zero denominator leaves undefined (no losing bar, no drawdown,
    no losing trade) are None.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    sharpe: float = Field(description="mean / std of per-bar returns, annualized by the data's own bars per year")
    sortino: float | None
    calmar: float | None
    total_return: float
    cagr: float
    max_drawdown: float = Field(description="largest peak-to-trough equity loss, a fraction in [0, 1]")
    win_rate: float = Field(description="fraction of closed trades with a positive net return")
    total_trades: int
    profit_factor: float | None = Field(description="gross profit / gross loss of the trades' P&L")
    exposure: float = Field(description="fraction of bars with an open position")
    buy_and_hold_return: float
    bars: int
    bars_per_year: float
    start: datetime
    end: datetime
    avg_trade_return: float
    equity_curve: list[tuple[datetime, float]] = Field(description="equity (starting at 1.0), at most 500 points")
    exposure_net: float | None = Field(
        default=None, description="average position (-1 short .. 1 long): the market exposure excess returns remove"
    )
    excess_sharpe: float | None = Field(
        default=None, description="annualized Sharpe of the return in excess of exposure_net times the market's"
    )
    excess_t: float | None = Field(default=None, description="HAC t statistic of the mean excess return")
    excess_p_value: float | None = Field(
        default=None, description="one-sided HAC p-value of 'the mean excess return is <= 0'"
    )
    buy_and_hold_drawdown: float | None = Field(
        default=None, description="buy and hold's largest peak-to-trough loss over the same bars"
    )


class DeflatedInputs(BaseModel):
    """The deflated Sharpe's inputs (Bailey & López de Prado 2014), kept so a report can recompute it later."""

    model_config = ConfigDict(defer_build=True)

    n_trials: int = Field(
        description="trials the strategy was selected from, itself included (a backtest: strategies saved, all datasets)"
    )
    sr: float = Field(description="per-bar (not annualized) Sharpe ratio of the strategy's returns")
    sr0: float = Field(description="expected maximum per-bar Sharpe of n_trials unskilled trials")
    skew: float
    kurtosis: float = Field(description="not excess: normal = 3")
    t: int = Field(description="number of per-bar returns")
    var_trials: float = Field(description="variance of the trials' per-bar Sharpe ratios")
    variance_source: str = Field(description="where var_trials came from")


class BacktestResult(Performance, DeflatedInputs):
    """The research backtest: the strategy's trading rules on the concatenated out-of-fold predictions.

    The deflated Sharpe's inputs are kept so a report can recompute it with a later trial count.
    """

    deflated_sharpe: float = Field(description="probability the true Sharpe exceeds the best of n_trials null trials")
    folds: int
    fold_sharpe: list[float] = Field(description="annualized Sharpe per fold, in time order")
    fold_return: list[float] = Field(description="compounded return per fold")
    # Per-fold figures beside training's (same shape, other facts): a report shows each fold's accuracy,
    # return and Sharpe from this one record; accuracy is training's figure, carried, not measured again.
    fold_accuracy: list[float] = Field(description="out-of-fold accuracy per fold (as training measured it)")
    folds_profitable: int = Field(description="folds with a positive return")
    blocks: list[list[float]] = Field(
        description="[sum, sum of squares, count] of per-bar returns in each time block of [blocks_start, blocks_end)"
    )
    blocks_start: int = Field(description="bar position where the blocks start: the dataset's first out-of-fold bar")
    blocks_end: int = Field(description="bar position where the blocks end: the dataset's final holdout start")
    snooping_p_value: float | None = Field(
        default=None,
        description="Reality-Check p-value of the excess return among every strategy trained on this dataset",
    )
    snooping_trials: int | None = Field(
        default=None, description="strategies trained on this dataset in the snooping family, itself included"
    )
    effective_trials: float | None = Field(
        default=None, description="independent trials the family is worth (Šidák-equivalent)"
    )
    duration_s: float = 0.0


class HoldoutResult(Performance):
    """The sealed final holdout: one model fitted on the whole research period, traded on the holdout bars only."""

    sharpe_p_value: float = Field(description="one-sided p-value of 'the true Sharpe is <= 0' from per-bar returns")
    duration_s: float = 0.0
