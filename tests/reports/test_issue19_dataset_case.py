"""`--dataset` is matched to the installed dataset whatever its case: `nasdaq/1d` finds NASDAQ/1d's cycles."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentctl.cli.main import app


def _cycles(*args: str) -> list[dict]:
    res = CliRunner().invoke(app, ["cycles", *args, "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_dataset_filter_is_case_insensitive(settings, seeded):
    exact = _cycles("--dataset", "AAPL/1d", "--recent", "100")
    assert exact  # the seeded cycles are on AAPL/1d
    assert _cycles("--dataset", "aapl/1D", "--recent", "100") == exact
    assert _cycles("--dataset", "NASDAQ/1d", "--recent", "100") == []
