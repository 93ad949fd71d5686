"""What every workflow shares: the calculator resolved once, one cache key, one store lookup and one
"reuse or compute" mechanism used alike by local runs and by submission.

The cache key (``cache_key``) of a stored calculation is a hash of

* ``CalculatorSpec.key()`` (the calculator and its settings),
* the input structure, by one rounding rule (``structure_fingerprint``): lattice vectors to 1e-4 A,
  fractional coordinates to 1e-4 wrapped into [0, 1) (so 0.99999 and 0.0 are one coordinate), species in
  site order (site order matters: a trajectory's or a relaxed structure's indices follow it),
* the calculation's settings, floats rounded to 10 significant digits (``canonical``),
* a ``kind`` string naming the protocol and its version (``"relax-2"``, ``"static-2"``, ``"md-2"``,
  ``"phonons-2"``): bump it when the meaning of a stored result changes.

``find_stored(store, key)`` is the one lookup (the key field of a finished, not itself reused result).
Reuse happens at two moments with the same key: when a flow is made with a store at hand
(``reusing(store)`` or a Maker's ``reuse_from``: a stored phase gets no relaxation job at all, its stored
output is put in the flow; local runs through ``runner.stored_results_resolved``, submission through
``remote.submit``), and at run time inside the "or reuse" jobs, which see the store they run with (what
another run stored meanwhile).

Light jobs (``mark_light``): jobs that only analyse the results handed to them (a hull, a ranking), in
seconds and with no calculator. A flow made of nothing else, as a re-submitted screen whose
relaxations are all stored, is run where it is submitted instead of queued (``all_light``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from jobflow import Flow, Response, job
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, check_calculator
from interchem.workflows import claims

logger = logging.getLogger(__name__)

COORDINATE_DECIMALS = 4  # the one rounding rule of structures in cache keys (1e-4 A / 1e-4 fractional)
SIGNIFICANT_DIGITS = 10  # the one rounding rule of float settings in cache keys


def resolve_calculator(value: CalculatorSpec | str | dict | None) -> CalculatorSpec:
    """A Maker's ``calculator`` field as a validated spec: a string or dict is parsed once and its settings
    checked (element checks follow in ``make()``, where the structure is known)."""
    spec = CalculatorSpec.parse(value)
    check_calculator(spec)
    return spec


def canonical(value: Any) -> Any:
    """Settings with floats rounded to ``SIGNIFICANT_DIGITS`` (recursively; tuples become lists)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if hasattr(value, "model_dump"):
        return canonical(value.model_dump(mode="json"))
    return str(value)


def structure_fingerprint(structure: Structure) -> dict[str, Any]:
    """The structure by the one rounding rule (module docstring)."""
    d = COORDINATE_DECIMALS
    return {
        "lattice": [[round(x, d) for x in row] for row in structure.lattice.matrix.tolist()],
        "sites": [
            [site.species_string, *[round(round(x % 1.0, d) % 1.0, d) for x in site.frac_coords]] for site in structure
        ],
    }


def cache_key(spec: CalculatorSpec, structure: Structure, settings: dict[str, Any], kind: str) -> str:
    """The one cache key of a calculation (module docstring)."""
    payload = {
        "calculator": spec.key(),
        "structure": structure_fingerprint(structure),
        "settings": canonical(settings),
        "kind": kind,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def find_stored(store: Any, key: str, field: str = "calc_key") -> dict | None:
    """The stored output (a dict) of a finished calculation whose ``output.<field>`` is ``key`` (``calc_key``
    of relaxations and single points, ``md_key``, ``phonon_key``), never one that was itself reused."""
    if store is None:
        return None
    log = _REUSE.get()
    if log is not None and log.store is store:  # a flow being made: one query per field, not one per key
        return log.stored(field).get(key)
    doc = store.query_one({f"output.{field}": key, "output.reused": {"$ne": True}}, properties=["output"], load=False)
    return _plain_output(doc["output"]) if doc else None


def _plain_output(out: Any) -> dict:
    if hasattr(out, "model_dump"):  # monty decoded the stored document into its model
        out = out.model_dump()
    return {k: v for k, v in out.items() if k not in ("@module", "@class", "@version")}


# --------------------------------------------------------------------------------------------------
# One computation per cache key across processes (embedded and MongoDB stores alike): the run that misses
# the store claims the key, another waits and reuses its result. How a claim is held: ``claims.py``.


def claim_or_reuse(store: Any, key: str, field: str = "calc_key", what: str = "", poll_s: float = 1.0) -> dict | None:
    """The stored result of ``key``, waiting for another run that computes it; None when this run holds the
    claim and must compute (and store) it. See ``claims.py``."""
    stored = find_stored(store, key, field)
    backend = claims.claims_backend(store) if store is not None else None
    if stored is not None or backend is None or claims.is_held(key):
        return stored
    waited = False
    while not claims.claim(backend, key, field):
        if not waited:
            logger.info("Waiting for %s computing %s (%s)", backend.holder(key), what or key[:12], key[:12])
            waited = True
        stored = find_stored(store, key, field)
        if stored is not None:
            return stored
        time.sleep(poll_s)
    stored = find_stored(store, key, field)  # the holder may have stored it just before giving the claim up
    if stored is not None:
        claims.release(key)
    return stored


@contextlib.contextmanager
def giving_up_on_failure(key: str) -> Iterator[None]:
    """The claim of ``key`` given up when the computation under it raises, in the job itself: jobs run
    outside the local runner (FireWorks' ``rlaunch rapidfire``) have no runner that would (``claims.py``)."""
    try:
        yield
    except BaseException:
        if claims.is_held(key):
            claims.release(key)
        raise


def release_claims(store: Any = None, stored_only: bool = True) -> None:
    """Give up this process's claims whose result is now in ``store`` (all of them with ``stored_only=False``:
    at the end of a run, finished or failed)."""
    for key, field in claims.held().items():
        if not stored_only or find_stored(store, key, field) is not None:
            claims.release(key)


def store_of_current_job() -> Any:
    """The store the running job runs with (jobs with ``expose_store=True``), or None."""
    from jobflow import CURRENT_JOB

    return CURRENT_JOB.store


class ReuseLog:
    """Where Makers note what they took from the store while a flow is made under ``reusing``."""

    def __init__(self, store: Any):
        self.store = store
        self.reused: list[str] = []
        self._stored: dict[str, dict[str, dict]] = {}

    def stored(self, field: str) -> dict[str, dict]:
        """Every stored, not itself reused, output with ``output.<field>``, by that key: read in one query
        the first time a Maker asks (an embedded store scans and decodes every document per query, so
        one query per phase made a re-run's flow construction grow with the store)."""
        if field not in self._stored:
            docs = self.store.query(
                {f"output.{field}": {"$exists": True}, "output.reused": {"$ne": True}},
                properties=["output"],
                load=False,
            )
            found: dict[str, dict] = {}
            for doc in docs:
                out = _plain_output(doc["output"])
                found.setdefault(out.get(field), out)
            self._stored[field] = found
        return self._stored[field]


_REUSE: contextvars.ContextVar[ReuseLog | None] = contextvars.ContextVar("interchem_reuse", default=None)


@contextlib.contextmanager
def reusing(store: Any) -> Iterator[ReuseLog]:
    """Makers called inside resolve stored calculations at flow construction (``reuse_store``)."""
    log = ReuseLog(store)
    token = _REUSE.set(log)
    try:
        yield log
    finally:
        _REUSE.reset(token)


def reuse_store(explicit: Any = None) -> Any:
    """The store to resolve stored results from at ``make()``: a Maker's ``reuse_from`` or ``reusing``'s."""
    if explicit is not None:
        return explicit
    log = _REUSE.get()
    return log.store if log is not None else None


def note_reused(label: str) -> None:
    log = _REUSE.get()
    if log is not None:
        log.reused.append(label)


LIGHT_JOB = "interchem_light"  # job metadata key, see the module docstring


def mark_light(j: Any) -> Any:
    """Mark a job as light (analysis of results it is given: seconds, no calculator); returns it."""
    j.metadata = {**(j.metadata or {}), LIGHT_JOB: True}
    return j


def all_light(flow: Any) -> bool:
    """True when every job of the flow (or the job) is light: nothing in it computes."""
    jobs = [j for j, _ in flow.iterflow()] if isinstance(flow, Flow) else [flow]
    return bool(jobs) and all((j.metadata or {}).get(LIGHT_JOB) for j in jobs)


def run_here(maker: Any, structure: Structure) -> Any | None:
    """Run an atomate2 force-field Maker's job function in the calling job and return its task document;
    None for makers that must stay jobs of their own (VASP: its own folder, files, custodian).

    Why: each job on a cluster is a new process paying Python + torch + model start-up, and a relaxation
    split into "relax" + "record" (+ jobflow's output-holding ``store_inputs``) paid it three times. Run
    here, a relaxation is one job, whose output is the record; the task document is not stored apart."""
    from atomate2.forcefields.jobs import ForceFieldRelaxMaker, ForceFieldStaticMaker

    if not isinstance(maker, (ForceFieldRelaxMaker, ForceFieldStaticMaker)):
        return None
    return type(maker).make.original(maker, structure)


@job(name="hand on output")
def hand_on(value: Any) -> Any:
    """The output of a replaced job (see ``replace_with``): its references resolved, so it runs only
    after the jobs that make them completed."""
    return value


def replace_with(jobs: list, output: Any, name: str) -> Response:
    """``Response(replace=...)`` for the running job, its output held by ``hand_on`` instead of jobflow's
    ``store_inputs``.

    jobflow adds ``store_inputs`` (``OnMissing.NONE``, references not resolved) when a job is replaced by
    a Flow with an output: if a job of the replacement fails or is cancelled (``scancel``), store_inputs
    still runs, stores the unresolved reference as the job's output, and the children of the replaced job
    start and fail on it ("Could not resolve reference") instead of waiting for the rerun. ``hand_on`` has
    jobflow's defaults (resolve, error on missing): it and the children wait. Same uuid and next index as
    the replaced job, as jobflow does it, so references to the replaced job resolve to its output."""
    from jobflow import CURRENT_JOB

    current = CURRENT_JOB.job
    relay = hand_on(output)
    relay.set_uuid(current.uuid)
    relay.index = current.index + 1
    relay.name = current.name
    relay.metadata = dict(current.metadata)
    relay.output_schema = current.output_schema
    return Response(replace=Flow([*jobs, relay], name=name))  # no Flow output: jobflow adds no store_inputs
