"""The model families: one registry read by the strategy schema, the trainer and the baseline.

A family is its pydantic spec (what the agent may set), how to fit its
scikit-learn estimator, and how the offline baseline draws its parameters.
Adding a family is one spec class, one fit function, one sampler and one entry
in FAMILIES. scikit-learn and numpy are imported inside the fit functions: the
polling tick imports this module through agentctl.lab.strategy.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[float, str], None]


class ModelSpecBase(BaseModel):
    """What every family's spec has: its tag."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    family: str


class LogisticRegressionSpec(ModelSpecBase):
    """Multinomial logistic regression on standardized features."""

    family: Literal["logistic_regression"]
    C: float = Field(default=1.0, ge=1e-4, le=1e3, description="inverse L2 regularization strength")
    max_iter: int = Field(default=300, ge=50, le=2000)


class RandomForestSpec(ModelSpecBase):
    """Random forest of decision trees."""

    family: Literal["random_forest"]
    n_estimators: int = Field(default=200, ge=10, le=500)
    max_depth: int = Field(default=6, ge=2, le=20)
    min_samples_leaf: int = Field(default=20, ge=1, le=500)


class HistGradientBoostingSpec(ModelSpecBase):
    """Histogram gradient boosting, early-stopped on a later, purged part of its own training rows."""

    family: Literal["hist_gradient_boosting"]
    learning_rate: float = Field(default=0.05, ge=0.005, le=0.5)
    max_iter: int = Field(default=200, ge=10, le=1000, description="maximum boosting iterations")
    max_depth: int = Field(default=3, ge=2, le=12)
    min_samples_leaf: int = Field(default=40, ge=5, le=500)
    l2_regularization: float = Field(default=1.0, ge=0.0, le=10.0)
    early_stopping: bool = True
    patience: int = Field(default=10, ge=2, le=50, description="early-stopping checks without improvement")


class MLPSpec(ModelSpecBase):
    """Small multi-layer perceptron on standardized features, early-stopped by epoch."""

    family: Literal["mlp"]
    hidden_units: int = Field(default=32, ge=4, le=256)
    hidden_layers: int = Field(default=1, ge=1, le=3)
    alpha: float = Field(default=1e-4, ge=1e-6, le=1.0, description="L2 penalty")
    learning_rate_init: float = Field(default=1e-3, ge=1e-4, le=0.1)
    max_epochs: int = Field(default=100, ge=5, le=500)
    early_stopping: bool = True
    patience: int = Field(default=10, ge=2, le=50)


class FitData(NamedTuple):
    """Training rows, and the validation rows early stopping watches (none for a family that does not stop early).

    `classes` are the training labels' sorted distinct values. The validation rows come
    after the training rows in time, with a purge gap between them (see lab/training.py).
    """

    X_tr: np.ndarray
    y_tr: np.ndarray
    X_va: np.ndarray
    y_va: np.ndarray
    classes: np.ndarray


class Fitted(NamedTuple):
    model: Any  # a fitted scikit-learn classifier or pipeline with predict_proba
    iterations: int  # epochs / boosting iterations / trees / solver iterations completed
    early_stopped: bool


S = TypeVar("S", bound=ModelSpecBase)


@dataclass(frozen=True)
class Family(Generic[S]):
    """One model family: its spec, how it is fitted, how the baseline draws it."""

    spec: type[S]
    fit: Callable[[S, FitData, Progress], Fitted]
    sample: Callable[[random.Random], dict[str, Any]]  # parameters only; the family tag is added by the caller
    baseline_weight: int  # relative frequency in the baseline's search; 0 = the baseline never draws it


def aligned_proba(model: Any, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """predict_proba with columns in `classes` order."""
    import numpy as np

    proba = model.predict_proba(X)
    order = [list(model.classes_).index(c) for c in classes]
    return np.asarray(proba)[:, order]


def log_loss(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    import numpy as np

    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    cols = np.searchsorted(classes, y)
    return float(-np.mean(np.log(p[np.arange(len(y)), cols])))


def _fit_logistic(spec: LogisticRegressionSpec, d: FitData, progress: Progress) -> Fitted:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # The scaler sits in the pipeline, so it is fitted on training rows only.
    model = make_pipeline(StandardScaler(), LogisticRegression(C=spec.C, max_iter=spec.max_iter))
    model.fit(d.X_tr, d.y_tr)
    return Fitted(model, int(max(model[-1].n_iter_)), False)


def _fit_forest(spec: RandomForestSpec, d: FitData, progress: Progress) -> Fitted:
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=spec.n_estimators,
        max_depth=spec.max_depth,
        min_samples_leaf=spec.min_samples_leaf,
        n_jobs=-1,
        random_state=0,
    )
    model.fit(d.X_tr, d.y_tr)
    return Fitted(model, spec.n_estimators, False)


def _fit_boosting(spec: HistGradientBoostingSpec, d: FitData, progress: Progress) -> Fitted:
    """Boost with early stopping on the time-ordered validation part (scikit-learn's own is a random split)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    # Never scikit-learn's own early stopping without X_val: it would hold out a random, not a later, split.
    stopping = spec.early_stopping and len(d.y_va) > 0
    # Each spec field named for scikit-learn's own parameter: the mapping is the declaration.
    model = HistGradientBoostingClassifier(
        learning_rate=spec.learning_rate,
        max_iter=spec.max_iter,
        max_depth=spec.max_depth,
        min_samples_leaf=spec.min_samples_leaf,
        l2_regularization=spec.l2_regularization,
        early_stopping=stopping,
        n_iter_no_change=spec.patience,
        scoring="loss",
        random_state=0,
    )
    if stopping:
        model.fit(d.X_tr, d.y_tr, X_val=d.X_va, y_val=d.y_va)
    else:
        model.fit(d.X_tr, d.y_tr)
    iterations = int(model.n_iter_)
    return Fitted(model, iterations, bool(stopping and iterations < spec.max_iter))


def _fit_mlp(spec: MLPSpec, d: FitData, progress: Progress) -> Fitted:
    """Train epoch by epoch, keeping the weights of the best validation epoch."""
    import copy

    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(d.X_tr)  # training rows only
    Xs_tr = scaler.transform(d.X_tr)
    stopping = spec.early_stopping and len(d.y_va) > 0
    Xs_va = scaler.transform(d.X_va) if stopping else None
    net = MLPClassifier(
        hidden_layer_sizes=(spec.hidden_units,) * spec.hidden_layers,
        alpha=spec.alpha,
        learning_rate_init=spec.learning_rate_init,
        batch_size=min(200, len(d.X_tr)),
        random_state=0,
    )
    best, best_net, best_epoch, stale, epoch = float("inf"), None, 0, 0, 0
    for epoch in range(1, spec.max_epochs + 1):
        net.partial_fit(Xs_tr, d.y_tr, classes=d.classes)
        if Xs_va is None:
            progress(10 + 80 * epoch / spec.max_epochs, f"epoch {epoch}/{spec.max_epochs}")
            continue
        loss = log_loss(d.y_va, aligned_proba(net, Xs_va, d.classes), d.classes)
        if loss < best - 1e-6:
            best, best_net, best_epoch, stale = loss, copy.deepcopy(net), epoch, 0
        else:
            stale += 1
        progress(10 + 80 * epoch / spec.max_epochs, f"epoch {epoch}/{spec.max_epochs}, validation loss {loss:.4f}")
        if stale >= spec.patience:
            break
    early = stopping and epoch < spec.max_epochs
    final = best_net if stopping and best_net is not None else net
    return Fitted(make_pipeline(scaler, final), best_epoch if early else epoch, early)


# The baseline's draws: small, cheap models that train in well under a second on its datasets.


def _sample_logistic(rng: random.Random) -> dict[str, Any]:
    return {"C": rng.choice([0.03, 0.1, 0.3, 1.0, 3.0])}


def _sample_forest(rng: random.Random) -> dict[str, Any]:
    return {
        "n_estimators": rng.choice([50, 100]),
        "max_depth": rng.choice([3, 4, 5]),
        "min_samples_leaf": rng.choice([20, 50, 100]),
    }


def _sample_boosting(rng: random.Random) -> dict[str, Any]:
    return {
        "learning_rate": rng.choice([0.05, 0.1]),
        "max_iter": rng.choice([50, 100]),
        "max_depth": rng.choice([2, 3]),
        "min_samples_leaf": rng.choice([40, 80]),
    }


def _sample_mlp(rng: random.Random) -> dict[str, Any]:
    return {"hidden_units": rng.choice([8, 16, 32]), "alpha": rng.choice([1e-4, 1e-3]), "max_epochs": 50}


# Order is the baseline's draw order (with its weights), so a seeded search draws as it always has.
FAMILIES: dict[str, Family[Any]] = {
    "logistic_regression": Family(LogisticRegressionSpec, _fit_logistic, _sample_logistic, baseline_weight=2),
    "random_forest": Family(RandomForestSpec, _fit_forest, _sample_forest, baseline_weight=1),
    "hist_gradient_boosting": Family(HistGradientBoostingSpec, _fit_boosting, _sample_boosting, baseline_weight=1),
    "mlp": Family(MLPSpec, _fit_mlp, _sample_mlp, baseline_weight=0),
}
DEFAULT_FAMILY = "hist_gradient_boosting"
# The default first, then the registry's order: the agent's schema lists the families in this order.
MODEL_FAMILIES: tuple[str, ...] = (DEFAULT_FAMILY, *(name for name in FAMILIES if name != DEFAULT_FAMILY))

if TYPE_CHECKING:
    ModelSpec = ModelSpecBase
else:
    # The discriminated union of every registered spec, built from the registry.
    ModelSpec = Annotated[
        reduce(operator.or_, (FAMILIES[n].spec for n in MODEL_FAMILIES)), Field(discriminator="family")
    ]


def default_model() -> ModelSpecBase:
    """The spec a strategy gets when it names no model."""
    return FAMILIES[DEFAULT_FAMILY].spec(family=DEFAULT_FAMILY)


def early_stops(spec: ModelSpecBase) -> bool:
    """Whether fitting `spec` watches validation rows to stop early (it then needs some)."""
    return bool(getattr(spec, "early_stopping", False))


def fit(spec: ModelSpecBase, data: FitData, progress: Progress) -> Fitted:
    """Fit `spec`'s family on the training rows (validation rows only for early stopping)."""
    return FAMILIES[spec.family].fit(spec, data, progress)


def sample(family: str, rng: random.Random) -> dict[str, Any]:
    """A baseline draw of `family`'s spec, as the JSON the agent would write."""
    return {"family": family, **FAMILIES[family].sample(rng)}


def baseline_draws() -> list[str]:
    """Family names, each repeated by its baseline weight, for rng.choice."""
    return [name for name, f in FAMILIES.items() for _ in range(f.baseline_weight)]
