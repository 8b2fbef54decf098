"""Operation results written to JSONB: what training and backtests report.

No numpy/pandas here: the polling tick imports this module.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TrainingResult(BaseModel):
    """What a training run measured on its time-ordered validation part."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    accuracy: float = Field(description="accuracy on the validation part")
    log_loss: float = Field(description="final loss: log loss on the validation part")
    train_accuracy: float
    majority_baseline_accuracy: float = Field(
        description="validation accuracy of always predicting the training majority class"
    )
    iterations: int = Field(description="epochs / boosting iterations / trees / solver iterations completed")
    early_stopped: bool
    class_balance: dict[str, float] = Field(description="label class fractions in the training part")
    classes: list[str]
    train_bars: int
    validation_bars: int
    holdout_bars: int
    train_start: datetime
    validation_start: datetime
    holdout_start: datetime
    feature_columns: list[str]
    model_family: str
    model_path: str
    strategy_hash: str
    duration_s: float


class BacktestResult(BaseModel):
    """Performance of the trained model's signals on the held-out bars.

    Ratios a zero denominator leaves undefined (no losing bar, no drawdown,
    no losing trade) are None.
    """

    model_config = ConfigDict(extra="ignore")

    sharpe: float = Field(description="annualized by the bars per year of the data's own calendar")
    sortino: float | None
    calmar: float | None
    total_return: float
    cagr: float
    max_drawdown: float = Field(description="largest peak-to-trough equity loss, a fraction in [0, 1]")
    win_rate: float = Field(description="fraction of closed trades with a positive net return")
    total_trades: int
    profit_factor: float | None
    exposure: float = Field(description="fraction of bars with an open position")
    buy_and_hold_return: float
    deflated_sharpe: float = Field(
        description="probability the true Sharpe exceeds the best of n_trials null strategies"
    )
    n_trials: int
    bars: int
    bars_per_year: float
    start: datetime
    end: datetime
    avg_trade_return: float
    equity_curve: list[tuple[datetime, float]] = Field(description="equity (starting at 1.0), at most 500 points")
    duration_s: float = 0.0
