"""The baseline's search: a seeded Optuna TPE study per dataset, learning from the research period only.

Each design asks the study of its dataset for the next strategy. The study is rebuilt
from what is already recorded, so it survives any kill: the parameters of every earlier
proposal are kept under `<home>/search/<symbol>_<timeframe>/<hash>.json`, and their
objective is the out-of-fold excess return's t statistic that training stored on the
cycle (`cycles.dataset_trials`). Nothing from the sealed final holdout ever reaches the
study, and every strategy it proposes that trains is a trial of the backtest's
data-snooping test, so the search's own selection is paid for there.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.files import write_atomically

if TYPE_CHECKING:
    import optuna

STARTUP_TRIALS = 8  # random proposals before the TPE model takes over
MAX_ASKS = 50

# Lagged returns over 1 to 5 bars, switched on together: a linear model's weights on their
# sums give every single lag, so momentum and reversal over a few bars are both in reach.
LAGS = (1, 2, 3, 5)
# Feature groups, each one indicator or none: (group, {TA-Lib function: has a period}, period range).
GROUPS: tuple[tuple[str, dict[str, bool], tuple[int, int]], ...] = (
    ("trend", {"ROC": True, "SMA": True, "EMA": True, "LINEARREG_SLOPE": True}, (5, 60)),
    ("oscillator", {"RSI": True, "CCI": True, "WILLR": True, "CMO": True, "BBANDS": True, "STOCH": False}, (3, 40)),
    ("volatility", {"NATR": True, "STDDEV": True, "ADX": True}, (5, 30)),
)


@dataclass(frozen=True)
class Past:
    """An earlier proposal on the dataset: its parameters and, once trained, its research objective."""

    params: dict[str, Any]
    objective: float | None  # None: it did not train (refused or still running)


def search_dir(home: Path, symbol: str, timeframe: str) -> Path:
    return Path(home) / "search" / f"{symbol}_{timeframe}"


def remember(home: Path, symbol: str, timeframe: str, chash: str, params: dict[str, Any]) -> None:
    """Keep a proposal's parameters (atomically: a kill leaves the old file or the new one)."""
    folder = search_dir(home, symbol, timeframe)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / f"{chash}.json", json.dumps(params, sort_keys=True))


def recall(home: Path, symbol: str, timeframe: str, objectives: dict[str, float | None]) -> list[Past]:
    """The remembered proposals whose strategy hash has a recorded outcome, with that outcome."""
    folder = search_dir(home, symbol, timeframe)
    out = []
    for chash, objective in objectives.items():
        try:
            params = json.loads((folder / f"{chash}.json").read_text())
        except (OSError, ValueError):
            continue  # proposed by another designer, or before the search kept its parameters
        if isinstance(params, dict):
            out.append(Past(params, objective))
    return out


class _Choices:
    """A model family's `sample(rng)` drawing through the study: each rng.choice is a named categorical."""

    def __init__(self, trial: optuna.trial.BaseTrial, prefix: str) -> None:
        self.trial, self.prefix, self.n = trial, prefix, 0

    def choice(self, options: Any) -> Any:
        self.n += 1
        return self.trial.suggest_categorical(f"{self.prefix}.{self.n}", list(options))


def _features(trial: optuna.trial.BaseTrial) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    if trial.suggest_categorical("lags", [True, False]):
        features += [{"function": "ROC", "params": {"timeperiod": lag}} for lag in LAGS]
    for group, functions, period in GROUPS:
        function = trial.suggest_categorical(group, ["none", *functions])
        if function == "none":
            continue
        if functions[function]:
            n = trial.suggest_int(f"{group}.period", *period)
            features.append({"function": function, "params": {"timeperiod": n}})
        else:
            features.append({"function": function})
    return features or [{"function": "ROC", "params": {"timeperiod": 1}}]


def _label_and_trading(trial: optuna.trial.BaseTrial, hourly: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    horizon = trial.suggest_categorical("horizon", [1, 2, 4, 7] if hourly else [1, 2, 3, 5])
    three = trial.suggest_categorical("classes", ["up_down", "up_flat_down"]) == "up_flat_down"
    threshold = trial.suggest_categorical("threshold", [0.001, 0.002, 0.004]) if three else 0.0
    low, high = (0.34, 0.5) if three else (0.5, 0.6)
    trading = {
        "confidence": round(trial.suggest_float("confidence." + ("3" if three else "2"), low, high), 3),
        "direction": trial.suggest_categorical("direction", ["long_short", "long_only"]),
        "fee_bps": 1.0,
        "slippage_bps": 1.0,
    }
    label = {"horizon": horizon, "classes": "up_flat_down" if three else "up_down", "threshold": threshold}
    return label, trading


def _model(trial: optuna.trial.BaseTrial) -> dict[str, Any]:
    from agentctl.lab import models

    names = sorted(set(models.baseline_draws()))
    family = trial.suggest_categorical("family", names)
    # _Choices offers the one method the samplers call on their random.Random: choice.
    choices: Any = _Choices(trial, family)
    return models.FAMILIES[family].sample(choices) | {"family": family}


def _define(trial: optuna.trial.BaseTrial, hourly: bool) -> dict[str, Any]:
    """The whole strategy space, define-by-run: the study sees the same names for the same choices."""
    features = _features(trial)
    label, trading = _label_and_trading(trial, hourly)
    return {"features": features, "label": label, "model": _model(trial), "trading": trading}


def study(seed: str, past: list[Past], hourly: bool, sampler_name: str = "tpe") -> optuna.Study:
    """A study told every earlier proposal's parameters and objective (failed when it did not train)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # multivariate, group
    sampler: optuna.samplers.BaseSampler
    if sampler_name == "random":
        sampler = optuna.samplers.RandomSampler(seed=_int_seed(seed))
    else:
        sampler = optuna.samplers.TPESampler(
            seed=_int_seed(seed), n_startup_trials=STARTUP_TRIALS, multivariate=True, group=True
        )
    s = optuna.create_study(direction="maximize", sampler=sampler)
    for p in past:
        fixed = optuna.trial.FixedTrial(p.params)
        try:
            _define(fixed, hourly)  # re-derives each parameter's distribution from the space
        except (ValueError, KeyError, TypeError):
            continue  # a proposal from an older space
        done = optuna.trial.TrialState.FAIL if p.objective is None else optuna.trial.TrialState.COMPLETE
        s.add_trial(
            optuna.trial.create_trial(
                params=fixed.params, distributions=fixed.distributions, value=p.objective, state=done
            )
        )
    return s


def propose(
    seed: str, past: list[Past], dataset: tuple[str, str], home: Path, tried: set[str], sampler: str = "tpe"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The study's next valid, untried proposal on `dataset` (a strategy config as the agent writes it) and its parameters.

    A proposal the database already tried (`tried`: strategy hashes) is told to the study
    as no better than the worst so far, an invalid one as failed, and the study is asked again.
    """
    import optuna

    from agentctl.lab.strategy import strategy_hash, validate_strategy

    symbol, timeframe = dataset
    hourly = timeframe.endswith(("m", "h"))
    s = study(seed, past, hourly, sampler)
    floor = min((p.objective for p in past if p.objective is not None), default=0.0)
    for _ in range(MAX_ASKS):
        trial = s.ask()
        raw = {"dataset": {"symbol": symbol, "timeframe": timeframe}, **_define(trial, hourly)}
        report = validate_strategy({"name": "proposal", "hypothesis": "-", **raw}, home)
        if report.config is None:
            s.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif strategy_hash(report.config) in tried:
            s.tell(trial, floor)
        else:
            return raw, dict(trial.params)
    raise LookupError(f"no untried valid strategy in {MAX_ASKS} proposals")


def _int_seed(seed: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")
