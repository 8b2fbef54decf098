"""The README's configuration table names every setting, and only settings that exist."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import AliasChoices, BaseModel

from agentctl.settings import ENV_PREFIX, NESTED, ConfigError, Settings

README = Path(__file__).resolve().parents[1] / "README.md"
ENV_NAME = re.compile(r"`((?:AGENTCTL_|ANTHROPIC_)[A-Z0-9_]+)`")


def _aliases(field) -> list[str] | None:
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    return None


def settings_env_names() -> set[str]:
    """Every environment variable the settings model reads, nested gate fields included."""
    prefix, nested = ENV_PREFIX, NESTED
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        aliases = _aliases(field)
        if aliases:  # an alias replaces the prefixed name (ANTHROPIC_API_KEY)
            names.update(a.upper() for a in aliases)
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(f"{prefix}{name}{nested}{sub}".upper() for sub in annotation.model_fields)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = re.search(r"\n#{1,3} ", text[start + len(heading) + 1 :])
    return text[start : start + len(heading) + 1 + end.start()] if end else text[start:]


def _table_names(text: str) -> set[str]:
    """Variable names in the first column of the Markdown tables in `text`."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            names.update(ENV_NAME.findall(line.split("|")[1]))
    return names


def test_the_model_has_the_settings_we_expect():
    names = settings_env_names()
    assert len(names) > 30
    assert {"ANTHROPIC_API_KEY", "AGENTCTL_PRICE_OVERRIDES", "AGENTCTL_GATES__MIN_TRADES"} <= names
    assert "AGENTCTL_GATES" not in names and "AGENTCTL_ANTHROPIC_API_KEY" in names


@pytest.mark.parametrize(
    ("env", "read"),
    [
        ({"AGENTCTL_GATES__MIN_TRADES": "20"}, lambda s: s.gates.min_trades == 20),
        ({"ANTHROPIC_API_KEY": "k"}, lambda s: s.anthropic_api_key.get_secret_value() == "k"),
        ({"AGENTCTL_PRICE_OVERRIDES": '{"m": {"input": 1, "output": 2}}'}, lambda s: "m" in s.price_overrides),
    ],
)
def test_the_derived_names_are_the_ones_settings_read(env, read, monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert read(Settings())


def test_the_readme_configuration_table_lists_every_setting():
    documented = _table_names(_section(README.read_text(), "## Configuration"))
    assert sorted(settings_env_names() - documented) == [], "settings missing from README ## Configuration"
    assert sorted(documented - settings_env_names()) == [], "README ## Configuration lists settings that do not exist"


def test_every_variable_in_a_readme_table_exists():
    assert sorted(_table_names(README.read_text()) - settings_env_names()) == []


def test_the_file_the_environment_and_arguments_merge_key_by_key(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("default_budget_usd = 7\ndaily_cycle_limit = 9\n[gates]\nmin_trades = 5\nmin_sharpe = 0.5\n")
    monkeypatch.setenv("AGENTCTL_CONFIG", str(config))
    monkeypatch.setenv("AGENTCTL_GATES__MIN_SHARPE", "1.5")  # one key of the file's table
    monkeypatch.setenv("agentctl_min_holdout_bars__1D", "700")  # names match whatever their case
    s = Settings(daily_cycle_limit=3)
    assert (s.gates.min_trades, s.gates.min_sharpe, s.min_holdout_bars) == (5, 1.5, {"1d": 700})
    assert (s.default_budget_usd, s.daily_cycle_limit) == (Decimal(7), 3)


def test_a_table_setting_that_is_not_json_names_its_variable(monkeypatch):
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    monkeypatch.setenv("AGENTCTL_GATES", "min_trades=5")
    with pytest.raises(ConfigError, match=r"^AGENTCTL_GATES is not valid JSON"):
        Settings()
