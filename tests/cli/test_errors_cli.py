"""Bad settings, files and databases, through the real `agentctl` process: one stderr line, the right exit code.

75 only when waiting can help (the server does not answer); a refusal or a malformed
URL is 1, so cron mails a person instead of retrying forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tickutil import one_line_error as _one_line
from tickutil import run_cli as _run


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No database reachable and no config file: what a command does before it needs either."""
    monkeypatch.setenv("AGENTCTL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    return tmp_path


@pytest.mark.parametrize("command", [["status"], ["tick"], ["doctor"]])
@pytest.mark.parametrize(
    "url, says",
    [
        ("notaurl", ["AGENTCTL_DATABASE_URL", "postgresql://"]),
        ("postgresql://me@:99999/x", ["invalid port", "postgresql://"]),
        ("postgresql://me:hunter2@/x?host=/tmp&bogus=1", ["bogus", "postgresql://"]),
    ],
)
def test_a_malformed_database_url_is_one_line_and_exit_1(isolated, command, url, says):
    p = _run(*command, env={"AGENTCTL_DATABASE_URL": url})
    if command == ["doctor"]:  # doctor reports it as its failed database check
        assert p.returncode == 1 and "Traceback" not in p.stderr and "FAIL  database" in p.stdout, p
        return
    _one_line(p, 1, *says)
    assert "hunter2" not in p.stderr


def test_an_unknown_role_or_database_is_permanent(settings, db_url):
    host = db_url.split("?", 1)[1]
    for url, says in (
        (f"postgresql://no_such_role@/agentctl_test?{host}", 'role "no_such_role" does not exist'),
        (f"postgresql://postgres@/no_such_db?{host}", 'database "no_such_db" does not exist'),
    ):
        for command in ("status", "tick", "cycles"):
            _one_line(_run(command, env={"AGENTCTL_DATABASE_URL": url}), 1, says, "AGENTCTL_DATABASE_URL")


def test_a_server_that_does_not_answer_is_transient(isolated):
    url = f"postgresql://postgres@/x?host={isolated}/no-socket&port=1"
    for command in ("status", "tick"):
        _one_line(_run(command, env={"AGENTCTL_DATABASE_URL": url}), 75, "unreachable")


def test_a_config_file_that_is_named_but_missing(isolated):
    missing = isolated / "nope.toml"
    for command in ("status", "tick", "doctor", "cycles"):
        _one_line(_run(command, env={"AGENTCTL_CONFIG": str(missing)}), 1, str(missing), "AGENTCTL_CONFIG=/dev/null")


def test_a_config_file_that_is_not_toml(isolated):
    bad = isolated / "config.toml"
    bad.write_text("[gates\nmin_trades = 3\n")
    for command in ("status", "tick", "doctor"):
        _one_line(_run(command, env={"AGENTCTL_CONFIG": str(bad)}), 1, str(bad), "not valid TOML", "line 1")


def test_a_config_file_that_cannot_be_read(isolated):
    directory = isolated / "a-directory.toml"
    directory.mkdir()
    _one_line(_run("status", env={"AGENTCTL_CONFIG": str(directory)}), 1, "cannot read config file")


def test_an_invalid_value_is_blamed_where_it_was_given(isolated):
    cfg = isolated / "config.toml"
    cfg.write_text('timezone = "Mars/Olympus"\n')
    line = _one_line(_run("status", env={"AGENTCTL_CONFIG": str(cfg)}), 1, f"timezone in {cfg}", "IANA")
    assert "AGENTCTL_TIMEZONE" not in line
    _one_line(_run("status", env={"AGENTCTL_TIMEZONE": "Mars/Olympus"}), 1, "AGENTCTL_TIMEZONE:", "IANA")


def test_unknown_keys_warn_with_the_closest_name_and_the_command_still_runs(settings, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('timezon = "UTC"\ndefault_budget_usd = 3\n[gates]\nmin_trade = 4\n')
    p = _run("budget", "--json", env={"AGENTCTL_CONFIG": str(cfg)})
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    warnings = p.stderr.strip().splitlines()
    assert warnings == [
        f"agentctl: warning: {cfg}: unknown setting 'timezon' ignored (did you mean 'timezone'?)",
        f"agentctl: warning: {cfg}: unknown setting 'gates.min_trade' ignored (did you mean 'gates.min_trades'?)",
    ]
    assert '"default_limit_usd": 3.0' in p.stdout  # the valid key was read


def test_a_missing_key_file_fails_doctor_and_the_tick_but_not_status(settings, tmp_path):
    key = tmp_path / "anthropic.key"
    env = {"AGENTCTL_ANTHROPIC_API_KEY_FILE": str(key)}
    status = _run("status", env=env)
    assert status.returncode == 0 and status.stderr == "", status.stderr
    doctor = _run("doctor", env=env)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert f"FAIL  key_file    cannot read the API key file {key}" in doctor.stdout, doctor.stdout
    assert "anthropic_api_key_file  environment (AGENTCTL_ANTHROPIC_API_KEY_FILE)" in doctor.stdout
    _one_line(_run("tick", env=env), 1, str(key))


def test_doctor_says_where_settings_came_from(settings, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("memory_cycles = 7\n")
    p = _run("doctor", "--json", env={"AGENTCTL_CONFIG": str(cfg), "AGENTCTL_MAX_TURNS": "5"})
    import json

    rep = json.loads(p.stdout)
    assert rep["config_file"] == str(cfg)
    assert rep["sources"]["memory_cycles"] == f"file {cfg}"
    assert rep["sources"]["max_turns"] == "environment (AGENTCTL_MAX_TURNS)"
    assert rep["sources"]["timezone"] == "default"
    assert rep["sources"]["database_url"] == "environment (AGENTCTL_DATABASE_URL)"
