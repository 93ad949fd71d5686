"""Submit any interchem flow to a jobflow-remote project, after the preflight checks and after replacing
calculations already in the results store by their stored results.

Reuse across flows: workers run jobs against a local file store, so the in-job lookup of
``relax_or_reuse`` cannot see MongoDB there. The lookup is therefore done here, on the submitting
side, against the results store: every ``relax or reuse`` / ``static or reuse`` job whose calc key
(structure, calculator spec, settings) is stored becomes a tiny job that returns the stored record
(``reused=True``); it keeps its uuid, so the flow's references still resolve. Its worker job costs
one short SLURM job instead of a relaxation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from interchem.errors import SubmissionError
from interchem.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def stored_result(record: dict) -> Any:
    """Job body of a reused calculation: the stored record, marked reused."""
    from interchem.workflows.thermo import RelaxedPhase

    if hasattr(record, "model_dump"):  # monty decoded the stored document into the model
        record = record.model_dump()
    return RelaxedPhase.model_validate({**record, "reused": True})


def _find(store, key: str) -> dict | None:
    doc = store.query_one(
        {"output.calc_key": key, "output.reused": False, "output.energy_eV": {"$exists": True}},
        properties=["output"], load=True,
    )
    if not doc:
        return None
    out = doc["output"]
    if hasattr(out, "model_dump"):
        out = out.model_dump()
    return {k: v for k, v in out.items() if k not in ("@module", "@class", "@version")}


def reuse_stored(flow, store) -> list[str]:
    """Replace jobs of ``flow`` whose calculation is stored; return the names of the reused ones."""
    from interchem.calculators import CalculatorSpec
    from interchem.workflows.thermo import calc_key

    jobs = [j for j, _ in flow.iterflow()] if hasattr(flow, "iterflow") else [flow]
    reused: list[str] = []
    known: dict[str, dict] = {}  # uuid of a reused relax job -> its stored record
    for j in jobs:
        fname = getattr(j.function, "__name__", "")
        if fname == "relax_or_reuse":
            structure, phase, calculator, fmax, steps = j.function_args
            key = calc_key(structure, CalculatorSpec.model_validate(calculator), {"fmax": fmax, "steps": steps, "relax_cell": True})
        elif fname == "static_or_reuse":
            relaxed, calculator = j.function_args
            upstream = known.get(getattr(relaxed, "uuid", None))
            if upstream is None:
                continue
            from pymatgen.core import Structure

            structure = upstream["structure"]
            structure = structure if isinstance(structure, Structure) else Structure.from_dict(structure)
            key = calc_key(structure, CalculatorSpec.model_validate(calculator), {"static": True, "geometry": upstream["calc_key"]})
        else:
            continue
        record = _find(store, key)
        if record is None:
            continue
        j.function = stored_result
        j.function_args = (record,)
        j.function_kwargs = {}
        j.name = j.name.replace(" or reuse", "").replace("relax ", "reuse relaxation ").replace("static ", "reuse static ")
        known[j.uuid] = record
        reused.append(record.get("phase", j.name))
    return reused


@dataclass
class Submission:
    db_ids: list[str]
    flow_uuid: str
    flow_name: str
    n_jobs: int
    reused: list[str] = field(default_factory=list)
    preflight: Any = None


def submit(flow, name: str, settings: Settings | None = None, project: str | None = None, worker: str | None = None,
           resources=None, check_scheduler: bool = True, reuse: bool = True) -> Submission:
    """Preflight, reuse, tag (metadata ``interchem_flow``), submit. Nothing is submitted if a check fails."""
    from interchem.remote.preflight import preflight
    from interchem.remote.project import use_projects_folder
    from interchem.remote.resources import Resources
    from interchem.store import make_job_store

    from jobflow import Flow, Job

    settings = settings or get_settings()
    if isinstance(flow, Job):  # one flow uuid to follow and to tag, as for any flow
        flow = Flow([flow], output=flow.output, name=name)
    resources = resources or Resources()
    report = preflight(flow, settings, project, worker, resources, check_scheduler=check_scheduler)
    if report.partition and not resources.partition:
        resources = resources.model_copy(update={"partition": report.partition})
    reused: list[str] = []
    if reuse:
        store = make_job_store(settings)
        store.connect()
        try:
            reused = reuse_stored(flow, store)
        finally:
            store.close()
    flow.update_metadata({"interchem_flow": name, "interchem_flow_uuid": flow.uuid})
    use_projects_folder(settings)
    from jobflow_remote import submit_flow

    try:
        ids = submit_flow(flow, worker=report.worker, project=report.project, exec_config=resources.exec_config(),
                          resources=resources.qtk_resources(job_name=f"interchem-{name}"))
    except Exception as exc:  # jobflow-remote ConfigError etc.
        raise SubmissionError(f"jobflow-remote refused the flow: {type(exc).__name__}: {exc}") from None
    n = len(list(flow.iterflow())) if hasattr(flow, "iterflow") else 1
    logger.info("submitted %s (%d jobs, %d reused) to project %s", name, n, len(reused), report.project)
    return Submission(db_ids=list(ids), flow_uuid=flow.uuid, flow_name=name, n_jobs=n, reused=reused, preflight=report)
