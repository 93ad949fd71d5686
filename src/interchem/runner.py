"""Run flows locally on the configured store: the code path of the CLI, tests and benchmarks.

Validation happens first (phases resolve, calculator knows every element, structures are sane);
only then is the store opened and the flow run, so bad input leaves nothing in the store.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from interchem.calculators import CalculatorSpec, check_calculator
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

    def add(name: str) -> str:
        label, structure = library.resolve_phase(name, mp_source=mp_source)
        phases[label] = structure
        return label

    electrolytes = [add(e) for e in electrolytes]
    anodes = [add(a) for a in anodes]
    for extra in extra_phases:
        add(extra)
    def elements_of(*names: str) -> set[str]:
        return {el.symbol for n in names for el in phases[n].composition.elements}

    # One chemical system per electrolyte: its elements + every anode's + Li. Each system is filled
    # with every phase of the library (or of MP) inside it: the hull needs all of them, not only the
    # phases named on the command line.
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
    all_elements = {el.symbol for s in phases.values() for el in s.composition.elements}
    check_calculator(spec, all_elements, context="the screen's phases")
    if static_spec is not None:
        check_calculator(static_spec, all_elements, context="the screen's phases (single points)")
    return ScreenPlan(
        phases=phases, anodes=anodes, electrolytes=electrolytes, systems=systems, calculator=spec, static_calculator=static_spec
    )


def _within(structure, elements) -> bool:
    return {el.symbol for el in structure.composition.elements} <= set(elements)


class _JobLog(logging.Handler):
    """Reads jobflow's job log: progress callbacks, and the tracebacks of failed jobs (which
    run_locally logs at INFO and otherwise drops)."""

    _pattern = re.compile(r"^(Starting|Finished|Reused) (?:job|stored relaxation) - (.+?) \(")

    def __init__(self, callback: Callable[[str, str], None] | None):
        super().__init__(logging.INFO)
        self.callback = callback
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if " failed with exception:" in message:
            name, _, trace = message.partition(" failed with exception:")
            lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
            # The exception line ("SomeError: message"), not a trailing hint such as pydantic's URL.
            errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", line)]
            self.failures.append(f"{name}: {(errors or lines or ['?'])[-1]}")
            return
        m = self._pattern.match(message)
        if m and self.callback:
            self.callback(m.group(1).lower(), m.group(2))


def run_screen(
    plan: ScreenPlan,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
) -> ScreenResult:
    settings = settings or get_settings()
    maker = ScreenMaker(
        calculator=plan.calculator, fmax=settings.relax_fmax, steps=settings.relax_steps, static_calculator=plan.static_calculator
    )
    flow = maker.make(plan.phases, plan.anodes, plan.electrolytes)
    return ScreenResult.model_validate(run_flow(flow, settings, progress, work_dir, what="the screen"))


def run_flow(
    flow,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
    what: str = "the flow",
) -> Any:
    """Run any interchem flow locally on the settings' store and return its output, loaded from the
    store (so big data store fields come back too). A failed job raises InterchemError with the job's
    own error message, not jobflow's generic one."""
    from jobflow import run_locally

    from interchem.store import make_job_store

    settings = settings or get_settings()
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    store = make_job_store(settings)
    work_dir = Path(work_dir or Path(settings.output_dir) / "jobs").resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    handler = _JobLog(progress)
    loggers = [logging.getLogger(name) for name in ("jobflow.core.job", "jobflow.managers.local", "interchem.workflows.thermo", "interchem.workflows.md")]
    saved_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    try:
        run_locally(flow, store=store, create_folders=True, root_dir=work_dir, log=False, ensure_success=True)
    except RuntimeError as exc:
        detail = "; ".join(handler.failures) or str(exc)
        raise InterchemError(f"{what} did not finish: {detail}") from exc
    finally:
        for lg, level in zip(loggers, saved_levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
    store.connect()
    try:
        return _read_outputs(store, flow.output)
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


def latest_screen_result(settings: Settings | None = None, calculator: str | CalculatorSpec | None = None) -> ScreenResult:
    """The most recent screen stored with this calculator spec: queries answer from it, no recomputing."""
    from interchem.store import describe, make_job_store

    settings = settings or get_settings()
    spec = CalculatorSpec.parse(calculator or settings.calculator)
    store = make_job_store(settings)
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
    """The stored screen at ``temperature_K``: harmonic phonons of every relaxed phase (reused from the
    store when the same phase, structure and calculator were done before), F_vib(T) added to every
    entry, and the analysis repeated next to the 0 K one. Returns (ThermalScreen, phonon summaries)."""
    import hashlib
    import json

    from jobflow import Flow

    from interchem.analysis.thermal import screen_at_temperature
    from interchem.store import make_job_store
    from interchem.workflows.phonons import PhononsMaker, PhononSummary

    settings = settings or get_settings()
    result = latest_screen_result(settings, calculator)
    spec = CalculatorSpec.model_validate(result.calculator)
    maker = PhononsMaker(calculator=spec, min_length=min_length)
    if not 0 <= temperature_K <= maker.t_max_K:
        raise InterchemError(f"temperature {temperature_K} K is outside 0-{maker.t_max_K:.0f} K")

    def key(relaxation: dict) -> str:
        payload = {"calc_key": relaxation["calc_key"], "spec": spec.model_dump(mode="json"), "min_length": min_length}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    store = make_job_store(settings)
    store.connect()
    summaries: dict[str, PhononSummary] = {}
    try:
        for rel in result.relaxations:
            doc = store.query_one({"output.phonon_key": key(rel)}, properties=["output"], load=False)
            if doc:
                summaries[rel["phase"]] = PhononSummary.model_validate(doc["output"])
                if progress:
                    progress("reused", f"phonons {rel['phase']}")
    finally:
        store.close()
    todo = [rel for rel in result.relaxations if rel["phase"] not in summaries]
    entries = screen_entries(result)
    if todo:
        relaxed = {e.data["phase"]: e.structure for e in entries}  # the relaxed structures live in the entries
        flows = [maker.make(relaxed[rel["phase"]], phase=rel["phase"], phonon_key=key(rel)) for rel in todo]
        outputs = run_flow(Flow(flows, output=[f.output for f in flows]), settings, progress, what="the phonon runs")
        for rel, out in zip(todo, outputs):
            summaries[rel["phase"]] = PhononSummary.model_validate(out)
    fvib = {phase: s.free_energy_at(temperature_K) for phase, s in summaries.items()}
    imaginary = [phase for phase, s in summaries.items() if s.has_imaginary_modes]
    thermal = screen_at_temperature(entries, fvib, temperature_K, result.anodes, result.electrolytes, imaginary)
    return thermal, summaries
