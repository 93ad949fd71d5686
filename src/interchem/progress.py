"""Live progress of long jobs, fed from the job itself.

A long loop inside a job (MD steps, NEB iterations, relaxation steps; the runner adds the jobs of a
replaced flow, e.g. atomate2's phonon displacements) reports each step to a ``Tracker``. The tracker
turns steps into ``ProgressEvent`` s (job name, kind, step, total, elapsed, ETA) and

* hands every event to the sinks registered in this process (``with sink(callback):``): locally the
  runner registers one that draws a rich progress bar on stderr for work longer than ~10 s;
* writes one line per 10 % to the ``interchem.progress`` logger, and, inside a jobflow job that has run
  longer than ~10 s, appends the same line to ``interchem-progress.log`` in the job's working folder
  (the job's own folder locally, jobflow-remote's run folder on a cluster), so ``interchem status`` or a
  plain ``tail`` shows how far a remote job is.

It sits at the bottom of the layers (it imports nothing of interchem) so that any layer can report
progress. Written by hand because jobflow and atomate2 have no progress hook; ASE's ``Dynamics.attach``
is the hook used for MD, NEB and relaxations.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LOG_FILE = "interchem-progress.log"  # in the job's working folder
LOG_EVERY_PERCENT = 10
LOG_AFTER_S = 10.0  # shorter work writes no progress file (and the runner draws no bar for it)
# ...and a line at least this often (s) even between 10 % marks: a 282-atom interface relaxation on a loaded
# machine took >12 min per 10 % of its 600 steps, and `interchem status` showed nothing until then (issue 15)
LOG_AT_LEAST_EVERY_S = 60.0


@dataclass(frozen=True)
class ProgressEvent:
    """One step of one job's long loop. ``kind``: ``md`` (MD steps), ``neb`` (NEB iterations), ``relax``
    (optimiser steps), ``jobs`` (jobs of a replaced flow, e.g. phonon displacements)."""

    job: str
    kind: str
    step: int
    total: int
    elapsed_s: float
    eta_s: float | None = None
    done: bool = False
    message: str | None = None  # kind "note": a one-off message (e.g. "resuming MD from step 50 ...")

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total > 0 else 1.0

    def line(self) -> str:
        """``md LiCl 600 K: md step 500/1000 (50 %), 12 s elapsed, ETA 12 s`` (one line, for logs)."""
        if self.message is not None:
            return f"{self.job}: {self.message}"
        eta = f", ETA {_seconds(self.eta_s)}" if self.eta_s is not None and not self.done else ""
        state = "done, " if self.done else ""
        return (
            f"{self.job}: {self.kind} step {self.step}/{self.total} ({100 * self.fraction:.0f} %), "
            f"{state}{_seconds(self.elapsed_s)} elapsed{eta}"
        )


def _seconds(value: float) -> str:
    value = int(round(value))
    if value < 60:
        return f"{value} s"
    if value < 3600:
        return f"{value // 60} min {value % 60:02d} s"
    return f"{value // 3600} h {value % 3600 // 60:02d} min"


_SINKS: list[Callable[[ProgressEvent], Any]] = []
_LOCK = threading.Lock()


@contextmanager
def sink(callback: Callable[[ProgressEvent], Any] | None) -> Iterator[None]:
    """Every event emitted in this process while the block runs goes to ``callback`` too."""
    if callback is None:
        yield
        return
    with _LOCK:
        _SINKS.append(callback)
    try:
        yield
    finally:
        with _LOCK:
            _SINKS.remove(callback)


def emit(event: ProgressEvent) -> None:
    with _LOCK:
        sinks = list(_SINKS)
    for callback in sinks:
        try:
            callback(event)
        except Exception:  # noqa: BLE001  (a broken display must not end an hour of MD)
            logger.warning("progress display failed on %s", event.line(), exc_info=True)


def current_job_name() -> str | None:
    """The name of the jobflow job running in this process (local runner, jobflow-remote, FireWorks)."""
    try:
        from jobflow import CURRENT_JOB
    except ImportError:  # pragma: no cover  (jobflow is a dependency; progress works without it)
        return None
    job = CURRENT_JOB.job
    return None if job is None else str(job.name)


def _append(log_file: Path, line: str) -> None:
    with open(log_file, "a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def note(message: str, show: bool = True) -> None:
    """A one-off message of the running job: to the ``interchem.progress`` logger and, inside a jobflow
    job, to the job's progress log. ``show``: also to the sinks (the local runner prints it), or, in a job
    with no sink (a remote job), to stderr, i.e. the job's queue output."""
    running = current_job_name()
    event = ProgressEvent(running or "interchem", "note", 0, 0, 0.0, message=message)
    logger.info(event.line())
    if running is not None:
        _append(Path.cwd() / LOG_FILE, event.line())
    if not show:
        return
    with _LOCK:
        has_sinks = bool(_SINKS)
    if has_sinks:
        emit(event)
    elif running is not None:
        print(event.line(), file=sys.stderr, flush=True)


class Tracker:
    """Steps of one loop -> events. Steps that do not advance are dropped, so sinks see strictly
    increasing steps; ``finish`` reports the last one with ``done=True`` (a loop that converged early,
    an optimiser under its step limit, ends with ``total`` = the steps it took)."""

    def __init__(self, kind: str, total: int, job: str | None = None, start: int = 0):
        running = current_job_name()
        self.kind, self.total, self.start = kind, int(total), int(start)
        self.job = job or running or kind
        self.log_file = Path.cwd() / LOG_FILE if running is not None else None
        self.t0 = time.monotonic()
        self.step: int | None = None
        self._bucket = -1
        self._wrote = False
        self._last_line_at = -LOG_AT_LEAST_EVERY_S

    def update(self, step: int) -> None:
        step = min(int(step), self.total)
        if self.step is not None and step <= self.step:
            return
        self.step = step
        elapsed = time.monotonic() - self.t0
        done_here = step - self.start
        eta = elapsed / done_here * (self.total - step) if done_here > 0 else None
        self._publish(ProgressEvent(self.job, self.kind, step, self.total, elapsed, eta))

    def finish(self, step: int | None = None) -> None:
        step = self.step if step is None else min(int(step), self.total)
        step = self.start if step is None else step
        self.step = step
        elapsed = time.monotonic() - self.t0
        total = min(step, self.total)  # an optimiser that converged early: the bar ends full
        self._publish(ProgressEvent(self.job, self.kind, step, total, elapsed, 0.0, done=True))

    def _publish(self, event: ProgressEvent) -> None:
        emit(event)
        bucket = int(100 * event.fraction) // LOG_EVERY_PERCENT
        overdue = event.elapsed_s - self._last_line_at >= LOG_AT_LEAST_EVERY_S and event.elapsed_s >= LOG_AFTER_S
        if bucket <= self._bucket and not event.done and not overdue:
            return
        self._bucket = max(bucket, self._bucket)
        self._last_line_at = event.elapsed_s
        line = event.line()
        logger.info(line)
        if self.log_file is not None and (self._wrote or event.elapsed_s >= LOG_AFTER_S):
            _append(self.log_file, line)
            self._wrote = True


@contextmanager
def tracking(dynamics: Any, kind: str, total: int, job: str | None = None, start: int = 0) -> Iterator[Tracker]:
    """Report the steps of an ASE ``Dynamics`` (MD integrator or optimiser: anything with ``attach`` and
    ``nsteps``) while the block runs; ``done`` at the step it stopped on when the block ends normally."""
    tracker = Tracker(kind, total, job=job, start=start)
    dynamics.attach(lambda: tracker.update(dynamics.nsteps), interval=1)
    yield tracker
    tracker.finish(dynamics.nsteps)


def last_line(folder: str | Path) -> str | None:
    """The last progress line a job wrote in its working folder (None: none written)."""
    path = Path(folder) / LOG_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


def job_progress(root: str | Path, include_done: bool = False) -> list[tuple[Path, str, float]]:
    """(job folder, last progress line, seconds since it was written) of every job folder under ``root``
    with a progress log, newest first; finished loops (last line says ``done``) only with ``include_done``.
    Works on local job folders and on jobflow-remote run folders alike (a mounted or local work_dir)."""
    found = []
    now = time.time()
    for path in Path(root).expanduser().glob(f"**/{LOG_FILE}"):
        line = last_line(path.parent)
        if line is None or (not include_done and "), done, " in line):
            continue
        found.append((path.parent, line, max(0.0, now - path.stat().st_mtime)))
    return sorted(found, key=lambda item: item[2])
