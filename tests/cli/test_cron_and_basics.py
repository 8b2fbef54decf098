"""`agentctl cron` against a real `crontab` program (a shell script on PATH keeping the table in a file),
and the command line's basics: --version, -h, bare groups, flags, examples, --png, cancel --json, db stop/start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.heavy

AGENTCTL = str(Path(sys.executable).parent / "agentctl")
FAKE_CRONTAB = """#!/bin/sh
# A crontab that keeps the user's table in $CRONTAB_FILE: -l prints it, - replaces it from stdin.
case "$1" in
  -l) if [ -f "$CRONTAB_FILE" ]; then cat "$CRONTAB_FILE"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 1 ;;
esac
"""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTCTL, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.fixture
def crontab(tmp_path, monkeypatch):
    """The file the fake `crontab` keeps the table in (PATH finds the fake first)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "crontab"
    exe.write_text(FAKE_CRONTAB)
    exe.chmod(0o755)
    table = tmp_path / "crontab.txt"
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("CRONTAB_FILE", str(table))
    monkeypatch.setenv("AGENTCTL_HOME", str(tmp_path / "home dir"))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return table


def test_cron_prints_the_line_for_this_installation(crontab, tmp_path):
    p = _run("cron", env={"AGENTCTL_DATABASE_URL": "postgresql://me@/db?host=%2Ftmp"})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0].startswith("# BEGIN agentctl") and lines[-1] == "# END agentctl"
    (line,) = [x for x in lines if not x.startswith("#")]
    home = tmp_path / "home dir"
    assert line.startswith(f"* * * * * AGENTCTL_HOME='{home}' ")
    assert "AGENTCTL_DATABASE_URL='postgresql://me@/db?host=\\%2Ftmp'" in line  # cron needs % escaped
    assert f"{AGENTCTL} tick >> '{home}/logs/tick.log' 2>&1" in line
    assert "KEY_FILE" not in line  # no key file configured, none named
    assert not crontab.exists()  # printing installs nothing


def test_install_is_idempotent_keeps_other_lines_and_remove_takes_only_ours(crontab, tmp_path):
    crontab.write_text("MAILTO=me\n0 3 * * * /usr/bin/backup\n")
    key = tmp_path / "anthropic.key"
    p = _run("cron", "--install", env={"AGENTCTL_ANTHROPIC_API_KEY_FILE": str(key)})
    assert p.returncode == 0 and p.stdout.startswith("installed"), p.stderr
    first = crontab.read_text()
    assert first.startswith("MAILTO=me\n0 3 * * * /usr/bin/backup\n# BEGIN agentctl")
    assert f"AGENTCTL_ANTHROPIC_API_KEY_FILE={key}" in first  # named because it is configured
    assert (tmp_path / "home dir" / "logs").is_dir()  # the log's directory exists before cron's first >>
    again = _run("cron", "--install", env={"AGENTCTL_ANTHROPIC_API_KEY_FILE": str(key)})
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert crontab.read_text() == first and first.count("# BEGIN agentctl") == 1
    changed = _run("cron", "--install", "--log", str(tmp_path / "other.log"))
    assert changed.stdout.startswith("updated") and crontab.read_text().count("# BEGIN agentctl") == 1
    assert "other.log" in crontab.read_text() and "KEY_FILE" not in crontab.read_text()
    removed = _run("cron", "--remove")
    assert removed.returncode == 0 and crontab.read_text() == "MAILTO=me\n0 3 * * * /usr/bin/backup\n"
    assert "nothing to remove" in _run("cron", "--remove").stdout


def test_install_into_an_empty_crontab_and_without_crontab(crontab, tmp_path):
    assert _run("cron", "--install").returncode == 0
    assert crontab.read_text().startswith("# BEGIN agentctl")
    p = _run("cron", "--install", env={"PATH": str(tmp_path / "empty")})
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "no `crontab` command" in p.stderr


def test_the_tick_line_starts_with_its_time(settings):
    p = _run("tick")
    assert p.returncode == 0, p.stderr
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d start_new_cycle", p.stdout), p.stdout


def test_version_help_and_bare_groups(isolated_cli):
    v = _run("--version")
    assert v.returncode == 0 and re.fullmatch(r"agentctl \S+\n", v.stdout)
    for args in ([], ["db"], ["data"], ["budget", "-h"], ["-h"]):
        p = _run(*args)
        assert p.returncode == 0 and p.stderr == "", (args, p.stderr)
        assert p.stdout.startswith("Usage: agentctl") and "Example: agentctl" in p.stdout, (args, p.stdout)


def test_every_command_has_an_example_and_no_bool_metavar(isolated_cli):
    import typer
    from typer.testing import CliRunner

    from agentctl.cli.help import walk
    from agentctl.cli.main import app

    # In this process (typer's runner, the real app): ~40 interpreter starts would cost 30 s of CPU;
    # test_version_help_and_bare_groups runs the installed command's help as a user does.
    runner = CliRunner()
    for path, _ in walk(typer.main.get_command(app)):
        p = runner.invoke(app, [*path, "--help"], prog_name="agentctl")
        assert p.exit_code == 0, (path, p.output)
        assert "<bool>" not in p.stdout, (path, p.stdout)
        if path and path[0] not in ("pause", "resume", "integrity"):  # commands of other parts set their own
            assert "Example: agentctl" in p.stdout, (path, p.stdout)


def test_show_png_refuses_a_suffix_it_cannot_write(isolated_cli, tmp_path):
    p = _run("show", "1", "--png", str(tmp_path / "curve.txt"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "name the file .png, .svg or .pdf" in p.stderr and not (tmp_path / "curve.txt").exists()


def test_cancel_json(settings):
    p = _run("cancel", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"cancelled": False, "cycle_id": None, "outcome": None}
    assert _run("tick").returncode == 0  # starts a cycle
    p = _run("cancel", "--json")
    body = json.loads(p.stdout)
    assert body["cancelled"] is True and body["outcome"] == "cancelled" and body["cycle_id"] >= 1


@pytest.fixture
def isolated_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCTL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    monkeypatch.setenv("AGENTCTL_DATABASE_URL", f"postgresql://nobody@/x?host={tmp_path}/no-socket&port=1")


def test_db_stop_and_start_act_on_our_own_server_only(monkeypatch, pg_server):
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="agentctl-db-stop-"))
    os.chmod(base, 0o711)  # as root the server's system user must pass through (pytest's tmp dirs are 0700)
    home = base / "h"
    monkeypatch.setenv("AGENTCTL_HOME", str(home))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    monkeypatch.delenv("AGENTCTL_DATABASE_URL", raising=False)
    session_server, _ = pg_server
    try:
        assert "not running" in _run("db", "stop").stdout
        started = _run("db", "start")
        assert started.returncode == 0 and "started" in started.stdout, started.stderr
        assert "already running" in _run("db", "start").stdout
        stopped = _run("db", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
        assert session_server.running() is not None  # the test session's own server is untouched
    finally:
        from agentctl.store.embedded import EmbeddedServer

        EmbeddedServer(home).stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
    external = _run("db", "stop", env={"AGENTCTL_DATABASE_URL": "postgresql://x@/y"})
    assert external.returncode == 1 and "AGENTCTL_DATABASE_URL is set" in external.stderr


def test_ctrl_c_in_run_says_the_cycle_is_still_active(settings):
    import signal

    # Ctrl-C as a terminal sends it: to a run whose SIGINT is not ignored, whatever this suite inherited
    # (a shell ignores SIGINT in jobs it starts with `&`, and a child keeps that).
    proc = subprocess.Popen(
        [AGENTCTL, "run", "--cycles", "5", "--interval", "1"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = proc.stderr.readline()  # plain progress (not a terminal): one line per tick
    assert first.startswith("tick 1: start_new_cycle"), first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err
    assert re.match(r"agentctl: interrupted: cycle \d+ .*is still active", last), err
    assert "`agentctl cancel` ends it" in last


def test_ctrl_c_landing_in_a_finalizer_still_stops_run(monkeypatch):
    """Python drops a KeyboardInterrupt raised in a __del__; `run` checks after each tick that none came."""
    import signal

    from agentctl.cli.cycle import CtrlC

    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: dropped.append(u.exc_type))

    class Collected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs here, inside the finalizer
                pass

    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's run has it
    try:
        with CtrlC() as ctrl_c:
            Collected()
            assert dropped == [KeyboardInterrupt]  # Python lost the raise
            with pytest.raises(KeyboardInterrupt):
                ctrl_c.check()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        # Started with SIGINT ignored (nohup, `&` in a script): it stays ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with CtrlC():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)
