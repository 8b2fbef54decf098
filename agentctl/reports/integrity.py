"""`agentctl integrity`: how much was tried, how often it passed, and what chance alone would give.

A sceptical reader's first questions about any confirmed strategy: how many were
tried on the same data, how many passed each gate, how many confirmations the
final holdout would hand out by luck, how likely the best backtest is overfit
(PBO), and whether the paid designer confirms more than the free one per dollar.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError, computed_field

from agentctl.domain import Money
from agentctl.lab.periods import Confirmability
from agentctl.reports.common import num
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

DEFAULT_CONFIRM_ALPHA = 0.05  # the final holdout's significance level when settings do not name one
PBO_SCOPE_NOTE = (
    "PBO ranks strategies tried on the same data against each other, so it is given per dataset; "
    "across datasets it would mean nothing"
)
_BLOCKS = TypeAdapter(list[tuple[float, float, float]])


class PBOFigure(BaseModel):
    """The probability of backtest overfitting on one dataset (combinatorially symmetric cross-validation)."""

    pbo: float | None
    trials: int  # strategies whose return blocks went in
    blocks: int
    combinations: int
    median_logit: float | None
    note: str


class Tally(BaseModel):
    """How far the strategies tried got, and the confirmations chance alone would give."""

    trials: int  # distinct strategies saved
    training_passed: int
    backtest_passed: int
    assessments_passed: int
    holdout_tested: int  # strategies tested on the sealed final holdout
    confirmations: int  # outcome success: confirmed on the final holdout
    expected_by_chance: float  # holdout_tested x the confirmation alpha


class DatasetIntegrity(Tally):
    dataset: str  # "SYMBOL TIMEFRAME"
    symbol: str | None
    timeframe: str | None
    first_at: datetime | None
    pbo: PBOFigure
    power: Confirmability | None = None  # what its holdout can confirm; None: the dataset is gone


class Overall(Tally):
    pbo_note: str  # why there is no overall PBO


class DesignerIntegrity(store.DesignerTally):
    """The cycles one designer designed (the store's tally), named, with what each confirmation cost."""

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects a decorator over a property; pydantic needs it
    @property
    def designer(self) -> str:
        """The designer's name: `baseline`, or `claude <model>`."""
        return f"{self.agent} {self.model}" if self.model else self.agent

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects a decorator over a property; pydantic needs it
    @property
    def cost_per_confirmation_usd(self) -> Money | None:
        return self.cost_usd / self.confirmations if self.confirmations else None


class IntegrityReport(BaseModel):
    summary: str  # "N strategies tried on M datasets since DATE"
    strategies_tried: int
    datasets: int
    since: datetime | None
    confirm_alpha: float
    overall: Overall
    by_dataset: list[DatasetIntegrity]
    by_designer: list[DesignerIntegrity]


def confirm_alpha(settings: Settings) -> float:
    """The final holdout's significance level: the gates' setting, else 0.05."""
    return float(getattr(settings.gates, "confirm_alpha", DEFAULT_CONFIRM_ALPHA))


def _label(symbol: str | None, timeframe: str | None) -> str:
    return f"{symbol or '?'} {timeframe or '?'}"


def _blocks_by_dataset(conn: psycopg.Connection[Any]) -> dict[tuple[str | None, str | None], list[list[list[float]]]]:
    """Each dataset's trials' return blocks over the span most of its trials share.

    A trial whose blocks do not read is left out, and so is one cut over other bars (another
    fold count): PBO compares trials over the same time blocks only.
    """
    spans: dict[tuple[str | None, str | None], dict[tuple[int | None, int | None], list]] = {}
    for row in store.integrity_blocks(conn):
        try:
            blocks = _BLOCKS.validate_python(row.blocks)
        except ValidationError:
            continue
        if blocks:
            by_span = spans.setdefault((row.symbol, row.timeframe), {})
            by_span.setdefault((row.blocks_start, row.blocks_end), []).append([list(b) for b in blocks])
    return {dataset: max(by_span.values(), key=len) for dataset, by_span in spans.items()}


def pbo(trial_blocks: list[list[list[float]]]) -> PBOFigure:
    """PBO over the trials of one dataset; needs two trials cut into the same number of blocks."""
    # A backtest written by another version may cut its returns differently: keep the usual cut.
    width = Counter(len(t) for t in trial_blocks).most_common(1)[0][0] if trial_blocks else 0
    same = [t for t in trial_blocks if len(t) == width]
    dropped = len(trial_blocks) - len(same)
    left_out = f"; {dropped} with another number of blocks left out" if dropped else ""
    if len(same) < 2:
        note = f"needs at least 2 strategies with stored return blocks, {len(same)} here{left_out}"
        return PBOFigure(pbo=None, trials=len(same), blocks=width, combinations=0, median_logit=None, note=note)
    from agentctl.lab import stats

    try:
        res = stats.pbo_cscv(same)
    except ValueError as err:  # blocks no CSCV can split (an odd number, a non-finite sum): say so
        return PBOFigure(pbo=None, trials=len(same), blocks=width, combinations=0, median_logit=None, note=str(err))
    return PBOFigure(
        pbo=num(res.pbo),
        trials=res.trials,
        blocks=res.blocks,
        combinations=res.combinations,
        median_logit=num(res.median_logit),
        note=res.note + left_out,
    )


def _power(settings: Settings, alpha: float) -> dict[tuple[str | None, str | None], Confirmability]:
    """Each installed dataset's holdout: the Sharpe a strategy needs there for a 50% and an 80% chance."""
    from agentctl.lab.data import list_datasets
    from agentctl.lab.periods import confirmability

    return {(d.symbol, d.timeframe): confirmability(d, alpha) for d in list_datasets(settings.home)}


def _summary(tried: int, datasets: int, since: datetime | None) -> str:
    if tried == 0 or since is None:
        return "no strategies tried yet"
    s = "strategy" if tried == 1 else "strategies"
    d = "dataset" if datasets == 1 else "datasets"
    return f"{tried} {s} tried on {datasets} {d} since {since.date().isoformat()}"


def integrity(conn: psycopg.Connection[Any], settings: Settings) -> IntegrityReport:
    """Per dataset and overall: tried, passed, confirmed, expected by chance, PBO; per designer: cost per confirmation."""
    alpha = confirm_alpha(settings)
    blocks = _blocks_by_dataset(conn)
    power = _power(settings, alpha)
    rows = [
        DatasetIntegrity(
            **t.model_dump(exclude={"first_at", "symbol", "timeframe"}),
            expected_by_chance=round(t.holdout_tested * alpha, 4),
            dataset=_label(t.symbol, t.timeframe),
            symbol=t.symbol,
            timeframe=t.timeframe,
            first_at=t.first_at,
            pbo=pbo(blocks.get((t.symbol, t.timeframe), [])),
            power=power.get((t.symbol, t.timeframe)),
        )
        for t in store.integrity_datasets(conn)
    ]
    fields = ("trials", "training_passed", "backtest_passed", "assessments_passed", "holdout_tested", "confirmations")
    sums = {f: sum(getattr(d, f) for d in rows) for f in fields}
    overall = Overall(**sums, expected_by_chance=round(sums["holdout_tested"] * alpha, 4), pbo_note=PBO_SCOPE_NOTE)
    since = min((d.first_at for d in rows if d.first_at is not None), default=None)
    return IntegrityReport(
        summary=_summary(overall.trials, len(rows), since),
        strategies_tried=overall.trials,
        datasets=len(rows),
        since=since,
        confirm_alpha=alpha,
        overall=overall,
        by_dataset=rows,
        by_designer=[DesignerIntegrity.model_validate(d.model_dump()) for d in store.integrity_designers(conn)],
    )
