"""The warm lab: a process that has imported the lab's libraries and forks a worker per operation.

A cold worker spends about 3 s of CPU importing pandas, TA-Lib and scikit-learn (which
imports scipy.stats) before its work. The local executor asks the warm lab first: one
process per user, interpreter and code version that imported them once, listening on a
socket only its user can reach. It forks; the worker it forks runs exactly what
`python -m agentctl.lab.worker OP_ID` runs, with the caller's environment, working
directory and log, in its own session, under a worker's command line. Of agentctl, the
warm lab imports only this module and its packages; the worker imports the rest afresh.

Whatever goes wrong here (no warm lab yet, one killed, one that stops answering), the
executor starts a cold worker instead; if both start, the operation's claim lets one run.
A warm lab exits after `AGENTCTL_LAB_WARM_IDLE_S` without work, and after an hour in any
case (a library upgraded under it is then picked up); 0 never starts one.
In its folder (`$XDG_RUNTIME_DIR/agentctl`, else `/tmp/agentctl-UID`) each warm lab has
KEY.sock, KEY.log and KEY.lock, which it holds while it lives and which names its pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

# What a cold worker spends its first seconds importing (the operations import them lazily).
# Imports only: nothing here may start a thread pool (an OpenMP region run before a fork can hang
# the forked worker's first parallel fit).
PRELOAD = (
    "numpy",
    "pandas",
    "talib.abstract",
    "scipy.stats",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.neural_network",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "joblib",
    "pydantic.main",
    "psycopg",
)
PACKAGE = Path(__file__).resolve().parents[2]  # the agentctl this warm lab's workers import
_REQUEST_LIMIT = 1 << 20  # bytes: an operation's environment, path and id
_ANSWER_S = 10.0  # a warm lab that takes longer to fork is treated as gone
_LIFETIME_S = 3600.0  # then it exits even while busy: the next operation starts a fresh one


# Read once, at the interpreter's start or a library's import: a warm lab serves one set of their values.
_STARTUP_ENV: tuple[str, ...] = (
    *("PYTHON", "LANG", "LC_", "LD_"),
    *("OMP_", "OPENBLAS_", "MKL_", "KMP_", "GOTO_", "BLIS_", "NUMEXPR_"),
    *("SKLEARN_", "JOBLIB_", "NPY_", "SCIPY_"),
)


def _startup_env(env: dict[str, str]) -> list[str]:
    return sorted(f"{k}={v}" for k, v in env.items() if k.startswith(_STARTUP_ENV) or k.endswith("_NUM_THREADS"))


def key(env: dict[str, str]) -> str:
    """The interpreter, its installed packages, agentctl's code and the startup settings: one warm lab each."""
    digest = hashlib.sha256(sys.executable.encode())
    for place in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        digest.update(f"{place}:{_mtime(Path(place))}\n".encode())  # a package installed or removed
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(f"{path}:{_mtime(path)}\n".encode())
    digest.update("\n".join(_startup_env(env)).encode())
    return digest.hexdigest()[:16]


def _mtime(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:  # an editor's dangling lock file, a file removed meanwhile
        return "-"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def runtime_dir() -> Path | None:
    """This user's own directory for the socket, or None when it cannot be made safe."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "agentctl" if base else Path("/tmp") / f"agentctl-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, parents=False, exist_ok=True)
        stat = path.lstat()
    except OSError:
        return None
    # Another user's directory, or one others can enter, could hand our operations to their process.
    if stat.st_uid != os.getuid() or stat.st_mode & 0o077 or not path.is_dir() or path.is_symlink():
        return None
    return path


def submit(op_id: str, log_path: Path, env: dict[str, str]) -> int | None:
    """The pid of a worker the warm lab forked for `op_id`, or None (no warm lab answered)."""
    folder = runtime_dir()
    if folder is None:
        return None
    try:
        request = {"op_id": op_id, "log_path": str(log_path), "env": env, "cwd": os.getcwd()}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_ANSWER_S)
            conn.connect(str(folder / f"{key(env)}.sock"))
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(_read_line(conn))
        pid = answer["pid"]
        return pid if isinstance(pid, int) and pid > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(env: dict[str, str]) -> int | None:
    """The pid of the warm lab that would fork this caller's workers, when one is up and listening."""
    folder = runtime_dir()
    if folder is None:
        return None
    name = key(env)
    lock = folder / f"{name}.lock"
    if not (folder / f"{name}.sock").exists() or not _locked(lock):
        return None
    try:
        return int(lock.read_text())
    except (OSError, ValueError):
        return None


def pids(folder: Path) -> list[int]:
    """The warm labs alive in `folder`, by the pid each lock names (a pid reused since is not one)."""
    found = []
    for lock in folder.glob("*.lock"):
        try:
            pid = int(lock.read_text())
            if b"agentctl.lab.executors.warm" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except (OSError, ValueError):  # empty (starting, or never started), or gone
            pass
    return found


def start(env: dict[str, str], idle_s: float, log_path: Path) -> None:
    """Start a warm lab for later operations unless one runs or is starting; never waits for its imports.

    Only ever a saving: whatever fails here goes to the operation's log (not the tick's one line),
    and operations start cold.
    """
    try:
        _start(env, idle_s)
    except Exception as exc:  # the caller's worker has started already; this one is only for later
        with contextlib.suppress(OSError), open(log_path, "a") as log:
            print(f"no warm lab started (this operation runs cold): {type(exc).__name__}: {exc}", file=log)


def _start(env: dict[str, str], idle_s: float) -> None:
    folder = runtime_dir()
    if folder is None or idle_s <= 0:
        return
    name = key(env)
    if _locked(folder / f"{name}.lock"):
        return
    argv = [sys.executable, "-m", "agentctl.lab.executors.warm", str(folder), name, str(idle_s), str(PACKAGE)]
    # Each request brings its own settings: the warm lab keeps no caller's database URL or home.
    own = {k: v for k, v in env.items() if not k.startswith(("AGENTCTL_", "ANTHROPIC_"))}
    with open(folder / f"{name}.log", "ab") as log:
        # The launcher forks the warm lab into its own session and exits at once: nothing to reap later.
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=own, timeout=60, check=False)


def _locked(path: Path) -> bool:
    """Whether a warm lab holds this lock (it does from its start to its exit)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return True  # cannot tell: start none
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock this probe took
    return False


def _take(lock: int) -> bool:
    """The lock, unless a warm lab holds it; a caller's probe (`_locked`) holds it only for a moment."""
    for _ in range(20):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > _REQUEST_LIMIT:
            raise ValueError("no whole line")
        data += chunk
    return data


def serve(folder: Path, name: str, idle_s: float) -> int:
    """Import the lab's libraries, then fork a worker per request until `idle_s` pass without one."""
    lock = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    if not _take(lock):
        return 0  # another warm lab of this version runs or is starting
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())  # who holds it, for a person (or a test) to stop it
    path, ready = folder / f"{name}.sock", folder / f"{name}.sock.new"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        # Bound before the imports, so a socket that cannot be made (a path too long) fails at once,
        # and put in place after them: a socket in place is one that answers.
        ready.unlink(missing_ok=True)
        listener.bind(str(ready))
        listener.listen(16)
        _preload()
        ready.rename(path)  # over a killed warm lab's socket: the lock says nobody listens on it
        print(f"warm lab {name} (pid {os.getpid()}) ready after importing {', '.join(PRELOAD)}", flush=True)
        why = _serve(listener, idle_s)
        path.unlink(missing_ok=True)  # under the lock: no newer warm lab's socket can be removed
    print(f"warm lab {name} {why}; exiting", flush=True)
    return 0


def _preload() -> None:
    import importlib

    import setproctitle  # noqa: F401  # before any worker changes the environment: it needs the original

    for module in PRELOAD:
        importlib.import_module(module)
    # What the imports made is never garbage: the workers' collections skip it, and their memory
    # pages stay shared with this process instead of being copied when a collection touches them.
    gc.freeze()


def _serve(listener: socket.socket, idle_s: float) -> str:
    """Answer requests until idle for `idle_s` or past the lifetime; which of the two."""
    end = time.monotonic() + _LIFETIME_S
    while (left := end - time.monotonic()) > 0:
        listener.settimeout(min(idle_s, left))
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            if left > idle_s:
                return f"idle for {idle_s:.0f}s"
            break
        with conn:
            _answer(listener, conn)
    return f"past its lifetime of {_LIFETIME_S:.0f}s"


def _answer(listener: socket.socket, conn: socket.socket) -> None:
    """Fork a worker for one request from this user and send back its pid."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return
        conn.settimeout(_ANSWER_S)
        request = json.loads(_read_line(conn))
        op_id, log_path, env, cwd = request["op_id"], request["log_path"], request["env"], request["cwd"]
        pid = _fork_worker(listener, conn, str(op_id), str(log_path), dict(env), str(cwd))
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"request not served: {type(exc).__name__}: {exc}", flush=True)


def _fork_worker(listener: socket.socket, conn: socket.socket, op_id: str, log: str, env: dict, cwd: str) -> int:
    """Fork twice, as a daemon does: the worker is nobody's child here and leads its own session."""
    lab = os.getpid()
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read)
            listener.close()
            conn.close()
            # Nothing else of the warm lab's: its lock above all, which a worker holding it open would keep
            # held after the warm lab's death (no new one could start until that worker ends).
            os.closerange(3, write)
            os.closerange(write + 1, os.sysconf("SC_OPEN_MAX"))
            worker = os.fork()
            if worker:
                os.write(write, str(worker).encode())
            else:
                os.close(write)
                _become_worker(op_id, log, env, cwd, lab)
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(middle, 0)
    with os.fdopen(read, "rb") as pipe:
        return int(pipe.read() or b"0")


def _become_worker(op_id: str, log: str, env: dict, cwd: str, lab: int) -> None:
    """Turn this fork into `python -m agentctl.lab.worker OP_ID` started from the caller; never returns."""
    code = 70
    try:
        from setproctitle import setproctitle

        setproctitle(f"{sys.executable} -m agentctl.lab.worker {op_id}")  # `stop` and `ps` know a worker by it
        sys.argv = ["agentctl.lab.worker", op_id]  # as `-m` leaves it (run_module sets the first to the file)
        os.setsid()
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)):
            opened = os.open(path, flags, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        os.dup2(1, 2)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.path[0] = cwd  # what `-m` puts first for a cold worker
        import runpy

        print(f"worker for {op_id} forked by the warm lab (pid {lab}) as pid {os.getpid()}", file=sys.stderr)
        runpy.run_module("agentctl.lab.worker", run_name="__main__", alter_sys=True)  # exits with its code
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> int:
    """`python -m agentctl.lab.executors.warm FOLDER KEY IDLE_S PACKAGE`: daemonize, then serve."""
    folder, name, idle, package = argv
    if str(PACKAGE) != package:
        print(f"this interpreter imports agentctl from {PACKAGE}, not {package}", file=sys.stderr)
        return 1
    if os.fork():
        return 0  # the launcher: its caller waits for it, not for the imports
    os.setsid()
    return serve(Path(folder), name, float(idle))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
