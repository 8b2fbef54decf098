"""`agentctl export ID DIR`: everything needed to reproduce or deploy one strategy, in one directory.

strategy.json (the strategy file), model.joblib (a copy of the model reports/replay.py
chooses), metrics.json (training, research backtest, and the final holdout only for a
cycle whose assessment passed), equity.csv (every bar) and trades.csv, both recomputed with
the lab's `simulate()` (backtests store neither their trades nor more than 500 equity points), the same two for the final holdout
when its figures may be shown, and summary.md (what was tried, how often, on which data).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.reports.replay import (
    ModelChoice,
    Replay,
    ReplayError,
    choose_model,
    holdout_replay,
    load_artifact,
    matches,
    research_replay,
    strategy_config,
    trades,
)
from agentctl.reports.research import holdout
from agentctl.reports.summary import summary_markdown
from agentctl.store import reports as store
from agentctl.store.records import HoldoutRecord

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.settings import Settings
    from agentctl.store.records import Cycle


class ExportRefused(ReplayError):
    """The directory is not empty and --force was not given."""


class TradesFile(BaseModel):
    file: str
    backtest: str  # research backtest | final holdout
    trades: int
    source: str  # how the trades were obtained
    matches_stored: bool  # the recomputed trades give the stored trade count and return


class EquityFile(BaseModel):
    file: str
    rows: int
    holds: str  # every bar, or the stored curve's points when the backtest could not be recomputed


class Export(BaseModel):
    cycle: int
    strategy: str
    directory: str
    files: list[str]
    model: ModelChoice
    trades: list[TradesFile]
    equity: list[EquityFile] = []
    holdout: str  # shown | sealed | not_tested
    notes: list[str]


RECOMPUTED = "recomputed with the lab's simulate() from the stored {what} (backtests do not store trades)"


def export(
    conn: psycopg.Connection[Any], settings: Settings, cycle_id: int, directory: Path, force: bool = False
) -> Export | None:
    """Write cycle `cycle_id`'s strategy into `directory`; None when there is no such cycle."""
    cycle = store.cycle(conn, cycle_id)
    if cycle is None:
        return None
    config = strategy_config(cycle)
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())) and not force:
        raise ExportRefused(f"{directory} exists and is not empty: name a new directory or pass --force")
    choice = choose_model(cycle, config, settings.home)
    art = load_artifact(choice)
    directory.mkdir(parents=True, exist_ok=True)
    sealed = holdout(cycle)
    out = Export(
        cycle=cycle.id,
        strategy=config.name,
        directory=str(directory),
        files=[],
        model=choice,
        trades=[],
        holdout=sealed.state,
        notes=[],
    )
    _write(out, directory / "strategy.json", json.dumps(cycle.strategy_config, indent=2) + "\n")
    _copy_model(choice, directory / "model.joblib")
    out.files.append("model.joblib")
    _write(out, directory / "metrics.json", json.dumps(_metrics(cycle), indent=2, default=str) + "\n")
    _backtests(out, cycle, config, art, settings.home, directory)
    _write(out, directory / "summary.md", _summary(conn, cycle, config, out))
    return out


def _write(out: Export, path: Path, text: str) -> None:
    path.write_text(text)
    out.files.append(path.name)


def _copy_model(choice: ModelChoice, target: Path) -> None:
    import shutil

    from agentctl.lab import artifacts

    if artifacts.is_url(choice.location):
        artifacts.save(artifacts.load(choice.location), target)
    else:
        shutil.copyfile(choice.location, target)


def _metrics(cycle: Cycle) -> dict[str, Any]:
    """The stored figures: training, the research backtest and, only once the assessment passed, the final holdout."""
    tr, bt = cycle.training_results, cycle.backtest_results
    h = holdout(cycle)
    return {
        "cycle": cycle.id,
        "outcome": cycle.outcome,
        "training": tr.model_dump(mode="json", exclude_unset=True) if tr else None,
        "research_backtest": bt.model_dump(mode="json", exclude_unset=True, exclude={"equity_curve", "blocks"})
        if bt
        else None,
        "assessment": cycle.assessment.model_dump(mode="json", exclude_unset=True) if cycle.assessment else None,
        "final_holdout": {**(h.results or {}), "gate": h.gate.model_dump() if h.gate else None}
        if h.state == "shown"
        else {"state": h.state, "why": h.line},
    }


def _backtests(
    out: Export, cycle: Cycle, config: StrategyConfig, art: dict[str, Any], home: Path, directory: Path
) -> None:
    """equity.csv and trades.csv of the research backtest, and of the final holdout when it may be shown."""
    from agentctl.lab.data import DatasetError, load_ohlcv

    try:
        df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    except DatasetError as err:
        out.notes.append(f"no trades or buy and hold: {err}")
        df = None
    bt = cycle.backtest_results
    training = art if out.model.kind == "training" else _training_artifact(cycle, out)
    replay = None
    if df is not None and training is not None and bt is not None:
        replay = _replay(out, lambda: research_replay(config, training, df))
        if replay is not None:
            _trades(out, directory / "trades.csv", replay, bt.total_trades, bt.total_return, "out-of-fold predictions")
    if bt is not None and (replay is not None or bt.equity_curve):
        _equity(out, directory / "equity.csv", replay, bt.equity_curve, df)
    if out.holdout != "shown" or out.model.kind != "final" or df is None:
        return
    h = cycle.final_holdout_results or HoldoutRecord.model_validate({})
    replay = _replay(out, lambda: holdout_replay(config, art, df))
    if replay is not None:
        _trades(out, directory / "trades_holdout.csv", replay, h.total_trades, h.total_return, "final model")
    if replay is not None or h.equity_curve:
        _equity(out, directory / "equity_holdout.csv", replay, h.equity_curve, df)


def _training_artifact(cycle: Cycle, out: Export) -> dict[str, Any] | None:
    path = cycle.training_results.model_path if cycle.training_results else None
    if path is None:
        return None
    try:
        return load_artifact(ModelChoice(kind="training", location=path, why=""))
    except ReplayError as err:
        out.notes.append(f"research trades not recomputed: {err}")
        return None


def _replay(out: Export, make: Any) -> Replay | None:
    from agentctl.lab.features import LabError

    try:
        replay: Replay = make()
    except (ReplayError, LabError, KeyError) as err:
        out.notes.append(f"trades not recomputed: {err}")
        return None
    return replay


def full_curve(replay: Replay) -> list[tuple[Any, float]]:
    """Every bar's equity of a recomputed backtest (the stored curve keeps at most a few hundred points)."""
    return [(t.to_pydatetime(), float(v)) for t, v in zip(replay.bars.index, replay.sim.equity, strict=True)]


def _equity(out: Export, path: Path, replay: Replay | None, stored: list[Any], df: pd.DataFrame | None) -> None:
    """time, equity, drawdown from its running peak, and buy and hold over the same bars (when the data is here).

    One row per bar from the recomputed backtest; only when it cannot be recomputed, the stored
    (downsampled) curve, and a note says so.
    """
    from agentctl.plot import buy_and_hold, drawdown, points

    if replay is not None and len(replay.sim.equity) == len(replay.bars):
        curve, rows = full_curve(replay), "every bar"
    else:
        curve, rows = stored, f"{len(stored)} points of the stored curve, not every bar"
        out.notes.append(f"{path.name}: {rows} (the backtest could not be recomputed)")
    out.equity.append(EquityFile(file=path.name, rows=len(curve), holds=rows))
    xs, ys = points(curve)
    dd = drawdown(ys)
    bh = buy_and_hold(xs, df["close"]) if df is not None else None
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "equity", "drawdown", "buy_and_hold"])
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            w.writerow([x.isoformat(), f"{y:.6f}", f"{dd[i]:.6f}", "" if bh is None else f"{bh[i]:.6f}"])
    out.files.append(path.name)


def _trades(out: Export, path: Path, replay: Replay, n: Any, ret: Any, source: str) -> None:
    rows = trades(replay)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(
            f, ["trade", "direction", "entry_time", "entry_price", "exit_time", "exit_price", "bars_held", "return"]
        )
        w.writeheader()
        w.writerows(rows)
    same = matches(replay, n, ret)
    out.files.append(path.name)
    out.trades.append(
        TradesFile(
            file=path.name,
            backtest=replay.what,
            trades=len(rows),
            source=RECOMPUTED.format(what=source),
            matches_stored=same,
        )
    )
    if not same:
        out.notes.append(f"{path.name}: the recomputed trades differ from the stored {replay.what} figures")


def _summary(conn: psycopg.Connection[Any], cycle: Cycle, config: StrategyConfig, out: Export) -> str:
    files = [
        f"- model.joblib: {out.model.why}",
        *[f"- {e.file}: equity (from 1.0), drawdown and buy and hold, {e.holds} ({e.rows} rows)" for e in out.equity],
        *[f"- {t.file}: {t.trades} trades of the {t.backtest}, {t.source}" for t in out.trades],
        *[f"- note: {n}" for n in out.notes],
    ]
    return summary_markdown(conn, cycle, config, files)
