"""Configuration: environment (AGENTCTL_*), then an optional TOML file, then defaults."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agentctl.lab.gates import GateThresholds

APP_NAME = "agentctl"
# As root the embedded server runs as a system user that must traverse every
# parent of its data directory; /var/lib is already world-traversable, so
# nothing private (like /root) has to be opened up.
ROOT_HOME = Path("/var/lib/agentctl")


def config_file() -> Path:
    """Path of the optional TOML config file."""
    explicit = os.environ.get("AGENTCTL_CONFIG")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/etc/agentctl/config.toml")
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_home() -> Path:
    """Data directory used when AGENTCTL_HOME is not set."""
    if os.geteuid() == 0:
        return ROOT_HOME
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


class Settings(BaseSettings):
    """Everything agentctl can be told; see README "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTCTL_",
        extra="ignore",
        populate_by_name=True,
        env_nested_delimiter="__",
    )

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

    # Lab
    executor: Literal["local", "ray"] = "local"
    # The Ray dashboard (Jobs API) address, e.g. http://head:8265; unset: Ray's own RAY_ADDRESS or local cluster.
    ray_address: str | None = None
    # Where trained models go: a path every worker node can reach, or an fsspec URL (s3://bucket/models).
    # Unset: <home>/models, which is enough for the local executor only.
    artifact_dir: str | None = None
    operation_timeout_s: float = Field(default=1800.0, gt=0)
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    # Gate thresholds, e.g. AGENTCTL_GATES__MIN_TRADES=20 or [gates] in the TOML file.
    gates: GateThresholds = Field(default_factory=GateThresholds)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().absolute()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: use an IANA name such as UTC or Europe/London") from None
        return v

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        if self.anthropic_api_key is None and self.anthropic_api_key_file is not None:
            path = self.anthropic_api_key_file.expanduser()
            try:
                key = path.read_text().strip()
            except OSError as err:
                raise ValueError(f"cannot read AGENTCTL_ANTHROPIC_API_KEY_FILE {path}: {err.strerror}") from None
            if path.stat().st_mode & 0o077:
                raise ValueError(f"{path} is readable by other users: run `chmod 600 {path}`")
            self.anthropic_api_key = SecretStr(key) if key else None
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def embedded(self) -> bool:
        """True when agentctl runs its own PostgreSQL server."""
        return not self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
