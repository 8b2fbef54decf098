"""The gates' words: their thresholds (configuration) and a verdict (what a result row keeps).

Below the store and the settings, which read them; the gates themselves (pure functions
over a result) are in `lab/gates.py`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agentctl.domain import Gate

# A one-sided test's significance level.
Alpha = Annotated[float, Field(gt=0, le=1)]


class GateThresholds(BaseModel):
    """Gate thresholds (AGENTCTL_GATES__<NAME> or a [gates] table).

    The defaults ask for economic evidence, not a good-looking number: out-of-fold trades
    that earn more than the market exposure they hold (training), the same excess return
    still significant among every strategy trained on the dataset (backtest), and again on
    the sealed final holdout (confirmation). Each test is one-sided at its alpha.
    """

    training_alpha: Alpha = Field(
        default=0.05,
        description="training gate: the HAC p-value of the out-of-fold excess return above 0 must be below this",
    )
    research_alpha: Alpha = Field(
        default=0.05,
        description="backtest gate: the data-snooping (Reality Check) p-value among the dataset's trials must be below this",
    )
    min_trades: int = Field(default=10, ge=0, description="backtest and holdout gates: at least this many trades")
    max_drawdown_vs_market: float = Field(
        default=1.5, gt=0, description="backtest gate: max drawdown at most this multiple of buy and hold's, same bars"
    )
    max_drawdown: float | None = Field(
        default=None, gt=0, le=1, description="backtest gate: optional absolute cap on max drawdown (a fraction)"
    )
    min_win_rate: float = Field(default=0.0, description="backtest gate: at least this share of trades won (0: off)")
    min_sharpe: float = Field(default=0.0, description="backtest gate: annualized Sharpe must be above this")
    min_deflated_sharpe: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="backtest gate: deflated Sharpe at least this (0: reported only; the snooping test decides)",
    )
    confirm_alpha: Alpha = Field(
        default=0.05,
        description="holdout gate: the HAC p-value of the holdout excess return above 0 must be below this",
    )


class GateVerdict(BaseModel):
    """A gate's decision with reasons showing actual vs threshold."""

    model_config = ConfigDict(defer_build=True)  # built when a gate decides, not on every tick

    gate: Gate
    passed: bool
    reasons: list[str]
