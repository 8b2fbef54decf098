"""`agentctl doctor`: every check a person would run by hand, each with the fix when it fails.

Checks are kept by name (`DoctorReport.check("migrations")`), in the order they are
shown; the ones that read the database run only once it is reachable and current.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.fmt import age
from agentctl.lab.universe import universe_of
from agentctl.reports.common import NO_TICK_WARNING_S
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

DATA_FIX = "reinstall agentctl, or `agentctl data import FILE`"


class Check(BaseModel):
    name: str  # database, migrations, data, universe, agent, prices, last_tick, operations, holdouts
    ok: bool
    detail: str
    fix: str | None  # what a person should do when not ok


class DoctorReport(BaseModel):
    ok: bool
    checks: list[Check]
    config_file: str | None = None  # the TOML file read, if any
    sources: dict[str, str] = {}  # setting -> `environment (NAME)`, `file PATH` or `default`

    def check(self, name: str) -> Check | None:
        """The check called `name`, if it ran."""
        return next((c for c in self.checks if c.name == name), None)


def _ok(name: str, detail: str) -> Check:
    return Check(name=name, ok=True, detail=detail, fix=None)


def _failed(name: str, detail: str, fix: str) -> Check:
    return Check(name=name, ok=False, detail=detail, fix=fix)


def doctor(settings: Settings) -> DoctorReport:
    """Every check a person would run by hand; never prints or stores the API key."""
    checks: dict[str, Check] = {}
    conn, checks["database"] = _check_database(settings)
    budget_source = None
    try:
        if conn is not None:
            checks["migrations"] = _check_migrations(conn)
        checks["data"] = _check_data(settings)
        if settings.datasets:
            checks["universe"] = _check_universe(settings)
        if settings.anthropic_api_key_file is not None:
            checks["key_file"] = _check_key_file(settings)
        checks["agent"] = _check_agent(settings)
        checks["prices"] = _check_prices(settings)
        checks["warm_lab"] = _check_warm_lab(settings)
        if conn is not None and checks["migrations"].ok:
            checks["last_tick"] = _check_last_tick(conn)
            checks["operations"] = _check_operations(conn, settings)
            checks["admission"] = _check_admission(conn, settings)
            checks["holdouts"] = _check_holdouts(conn, settings)
            budget_source = _budget_source(conn, settings)
    finally:
        if conn is not None:
            conn.close()
    config, sources = _sources()
    if budget_source is not None:  # as `agentctl budget` says it: the database's default wins
        sources["default_budget_usd"] = budget_source
    return DoctorReport(
        ok=all(c.ok for c in checks.values()), checks=list(checks.values()), config_file=config, sources=sources
    )


def _sources() -> tuple[str | None, dict[str, str]]:
    from agentctl.settings import read_config_file, setting_sources

    loaded = read_config_file()
    return (str(loaded[0]) if loaded else None), setting_sources()


def _budget_source(conn: psycopg.Connection[Any], settings: Settings) -> str:
    from agentctl.reports.costs import default_limit_source

    limit, source = default_limit_source(conn, settings)
    return f"{source} (${limit:.2f})" if source.startswith("database") else source


def _check_key_file(settings: Settings) -> Check:
    """The API key file named by AGENTCTL_ANTHROPIC_API_KEY_FILE: readable by its owner only, not empty."""
    path = settings.anthropic_api_key_file
    problem = settings.key_file_problem
    if problem:
        fix = f"create {path} holding the key (chmod 600), or unset AGENTCTL_ANTHROPIC_API_KEY_FILE to run the baseline"
        return _failed("key_file", problem, fix)
    from agentctl.settings import setting_sources

    given = setting_sources().get("anthropic_api_key", "default")
    if given != "default":
        return _ok("key_file", f"{path} not read: the key itself is set ({given})")
    return _ok("key_file", f"{path}: read, readable by its owner only")


def _check_database(settings: Settings) -> tuple[psycopg.Connection[Any] | None, Check]:
    from agentctl.store.connection import DatabaseUnavailable, connect, database_url, redact

    where = "embedded PostgreSQL in " + str(settings.home / "pgdata") if settings.embedded else "AGENTCTL_DATABASE_URL"
    try:
        conn = connect(settings, autocommit=True, url=database_url(settings))
        version = store.server_version(conn)
    except DatabaseUnavailable as err:
        fix = (
            f"see {settings.home / 'logs' / 'postgres.log'}"
            if settings.embedded
            else "start PostgreSQL or fix AGENTCTL_DATABASE_URL"
        )
        return None, _failed("database", redact(str(err)), fix)
    return conn, _ok("database", f"reachable ({where}, PostgreSQL {version})")


def _check_migrations(conn: psycopg.Connection[Any]) -> Check:
    from agentctl.store.migrate import MigrationError, pending

    try:
        todo = pending(conn)
    except MigrationError as err:
        return _failed("migrations", str(err), "reinstall agentctl")
    if todo:
        return _failed("migrations", f"{len(todo)} pending: {', '.join(todo)}", "run `agentctl db upgrade`")
    return _ok("migrations", "schema is current")


def _check_data(settings: Settings) -> Check:
    try:
        from agentctl.lab.data import list_datasets

        sets = list_datasets(settings.home)
    except Exception as err:  # a broken data directory is a finding, not a crash
        return _failed("data", f"cannot list datasets: {err}", DATA_FIX)
    if not sets:
        return _failed("data", "no dataset available", DATA_FIX)
    names = ", ".join(f"{d.symbol} {d.timeframe}" for d in sets[:5]) + (" ..." if len(sets) > 5 else "")
    return _ok("data", f"{len(sets)} dataset(s): {names}")


def _check_universe(settings: Settings) -> Check:
    """AGENTCTL_DATASETS names only installed datasets (a tick refuses to start a cycle otherwise)."""
    from agentctl.settings import ConfigError

    try:
        pairs = universe_of(settings) or []
    except ConfigError as err:
        return _failed("universe", str(err), "name datasets from `agentctl data list`, or import the missing one")
    return _ok("universe", ", ".join(f"{s}/{t}" for s, t in pairs))


def _check_agent(settings: Settings) -> Check:
    from agentctl.agent import AgentMisconfigured, select_agent

    try:
        agent = select_agent(settings)
    except AgentMisconfigured as err:
        fix = "set ANTHROPIC_API_KEY (or AGENTCTL_ANTHROPIC_API_KEY_FILE), or AGENTCTL_AGENT=baseline"
        return _failed("agent", str(err), fix)
    if agent == "claude":
        return _ok("agent", "claude: API key present")
    return _ok("agent", "baseline designer selected (no API key needed)")


def _check_prices(settings: Settings) -> Check:
    from agentctl.pricing import UnknownModel, price_for

    day = date.today()
    unknown, known = [], []
    for model in dict.fromkeys((settings.design_model, settings.assess_model)):
        try:
            price_for(model, day, settings.price_overrides)
            known.append(model)
        except UnknownModel:
            unknown.append(model)
    if unknown:
        fix = "pick a model from agentctl.pricing.PRICE_TABLE or set AGENTCTL_PRICE_OVERRIDES"
        return _failed("prices", f"no price known for {', '.join(unknown)}", fix)
    return _ok("prices", f"known for {', '.join(known)}")


def _check_last_tick(conn: psycopg.Connection[Any]) -> Check:
    trig = store.last_trigger(conn)
    if trig is None:
        fix = "run `agentctl tick`, then `agentctl cron --install` (the tick every minute)"
        return _failed("last_tick", "no tick has run yet", fix)
    if trig.age_s > NO_TICK_WARNING_S:
        fix = "cron is not running the tick: check `crontab -l` and the tick's log"
        return _failed("last_tick", f"last tick {age(trig.age_s)} ago", fix)
    return _ok("last_tick", f"last tick {age(trig.age_s)} ago")


def _check_warm_lab(settings: Settings) -> Check:
    """Whether the next local operation starts warm; never a failure (a cold start costs seconds, not work)."""
    from agentctl.lab.executors import local, warm

    if settings.executor != "local":
        return _ok("warm_lab", f"not used: operations run on {settings.executor}")
    if settings.lab_warm_idle_s <= 0:
        return _ok("warm_lab", "off (AGENTCTL_LAB_WARM_IDLE_S=0): every worker starts cold")
    pid = warm.running(local.worker_env(settings))
    if pid is None:
        return _ok("warm_lab", "none running: the next operation starts cold and starts one")
    return _ok("warm_lab", f"pid {pid} forks the workers (exits after {settings.lab_warm_idle_s:g}s idle)")


def _check_operations(conn: psycopg.Connection[Any], settings: Settings) -> Check:
    """Pending or running operations with no sign of life within settings.heartbeat_timeout_s."""
    stuck = store.stuck_operations(conn, settings.heartbeat_timeout_s)
    if not stuck:
        return _ok("operations", "no stuck operations")
    ids = ", ".join(f"{o.id} ({o.kind or '?'})" for o in stuck[:5])
    detail = f"{len(stuck)} running without a heartbeat for > {settings.heartbeat_timeout_s:g}s: {ids}"
    fix = "the next tick marks them failed; if ticks are running, `agentctl cancel` ends the cycle"
    return _failed("operations", detail, fix)


def _check_admission(conn: psycopg.Connection[Any], settings: Settings) -> Check:
    """A pause is a person's choice (ok); a budget overrun or an open circuit breaker needs one."""
    from agentctl.agent.admission import why_no_new_cycle
    from agentctl.domain import SkipReason

    found = why_no_new_cycle(conn, settings)
    detail = "; ".join(why for _, why in found) or "new cycles may start (not paused, no overrun, circuit closed)"
    if any(reason is not SkipReason.PAUSED for reason, _ in found):
        return _failed("admission", detail, "look at `agentctl status` and `agentctl cost`, then `agentctl resume`")
    return _ok("admission", detail)


def _check_holdouts(conn: psycopg.Connection[Any], settings: Settings) -> Check:
    """Every dataset's holdout starts where its strategies' research ended: a moved one is no longer sealed."""
    from datetime import datetime

    from agentctl.lab.data import list_datasets

    now: dict[tuple[str | None, str | None], datetime] = {
        (d.symbol, d.timeframe): d.holdout_start for d in list_datasets(settings.home)
    }
    for r in store.researched_holdouts(conn):
        current = now.get((r.symbol, r.timeframe))
        if current is None:
            continue  # a dataset removed since: nothing to compare
        then = datetime.fromisoformat(r.holdout_start)
        if then.replace(tzinfo=None) != current.replace(tzinfo=None):
            return _failed(
                "holdouts",
                f"{r.symbol}/{r.timeframe}: cycle {r.first_cycle} researched up to a holdout from {then:%Y-%m-%d %H:%M}, "
                f"which now starts {current:%Y-%m-%d %H:%M}: strategies may have seen its bars",
                "restore AGENTCTL_HOLDOUT_SHARE and AGENTCTL_MIN_HOLDOUT_BARS, or research in a new AGENTCTL_HOME",
            )
    return _ok("holdouts", "every dataset's holdout is where its strategies' research left it")
