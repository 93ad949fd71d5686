"""Run flows locally on the configured store: the code path of the CLI, tests and benchmarks.

Validation happens first (phases resolve, calculator knows every element, structures are sane);
only then is the store opened and the flow run, so bad input leaves nothing in the store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchem.calculators import CalculatorSpec, check_calculator, release_calculators
from interchem.errors import InterchemError
from interchem.settings import Settings, get_settings
from interchem.structures import library
from interchem.workflows.thermo import ScreenMaker, ScreenResult


@dataclass
class ScreenPlan:
    phases: dict  # name -> Structure
    anodes: list[str]
    electrolytes: list[str]
    systems: dict[str, list[str]]
    calculator: CalculatorSpec
    static_calculator: CalculatorSpec | None = None


def plan_screen(
    electrolytes: Iterable[str] | None = None,
    anodes: Iterable[str] | None = None,
    calculator: str | CalculatorSpec | None = None,
    extra_phases: Iterable[str] = (),
    settings: Settings | None = None,
    mp_source=None,
    static_calculator: str | CalculatorSpec | None = None,
) -> ScreenPlan:
    """Resolve every name and file, pick the phases of each chemical system, and validate all of it.

    With an MP API key in the settings (or an explicit ``mp_source``), phase names and every phase
    near the hull of each chemical system come from the Materials Project instead of the cards.
    """
    settings = settings or get_settings()
    spec = CalculatorSpec.parse(calculator or settings.calculator)
    check_calculator(spec)  # unknown name / bad settings fail before structures are built
    static_spec = CalculatorSpec.parse(static_calculator) if static_calculator else None
    if static_spec is not None:
        check_calculator(static_spec)
    electrolytes = list(library.DEFAULT_ELECTROLYTES if electrolytes is None else electrolytes)
    anodes = list(library.anode_series() if anodes is None else anodes)
    if not electrolytes and not anodes:
        raise InterchemError("empty chemical system: no electrolytes and no anode phases given")

    key = settings.resolved_mp_api_key()
    if mp_source is None and key is not None:
        from interchem.structures.materials_project import MaterialsProjectSource

        mp_source = MaterialsProjectSource(key)

    phases: dict = {}

    def add(name: str) -> str:  # a partially occupied phase is ordered by run_screen (order_phase)
        label, structure = library.resolve_phase(name, mp_source=mp_source, allow_disordered=True)
        phases[label] = structure
        return label

    electrolytes = [add(e) for e in electrolytes]
    anodes = [add(a) for a in anodes]
    for extra in extra_phases:
        add(extra)
    systems = _fill_systems(phases, anodes, electrolytes, mp_source, add)
    all_elements = {el.symbol for s in phases.values() for el in s.composition.elements}
    check_calculator(spec, all_elements, context="the screen's phases")
    if static_spec is not None:
        check_calculator(static_spec, all_elements, context="the screen's phases (single points)")
    return ScreenPlan(
        phases=phases,
        anodes=anodes,
        electrolytes=electrolytes,
        systems=systems,
        calculator=spec,
        static_calculator=static_spec,
    )


def _fill_systems(phases: dict, anodes: list[str], electrolytes: list[str], mp_source, add) -> dict[str, list[str]]:
    """One chemical system per electrolyte: its elements + every anode's + Li. Each system is filled
    with every phase of the library (or of MP) inside it: the hull needs all of them, not only the
    phases named on the command line. Returns system -> its phases; ``phases`` gains the new ones."""

    def elements_of(*names: str) -> set[str]:
        return {el.symbol for n in names for el in phases[n].composition.elements}

    anode_elements = elements_of(*anodes) | ({library.ION} if anodes else set())
    systems: dict[str, list[str]] = {}
    for electrolyte in electrolytes or [None]:
        elements = anode_elements | (elements_of(electrolyte) if electrolyte else set())
        if mp_source is not None:
            for name, structure in mp_source.structures_in_chemsys(sorted(elements)).items():
                phases.setdefault(name, structure)
        else:
            for name in library.card_phases_in(elements):
                if name not in phases:
                    add(name)
        systems["-".join(sorted(elements))] = sorted(p for p in phases if _within(phases[p], elements))
    return systems


def _within(structure, elements) -> bool:
    return {el.symbol for el in structure.composition.elements} <= set(elements)


def run_screen(
    plan: ScreenPlan,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
) -> ScreenResult:
    settings = settings or get_settings()
    maker = ScreenMaker(
        calculator=plan.calculator,
        fmax=settings.relax_fmax,
        steps=settings.relax_steps,
        static_calculator=plan.static_calculator,
    )
    phases = {
        name: s if s.is_ordered else order_phase(s, name, plan.calculator, settings, progress).lowest.structure
        for name, s in plan.phases.items()
    }
    flow = maker.make(phases, plan.anodes, plan.electrolytes)
    return ScreenResult.model_validate(run_flow(flow, settings, progress, work_dir, what="the screen"))


def order_phase(
    structure,
    phase: str,
    calculator: str | CalculatorSpec,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    n_candidates: int | None = None,
):
    """Ordered cell of a partially occupied structure: Ewald-ranked candidates
    (``structures.disorder``), each relaxed with the calculator (stored and reused), lowest kept
    (``workflows.disorder.OrderingResult``; ``.lowest.structure`` is the relaxed cell)."""
    from interchem.structures.disorder import DEFAULT_CANDIDATES, ordered_candidates
    from interchem.workflows.disorder import DisorderRankMaker, OrderingResult

    settings = settings or get_settings()
    candidates = ordered_candidates(structure, n=n_candidates or DEFAULT_CANDIDATES)
    maker = DisorderRankMaker(calculator=calculator, fmax=settings.relax_fmax, steps=settings.relax_steps)
    flow = maker.make(candidates, phase)
    return OrderingResult.model_validate(run_flow(flow, settings, progress, what=f"the ordering of {phase}"))


def resolve_ordered(
    name: str,
    calculator: str | CalculatorSpec,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
):
    """(label, ordered structure) of a phase name or file, ordering a partially occupied one with the
    calculator (``order_phase``); ordered phases come back as ``library.resolve_phase(primitive=False)``."""
    label, structure = library.resolve_phase(name, primitive=False, allow_disordered=True)
    if structure.is_ordered:
        return label, structure
    return label, order_phase(structure, label, calculator, settings, progress).lowest.structure


def run_flow(
    flow,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
    what: str = "the flow",
) -> Any:
    """Run any interchem flow locally on the settings' store and return its output, loaded from the
    store (so big data store fields come back too). ``progress(event, job name)`` is called with
    ``starting``, ``finished`` or ``reused`` (a job whose output says it reused a stored result). A failed
    job raises InterchemError with the job's own error message, not jobflow's generic one."""
    from interchem.store import make_job_store

    settings = settings or get_settings()
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    store = make_job_store(settings)
    work_dir = Path(work_dir or Path(settings.output_dir) / "jobs").resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    local = LocalRun(store, work_dir, progress)
    try:
        finished = local.run(flow)
    finally:
        with contextlib.suppress(OSError):  # only when empty: no folder left behind for jobs that wrote nothing
            work_dir.rmdir()
    if not finished:
        raise InterchemError(f"{what} did not finish: {'; '.join(local.failures) or 'a job stopped the flow'}")
    store.connect()
    try:
        return _read_outputs(store, flow.output)
    finally:
        store.close()


class LocalRun:
    """jobflow's ``run_locally`` (create_folders=True, ensure_success=True), with job events.

    Written out because ``run_locally`` reports job starts and failures only as log text; this loop keeps
    its semantics (each job in its own folder, a job whose parent failed is skipped, ``stop_children``,
    ``stop_jobflow``, and replace/detour/addition run in place, in that order) and calls ``progress`` and
    records each failing job's own error instead."""

    def __init__(self, store, root_dir: Path, progress: Callable[[str, str], None] | None = None):
        self.store, self.root_dir, self.progress = store, root_dir, progress
        self.failures: list[str] = []
        self.errored: set[str] = set()
        self.stopped_parents: set[str] = set()
        self.stop_jobflow = False

    def run(self, flow) -> bool:
        """True when every job finished (jobflow's ``ensure_success``)."""
        from jobflow.core.flow import get_flow

        self.store.connect()
        try:
            return self._run(get_flow(flow, allow_external_references=False))
        finally:
            self.store.close()

    def _run(self, flow) -> bool:
        from contextlib import chdir

        ok = True
        for job, parents in flow.iterflow():
            job_dir = self._job_dir()
            with chdir(job_dir):
                response = self._run_job(job, parents)
            if not any(job_dir.iterdir()):  # a job that wrote no file leaves no empty folder behind
                job_dir.rmdir()
            if response is not None:
                response.job_dir = job_dir
            ok = ok and response is not None
            if self.stop_jobflow:
                return False
        return ok

    def _job_dir(self) -> Path:
        from datetime import datetime, timezone
        from random import randint

        from jobflow import SETTINGS

        stamp = datetime.now(tz=timezone.utc).strftime(SETTINGS.DIRECTORY_FORMAT)
        job_dir = self.root_dir / f"job_{stamp}-{randint(10000, 99999)}"
        job_dir.mkdir()
        return job_dir

    def _emit(self, event: str, name: str) -> None:
        if self.progress is not None:
            self.progress(event, name)

    def _run_job(self, job, parents):
        from jobflow.core.reference import OnMissing

        if self.stop_jobflow:
            return None
        if set(parents) & self.stopped_parents:
            self.stopped_parents.add(job.uuid)
            return None
        if set(parents) & self.errored and job.config.on_missing_references == OnMissing.ERROR:
            self.errored.add(job.uuid)
            return None
        self._emit("starting", job.name)
        try:
            response = job.run(store=self.store)
        except Exception as exc:  # noqa: BLE001  (any job error is reported with its own message)
            self.failures.append(f"{job.name}: {error_line(exc)}")
            self.errored.add(job.uuid)
            return None
        finally:  # a CP2K shell ends with the job that started it, whether the job finished or failed
            release_calculators()
        self._emit("reused" if _says_reused(response.output) else "finished", job.name)
        if response.stop_children:
            self.stopped_parents.add(job.uuid)
        if response.stop_jobflow:
            self.stop_jobflow = True
            return None
        diversions = [self._run(d) for d in (response.replace, response.detour, response.addition) if d is not None]
        return response if all(diversions) else None


def _says_reused(output: Any) -> bool:
    """Reuse jobs (``relax or reuse``, ``static or reuse``) return the stored result with ``reused=True``."""
    value = output.get("reused") if isinstance(output, dict) else getattr(output, "reused", None)
    return value is True


def error_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (pydantic's trailing documentation URL dropped)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("For further information visit")]
    return f"{type(exc).__name__}: {' '.join(lines) or '?'}"


def load_output(settings: Settings, uuid: str) -> Any:
    """The stored output of one job (its last run), data-store fields loaded."""
    from interchem.store import make_job_store

    store = make_job_store(settings)
    store.connect()
    try:
        return store.get_output(uuid, which="last", load=True)
    finally:
        store.close()


def _read_outputs(store, output: Any) -> Any:
    """The stored value of a flow's output: one reference, or a list/dict of them (multi-phase flows)."""
    from jobflow import OutputReference

    if isinstance(output, OutputReference):
        value = store.get_output(output.uuid, which="last", load=True)
        for attr in output.attributes:  # e.g. flow.output.analysis
            value = value[attr[1]] if isinstance(value, dict) else getattr(value, attr[1])
        return value
    if isinstance(output, (list, tuple)):
        return [_read_outputs(store, item) for item in output]
    if isinstance(output, dict):
        return {key: _read_outputs(store, item) for key, item in output.items()}
    return output


def latest_screen_result(
    settings: Settings | None = None, calculator: str | CalculatorSpec | None = None
) -> ScreenResult:
    """The most recent screen stored with this calculator spec: queries answer from it, no recomputing."""
    from interchem.store import describe, make_job_store

    settings = settings or get_settings()
    spec = CalculatorSpec.parse(calculator or settings.calculator)
    store = make_job_store(settings, must_exist=True)  # a query never creates an empty store
    store.connect()
    try:
        docs = list(
            store.query(
                {"name": "analyse screen", "output.calculator": spec.model_dump(mode="json")},
                properties=["uuid", "index", "completed_at"],
                sort={"completed_at": -1},
                limit=1,
            )
        )
        if not docs:
            raise InterchemError(
                f"no stored screen computed with calculator {spec.label()!r} in the {describe(store)}; "
                "run `interchem screen` first"
            )
        output = store.get_output(docs[0]["uuid"], which="last", load=True)
    finally:
        store.close()
    return ScreenResult.model_validate(output)


def screen_entries(result: ScreenResult) -> list:
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    return [ComputedStructureEntry.from_dict(d) if isinstance(d, dict) else d for d in result.entries]


def run_thermal_screen(
    temperature_K: float,
    settings: Settings | None = None,
    calculator: str | CalculatorSpec | None = None,
    min_length: float = 12.0,
    progress: Callable[[str, str], None] | None = None,
):
    """The stored screen at ``temperature_K`` (``workflows.pipelines.ThermalScreenMaker``): harmonic
    phonons of every relaxed phase (reused from the store when the same phase, structure and calculator
    were done before), F_vib(T) added to every entry, and the analysis repeated next to the 0 K one.
    Returns (ThermalScreen, phonon summaries)."""
    from interchem.analysis.thermal import ThermalScreen
    from interchem.workflows.phonons import PhononSummary

    settings = settings or get_settings()
    flow, stored = thermal_screen_flow(temperature_K, settings, calculator, min_length)
    for phase in stored:
        if progress:
            progress("reused", f"phonons {phase}")
    out = run_flow(flow, settings, progress, what="the phonon runs")
    summaries = {phase: PhononSummary.model_validate(s) for phase, s in out["summaries"].items()}
    return ThermalScreen.model_validate(out["thermal"]), summaries


def thermal_screen_flow(
    temperature_K: float = 300.0,
    settings: Settings | None = None,
    calculator: str | CalculatorSpec | None = None,
    min_length: float = 12.0,
):
    """(flow, phase -> stored PhononSummary): the latest stored screen of ``calculator`` at ``temperature_K``,
    phonons only for the phases the store has none of."""
    from interchem.workflows.phonons import PhononsMaker
    from interchem.workflows.pipelines import ThermalScreenMaker

    settings = settings or get_settings()
    result = latest_screen_result(settings, calculator)
    spec = CalculatorSpec.model_validate(result.calculator)
    phonons = PhononsMaker(calculator=spec, min_length=min_length)
    maker = ThermalScreenMaker(temperature_K=temperature_K, phonons_maker=phonons)
    # The one cache key (workflows.common) of each relaxed structure's phonons with this calculator.
    relaxed = {e.data["phase"]: e.structure for e in screen_entries(result)}
    keys = {rel["phase"]: phonons.key(relaxed[rel["phase"]]) for rel in result.relaxations}
    stored = stored_phonons(settings, keys)
    return maker.make(result, stored, keys), stored


def stored_phonons(settings: Settings, keys: dict[str, str]) -> dict:
    """phase -> the stored PhononSummary with that phase's key, for the phases that have one."""
    from interchem.store import make_job_store
    from interchem.workflows.common import find_stored
    from interchem.workflows.phonons import PhononSummary

    store = make_job_store(settings)
    store.connect()
    try:
        found = {phase: find_stored(store, key, field="phonon_key") for phase, key in keys.items()}
    finally:
        store.close()
    return {phase: PhononSummary.model_validate(doc) for phase, doc in found.items() if doc}
