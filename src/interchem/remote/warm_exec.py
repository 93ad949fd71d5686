"""Run jobflow-remote jobs of one batch allocation in forks of a warm Python process.

Why: in batch mode (``interchem remote-project --batch N``) jobflow-remote runs each job's ``submit.sh``,
so every job starts a new Python that imports torch, atomate2 and the MLIP again (~5 s of CPU, more than
the relaxation of a small cell): a 23-phase screen paid that 23 times against once locally. jobflow-remote
has no in-process batch mode, and no library keeps a warm worker for it, hence this module (by hand).

The worker's ``execution_cmd`` is ``python -m interchem.remote.warm_exec {run_dir}`` (set by
``project.add_batch``). That client imports nothing heavy. It finds the batch process that started it
(the parent of its ``submit.sh`` shell) and connects to that process's warm server over a Unix socket,
starting one if there is none. The server has imported the heavy modules once; for each job it forks a
child. The child takes the client's environment, stdout and stderr (passed over the socket) and runs
exactly what ``jf -fe execution run DIR`` runs (``jobflow_remote.jobs.run.run_remote_job``); its status
goes back to the client, which exits with it. Each job still has a process of its own (a crash or a leak
stays in its fork), but none pays the imports.

Lifetime: the server exits, after terminating any child still running, as soon as the batch process it
serves is gone (end of the allocation, scancel, the batch's own idle stop), or after ``IDLE_S`` without a
request. Anything unexpected (no /proc, the server does not come up) falls back to
``jf -fe execution run DIR`` in place, so a job never fails for this module's sake;
``INTERCHEM_WARM_EXEC=0`` in the worker's environment turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What a job imports anyway, loaded once by the server. Missing optional ones are skipped.
PRELOAD = (
    "torch",
    "jobflow_remote.jobs.run",
    "atomate2.forcefields.jobs",
    "atomate2.forcefields.utils",
    "chgnet.model",
    "interchem.calculators",
    "interchem.workflows.thermo",
)
START_TIMEOUT_S = 300.0  # the server imports torch & co. before it listens
IDLE_S = 900.0
LOG_NAME = "interchem_warm_exec.log"
_MAX_MSG = 1 << 20


def socket_path(owner: int) -> Path:
    """The server socket of batch process ``owner`` (short: Unix socket paths are limited to ~100 bytes)."""
    return Path(tempfile.gettempdir()) / f"interchem-warm-{os.getuid()}-{owner}.sock"


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from /proc (Linux); None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------------------------
# client


def _fallback(run_dir: str) -> None:
    """What jobflow-remote would have run: ``jf -fe execution run DIR``, in this process's place."""
    os.execvp("jf", ["jf", "-fe", "execution", "run", run_dir])


def _connect(path: Path) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
    except OSError:
        s.close()
        return None
    return s


def log_path(owner: int) -> Path:
    """The server's log: in the batch process's folder (the batch's own work dir), else beside the socket."""
    try:
        return Path(os.readlink(f"/proc/{owner}/cwd")) / LOG_NAME
    except OSError:
        return socket_path(owner).with_suffix(".log")


def _start_server(path: Path, owner: int) -> socket.socket | None:
    """Start the warm server of ``owner`` (its output to ``log_path``) and wait until it listens."""
    log = open(log_path(owner), "ab")  # noqa: SIM115 - handed to the server process
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a dead server of a recycled pid
    proc = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
        [sys.executable, "-m", "interchem.remote.warm_exec", "--serve", str(path), str(owner)],
        stdin=subprocess.DEVNULL,
        stdout=log,  # never the shell's pipes: the batch process waits for those to close
        stderr=log,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        conn = _connect(path)
        if conn is not None:
            return conn
        time.sleep(0.1)
    return None


def client(run_dir: str) -> int:
    """Run the job in ``run_dir`` through the warm server of this batch process; its exit status."""
    run_dir = os.path.abspath(run_dir)
    if os.environ.get("INTERCHEM_WARM_EXEC") == "0":
        _fallback(run_dir)
    shell = os.getppid()  # submit.sh's bash; its parent is the batch process that runs jobs in turn
    owner = parent_of(shell)
    if owner is None or owner <= 1:
        _fallback(run_dir)
    path = socket_path(owner)
    with open(path.with_suffix(".lock"), "w") as lock:  # parallel jobs of one batch process: one server
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path) or _start_server(path, owner)
    if conn is None:
        _fallback(run_dir)
    with conn:
        request = json.dumps({"run_dir": run_dir, "env": dict(os.environ)}).encode()
        socket.send_fds(conn, [len(request).to_bytes(8, "big") + request], [1, 2])
        reply = conn.makefile("rb").readline()
    if not reply:  # the fork died without answering (killed): the job's own files say what happened
        return 1
    return int(json.loads(reply).get("rc", 1))


# --------------------------------------------------------------------------------------------------
# server


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _flags, _addr = socket.recv_fds(conn, 8, 2)
    size = int.from_bytes(head, "big")
    if size > _MAX_MSG:
        raise ValueError(f"request of {size} bytes")
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("client closed the connection mid-request")
        body += chunk
    return json.loads(body), fds


def _run_child(conn: socket.socket) -> None:
    """In the fork: become the job's process (environment, stdout/stderr, folder) and run it as
    ``jf -fe execution run`` does; tell the client the status. Never returns."""
    rc = 1
    try:
        request, fds = _recv_request(conn)
        for target, fd in zip((1, 2), fds, strict=False):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["run_dir"])
        threads = os.environ.get("OMP_NUM_THREADS")
        if threads and threads.isdigit() and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(threads))  # libgomp read the server's value at import
        import interchem

        if os.environ.get("INTERCHEM_REPORT_SIGTERM") == "1":
            interchem.report_sigterm()
        from jobflow_remote.jobs.run import run_remote_job

        run_remote_job(request["run_dir"])  # records the job's own errors in its output file
        rc = 0
    except BaseException as exc:  # noqa: BLE001 - the fork must answer and exit whatever happened
        with contextlib.suppress(Exception):
            print(f"interchem warm_exec: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        with contextlib.suppress(Exception):
            conn.sendall(json.dumps({"rc": rc}).encode() + b"\n")
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(rc)


def serve(path: Path, owner: int) -> None:
    """Import once, then fork a child per connection until ``owner`` is gone or nothing came for IDLE_S."""
    _preload()
    children: set[int] = set()

    def reap(*_):
        while children:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                return
            if pid == 0:
                return
            children.discard(pid)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    listener.settimeout(1.0)
    last = time.monotonic()
    print(f"warm server {os.getpid()} for batch process {owner} listening at {path}", flush=True)
    try:
        while _alive(owner) and (children or time.monotonic() - last < IDLE_S):
            reap()
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            last = time.monotonic()
            pid = os.fork()
            if pid == 0:
                listener.close()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _run_child(conn)
            conn.close()
            children.add(pid)
            print(f"job fork {pid}", flush=True)
    finally:
        for pid in list(children):  # the allocation ended under them: do not outlive it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        listener.close()
        for leftover in (path, path.with_suffix(".lock")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        print(f"warm server {os.getpid()} stopped (batch process {owner} alive: {_alive(owner)})", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"] and len(argv) == 3:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # runs serve's cleanup
        serve(Path(argv[1]), int(argv[2]))
        return 0
    if len(argv) != 1:
        print("usage: python -m interchem.remote.warm_exec RUN_DIR", file=sys.stderr)
        return 2
    return client(argv[0])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
