"""One source for the default budget: `budget` and `doctor` read it from the same place and say the same."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentctl.cli.main import app


def _json(*args: str, code: int = 0) -> dict:
    res = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return json.loads(res.output)


def test_the_setting_gives_the_default_until_budget_set_default_and_both_reports_agree(settings, monkeypatch):
    monkeypatch.setenv("AGENTCTL_DEFAULT_BUDGET_USD", "7")
    from agentctl import settings as settings_mod

    settings_mod.get_settings.cache_clear()
    rep = _json("budget")
    assert (
        rep["default_limit_usd"] == 7.0 and rep["default_limit_source"] == "environment (AGENTCTL_DEFAULT_BUDGET_USD)"
    )
    doc = _json("doctor", code=1)  # no tick yet: doctor fails its last_tick check
    assert doc["sources"]["default_budget_usd"] == rep["default_limit_source"]

    res = CliRunner().invoke(app, ["budget", "set", "2.50", "--default"], catch_exceptions=False)
    assert res.exit_code == 0 and "AGENTCTL_DEFAULT_BUDGET_USD is ignored from now on" in res.output

    rep = _json("budget")
    assert rep["default_limit_usd"] == 2.5
    assert rep["default_limit_source"] == (
        "database (`agentctl budget set --default`); AGENTCTL_DEFAULT_BUDGET_USD is ignored"
    )
    assert rep["today"]["limit_usd"] == 2.5  # what a tick would open today with
    doc = _json("doctor", code=1)
    assert doc["sources"]["default_budget_usd"] == rep["default_limit_source"] + " ($2.50)"
    text = CliRunner().invoke(app, ["budget"], catch_exceptions=False).output
    assert "default limit for new days $2.50: database (`agentctl budget set --default`)" in text
