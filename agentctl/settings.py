"""Configuration: environment (AGENTCTL_*), then an optional TOML file, then defaults."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from agentctl.gates import GateThresholds

APP_NAME = "agentctl"
# As root the embedded server runs as a system user that must traverse every
# parent of its data directory; /var/lib is already world-traversable, so
# nothing private (like /root) has to be opened up.
ROOT_HOME = Path("/var/lib/agentctl")
# Every setting is read from AGENTCTL_<NAME>; a key of a table setting from AGENTCTL_<NAME>__<KEY>.
ENV_PREFIX = "AGENTCTL_"
NESTED = "__"


def config_file() -> Path:
    """Path of the optional TOML config file."""
    explicit = os.environ.get("AGENTCTL_CONFIG")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/etc/agentctl/config.toml")
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


class ConfigError(RuntimeError):
    """The configuration file cannot be used: missing (when named), unreadable, or not TOML."""


def read_config_file() -> tuple[Path, dict[str, Any]] | None:
    """The config file and its contents; None when none is named and the default one does not exist.

    AGENTCTL_CONFIG=/dev/null runs without a file on purpose.
    """
    path = config_file()
    named = bool(os.environ.get("AGENTCTL_CONFIG"))
    if not named and not path.exists():
        return None
    try:
        text = path.read_bytes().decode()
    except FileNotFoundError:
        raise ConfigError(
            f"AGENTCTL_CONFIG names {path}, which does not exist: create it, fix the path, "
            "or set AGENTCTL_CONFIG=/dev/null to run without a file"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text: fix the file") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}: fix its permissions") from None
    if not text.strip():
        return path, {}  # an empty file (or /dev/null) sets nothing: no TOML to parse
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML ({err}): fix that line") from None
    return path, data


def unknown_keys(data: dict[str, Any]) -> list[str]:
    """A warning for each key of the file no setting reads, with the closest valid name."""
    from difflib import get_close_matches

    found: list[str] = []

    def check(keys: dict[str, Any], model: type[BaseModel], prefix: str) -> None:
        valid = list(model.model_fields)
        for key, value in keys.items():
            if key not in model.model_fields:
                close = get_close_matches(key, valid, n=1)
                hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
                found.append(f"unknown setting '{prefix}{key}' ignored{hint}")
                continue
            sub = model.model_fields[key].annotation
            if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
                check(value, sub, f"{key}.")

    check(data, Settings, "")
    return found


def setting_sources() -> dict[str, str]:
    """Where each setting came from: `environment (NAME)`, `file PATH` or `default` (gates as gates.NAME)."""
    env = {k.upper() for k in os.environ}
    loaded = read_config_file()
    path, data = loaded if loaded else (None, {})
    out: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        names = _env_names(name, field.validation_alias)
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            raw = data.get(name)
            table: dict[str, Any] = raw if isinstance(raw, dict) else {}
            for part in sub.model_fields:
                nested = f"{names[0]}__{part.upper()}"
                whole = nested if nested in env else names[0] if names[0] in env else None
                in_file = f"file {path}" if part in table else "default"
                out[f"{name}.{part}"] = f"environment ({whole})" if whole else in_file
            continue
        given = next((n for n in names if n in env), None)
        out[name] = f"environment ({given})" if given else f"file {path}" if name in data else "default"
    return out


def _env_names(name: str, alias: Any) -> list[str]:
    if isinstance(alias, AliasChoices):
        return [c.upper() for c in alias.choices if isinstance(c, str)]
    return [f"{ENV_PREFIX}{name.upper()}"]


def _is_table(annotation: Any) -> bool:
    """A setting given as JSON (a table, a list or a group such as the gates), not as one value."""
    from typing import get_origin

    kind = get_origin(annotation) or annotation
    return isinstance(kind, type) and issubclass(kind, (BaseModel, dict, list, set, tuple))


def _from_environment(fields: dict[str, Any]) -> dict[str, Any]:
    """The settings the environment gives, by field name.

    Names match whatever their case; a table's value is JSON, and NAME__KEY sets one key of it
    (the rules pydantic-settings has, without its import cost on every tick).
    """
    env = {k.lower(): v for k, v in os.environ.items()}
    out: dict[str, Any] = {}
    for name, field in fields.items():
        names = [n.lower() for n in _env_names(name, field.validation_alias)]
        given = next((n for n in names if n in env), None)
        if not _is_table(field.annotation):
            if given is not None:
                out[name] = env[given]
            continue
        value = _json(given, env[given]) if given is not None else {}
        nested = [(k, v) for k, v in env.items() if any(k.startswith(n + NESTED) for n in names)]
        for key, text in nested:
            *path, last = key.split(NESTED)[1:]
            table = value if isinstance(value, dict) else {}
            for part in path:
                if not isinstance(table.get(part), dict):
                    table[part] = {}
                table = table[part]
            table[last] = _json(key, text) if text.startswith(("{", "[")) else text
        if given is not None or nested:
            out[name] = value
    return out


def _json(name: str, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{name.upper()} is not valid JSON ({err}): write the table as a JSON object") from None


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`; tables are merged key by key (a file's [gates] and one AGENTCTL_GATES__X)."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def default_home() -> Path:
    """Data directory used when AGENTCTL_HOME is not set."""
    if os.geteuid() == 0:
        return ROOT_HOME
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


class Settings(BaseModel):
    """Everything agentctl can be told; see README "Configuration".

    Arguments win over the environment, which wins over the config file; defaults are validated too.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, validate_default=True)

    def __init__(self, **given: Any) -> None:
        sources: dict[str, Any] = {}
        loaded = read_config_file()
        if loaded is not None:
            path, data = loaded
            for warning in unknown_keys(data):
                print(f"agentctl: warning: {path}: {warning}", file=sys.stderr)
            sources = data
        sources = _merged(_merged(sources, _from_environment(type(self).model_fields)), given)
        super().__init__(**sources)

    # Storage
    database_url: str | None = None
    home: Path = Field(default_factory=default_home)
    timezone: str = "UTC"

    # Agent
    agent: Literal["baseline", "claude"] | None = None
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "AGENTCTL_ANTHROPIC_API_KEY"),
    )
    # A file holding the key (chmod 600), so the key never sits in a crontab or `ps`.
    anthropic_api_key_file: Path | None = None
    anthropic_base_url: str | None = None
    # Current Sonnet for both: strong reasoning at $2/$10 per MTok (see agentctl/pricing.py).
    design_model: str = "claude-sonnet-5-5"
    assess_model: str = "claude-sonnet-5-5"
    max_turns: int = Field(default=8, ge=1, le=50)
    max_tokens: int = Field(default=8192, ge=256, le=64000)  # thinking counts as output: leave it room
    invocation_timeout_s: float = Field(default=300.0, gt=0)
    memory_cycles: int = Field(default=20, ge=0, le=200)
    assessment_max_attempts: int = Field(default=3, ge=1, le=20)
    price_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)  # model -> rates per MTok
    api_call_timeout_s: float = Field(default=180.0, gt=0)
    api_max_attempts: int = Field(default=4, ge=1, le=10)
    api_retry_cap_s: float = Field(default=30.0, ge=0)  # longest retry-after we wait in-process
    baseline_seed: int = 0

    # Budget and cadence
    default_budget_usd: Decimal = Field(default=Decimal("5.00"), ge=0, le=100000)
    daily_cycle_limit: int | None = Field(default=None, ge=0)
    # How long past its call's timeout an unsettled reservation waits before it is
    # charged at its worst case (its process presumably died mid-call).
    reservation_grace_s: float = Field(default=120.0, ge=0)
    paused: bool = False
    # After this many cycles in a row ended by the agent itself failing (not by a gate), new
    # cycles wait 15 min, then 1 h, 4 h, a day, until one succeeds or `agentctl resume`.
    circuit_breaker_failures: int = Field(default=3, ge=1, le=100)

    # Lab
    executor: Literal["local", "ray"] = "local"
    # The Ray dashboard (Jobs API) address, e.g. http://head:8265; unset: Ray's own RAY_ADDRESS or local cluster.
    ray_address: str | None = None
    # Custom Ray resources every operation asks for (JSON, e.g. {"lab": 1}): only nodes that hold them run operations.
    ray_resources: dict[str, float] = Field(default_factory=dict)
    # Where trained models go: a path every worker node can reach, or an fsspec URL (s3://bucket/models).
    # Unset: <home>/models, which is enough for the local executor only.
    artifact_dir: str | None = None
    operation_timeout_s: float = Field(default=1800.0, gt=0)
    # The research universe: a comma list of SYMBOL/TIMEFRAME both designers may use; unset: all.
    datasets: str | None = None
    # Each dataset's sealed final holdout: its last share of bars, at least the timeframe's minimum.
    # Changing either moves every holdout: strategies researched before may then have seen holdout bars.
    holdout_share: float = Field(default=0.2, gt=0, le=0.5)
    min_holdout_bars: dict[str, int] = Field(default_factory=dict)
    # The baseline designer's search: tpe (Optuna's TPE, learning from the research results) or random.
    search: Literal["tpe", "random"] = "tpe"
    # Walk-forward folds of a training: the research period is cut into folds + 1 parts.
    folds: int = Field(default=5, ge=2, le=20)
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    # The local executor's warm lab (lab/executors/warm.py) exits after this long without work; 0: none.
    lab_warm_idle_s: float = Field(default=900.0, ge=0)
    # Gate thresholds, e.g. AGENTCTL_GATES__MIN_TRADES=20 or [gates] in the TOML file.
    gates: GateThresholds = Field(default_factory=GateThresholds)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().absolute()

    @field_validator("datasets", mode="before")
    @classmethod
    def _dataset_list(cls, v: Any) -> str | None:
        items = v if isinstance(v, list) else str(v or "").split(",")
        names = [str(i).strip() for i in items if str(i).strip()]
        for name in names:
            symbol, slash, timeframe = name.partition("/")
            if not (slash and symbol and timeframe):
                raise ValueError(f"{name!r} is not SYMBOL/TIMEFRAME (for example AAPL/1h)")
        return ",".join(names) or None

    @field_validator("ray_resources", mode="before")
    @classmethod
    def _ray_resources(cls, v: Any) -> Any:
        return ray_resources(v)

    @field_validator("min_holdout_bars", mode="after")
    @classmethod
    def _holdout_minimums(cls, v: dict[str, int]) -> dict[str, int]:
        import re

        for timeframe, bars in v.items():
            if not re.fullmatch(r"[1-9][0-9]{0,3}(m|h|d|w)", timeframe):
                raise ValueError(f"{timeframe!r} is not a timeframe such as 1h or 1d")
            if bars < 0:
                raise ValueError(f"{timeframe}: {bars} bars is below 0")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: use an IANA name such as UTC or Europe/London") from None
        return v

    # Why the key file gave no key; reports (`status`, `doctor`) still work, the agent refuses to start.
    _key_file_problem: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        if self.anthropic_api_key is None and self.anthropic_api_key_file is not None:
            path = self.anthropic_api_key_file.expanduser()
            fix = "create it (chmod 600) or comment out AGENTCTL_ANTHROPIC_API_KEY_FILE to run the baseline"
            try:
                key = path.read_text().strip()
            except OSError as err:
                self._key_file_problem = f"cannot read the API key file {path}: {err.strerror or err}: {fix}"
                return self
            if path.stat().st_mode & 0o077:
                self._key_file_problem = f"{path} is readable by other users: run `chmod 600 {path}`"
                return self
            self.anthropic_api_key = SecretStr(key) if key else None
            if not key:
                self._key_file_problem = f"the API key file {path} is empty: put the key in it"
        return self

    @property
    def key_file_problem(self) -> str | None:
        """Why AGENTCTL_ANTHROPIC_API_KEY_FILE gave no key, when it is set and did not."""
        return self._key_file_problem

    @property
    def embedded(self) -> bool:
        """True when agentctl runs its own PostgreSQL server."""
        return not self.database_url


def ray_resources(v: Any) -> dict[str, float]:
    """AGENTCTL_RAY_RESOURCES as {name: amount}: a JSON object (or a TOML table) of custom resources above 0."""
    import json
    import math

    if isinstance(v, str):
        try:
            v = json.loads(v) if v.strip() else {}
        except json.JSONDecodeError as err:
            raise ValueError(f'not JSON ({err.msg}): write an object such as {{"lab": 1}}') from None
    if not isinstance(v, dict):
        raise ValueError('not a JSON object: write one such as {"lab": 1}')
    out: dict[str, float] = {}
    for name, amount in v.items():
        if name in ("CPU", "GPU", "memory") or not name:
            raise ValueError(f"{name!r} is not a custom resource (operations take one CPU each): name your own")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 < amount < math.inf:
            raise ValueError(f"{name}: {amount!r} is not an amount above 0")
        out[str(name)] = float(amount)
    return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


# Settings whose valid values are only known at run time (the datasets installed) are
# checked in `lab/universe.py`.


def given_as(field: str) -> str:
    """A setting named the way the user gave it: AGENTCTL_X, or `x in FILE`."""
    source = setting_sources().get(field, "default")
    if source.startswith("file "):
        return f"{field} in {source.removeprefix('file ')}"
    if source.startswith("environment ("):
        return source.removeprefix("environment (").rstrip(")")
    return f"AGENTCTL_{field.upper().replace('.', '__')}"


def check_models(settings: Settings) -> None:
    """The models Claude would run must have a price (the budget cannot be kept otherwise); ConfigError names the closest."""
    if settings.agent == "baseline" or (settings.agent is None and settings.anthropic_api_key is None):
        return  # the offline baseline calls no model
    from datetime import date
    from difflib import get_close_matches

    from agentctl.pricing import ALIASES, PRICE_TABLE, UnknownModel, price_for

    known = sorted({r.model for r in PRICE_TABLE} | set(ALIASES) | set(settings.price_overrides))
    for field in ("design_model", "assess_model"):
        model = getattr(settings, field)
        try:
            price_for(model, date.today(), settings.price_overrides)
        except UnknownModel:
            close = get_close_matches(model, known, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{given_as(field)}: no price known for model {model!r}{hint}: "
                "name a model agentctl prices, or give its price in AGENTCTL_PRICE_OVERRIDES"
            ) from None
