"""FireWorks: any interchem flow as a FireWorks workflow (jobflow's ``flow_to_workflow``), added to a
LaunchPad on the MongoDB store of the settings, run by ``rlaunch`` (locally or through the SLURM
qadapter in ``fireworks_config/``). Results go to the same JobStore as every other path.

FireWorks' ``my_launchpad.yaml`` has no environment interpolation, so ``write_config`` writes the URI
into it, with mode 600; nothing else (logs, documents, CLI output) holds the credentials.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from string import Template

from interchem.errors import StoreConfigError
from interchem.settings import Settings, get_settings


def _require_mongo(settings: Settings) -> str:
    if settings.store_uri is None or not settings.store_uri.get_secret_value():
        raise StoreConfigError("FireWorks needs the MongoDB store: set INTERCHEM_STORE_URI")
    return settings.store_uri.get_secret_value()


def launchpad(settings: Settings | None = None):
    from fireworks import LaunchPad

    from interchem.store import check_store, database_from_uri

    settings = settings or get_settings()
    uri = _require_mongo(settings)
    check_store(settings, timeout_ms=settings.store_timeout_ms)
    lp = LaunchPad(host=uri, uri_mode=True, name=database_from_uri(uri), strm_lvl="ERROR")
    return lp


def to_workflow(flow, settings: Settings | None = None):
    """The FireWorks Workflow of an interchem flow; its jobs write to the settings' JobStore."""
    from jobflow.managers.fireworks import flow_to_workflow

    from interchem.store import make_job_store, mongo_job_store

    settings = settings or get_settings()
    # In the workflow the store is serialised: use the form that holds no URI (resolved by each rlaunch
    # from its own settings / environment).
    store = (
        mongo_job_store(settings, explicit_uri=False) if settings.store_uri is not None else make_job_store(settings)
    )
    return flow_to_workflow(flow, store=store)


def add_to_launchpad(wf, settings: Settings | None = None) -> list[tuple[int, str]]:
    """Add ``wf``; its fireworks as (LaunchPad fw id, name), in the workflow's order."""
    lp = launchpad(settings)
    if lp.fw_id_assigner.count_documents({}) == 0:  # a new database: FireWorks' counters, nothing to delete
        lp.reset("", require_password=False)
    names = {fw.fw_id: fw.name for fw in wf.fws}  # ids before adding (negative placeholders)
    ids = lp.add_wf(wf)  # placeholder id -> LaunchPad id
    return [(ids[old], name) for old, name in names.items() if old in ids]


def write_config(
    directory: str | Path,
    settings: Settings | None = None,
    nodes: int = 1,
    ntasks: int = 1,
    cpus_per_task: int = 1,
    walltime: str = "01:00:00",
    partition: str = "debug",
) -> list[Path]:
    """Fill the FireWorks templates of ``fireworks_config/`` into ``directory``."""
    from interchem.remote.project import TEMPLATES
    from interchem.store import database_from_uri

    settings = settings or get_settings()
    uri = _require_mongo(settings)
    d = Path(directory).expanduser().resolve()
    d.mkdir(parents=True, exist_ok=True)
    values = {
        "uri": uri,
        "database": database_from_uri(uri),
        "fworker": str(d / "my_fworker.yaml"),
        "launchpad": str(d / "my_launchpad.yaml"),
        "nodes": nodes,
        "ntasks": ntasks,
        "cpus_per_task": cpus_per_task,
        "walltime": walltime,
        "partition": partition,
        "logdir": str(d / "logs"),
        "pre_run": f"export PATH={Path(sys.executable).parent}:$PATH",
    }
    paths = []
    for name in ("my_launchpad.yaml", "my_fworker.yaml", "my_qadapter.yaml"):
        path = d / name
        text = Template((TEMPLATES / name).read_text()).substitute(values)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
        paths.append(path)
    return paths
