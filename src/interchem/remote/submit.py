"""Submit any interchem flow to a jobflow-remote project, after the preflight checks, with calculations
already in the results store resolved when the flow is made.

Reuse across flows: workers run jobs against a local file store, so the run-time lookup of
``relax_or_reuse`` cannot see MongoDB there. ``submit`` therefore builds the flow (``build``: a function
returning the Flow or Job) inside ``workflows.common.reusing(store)``: the Makers look their cache keys up
in the results store at ``make()`` (the same ``cache_key`` and ``find_stored`` as the run-time lookup), so
a stored phase gets no relaxation job (a lone stored phase is one tiny "reuse relaxation" job returning
its record, ``reused=True``). Nothing is reverse-engineered from a built flow.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from interchem.errors import InterchemError, SubmissionError
from interchem.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def build_with_reuse(build: Callable[[], Any], store) -> tuple[Any, list[str]]:
    """``build()`` with the Makers resolving stored results from ``store``; the flow and what was reused."""
    from interchem.workflows.common import reusing

    with reusing(store) as log:
        flow = build()
    return flow, list(log.reused)


@dataclass
class Submission:
    db_ids: list[str]
    flow_uuid: str
    flow_name: str
    n_jobs: int
    reused: list[str] = field(default_factory=list)
    preflight: Any = None
    # Jobs run in the submitting process instead (a flow with nothing left to compute, see ``submit``).
    ran_here: int = 0
    wall_s: float = 0.0


def submit(
    flow,
    name,
    settings: Settings | None = None,
    project: str | None = None,
    worker: str | None = None,
    resources=None,
    check_scheduler: bool = True,
    reuse: bool = True,
) -> Submission:
    """Build (with reuse), preflight, tag (metadata ``interchem_flow``), submit. Nothing is submitted if a
    check fails. ``flow``: a function returning the Flow or Job (built with stored results resolved, see
    the module docstring), or a Flow or Job already built (then nothing is reused). ``name``: the flow's
    name, or a function giving it once the flow is built (a spec file names its flow)."""
    from jobflow import Flow, Job

    from interchem.remote.preflight import preflight
    from interchem.remote.project import use_projects_folder
    from interchem.remote.resources import Resources
    from interchem.store import make_job_store
    from interchem.workflows.common import all_light

    settings = settings or get_settings()
    reused: list[str] = []
    if callable(flow) and not isinstance(flow, (Flow, Job)):
        build, flow = flow, None
        # Only with the MongoDB store: without one the preflight refuses the submission, and opening the
        # embedded store here would create an empty store folder where the command runs.
        if reuse and settings.store_uri is not None and settings.store_uri.get_secret_value():
            store = make_job_store(settings)
            try:
                store.connect()
                flow, reused = build_with_reuse(build, store)
            except InterchemError:
                raise
            except Exception:  # an unreachable store or refused credentials: the preflight below says which
                flow, reused = None, []
            finally:
                with contextlib.suppress(Exception):
                    store.close()
        if flow is None:
            flow = build()
    name = name() if callable(name) else name
    if isinstance(flow, Job):  # one flow uuid to follow and to tag, as for any flow
        flow = Flow([flow], output=flow.output, name=name)
    if reused and all_light(flow):
        return _run_light_flow_here(flow, name, settings, reused)
    resources = resources or Resources()
    report = preflight(flow, settings, project, worker, resources, check_scheduler=check_scheduler)
    if report.partition and not resources.partition:
        resources = resources.model_copy(update={"partition": report.partition})
    flow.update_metadata({"interchem_flow": name, "interchem_flow_uuid": flow.uuid})
    use_projects_folder(settings)
    from jobflow_remote import submit_flow

    try:
        ids = submit_flow(
            flow,
            worker=report.worker,
            project=report.project,
            exec_config=resources.exec_config(),
            resources=resources.qtk_resources(job_name=f"interchem-{name}"),
        )
    except Exception as exc:  # jobflow-remote ConfigError etc.
        raise SubmissionError(f"jobflow-remote refused the flow: {type(exc).__name__}: {exc}") from None
    n = len(list(flow.iterflow()))
    logger.info("submitted %s (%d jobs, %d reused) to project %s", name, n, len(reused), report.project)
    return Submission(db_ids=list(ids), flow_uuid=flow.uuid, flow_name=name, n_jobs=n, reused=reused, preflight=report)


def _run_light_flow_here(flow, name: str, settings: Settings, reused: list[str]) -> Submission:
    """A flow whose calculations were all in the store and whose remaining jobs only analyse them
    (``workflows.common.all_light``): run here, on the results store, with the same tags a submitted
    flow gets, so ``interchem results --flow NAME`` finds it. Queueing it would cost a Slurm allocation,
    a Python and torch start-up and the runner's polling for seconds of work."""
    import tempfile
    import time

    from interchem.runner import run_flow

    flow.update_metadata({"interchem_flow": name, "interchem_flow_uuid": flow.uuid})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interchem-analysis-") as work_dir:  # analyses write no files
        run_flow(flow, settings, work_dir=work_dir, what=f"the analysis of {name}")
    n = len(list(flow.iterflow()))
    logger.info("%s: every calculation was stored (%d reused); its %d analysis job(s) ran here", name, len(reused), n)
    return Submission(
        db_ids=[],
        flow_uuid=flow.uuid,
        flow_name=name,
        n_jobs=0,
        reused=reused,
        ran_here=n,
        wall_s=round(time.perf_counter() - t0, 1),
    )
