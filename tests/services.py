"""Real services for integration tests, started by the tests themselves and torn down at session end.

* ``mongo_server``: a MongoDB wire-protocol server (PyPI ``mongoeco``, SQLite engine, SCRAM auth on)
  on a free 127.0.0.1 port, from the small Python 3.13 venv ``.services/mongoeco-venv`` (made by
  scripts/setup.sh, or here when missing).
* ``slurm_cluster``: munged + slurmctld + slurmd (Debian ``slurm-wlm``/``munge``) with a generated
  slurm.conf: one node ``localhost`` (127.0.0.1), partition ``debug``, free ports, state in tmp.
  ``SLURM_CONF`` is exported for the session so sbatch/squeue/jobflow-remote's runner find it.

A component that cannot exist here (not root, packages missing) skips the tests that need it, with the
reason; with ``INTERCHEM_REQUIRE_SERVICES=1`` (CI) it fails them instead.

Registered as a pytest plugin by tests/conftest.py (``pytest_plugins``); import helpers from it as
``from services import ...`` (never ``tests.services``: mace-torch ships a package named ``tests``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MONGOECO_VENV = ROOT / ".services" / "mongoeco-venv"
MONGOECO_VERSION = "4.11.0"
PYMONGO_FOR_MONGOECO = "4.10.1"  # mongoeco's wire layer needs bson; same version as the main venv
MONGO_USER = "interchem"
MONGO_PASSWORD = "s3cret-pw-4f7a"  # the test password: asserted never to appear in docs, logs, output


def require_services() -> bool:
    return os.environ.get("INTERCHEM_REQUIRE_SERVICES") == "1"


def unavailable(reason: str):
    """Skip (or fail in CI) because a real component cannot be started."""
    if require_services():
        pytest.fail(f"INTERCHEM_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, log: Path | None = None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    tail = log.read_text()[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


# --------------------------------------------------------------------------------------------------
# The guardian: daemons run in their own sessions (so Ctrl-C in pytest does not hit them) and would
# outlive a pytest that is killed before its teardown (a CI timeout, SIGKILL). One small process per
# test session watches the pytest process and, when it is gone, kills every registered process and
# its process group.

_GUARD_FILE: Path | None = None

_GUARDIAN = """
import os, signal, sys, time
parent, path = int(sys.argv[1]), sys.argv[2]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
try:
    lines = open(path).read().split()
except OSError:
    lines = []
for item in lines:
    for kill in (os.killpg, os.kill):  # its group (children too) and itself (a daemon may lead no group)
        try:
            kill(int(item), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
"""


def guard(pid: int) -> None:
    """Kill process ``pid`` and its process group if this pytest process dies without tearing it down."""
    global _GUARD_FILE
    if _GUARD_FILE is None:
        import tempfile

        _GUARD_FILE = Path(tempfile.mkdtemp(prefix="interchem-guard-")) / "pgids"
        _GUARD_FILE.write_text("")
        subprocess.Popen(
            [sys.executable, "-c", _GUARDIAN, str(os.getpid()), str(_GUARD_FILE)],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    with _GUARD_FILE.open("a") as fh:
        fh.write(f"{pid}\n")


# --------------------------------------------------------------------------------------------------
# MongoDB wire protocol (mongoeco)


def mongoeco_python() -> Path:
    """The 3.13 venv's python, created (uv, ~10 s) when missing; raises if Python 3.13 is not found."""
    python = MONGOECO_VENV / "bin" / "python"
    ok = (
        python.exists()
        and subprocess.run([str(python), "-c", "import mongoeco.wire, bson"], capture_output=True).returncode == 0
    )
    if ok:
        return python
    candidates = [os.environ.get("INTERCHEM_PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates.append(f"{root}/versions/3.13.0/bin/python")
    base = next((c for c in candidates if c and Path(c).exists()), None)
    if base is None:
        raise FileNotFoundError("Python >= 3.13 for mongoeco not found (pyenv 3.13.0 or INTERCHEM_PYTHON313)")
    uv = ROOT / ".venv" / "bin" / "uv"
    subprocess.run([str(uv), "venv", "-q", "-p", base, str(MONGOECO_VENV)], check=True)
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "-q",
            "--python",
            str(python),
            f"mongoeco=={MONGOECO_VERSION}",
            f"pymongo=={PYMONGO_FOR_MONGOECO}",
        ],
        check=True,
    )
    return python


@dataclass
class MongoServer:
    host: str
    port: int
    user: str
    password: str
    process: subprocess.Popen
    log: Path

    def uri(self, database: str, password: str | None = None, user: str | None = None) -> str:
        pw = self.password if password is None else password
        return (
            f"mongodb://{user or self.user}:{pw}@{self.host}:{self.port}/{database}"
            "?authSource=admin&authMechanism=SCRAM-SHA-256"
        )

    def client(self):
        import pymongo

        return pymongo.MongoClient(self.uri("admin"), serverSelectionTimeoutMS=3000)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_mongo(workdir: Path, user: str = MONGO_USER, password: str = MONGO_PASSWORD) -> MongoServer:
    python = mongoeco_python()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "mongoeco.log"
    port = free_port()
    env = {**os.environ, "MONGOECO_PASSWORD": password}
    proc = subprocess.Popen(
        [
            str(python),
            str(ROOT / "scripts" / "mongoeco_server.py"),
            "--port",
            str(port),
            "--db",
            str(workdir / "mongoeco.sqlite"),
            "--user",
            user,
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    guard(proc.pid)
    server = MongoServer("127.0.0.1", port, user, password, proc, log)

    def ping():
        if proc.poll() is not None:
            raise RuntimeError(f"mongoeco exited: {log.read_text()[-2000:]}")
        try:
            c = server.client()
            c.admin.command("ping")
            c.close()
            return True
        except Exception:
            return False

    _wait(ping, 30, "mongoeco", log)
    return server


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    try:
        server = start_mongo(tmp_path_factory.mktemp("mongoeco"))
    except (FileNotFoundError, subprocess.CalledProcessError, RuntimeError) as exc:
        unavailable(f"the MongoDB-protocol server (mongoeco) could not be started: {exc}")
    yield server
    server.stop()


_db_counter = iter(range(10_000))


@pytest.fixture()
def mongo_settings(mongo_server, tmp_path, monkeypatch):
    """Settings on a fresh database of the session's server, URI (with password) in the environment."""
    database = f"t{os.getpid()}_{next(_db_counter)}"
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("INTERCHEM_STORE_URI", mongo_server.uri(database))
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)
    from interchem.settings import get_settings

    return get_settings(output_dir=tmp_path / "out", store_path=tmp_path / "unused-embedded")


# --------------------------------------------------------------------------------------------------
# Slurm (single node)

SLURM_CONF = """\
ClusterName=interchem-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
# A private munged on its own socket: two test sessions on one host never share (or stop) a daemon.
AuthInfo=socket={munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={spool}/slurmd.pid
SlurmctldLogFile={logs}/slurmctld.log
SlurmdLogFile={logs}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=30
KillWait=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Test jobs are mostly Python start-up and waiting: declare 2 job slots per core (slurmd would drain a
# node declaring more CPUs than it has, unless told to trust the configuration).
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    conf: Path
    logs: Path
    partition: str = "debug"
    processes: list = field(default_factory=list)
    munge_dir: Path | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env=self.env(), capture_output=True, text=True, check=check)

    def squeue(self) -> list[dict[str, str]]:
        out = self.run("squeue", "-h", "-o", "%i|%j|%T").stdout
        return [dict(zip(("id", "name", "state"), line.split("|"))) for line in out.splitlines() if line.strip()]

    def stop(self) -> None:
        # jobs still queued/running on this private cluster (a failed test may leave one) end with it
        try:
            self.run("scancel", "--full", "-u", "root", check=False)
            time.sleep(1)
        except OSError:
            pass
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.munge_dir is not None:  # our own munged only, found by its own pid file
            pid_file = self.munge_dir / "munged.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), 15)
                except (ProcessLookupError, ValueError):
                    pass
            shutil.rmtree(self.munge_dir, ignore_errors=True)


def _munge_works(socket_path: Path) -> bool:
    try:
        cred = subprocess.run(["munge", "-n", "--socket", str(socket_path)], capture_output=True, timeout=5)
        return (
            cred.returncode == 0
            and subprocess.run(
                ["unmunge", "--socket", str(socket_path)], input=cred.stdout, capture_output=True, timeout=5
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_munged() -> Path:
    """A munged of this test session on a private socket (the munge user must reach its folder, so the
    folder sits directly in the temp dir, not below pytest's root-only tmp tree)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=f"interchem-munge-{os.getpid()}-"))
    folder.chmod(0o755)
    shutil.chown(folder, "munge", "munge")
    socket_path = folder / "munge.socket"
    subprocess.run(
        [
            "runuser",
            "-u",
            "munge",
            "--",
            "/usr/sbin/munged",
            "--socket",
            str(socket_path),
            "--pid-file",
            str(folder / "munged.pid"),
            "--log-file",
            str(folder / "munged.log"),
            "--seed-file",
            str(folder / "munged.seed"),
        ],
        check=True,
    )
    _wait(lambda: _munge_works(socket_path), 10, "munged", folder / "munged.log")
    guard(int((folder / "munged.pid").read_text().strip()))  # munged daemonises: its pid from its pid file
    return folder


def start_slurm(workdir: Path) -> SlurmCluster:
    missing = [
        b
        for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel")
        if not shutil.which(b) and not Path("/usr/sbin", b).exists()
    ]
    if missing:
        raise FileNotFoundError(f"Slurm/munge programs missing: {', '.join(missing)} (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        raise PermissionError("starting slurmctld/slurmd/munged needs root")
    state, spool, logs = (workdir / n for n in ("state", "spool", "logs"))
    for d in (state, spool, logs):
        d.mkdir(parents=True, exist_ok=True)
    munge_dir = start_munged()
    conf = workdir / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            ctld_port=free_port(),
            d_port=free_port(),
            state=state,
            spool=spool,
            logs=logs,
            cpus=2 * (os.cpu_count() or 1),
            munge_socket=munge_dir / "munge.socket",
        )
    )
    cluster = SlurmCluster(conf=conf, logs=logs, munge_dir=munge_dir)
    env = cluster.env()
    out = (logs / "daemons.out").open("w")

    def daemon(*cmd: str) -> None:  # in its own session (Ctrl-C in pytest does not hit it), guarded
        cluster.processes.append(
            subprocess.Popen(list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        )
        guard(cluster.processes[-1].pid)

    daemon("/usr/sbin/slurmctld", "-D", "-c", "-i", "-f", str(conf))
    _wait(
        lambda: cluster.run("scontrol", "ping", check=False).stdout.count("UP") > 0,
        20,
        "slurmctld",
        logs / "slurmctld.log",
    )
    daemon("/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", str(conf))
    _wait(
        lambda: "idle" in cluster.run("sinfo", "-h", "-o", "%T", check=False).stdout, 30, "slurmd", logs / "slurmd.log"
    )
    return cluster


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    try:
        cluster = start_slurm(tmp_path_factory.mktemp("slurm"))
    except (FileNotFoundError, PermissionError, subprocess.CalledProcessError, RuntimeError) as exc:
        unavailable(f"a single-node Slurm could not be started: {exc}")
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)  # sbatch & co. in this process and in the runner daemon
    yield cluster
    cluster.stop()
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved


def leftover_processes(markers: list[str]) -> list[tuple[int, str]]:
    """Processes still running that this test session started: descendants of this process, and
    daemons (re-parented to init) whose command line names one of ``markers`` (the session's temp
    folders). Read from /proc; the guardian itself is not counted."""
    me = os.getpid()
    parents, cmdlines = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        cmdlines[int(entry.name)] = cmd
    found = []
    for pid, cmd in cmdlines.items():
        if pid == me or not cmd or _GUARDIAN.strip()[:20] in cmd:
            continue
        ancestor, descendant = parents.get(pid), False
        while ancestor and ancestor > 1:
            if ancestor == me:
                descendant = True
                break
            ancestor = parents.get(ancestor)
        if descendant or any(m and m in cmd for m in markers):
            found.append((pid, cmd[:200]))
    return found


def python_bin() -> Path:
    return Path(sys.executable).parent
