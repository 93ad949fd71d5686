"""Checks before anything is submitted: each failure is a clear InterchemError naming the problem.

1. the results/queue store is MongoDB, reachable, and accepts the credentials (short timeout);
2. the jobflow-remote project and worker exist, and the project writes to the settings' database;
3. the SLURM partition exists (``sinfo`` on the worker's host: locally or over SSH);
4. the worker's Python has interchem, jobflow-remote and every package of the flow's calculators.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from interchem.errors import (
    SchedulerError,
    SchedulerUnreachableError,
    StoreConfigError,
    SubmissionError,
    WorkerDependencyError,
)
from interchem.settings import Settings

_CHECK_PACKAGES = (
    "import importlib.metadata as m, sys\n"
    "missing = []\n"
    "for d in sys.argv[1:]:\n"
    "    try: m.version(d)\n"
    "    except m.PackageNotFoundError: missing.append(d)\n"
    "print('MISSING:' + ','.join(missing))\n"
)


@dataclass
class PreflightReport:
    store: str
    project: str
    worker: str
    partition: str | None = None
    packages: list[str] = field(default_factory=list)


def _host_run(host, command: str, timeout: int = 30) -> tuple[str, str, int]:
    out, err, rc = host.execute(command, timeout=timeout)
    return (out or "").strip(), (err or "").strip(), rc


def check_partition(host, partition: str | None) -> str:
    """The partition to use (the default one when None); raises SchedulerError when it does not exist."""
    out, err, rc = _host_run(host, "sinfo -h -o '%P'")
    if rc != 0:
        raise SchedulerUnreachableError(
            f"cannot query SLURM on the worker host (sinfo exit {rc}: {err[:200] or out[:200]})"
        )
    partitions = [p.strip() for p in out.split() if p.strip()]
    default = next((p[:-1] for p in partitions if p.endswith("*")), None)
    names = [p.rstrip("*") for p in partitions]
    if partition is None:
        if default is None:
            raise SchedulerError(
                f"no default SLURM partition: pass --partition (available: {', '.join(names) or 'none'})"
            )
        return default
    if partition not in names:
        raise SchedulerError(f"SLURM partition {partition!r} does not exist (available: {', '.join(names) or 'none'})")
    return partition


def check_packages(host, pre_run: str | None, packages: list[str]) -> None:
    args = " ".join(shlex.quote(p) for p in packages)
    command = f"python -c {shlex.quote(_CHECK_PACKAGES)} {args}"
    if pre_run:
        command = f"{pre_run}\n{command}"
    out, err, rc = _host_run(host, command, timeout=120)
    line = next((x for x in out.splitlines() if x.startswith("MISSING:")), None)
    if rc != 0 or line is None:
        raise WorkerDependencyError(f"the worker's Python could not be run (exit {rc}): {err[-300:] or out[-300:]}")
    missing = [m for m in line[len("MISSING:") :].split(",") if m]
    if missing:
        raise WorkerDependencyError(
            f"the worker's Python lacks {', '.join(missing)} (needed by the flow's calculators / to run jobs); "
            "install them in the worker environment or fix its pre_run"
        )


def preflight(
    flow,
    settings: Settings,
    project_name: str | None = None,
    worker_name: str | None = None,
    resources=None,
    check_scheduler: bool = True,
) -> PreflightReport:
    from interchem.calculators import get_backend
    from interchem.remote.flows import calculators_in
    from interchem.remote.project import load_project
    from interchem.store import check_store, database_from_uri

    if settings.store_uri is None or not settings.store_uri.get_secret_value():
        raise StoreConfigError(
            "interchem submit needs the MongoDB store (workers and the runner cannot share the embedded store): "
            "set INTERCHEM_STORE_URI"
        )
    store = check_store(settings, timeout_ms=settings.store_timeout_ms)
    project = load_project(project_name, settings)
    worker_name = worker_name or next(iter(project.workers), None)
    if worker_name not in project.workers:
        raise SubmissionError(
            f"worker {worker_name!r} is not in project {project.name!r} (workers: {', '.join(project.workers)})"
        )
    database = database_from_uri(settings.store_uri.get_secret_value())
    project_db = (project.jobstore.get("docs_store") or {}).get("database")
    if project_db and project_db != database:
        raise SubmissionError(
            f"project {project.name!r} stores results in database {project_db!r} but the settings' store URI names "
            f"{database!r}: regenerate the project (`interchem remote-project`) or fix INTERCHEM_STORE_URI"
        )
    worker = project.workers[worker_name]
    report = PreflightReport(store=store, project=project.name, worker=worker_name)
    host = worker.get_host()
    try:
        host.connect()
    except Exception as exc:
        raise SubmissionError(f"cannot connect to worker {worker_name!r} ({type(exc).__name__}: {exc})") from None
    try:
        if check_scheduler and worker.scheduler_type == "slurm":
            partition = resources.partition if resources is not None else None
            partition = partition or (worker.resources or {}).get("partition")
            report.partition = check_partition(host, partition)
        packages = {"interchem", "jobflow-remote"}
        for spec in calculators_in(flow):
            packages.update(get_backend(spec).packages)
        report.packages = sorted(packages)
        pre_run = "\n".join(x for x in (worker.pre_run, getattr(resources, "pre_run", None)) if x)
        check_packages(host, pre_run or None, report.packages)
    finally:
        try:
            host.close()
        except Exception:
            pass
    return report
