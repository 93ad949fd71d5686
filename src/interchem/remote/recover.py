"""Recover a submitted flow after a failed, cancelled (``scancel``) or lost job: one command, no prompts.

``jf job rerun`` refuses a FAILED job whose children already moved on ("use force"), and ``jf job rerun
-f`` (like ``jf admin reset``) asks "The Runner is active ... Proceed anyway?" on the terminal, which
fails with EOFError in scripts and batch jobs. ``recover`` calls jobflow-remote's own
``JobController.rerun_job(force=True, wait=...)``, which is what ``jf`` runs after the prompt: every
FAILED or REMOTE_ERROR job of the flow goes back to READY (its queue files reset), its children to WAITING,
and the runner, still running, submits them again. ``wait``: seconds to wait for the runner's lock on the
flow (it holds it briefly while it advances jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from interchem.errors import SubmissionError
from interchem.settings import Settings, get_settings

RECOVERABLE = ("FAILED", "REMOTE_ERROR")


@dataclass
class Rerun:
    db_id: str
    name: str
    state: str
    error: str  # the last line of the job's recorded error (e.g. "cancelled: ... SIGTERM ...")


@dataclass
class Recovery:
    flows: list[str]
    rerun: list[Rerun] = field(default_factory=list)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _targets(jc, target: str) -> tuple[list[str], list]:
    """(flow uuids, JobInfo of the jobs to consider) for a db id, job uuid, flow uuid or flow name."""
    single = jc.get_jobs_info(db_ids=[target]) or jc.get_jobs_info(custom_query={"uuid": target})
    if single:
        return sorted({h for j in single for h in (j.hosts or [])[-1:]}), single
    query = {
        "$or": [
            {"job.metadata.interchem_flow": target},
            {"job.metadata.interchem_flow_uuid": target},
            {"job.hosts": target},
        ]
    }
    jobs = jc.get_jobs_info(custom_query=query)
    if not jobs:
        raise SubmissionError(
            f"no submitted flow or job {target!r} in this project: give the --name used at submission, a flow "
            "uuid, a job uuid or a db id (`jf job list`)"
        )
    flows = sorted({j.metadata.get("interchem_flow_uuid") or (j.hosts or ["?"])[-1] for j in jobs if j.metadata})
    return flows, jobs


def recover(target: str, settings: Settings | None = None, project: str | None = None, wait: int = 60) -> Recovery:
    """Rerun, without prompts, every FAILED / REMOTE_ERROR job of ``target`` (see the module docstring)."""
    from jobflow_remote.utils.db import LockedDocumentError

    from interchem.remote.project import load_project

    settings = settings or get_settings()
    jc = load_project(project, settings).get_job_controller()
    try:
        flows, jobs = _targets(jc, target)
        result = Recovery(flows=flows)
        for info in sorted(jobs, key=lambda j: int(j.db_id) if str(j.db_id).isdigit() else 0):
            if info.state.value not in RECOVERABLE:
                continue
            try:
                jc.rerun_job(db_id=info.db_id, force=True, wait=wait)
            except LockedDocumentError:
                raise SubmissionError(
                    f"job {info.db_id} ({info.name}) or its flow stayed locked for {wait} s (the runner is "
                    "working on it): run `interchem recover` again, or with a longer --wait"
                ) from None
            result.rerun.append(Rerun(str(info.db_id), info.name, info.state.value, _last_line(info.error)))
        return result
    finally:
        jc.close()
