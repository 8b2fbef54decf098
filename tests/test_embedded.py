"""The embedded server: started once, reused by the next process, robust to SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from agentctl.store.embedded import EmbeddedServer

pytestmark = pytest.mark.heavy

AGENTCTL = [sys.executable, "-m", "agentctl"]


def run_cli(args, env, **kw):
    return subprocess.run(AGENTCTL + args, env=env, capture_output=True, text=True, timeout=120, **kw)


def _traversable_tmpdir(prefix: str) -> Path:
    # pytest's own tmp dirs are 0700; as root the server's system user must pass through.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(base, 0o711)
    return base


@pytest.fixture
def home():
    base = _traversable_tmpdir("agentctl-emb-")
    h = base / "home"
    yield h
    EmbeddedServer(h).stop("immediate")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def env(home, tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_")}
    e.update(AGENTCTL_HOME=str(home), AGENTCTL_CONFIG=os.devnull)
    return e


def _pid(home: Path) -> int:
    running = EmbeddedServer(home).running()
    assert running is not None, "the embedded server is not running"
    return running.pid


def test_first_use_starts_the_server_and_the_next_process_reuses_it(home, env):
    first = run_cli(["db", "upgrade"], env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_seed_schema" in first.stdout
    pid = _pid(home)

    second = run_cli(["db", "status", "--json"], env)
    assert second.returncode == 0, second.stderr
    states = json.loads(second.stdout)["migrations"]
    assert states and all(s["applied"] for s in states)
    assert _pid(home) == pid, "the second process started a new server instead of reusing it"

    again = run_cli(["db", "upgrade"], env)
    assert again.returncode == 0
    assert again.stdout.strip() == "schema is current: nothing to apply"


def test_sigkill_of_a_client_holding_the_server_leaves_it_usable(home, env):
    assert run_cli(["db", "upgrade"], env).returncode == 0
    pid = _pid(home)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from agentctl.store import connect; from agentctl.settings import Settings;"
            "c = connect(Settings()); c.execute('BEGIN'); c.execute('SELECT 1'); print('ready', flush=True); time.sleep(60)",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    after = run_cli(["db", "status"], env)
    assert after.returncode == 0, after.stderr
    assert _pid(home) == pid


def test_a_server_killed_with_sigkill_is_restarted_by_the_next_process(home, env):
    assert run_cli(["db", "upgrade"], env).returncode == 0
    old = _pid(home)
    os.kill(old, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(old, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    # postmaster.pid is left behind, naming a dead process.
    assert (home / "pgdata" / "postmaster.pid").exists()
    after = run_cli(["db", "status", "--json"], env)
    assert after.returncode == 0, after.stderr
    assert _pid(home) != old
    assert all(s["applied"] for s in json.loads(after.stdout)["migrations"])


def test_a_first_use_killed_before_its_database_exists_is_finished_by_the_next_process(home, env):
    """What a first use killed between the server's start and CREATE DATABASE leaves: a ready server, no database."""
    server = EmbeddedServer(home)
    home.mkdir(parents=True)
    bindir = server._bindir()
    if server.as_root:
        server._prepare_root()
    server._initdb(bindir)
    pid = server._start(bindir).pid
    after = run_cli(["db", "upgrade"], env)
    assert after.returncode == 0, after.stderr
    assert "applied 0001_seed_schema" in after.stdout
    assert _pid(home) == pid  # the same server, now with its database


def test_an_initdb_killed_halfway_leaves_no_cluster_and_the_next_process_makes_one(home, env):
    """initdb writes beside pgdata; what a killed one left there is discarded, never started as a cluster."""
    half = home / "pgdata.new"
    (half / "base" / "1").mkdir(parents=True)  # template1 only: initdb died before the postgres database
    (half / "PG_VERSION").write_text("16\n")
    first = run_cli(["db", "upgrade"], env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_seed_schema" in first.stdout
    assert not half.exists() and (home / "pgdata" / "PG_VERSION").exists()


def test_concurrent_first_use_starts_exactly_one_server(home, env):
    procs = [
        subprocess.Popen(
            [*AGENTCTL, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(5)
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [r[0] for r in results] == [0] * 5, results
    applied = [line for r in results for line in r[1].splitlines() if line.startswith("applied")]
    assert (
        sorted(applied) == ["applied 0001_seed_schema", "applied 0002_one_active_session"]
        or len([line for line in applied if "0001" in line]) == 1
    )
    postgres = [
        p for p in os.listdir("/proc") if p.isdigit() and _cmd(p).startswith("postgres") and str(home) in _cmdline(p)
    ]
    assert len(postgres) == 1, postgres


def _cmd(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the root layout")
def test_as_root_the_server_runs_as_its_own_user_and_opens_nothing_outside_home(home, env):
    parent_modes = {p: p.stat().st_mode & 0o777 for p in home.parents}
    venv_modes = {p: p.stat().st_mode & 0o777 for p in Path(sys.prefix).parents}
    assert run_cli(["db", "upgrade"], env).returncode == 0
    import pwd

    owner = pwd.getpwuid(os.stat(f"/proc/{_pid(home)}").st_uid).pw_name
    assert owner == "agentctl"
    assert (home / "pgdata").stat().st_mode & 0o777 == 0o700
    assert {p: p.stat().st_mode & 0o777 for p in home.parents} == parent_modes
    assert {p: p.stat().st_mode & 0o777 for p in Path(sys.prefix).parents} == venv_modes


def _usable_by_others(path: Path) -> bool:
    path = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in path.parents) and bool(path.stat().st_mode & 0o001)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary user")
def test_works_as_an_ordinary_user():
    import pwd

    user = pwd.getpwnam("nobody")
    # The venv's interpreter may live under /root (pyenv); the system one of the same
    # version runs the same code from the venv's site-packages.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    python = next(
        (p for p in (Path(sys.executable), Path("/usr/bin") / version) if p.exists() and _usable_by_others(p)), None
    )
    site = Path(sysconfig.get_paths()["purelib"])
    repo = Path(__file__).resolve().parents[1]
    if python is None or not _usable_by_others(site) or not _usable_by_others(repo / "agentctl"):
        pytest.skip("no interpreter and packages readable by an ordinary user")
    base = _traversable_tmpdir("agentctl-user-")
    home = base / "home"
    home.mkdir()
    os.chown(home, user.pw_uid, user.pw_gid)
    env = {
        "PATH": os.environ["PATH"],
        "AGENTCTL_HOME": str(home),
        "HOME": str(home),
        "AGENTCTL_CONFIG": os.devnull,
        "PYTHONPATH": f"{repo}:{site}",
    }
    try:
        r = subprocess.run(
            [str(python), "-m", "agentctl", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[],
            cwd=str(home),
        )
        assert r.returncode == 0, r.stderr
        assert "applied 0001_seed_schema" in r.stdout
        running = EmbeddedServer(home).running()
        assert running is not None
        assert os.stat(f"/proc/{running.pid}").st_uid == user.pw_uid
        assert (home / "pgdata").stat().st_uid == user.pw_uid
    finally:
        running = EmbeddedServer(home).running()
        if running:
            os.kill(running.pid, signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)


def test_database_url_is_honoured(settings, db_url, tmp_path):
    env = {k: v for k, v in os.environ.items()}
    env["AGENTCTL_HOME"] = str(tmp_path / "unused-home")
    r = run_cli(["db", "status", "--json"], env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["database"] == "external"
    assert all(s["applied"] for s in out["migrations"])
    assert not (tmp_path / "unused-home" / "pgdata").exists(), "started an embedded server despite the URL"
    with psycopg.connect(db_url) as c:
        c.execute("INSERT INTO agent_budget (date) VALUES ('2030-01-01')")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from agentctl.store import connect; from agentctl.settings import Settings;"
            "print(connect(Settings()).execute(\"SELECT count(*) AS n FROM agent_budget WHERE date='2030-01-01'\").fetchone()['n'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.stdout.strip() == "1", r.stderr


def test_connections_use_the_budget_time_zone(settings, monkeypatch):
    from agentctl.settings import Settings
    from agentctl.store import connect

    monkeypatch.setenv("AGENTCTL_TIMEZONE", "Pacific/Kiritimati")  # UTC+14: its date is often not UTC's
    s = Settings()
    with connect(s) as c:
        row = c.execute(
            "SELECT current_setting('TimeZone') AS tz, CURRENT_DATE AS d, "
            "(now() AT TIME ZONE 'Pacific/Kiritimati')::date AS expected"
        ).fetchone()
    assert row["tz"] == "Pacific/Kiritimati"
    assert row["d"] == row["expected"]


def test_unreachable_database_exits_75_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_")}
    env["AGENTCTL_DATABASE_URL"] = f"postgresql://agentctl:s3cret-pw@/agentctl?host={tmp_path}&port=1"
    for args in (["db", "upgrade"], ["db", "status"]):
        r = run_cli(args, env)
        assert r.returncode == 75, (r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "s3cret-pw" not in r.stderr
        assert r.stderr.startswith("agentctl: ")


def test_bad_arguments_exit_2_with_one_line():
    for args in (["db", "bogus"], ["db", "status", "--jsn"], ["nope"]):
        r = run_cli(args, dict(os.environ))
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
