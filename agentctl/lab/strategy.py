"""The strategy config the agent designs, its validator and its content hash.

`StrategyConfig.model_json_schema()` is the agent's tool input schema; the same
`validate_strategy` runs in the agent's tools, at save time and at training time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import traceback
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentctl.lab.catalog import CATALOG, Indicator, catalog_text
from agentctl.lab.models import FAMILIES, ModelSpec, default_model

_log = logging.getLogger(__name__)

MAX_FEATURES = 20
MAX_FEATURE_COLUMNS = 40
# Bounds on raw tool input before pydantic sees it: model output is untrusted.
_MAX_INPUT_NODES = 2_000
_MAX_INPUT_DEPTH = 12
_MAX_INPUT_CHARS = 20_000
_MAX_ERRORS = 20
_MAX_ERROR_CHARS = 400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class DatasetRef(_Strict):
    """Which bundled or imported OHLCV series to use."""

    symbol: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", description="dataset symbol, e.g. SP500")
    timeframe: str = Field(pattern=r"^[1-9][0-9]{0,3}(m|h|d|w)$", description="bar size, e.g. 1d or 1h")


ParamValue = Annotated[float, Field(allow_inf_nan=False)]


class FeatureSpec(_Strict):
    """One TA-Lib indicator computed on the dataset; each output becomes a model input."""

    function: str = Field(max_length=32, description="TA-Lib function from the catalog, e.g. RSI")
    params: dict[Annotated[str, Field(max_length=32)], ParamValue] = Field(
        default_factory=dict, max_length=8, description="parameters by name; omitted ones take their default"
    )
    outputs: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=5, description="outputs to use; default all"
    )

    @model_validator(mode="after")
    def _check_against_catalog(self) -> FeatureSpec:
        # Normalises params (defaults filled, integers as int) so equal features hash equally.
        ind = CATALOG.get(self.function.upper())
        if ind is None:
            raise ValueError(f"unknown function {self.function[:32]!r}; valid: {', '.join(CATALOG)}")
        self.function = ind.name
        self.params = _resolve_params(ind, self.params)
        if self.outputs is None:
            self.outputs = list(ind.outputs)
        else:
            bad = [o for o in self.outputs if o not in ind.outputs]
            if bad:
                raise ValueError(f"{ind.name} has no output {bad[0][:32]!r}; valid: {', '.join(ind.outputs)}")
            if not self.outputs or len(set(self.outputs)) != len(self.outputs):
                raise ValueError(f"{ind.name} outputs must be distinct and non-empty; valid: {', '.join(ind.outputs)}")
            self.outputs = [o for o in ind.outputs if o in self.outputs]
        return self

    def column_names(self) -> list[str]:
        """Model input column names, one per output, e.g. RSI_14_real."""
        args = "_".join(_fmt(v) for v in self.params.values())
        stem = f"{self.function}_{args}" if args else self.function
        return [f"{stem}_{o}" for o in self.outputs or ()]


def _resolve_params(ind: Indicator, given: dict[str, float]) -> dict[str, float]:
    known = {p.name: p for p in ind.params}
    for name in given:
        if name not in known:
            valid = ", ".join(known) or "none"
            raise ValueError(f"{ind.name} has no parameter {name[:32]!r}; valid: {valid}")
    resolved: dict[str, float] = {}
    for p in ind.params:
        value = given.get(p.name, p.default)
        if not p.low <= value <= p.high:
            raise ValueError(f"{ind.name}.{p.name}={_fmt(value)} out of range [{_fmt(p.low)}..{_fmt(p.high)}]")
        if p.integer:
            if not float(value).is_integer():
                raise ValueError(f"{ind.name}.{p.name} must be an integer, got {_fmt(value)}")
            value = int(value)
        else:
            value = float(value)
        resolved[p.name] = value
    if ind.name in ("MACD", "APO", "PPO") and resolved["fastperiod"] >= resolved["slowperiod"]:
        raise ValueError(f"{ind.name} needs fastperiod < slowperiod")
    return resolved


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{float(x):g}"


class LabelSpec(_Strict):
    """What the model predicts: the forward return over `horizon` bars, bucketed."""

    horizon: int = Field(default=1, ge=1, le=50, description="bars ahead for the forward close-to-close return")
    threshold: float = Field(
        default=0.0, ge=0.0, le=0.2, description="fraction; up if return > threshold, down if < -threshold"
    )
    classes: Literal["up_down", "up_flat_down"] = Field(
        default="up_down",
        description="up_flat_down: |return| <= threshold is flat; up_down: up if return > threshold else down",
    )


class TradingRules(_Strict):
    """How predictions become positions and what trading costs."""

    confidence: float = Field(
        default=0.55, ge=0.34, le=0.99, description="enter when the predicted class probability >= this"
    )
    direction: Literal["long_only", "long_short"] = "long_only"
    # At least 1 bp each: a backtest without costs overstates every strategy that trades.
    fee_bps: float = Field(
        default=1.0, ge=1.0, le=100.0, description="commission per side, basis points of notional (at least 1)"
    )
    slippage_bps: float = Field(
        default=1.0, ge=1.0, le=100.0, description="price slippage per side, basis points (at least 1)"
    )


class StrategyConfig(_Strict):
    """A complete, trainable and backtestable trading strategy."""

    name: str = Field(
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", description="slug: lowercase letters, digits, '-'"
    )
    hypothesis: str = Field(min_length=1, max_length=2000, description="why this should work, in a sentence or two")
    dataset: DatasetRef
    features: list[FeatureSpec] = Field(min_length=1, max_length=MAX_FEATURES)
    label: LabelSpec = Field(default_factory=LabelSpec)
    model: ModelSpec = Field(default_factory=default_model)
    trading: TradingRules = Field(default_factory=TradingRules)

    @model_validator(mode="after")
    def _distinct_columns(self) -> StrategyConfig:
        columns = self.feature_columns()
        if len(columns) > MAX_FEATURE_COLUMNS:
            raise ValueError(f"{len(columns)} feature columns; at most {MAX_FEATURE_COLUMNS}")
        seen: set[str] = set()
        for c in columns:
            if c in seen:
                raise ValueError(f"duplicate feature column {c}")
            seen.add(c)
        return self

    def feature_columns(self) -> list[str]:
        """All model input columns, in config order."""
        return [c for f in self.features for c in f.column_names()]


class ValidationReport(BaseModel):
    """What the validator says about a proposed config."""

    ok: bool
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    config: StrategyConfig | None = None


def strategy_json_schema() -> dict[str, Any]:
    """The JSON schema of StrategyConfig, used as the agent's tool input schema (titles dropped: prompt bytes)."""
    return _without_titles(StrategyConfig.model_json_schema())


def _without_titles(node: Any) -> Any:
    # No field is named "title", so every "title" key is pydantic's generated label.
    if isinstance(node, dict):
        return {k: _without_titles(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_without_titles(v) for v in node]
    return node


def indicator_catalog_text() -> str:
    """The curated TA-Lib indicator catalog, compact enough for a prompt."""
    return catalog_text()


def strategy_hash(config: StrategyConfig) -> str:
    """Content hash of what the strategy computes and trades.

    Name and hypothesis are excluded, defaults are filled in and feature order is
    ignored, so the same strategy proposed twice under another name is recognised.
    """
    body = config.model_dump(mode="json", exclude={"name", "hypothesis"})
    body["features"] = sorted(body["features"], key=lambda f: json.dumps(f, sort_keys=True))
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_strategy(raw: Any, home: Path | None = None) -> ValidationReport:
    """Validate untrusted input into a StrategyConfig; never raises.

    `home` adds the user's imported datasets to the bundled ones.
    """
    try:
        return _validate(raw, home)
    except Exception as exc:
        if not isinstance(exc, ValueError):  # pydantic's and the validators' refusals are ValueErrors
            # Our bug, not the input's fault: the agent still gets its answer; the log gets where it broke
            # (frames only: the message may quote the untrusted input).
            where = "".join(traceback.format_tb(exc.__traceback__))
            _log.error("validate_strategy failed unexpectedly (%s):\n%s", type(exc).__name__, where)
        return ValidationReport(ok=False, errors=[f"config could not be validated ({type(exc).__name__})"])


def _validate(raw: Any, home: Path | None) -> ValidationReport:
    if isinstance(raw, StrategyConfig):
        raw = raw.model_dump(mode="json")
    if not isinstance(raw, dict):
        return ValidationReport(ok=False, errors=[f"config must be a JSON object, got {type(raw).__name__}"])
    problem = _input_shape_problem(raw)
    if problem:
        return ValidationReport(ok=False, errors=[problem])
    try:
        config = StrategyConfig.model_validate(raw)
    except ValidationError as exc:
        return ValidationReport(ok=False, errors=_format_errors(exc))

    errors = _dataset_errors(config, home)
    if errors:
        return ValidationReport(ok=False, errors=errors)
    return ValidationReport(ok=True, warnings=_warnings(config, home), config=config)


def _input_shape_problem(raw: dict) -> str | None:
    """Reject oversized or deeply nested input without recursion."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    nodes = chars = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > _MAX_INPUT_NODES:
            return f"config too large: more than {_MAX_INPUT_NODES} values"
        if depth > _MAX_INPUT_DEPTH:
            return f"config nested deeper than {_MAX_INPUT_DEPTH} levels"
        if isinstance(value, dict):
            for k, v in value.items():
                chars += len(k) if isinstance(k, str) else 0
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            chars += len(value)
        elif isinstance(value, float) and not math.isfinite(value):
            pass  # pydantic reports it at the right place
        if chars > _MAX_INPUT_CHARS:
            return f"config too large: more than {_MAX_INPUT_CHARS} characters of text"
    return None


def _format_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False)[:_MAX_ERRORS]:
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(err["loc"][:-1])
            if allowed:
                msg += f"; allowed: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "required field missing"
        out.append(f"{loc}: {msg}"[:_MAX_ERROR_CHARS])
    return out


def _allowed_fields(loc: tuple) -> list[str]:
    """Field names of the sub-model at `loc`, for 'extra field' errors."""
    model: Any = StrategyConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:  # inside `model`: the union member is named by its family tag
            model = FAMILIES[part].spec if part in FAMILIES else None
        elif model is StrategyConfig and part == "model":
            model = None
            continue
        else:
            model = _SUBMODELS.get(part) if part in getattr(model, "model_fields", {}) else None
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


_SUBMODELS: dict[str, type[BaseModel]] = {
    "dataset": DatasetRef,
    "features": FeatureSpec,
    "label": LabelSpec,
    "trading": TradingRules,
}


def _dataset_errors(config: StrategyConfig, home: Path | None) -> list[str]:
    from agentctl.lab.data import dataset_keys

    available = dataset_keys(home)
    key = (config.dataset.symbol, config.dataset.timeframe)
    if key in available:
        return []
    choices = ", ".join(f"{s}/{t}" for s, t in sorted(available))
    return [f"dataset: no dataset {key[0]}/{key[1]}; available: {choices}"]


def _warnings(config: StrategyConfig, home: Path | None) -> list[str]:
    from agentctl.lab.data import dataset_has_volume

    out = []
    t, lab = config.trading, config.label
    if lab.classes == "up_flat_down" and lab.threshold == 0:
        out.append("label: threshold 0 leaves the flat class nearly empty; use up_down or a threshold > 0")
    if lab.classes == "up_down" and t.confidence <= 0.5:
        out.append("trading: confidence <= 0.5 with two classes means always in the market")
    needs_volume = [f.function for f in config.features if "volume" in CATALOG[f.function].inputs]
    if needs_volume and not dataset_has_volume(config.dataset.symbol, config.dataset.timeframe, home):
        out.append(f"features: {', '.join(needs_volume)} need volume, which this dataset lacks (all zero)")
    return out
