"""Test fixtures on a real PostgreSQL.

One embedded server per test process (our own `EmbeddedServer`, the same code
users run), driven by pytest-postgresql's noproc mode: the migrations are applied
once to a template database and every test gets a fresh `CREATE DATABASE ...
TEMPLATE` clone of it. Under pytest-xdist each worker is such a process, with its
own server and temporary directory; the controller runs no test and starts none.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from pytest_postgresql import factories

REPO = Path(__file__).resolve().parents[1]

# The suite runs several processes per core (xdist's workers, lab workers, ticks). A library's thread pool
# (OpenMP in scikit-learn, OpenBLAS in numpy) spins while it waits for a sibling thread that is not running,
# burning the CPU the other processes need: one thread each (the power tests under load: 59-74 s of CPU with
# the pools, 29 s without). Set here, before any test module imports numpy; xdist's workers inherit it.
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

_SERVER: dict = {}
# The suite's baseline seed. Its first three cycles fit logistic regressions (SP500/1d, AAPL/1h,
# NASDAQ/1d), the cheapest real models: the ticks' tests are about the tick, and lab/ tests every family.
SUITE_SEED = 25


def _xdist_controller(config: pytest.Config) -> bool:
    """True in pytest-xdist's controller process, which hands tests to its workers and runs none."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Start this process's embedded server before pytest-postgresql reads its options."""
    from agentctl.procs import COLLECT_EVERY
    from agentctl.store.embedded import EmbeddedServer

    # Each process of the suite imports what the product does, then runs many short tests:
    # it collects garbage as the product's own processes do (procs.light_gc).
    gc.set_threshold(*COLLECT_EVERY)
    # Settings from the developer's own environment must not leak into tests.
    for key in list(os.environ):
        if key.startswith("AGENTCTL_") or key == "ANTHROPIC_API_KEY":
            del os.environ[key]
    if not hasattr(config, "workerinput"):
        _share_a_warm_lab()
    if _xdist_controller(config):
        return
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    base = Path(tempfile.mkdtemp(prefix=f"agentctl-tests-{worker}-"))
    os.chmod(base, 0o711)
    # Durability is worth nothing to a throwaway test cluster; speed is.
    server = EmbeddedServer(base / "home", "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    running = server.start()
    _SERVER.update(server=server, base=base, running=running)
    config.option.postgresql_host = str(running.socket_dir)
    config.option.postgresql_port = str(running.port)
    config.option.postgresql_user = "postgres"
    config.option.postgresql_dbname = "agentctl_test"


def _stop_server() -> None:
    server = _SERVER.pop("server", None)
    if server is not None:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(_SERVER["base"], ignore_errors=True)


def _share_a_warm_lab() -> None:
    """One runtime folder for the run (xdist's workers inherit it): its warm lab serves every test's operations.

    And one cache folder, under it: the bundled datasets' info is read from the files once per run,
    not once per test's home, and never from or into the developer's own ~/.cache.
    """
    folder = Path(tempfile.mkdtemp(prefix="agentctl-tests-run-"))
    _SERVER["runtime"] = folder
    os.environ["XDG_RUNTIME_DIR"] = str(folder)
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")


def _stop_warm_labs() -> None:
    import signal

    folder = _SERVER.pop("runtime", None)
    if folder is None:
        return
    from agentctl.lab.executors import warm

    for pid in warm.pids(folder / "agentctl"):
        os.kill(pid, signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules marked heavy first, then the rest by their number of tests, most first.

    xdist hands out whole modules in this order (the Makefile's --no-loadscope-reorder): a module
    that keeps its worker busy for half a minute, handed out last, would end the run alone.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def weight(tests: list[pytest.Item]) -> tuple[bool, int]:
        return (tests[0].get_closest_marker("heavy") is None, -len(tests))

    items[:] = [item for tests in sorted(modules.values(), key=weight) for item in tests]


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()  # what collection imported lives until the run ends: no collection need walk it again


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_server()  # when the session did not finish (an error before it began)
    _stop_warm_labs()


def url_for(dbname: str) -> str:
    """Connection URL of a database on the session's server."""
    running = _SERVER["running"]
    return f"postgresql://postgres@/{dbname}?host={quote(str(running.socket_dir))}&port={running.port}"


def _apply_migrations(host: str, port: int, user: str, dbname: str, **_: object) -> None:
    from agentctl.store.migrate import upgrade

    upgrade(url_for(dbname))
    import psycopg

    # The installation's random baseline seed, pinned in the template: the suite's cycles repeat.
    with psycopg.connect(url_for(dbname), autocommit=True) as c:
        c.execute("UPDATE agent_installation SET baseline_seed = %s", (SUITE_SEED,))


postgresql_noproc = factories.postgresql_noproc(load=[_apply_migrations])
postgresql = factories.postgresql("postgresql_noproc")


@pytest.fixture
def pg_server():
    """The session's embedded server (EmbeddedServer, RunningServer)."""
    return _SERVER["server"], _SERVER["running"]


@pytest.fixture
def db_url(postgresql) -> str:
    """URL of a fresh database with every migration applied (scanned for test API keys before it is dropped)."""
    url = url_for(postgresql.info.dbname)
    yield url
    _scan_database(url, postgresql)


# ---- secrets sweep: no test API key in any database row, file or captured output ----------

_LEAKS: list[str] = []


def _scan_database(url: str, conn=None) -> None:
    """Scan over the test's own connection when it still works (a connection less per test), else afresh."""
    from secrets_scan import rows_with_secret, rows_with_secret_on

    if conn is not None:
        try:
            conn.rollback()  # whatever the test left open
            _LEAKS.extend(rows_with_secret_on(conn, url.split("?")[0]))
            return
        except Exception:
            pass  # the test closed or broke it
    try:
        _LEAKS.extend(rows_with_secret(url))
    except Exception:
        pass


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Captured stdout/stderr/log of every test phase. (Not failure reports: a failed `assert KEY not in x`
    # quotes the key itself, and that test has failed already.)
    from secrets_scan import text_has_secret

    for name, content in report.sections:
        if text_has_secret(content):
            _LEAKS.append(f"{report.nodeid}: {name}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """In the xdist controller: a worker's sweep found leaks; the run fails on them here too."""
    _LEAKS.extend(getattr(node, "workeroutput", {}).get("leaks", []))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test API key reached a database, a file under the test directories, or output.

    Last, after the session's fixtures are torn down; the server stops here, not at unconfigure: an xdist
    controller ends its workers once they report, and a worker's unconfigure may never run.
    """
    from secrets_scan import files_with_secret

    running = _SERVER.get("running")
    if running is not None:
        try:
            import psycopg

            with psycopg.connect(url_for("postgres"), autocommit=True, connect_timeout=5) as c:
                names = [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")]
            for name in names:
                _scan_database(url_for(name))
        except Exception:
            pass
    roots = [_SERVER["base"]] if _SERVER.get("base") else []
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None and getattr(factory, "_basetemp", None) is not None:
        roots.append(factory.getbasetemp())
    for root in roots:
        _LEAKS.extend(f"file {p}" for p in files_with_secret(root))
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["leaks"] = sorted(set(_LEAKS))
    if _LEAKS:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["a test API key leaked to:", *sorted(set(_LEAKS))]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True, bold=True)
        else:
            print("\n".join(lines), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _stop_server()


@pytest.fixture
def settings(db_url, tmp_path, monkeypatch):
    """Settings for a fresh database and data directory; exported to subprocesses too."""
    from agentctl import settings as settings_mod

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AGENTCTL_DATABASE_URL", db_url)
    monkeypatch.setenv("AGENTCTL_HOME", str(home))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    settings_mod.get_settings.cache_clear()
    yield settings_mod.Settings()
    settings_mod.get_settings.cache_clear()


@pytest.fixture
def conn(settings):
    """A connection (dict rows, budget time zone) to the test's database."""
    from agentctl.store import connect

    c = connect(settings)
    yield c
    c.close()


@pytest.fixture
def admin_conn():
    """Autocommit connection to the maintenance database, for creating scratch databases."""
    import psycopg

    c = psycopg.connect(url_for("postgres"), autocommit=True)
    yield c
    c.close()
