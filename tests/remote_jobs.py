"""Small jobflow jobs for the scale-out tests, importable on the Slurm worker (tests/ is on the
runner's PYTHONPATH, which Slurm jobs inherit). Light imports only: each job is a fresh process."""

from __future__ import annotations

import time
from pathlib import Path

from jobflow import job


@job
def noop(i: int = 0) -> dict:
    return {"i": i}


@job
def fail_unless(flag: str) -> dict:
    """Raises until ``flag`` exists: the "fix" of the recovery test is creating it."""
    if not Path(flag).exists():
        raise ValueError(f"input not fixed yet: {flag} is missing")
    return {"fixed": True}


@job
def slow_once(marker: str, seconds: float = 300.0) -> dict:
    """Sleeps ``seconds`` on its first run (leaves ``marker``), returns at once on later runs."""
    m = Path(marker)
    attempts = int(m.read_text()) + 1 if m.exists() else 1
    m.write_text(str(attempts))
    if attempts == 1:
        time.sleep(seconds)
    return {"attempts": attempts}


def noop_flow(n: int = 1):
    from jobflow import Flow

    return Flow([noop(i) for i in range(n)], name=f"noop x{n}")


@job
def replaced_by(flag: str, holder: str = "interchem") -> object:
    """Replaces itself by ``fail_unless(flag)``; its output held by interchem's ``replace_with`` or, with
    ``holder="jobflow"``, by jobflow's own ``store_inputs``."""
    from jobflow import Flow, Response

    from interchem.workflows.common import replace_with

    inner = fail_unless(flag)
    if holder == "jobflow":
        return Response(replace=Flow([inner], output=inner.output))
    return replace_with([inner], inner.output, name="replacement")


@job
def consume(value: object) -> dict:
    return {"got": value}


def replaced_then_consumed(flag: str, holder: str = "interchem"):
    from jobflow import Flow

    first = replaced_by(flag, holder)
    return Flow([first, consume(first.output)], output=None, name="replace then consume")
