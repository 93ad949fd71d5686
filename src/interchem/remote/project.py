"""jobflow-remote project files from the templates in ``fireworks_config/``.

The generated project holds no credentials: its MongoDB stores (queue and results) are interchem's
``SettingsMongoStore``/``SettingsGridFSStore``, which read the URI from interchem's settings when they
connect. The runner (``jf runner start``) and ``interchem submit`` must therefore see the same
``INTERCHEM_STORE_URI`` (or ``INTERCHEM_CONFIG`` file).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from string import Template
from typing import Any

import yaml

from interchem.errors import StoreConfigError, SubmissionError
from interchem.remote.resources import Resources
from interchem.settings import Settings, get_settings

TEMPLATES = Path(__file__).resolve().parents[3] / "fireworks_config"


def template_path(name: str) -> Path:
    path = TEMPLATES / name
    if not path.is_file():
        raise SubmissionError(f"template {name!r} not found in {TEMPLATES}")
    return path


def projects_folder(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    if settings.remote_projects_folder:
        return Path(settings.remote_projects_folder).expanduser().resolve()
    from jobflow_remote import SETTINGS

    return Path(SETTINGS.projects_folder).expanduser()


def use_projects_folder(settings: Settings | None = None) -> Path:
    """Point jobflow-remote (this process and the ``jf`` processes it starts) at our projects folder."""
    folder = projects_folder(settings)
    os.environ["JFREMOTE_PROJECTS_FOLDER"] = str(folder)
    from jobflow_remote import SETTINGS

    SETTINGS.projects_folder = str(folder)
    return folder


def render_project(
    settings: Settings | None = None,
    project: str | None = None,
    worker: str = "slurm",
    base_dir: str | Path | None = None,
    work_dir: str | Path | None = None,
    resources: Resources | None = None,
    pre_run: str | None = None,
    runner_delay: float = 30.0,
    ssh_host: str | None = None,
    ssh_user: str | None = None,
    ssh_port: int = 22,
    ssh_key: str | None = None,
    batch: int | None = None,
    warm: bool = True,
) -> dict[str, Any]:
    """The project as a dict, validated by jobflow-remote's own model. ``batch``: jobs run ``batch`` at a
    time inside one Slurm allocation (jobflow-remote's batch execution, ``add_batch``) instead of one
    allocation per job; ``warm``: each in a fork of one process that imported torch & co. once
    (``remote.warm_exec``) rather than a new Python."""
    from interchem.store import database_from_uri

    settings = settings or get_settings()
    if settings.store_uri is None or not settings.store_uri.get_secret_value():
        raise StoreConfigError("a jobflow-remote project needs the MongoDB store: set INTERCHEM_STORE_URI first")
    if ssh_host and not work_dir:
        raise SubmissionError("an SSH worker needs --work-dir: an absolute folder on the cluster where jobs run")
    project = project or settings.remote_project
    folder = projects_folder(settings)
    base_dir = Path(base_dir or folder / project).expanduser()
    resources = resources or Resources()
    if pre_run is None:
        pre_run = f"export PATH={Path(sys.executable).parent}:$PATH"
    values = {
        "project": project,
        "base_dir": json.dumps(str(base_dir)),
        "worker": worker,
        "work_dir": json.dumps(str(work_dir or base_dir / "work")),
        "pre_run": json.dumps(pre_run),
        "runner_delay": runner_delay,
        "database": json.dumps(database_from_uri(settings.store_uri.get_secret_value())),
        "resources": json.dumps(resources.qtk_resources()),
        "modules": json.dumps(resources.modules or None),
        "ssh_host": json.dumps(ssh_host),
        "ssh_user": json.dumps(ssh_user),
        "ssh_port": ssh_port,
        "ssh_key": json.dumps(ssh_key),
    }
    name = "jfremote_ssh_slurm.yaml" if ssh_host else "jfremote_local_slurm.yaml"
    text = Template(template_path(name).read_text()).substitute(values)
    data = yaml.safe_load(text)
    if batch:
        add_batch(data["workers"][worker], batch, work_dir or base_dir / "work", warm=warm)
    from jobflow_remote.config.base import Project

    try:
        Project.model_validate(data)
    except Exception as exc:  # pydantic ValidationError: name the first problem
        raise SubmissionError(f"generated jobflow-remote project is invalid: {exc}") from None
    return data


def add_batch(
    worker: dict[str, Any], parallel: int, work_dir: str | Path, max_wait_s: float = 30, warm: bool = True
) -> None:
    """jobflow-remote's batch execution on a worker: one Slurm allocation (``max_jobs: 1``) whose process
    runs ``parallel`` jobs at a time, taking new ones until none comes for ``max_wait_s``.

    Why: a screen is many short jobs (one per phase); one sbatch, queue wait and node start per job cost
    more than the relaxation of a small cell. jobflow-remote still starts a new Python per job (it runs
    every job's ``submit.sh``); with ``warm`` that Python is a thin client and the job runs in a fork of a
    process that imported torch, atomate2 and the MLIP once per allocation (``remote.warm_exec``)."""
    if parallel < 1:
        raise SubmissionError(f"--batch must be a number of jobs run at once (>= 1), not {parallel}")
    root = Path(str(work_dir)).parent / "batch"
    worker["max_jobs"] = 1
    worker["batch"] = {
        "jobs_handle_dir": str(root / "handle"),
        "work_dir": str(root / "work"),
        "parallel_jobs": parallel,
        "max_wait": max_wait_s,
        "sleep_time": 1,
    }
    if warm:
        worker["execution_cmd"] = "python -m interchem.remote.warm_exec {}"  # python: pre_run's PATH


def write_project(data: dict[str, Any], settings: Settings | None = None, overwrite: bool = True) -> Path:
    folder = projects_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}.yaml"
    if path.exists() and not overwrite:
        raise SubmissionError(f"project file {path} exists (pass overwrite to replace it)")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    folders = [data["base_dir"]]
    for worker in data["workers"].values():  # batch folders of workers on this host
        if worker.get("type") == "local" and worker.get("batch"):
            folders += [worker["batch"]["jobs_handle_dir"], worker["batch"]["work_dir"]]
    for d in folders:
        Path(d).mkdir(parents=True, exist_ok=True)
    return path


def load_project(name: str | None = None, settings: Settings | None = None):
    """jobflow-remote's Project object for ``name`` (default: settings.remote_project)."""
    settings = settings or get_settings()
    name = name or settings.remote_project
    folder = use_projects_folder(settings)
    from jobflow_remote.config.manager import ConfigManager

    try:
        cm = ConfigManager()
        return cm.get_project(name)
    except Exception as exc:
        known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise SubmissionError(
            f"jobflow-remote project {name!r} not found in {folder} ({type(exc).__name__}); "
            f"known: {', '.join(known) or 'none'}. Create one with `interchem remote-project`"
        ) from None
