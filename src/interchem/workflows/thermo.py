"""Thermodynamic screen: relax every phase of the chemical systems, make MP-compatible entries,
analyse hulls, stability windows, voltages, interface reactions and tie-lines.

Reuse of stored work: each relaxation has a *calc key* (``workflows.common.cache_key`` of the input
structure, the calculator spec and the relaxation settings). With a store at hand when the flow is made
(``reuse_from`` or ``common.reusing``, as ``interchem submit`` does), a stored phase gets no relaxation
job: its stored record is put in the flow. At run time ``relax_or_reuse`` looks the key up in the job
store the flow runs with; a hit returns the stored result, a miss replaces itself (jobflow Response)
with atomate2's relax job plus a small record job. So a second screen, or another flow that needs the
same phase with the same calculator, recomputes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobflow import Flow, JobConfig, Maker, job
from pydantic import BaseModel, Field, field_validator
from pymatgen.core import Structure

from interchem.calculators import (
    CalculatorSpec,
    check_calculator,
    get_backend,
    relax_maker,
    static_maker,
)
from interchem.errors import InterchemError
from interchem.schemas import task_field
from interchem.structures.cards import check_structure
from interchem.workflows.common import (
    cache_key,
    claim_or_reuse,
    find_stored,
    giving_up_on_failure,
    mark_light,
    note_reused,
    replace_with,
    resolve_calculator,
    reuse_store,
    run_here,
    store_of_current_job,
)

logger = logging.getLogger(__name__)

# Bump when the meaning of a stored relaxation changes. 2: the key is ``common.cache_key`` (spec.key(),
# one rounding rule); results stored under protocol 1 are not found again.
RELAX_PROTOCOL = "relax-2"
STATIC_PROTOCOL = "static-2"
# The code a screen's analysis runs: its source hash is part of the analysis key (``screen_analysis_key``).
ANALYSIS_FILES = ("analysis", "entries.py", "workflows/thermo.py")


class RelaxedPhase(BaseModel):
    """One relaxed phase with everything needed to find it again and to make an entry from it."""

    phase: str
    formula: str
    calc_key: str
    calculator: dict[str, Any]
    level_of_theory: str
    energy_convention: str
    energy_eV: float
    energy_per_atom_eV: float
    n_atoms: int
    structure: Structure
    volume_change_percent: float
    # Does pymatgen's StructureMatcher (default tolerances) still map the relaxed structure onto the input?
    # False: the model's minimum is another structure (``analysis.quality`` warns). None: not measured.
    matches_input: bool | None = None
    converged: bool | None = None
    n_steps: int | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    reused: bool = False
    # Set for "relax with one calculator, single point with another" records: the geometry's origin.
    geometry_calculator: dict[str, Any] | None = None
    geometry_calc_key: str | None = None


def relax_key(structure: Structure, spec: CalculatorSpec, fmax: float, steps: int) -> str:
    """Cache key of a cell relaxation (``common.cache_key``)."""
    return cache_key(spec, structure, {"fmax": fmax, "steps": steps, "relax_cell": True}, RELAX_PROTOCOL)


def static_key(structure: Structure, spec: CalculatorSpec, geometry_key: str) -> str:
    """Cache key of a single point on a relaxed geometry (identified by its relaxation's key)."""
    return cache_key(spec, structure, {"geometry": geometry_key}, STATIC_PROTOCOL)


# expose_store: the job reads the store it runs with (jobflow hides it by default).
@job(name="relax or reuse", config=JobConfig(expose_store=True))
def relax_or_reuse(structure: Structure, phase: str, calculator: CalculatorSpec, fmax: float, steps: int):
    spec = calculator
    key = relax_key(structure, spec, fmax, steps)
    stored = claim_or_reuse(store_of_current_job(), key, what=f"relaxation of {phase}")  # one run computes a key
    if stored is not None:
        logger.info("Reused stored relaxation - %s (%s)", phase, key[:12])
        # Under this flow's name: the same structure may have been stored under another (an ordering candidate).
        return RelaxedPhase.model_validate({**stored, "phase": phase, "reused": True})
    maker = relax_maker(spec, fmax=fmax, steps=steps)
    with giving_up_on_failure(key):
        task_doc = run_here(maker, structure)
        if task_doc is not None:  # one job: relaxed and recorded here (common.run_here says why)
            return record_relaxation.original(phase, key, calculator, structure, task_doc)
    relax = maker.make(structure)
    relax.name = f"relax {phase}"
    record = record_relaxation(
        phase=phase, key=key, calculator=calculator, initial_structure=structure, task_doc=relax.output
    )
    record.name = f"record {phase}"
    return replace_with([relax, record], record.output, name=f"relax {phase}")


@job(name="record relaxation")
def record_relaxation(
    phase: str, key: str, calculator: CalculatorSpec, initial_structure: Structure, task_doc: Any
) -> RelaxedPhase:
    spec = calculator
    backend = get_backend(spec)
    final_structure = task_field(task_doc, "output", "structure")
    energy = task_field(task_doc, "output", "energy")
    converged = task_field(task_doc, "is_force_converged")
    n_steps = task_field(task_doc, "output", "n_steps")
    if final_structure is None or energy is None:
        raise InterchemError(f"relaxation of {phase} returned no final structure or energy")
    if isinstance(final_structure, dict):
        final_structure = Structure.from_dict(final_structure)
    n = len(final_structure)
    return RelaxedPhase(
        phase=phase,
        formula=final_structure.composition.reduced_formula,
        calc_key=key,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        energy_convention=backend.energy_convention(spec),
        energy_eV=float(energy),
        energy_per_atom_eV=float(energy) / n,
        n_atoms=n,
        structure=final_structure,
        volume_change_percent=100.0 * (final_structure.volume / initial_structure.volume - 1.0),
        matches_input=_matches(initial_structure, final_structure),
        converged=converged,
        n_steps=n_steps,
        provenance=(initial_structure.properties or {}).get("provenance", {}),
        versions=backend.versions(),
    )


def _matches(initial: Structure, final: Structure) -> bool:
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return bool(StructureMatcher().fit(initial, final))


@job(name="static or reuse", config=JobConfig(expose_store=True))
def static_or_reuse(relaxed: RelaxedPhase, calculator: CalculatorSpec):
    """Single point with ``calculator`` on a relaxed geometry (the "MLIP relax, DFT static" protocol),
    looked up in the store first like a relaxation."""
    relaxed = RelaxedPhase.model_validate(relaxed.model_dump() if hasattr(relaxed, "model_dump") else relaxed)
    spec = calculator
    key = static_key(relaxed.structure, spec, relaxed.calc_key)
    stored = claim_or_reuse(store_of_current_job(), key, what=f"single point of {relaxed.phase}")
    if stored is not None:
        logger.info("Reused stored relaxation - %s (%s)", relaxed.phase, key[:12])
        return RelaxedPhase.model_validate({**stored, "reused": True})
    maker = static_maker(spec)
    with giving_up_on_failure(key):
        task_doc = run_here(maker, relaxed.structure)
        if task_doc is not None:  # one job (common.run_here)
            return record_static.original(relaxed, key, calculator, task_doc)
    static = maker.make(relaxed.structure)
    static.name = f"static {relaxed.phase}"
    record = record_static(relaxed=relaxed, key=key, calculator=calculator, task_doc=static.output)
    record.name = f"record {relaxed.phase}"
    return replace_with([static, record], record.output, name=f"static {relaxed.phase}")


@job(name="record static")
def record_static(relaxed: RelaxedPhase, key: str, calculator: CalculatorSpec, task_doc: Any) -> RelaxedPhase:
    spec = calculator
    backend = get_backend(spec)
    energy = task_field(task_doc, "output", "energy")
    if energy is None:
        raise InterchemError(f"single point of {relaxed.phase} returned no energy")
    n = relaxed.n_atoms
    return relaxed.model_copy(
        update={
            "calc_key": key,
            "calculator": spec.model_dump(mode="json"),
            # Both levels in the label: such entries never share a hull with plain ones of either level.
            "level_of_theory": f"{backend.level_of_theory(spec)} // {relaxed.level_of_theory} geometry",
            "energy_convention": backend.energy_convention(spec),
            "energy_eV": float(energy),
            "energy_per_atom_eV": float(energy) / n,
            "versions": {**relaxed.versions, **backend.versions()},
            "reused": False,
            "geometry_calculator": relaxed.calculator,
            "geometry_calc_key": relaxed.calc_key,
        }
    )


@dataclass
class RelaxPhaseMaker(Maker):
    """Relax one phase (cell + positions) with a calculator, reusing a stored identical relaxation."""

    name: str = "relax phase"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    fmax: float = 0.05
    steps: int = 300
    # A JobStore to resolve stored relaxations from when the flow is made (default: ``common.reusing``'s).
    reuse_from: Any = None

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def resolve(self, structure: Structure, phase: str | None = None) -> tuple[str, RelaxedPhase | None]:
        """Check the inputs; return the phase name and its stored relaxation (None: not stored, or no store)."""
        phase = phase or (structure.properties or {}).get("phase") or structure.composition.reduced_formula
        check_calculator(self.calculator, {el.symbol for el in structure.composition.elements}, context=phase)
        check_structure(structure, label=phase)
        store = reuse_store(self.reuse_from)
        stored = find_stored(store, relax_key(structure, self.calculator, self.fmax, self.steps)) if store else None
        if stored is None:
            return phase, None
        note_reused(phase)
        return phase, RelaxedPhase.model_validate({**stored, "phase": phase, "reused": True})

    def make(self, structure: Structure, phase: str | None = None):
        phase, stored = self.resolve(structure, phase)
        if stored is not None:  # resolved now: a tiny job hands the stored record to the flow
            j = mark_light(stored_relaxation(stored))
            j.name = f"reuse relaxation {phase}"
            return j
        j = relax_or_reuse(structure, phase, self.calculator, self.fmax, self.steps)
        j.name = f"relax or reuse {phase}"
        return j


@job(name="reuse relaxation")
def stored_relaxation(record: RelaxedPhase) -> RelaxedPhase:
    """A relaxation resolved from the store when the flow was made (the flow's only job for it)."""
    return record


class ScreenResult(BaseModel):
    analysis: dict[str, Any]
    entries: list[dict[str, Any]]
    relaxations: list[dict[str, Any]]
    calculator: dict[str, Any]
    level_of_theory: str
    versions: dict[str, str]
    anodes: list[str]
    electrolytes: list[str]
    # Committee screens only (``CommitteeScreenMaker``): per quantity the value of every model and the
    # spread (``analysis.committee``); None for a single model.
    uncertainty: dict[str, Any] | None = None
    # The analysis' inputs and code (``screen_analysis_key``): an identical re-run reuses the stored result.
    analysis_key: str | None = None
    analysis_reused: bool = False  # not ``reused``: that would make the runner report the job as a reused phase

    @field_validator("entries", mode="before")
    @classmethod
    def _entries_as_dicts(cls, value: Any) -> Any:
        # A ScreenResult handed to another job comes back through monty, which has decoded its entries.
        return [e.as_dict() if hasattr(e, "as_dict") else e for e in value] if isinstance(value, list) else value


@functools.lru_cache(maxsize=1)
def _analysis_code_hash() -> str:
    """SHA-256 of the source of the code a screen's analysis runs: any change to it is a new analysis."""
    import interchem

    root = Path(interchem.__file__).parent
    files = sorted(
        f for name in ANALYSIS_FILES for f in ([root / name] if name.endswith(".py") else (root / name).rglob("*.py"))
    )
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def screen_analysis_key(relaxations: list[tuple[str, str]], anodes: list[str], electrolytes: list[str], spec) -> str:
    """The cache key of a screen's analysis: its inputs in order ((phase, calc_key) of each record), the
    anode and electrolyte lists, the calculator and the analysis code itself. Deterministic inputs and code
    give the same result, so an identical re-run or resubmission reuses it instead of recomputing."""
    payload = {
        "relaxations": [list(r) for r in relaxations],
        "anodes": list(anodes),
        "electrolytes": list(electrolytes),
        "calculator": spec.key(),
        "code": _analysis_code_hash(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@job(name="analyse screen")
def stored_analysis(result: ScreenResult) -> ScreenResult:
    """A screen's analysis resolved from the store when the flow was made (same name as the computing job:
    ``interchem results`` finds either)."""
    return result


@job(name="analyse screen")
def analyse_screen(
    relaxations: list, anodes: list[str], electrolytes: list[str], calculator: CalculatorSpec
) -> ScreenResult:
    from interchem.analysis import screen_analysis
    from interchem.entries import build_entries

    records = [r.model_dump() if hasattr(r, "model_dump") else dict(r) for r in relaxations]
    entries = build_entries(records)
    analysis = screen_analysis(entries, anodes=anodes, electrolytes=electrolytes)
    spec = calculator
    backend = get_backend(spec)
    return ScreenResult(
        analysis=analysis.model_dump(mode="json"),
        entries=[e.as_dict() for e in entries],
        relaxations=[{k: v for k, v in r.items() if k != "structure"} for r in records],
        calculator=spec.model_dump(mode="json"),
        # From the records (build_entries has checked they agree): includes the geometry's level.
        level_of_theory=records[0]["level_of_theory"],
        versions=records[0].get("versions") or backend.versions(),
        anodes=anodes,
        electrolytes=electrolytes,
        analysis_key=screen_analysis_key([(r["phase"], r["calc_key"]) for r in records], anodes, electrolytes, spec),
    )


@dataclass
class ScreenMaker(Maker):
    """Thermodynamic screen of anode phases against electrolytes with one calculator.

    ``make(phases, anodes, electrolytes)`` takes resolved phases {name: Structure} (see
    ``interchem.structures.library.resolve_phase``); all inputs are validated here, before any job runs
    or anything is written to a store.
    """

    name: str = "thermodynamic screen"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)
    fmax: float = 0.05
    steps: int = 300
    # Optional second level: single points on the relaxed geometries (e.g. CHGNet relax, CP2K static).
    static_calculator: CalculatorSpec | None = None
    # A JobStore to resolve stored results from when the flow is made (default: ``common.reusing``'s).
    reuse_from: Any = None

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)
        if self.static_calculator is not None:
            self.static_calculator = resolve_calculator(self.static_calculator)

    def make(self, phases: dict[str, Structure], anodes: list[str], electrolytes: list[str]) -> Flow:
        if not phases:
            raise InterchemError("empty chemical system: no phases to relax")
        spec = self.calculator
        elements = {el.symbol for s in phases.values() for el in s.composition.elements}
        check_calculator(spec, elements, context="the screen's phases")
        if self.static_calculator is not None:
            check_calculator(self.static_calculator, elements, context="the screen's phases (single points)")
        missing = [p for p in [*anodes, *electrolytes] if p not in phases]
        if missing:
            raise InterchemError(f"anode/electrolyte phase(s) {', '.join(missing)} are not among the phases to relax")
        relaxer = RelaxPhaseMaker(calculator=spec, fmax=self.fmax, steps=self.steps, reuse_from=self.reuse_from)
        jobs, outputs = [], []
        for name, structure in phases.items():
            phase_jobs, output = self.phase_output(relaxer, structure, name)
            jobs += phase_jobs
            outputs.append(output)
        if self.static_calculator is not None:
            spec = self.static_calculator
        analysis = mark_light(self.analysis_job(outputs, list(anodes), list(electrolytes), spec))
        return Flow([*jobs, analysis], output=analysis.output, name=self.name)

    def analysis_job(self, outputs: list, anodes: list[str], electrolytes: list[str], spec: CalculatorSpec):
        """The analysis, or, when every record is known now and the same analysis is stored, a job handing
        that result on (``screen_analysis_key``)."""
        if all(isinstance(o, RelaxedPhase) for o in outputs):
            key = screen_analysis_key([(o.phase, o.calc_key) for o in outputs], anodes, electrolytes, spec)
            stored = find_stored(reuse_store(self.reuse_from), key, field="analysis_key")
            if stored is not None:
                logger.info("Reused stored screen analysis (%s)", key[:12])
                # the records' reuse flags are this run's (all stored), not those of the run that computed it
                relaxations = [{**r, "reused": o.reused} for r, o in zip(stored["relaxations"], outputs, strict=True)]
                result = ScreenResult.model_validate({**stored, "relaxations": relaxations, "analysis_reused": True})
                return stored_analysis(result)
        return analyse_screen(outputs, anodes, electrolytes, spec)

    def phase_output(self, relaxer: RelaxPhaseMaker, structure: Structure, name: str) -> tuple[list, Any]:
        """The jobs and the final record of one phase: a stored record needs no job."""
        phase, stored = relaxer.resolve(structure, name)
        jobs: list = []
        if stored is None:
            relax = relax_or_reuse(structure, phase, self.calculator, self.fmax, self.steps)
            relax.name = f"relax or reuse {phase}"
            jobs.append(relax)
        if self.static_calculator is None:
            return jobs, stored if stored is not None else jobs[0].output
        if stored is not None:
            static = find_stored(
                reuse_store(self.reuse_from), static_key(stored.structure, self.static_calculator, stored.calc_key)
            )
            if static is not None:
                note_reused(f"{phase} (single point)")
                return jobs, RelaxedPhase.model_validate({**static, "reused": True})
        j = static_or_reuse(stored if stored is not None else jobs[0].output, self.static_calculator)
        j.name = f"static or reuse {phase}"
        return [*jobs, j], j.output


@job(name="committee screen")
def committee_screen(results: list, labels: list[str]) -> ScreenResult:
    """The default (first) model's screen with the committee's ``uncertainty`` block added."""
    from interchem.analysis.committee import committee_uncertainty
    from interchem.analysis.quality import relaxation_warnings

    screens = [ScreenResult.model_validate(r.model_dump() if hasattr(r, "model_dump") else r) for r in results]
    unc = committee_uncertainty({label: s.analysis for label, s in zip(labels, screens)})
    unc["level_of_theory"] = {label: s.level_of_theory for label, s in zip(labels, screens)}
    # The default model's relaxations are warned about as usual; the other models' here, named by model.
    for label, s in zip(labels[1:], screens[1:]):
        relaxed = [{**r, "phase": f"{r['phase']} [{label}]"} for r in s.relaxations]
        unc["flags"] += [w.model_dump(mode="json") for w in relaxation_warnings(relaxed)]
    return screens[0].model_copy(update={"uncertainty": unc})


@dataclass
class CommitteeScreenMaker(Maker):
    """The same thermodynamic screen with each model of a committee (one ``ScreenMaker`` flow each, so every
    relaxation is keyed and reused per model as usual), then ``committee_screen``: the first model's
    values plus the spread across the committee."""

    name: str = "committee screen"
    calculators: list = field(default_factory=list)  # CalculatorSpec or spec strings; the first is the default
    fmax: float = 0.05
    steps: int = 300
    reuse_from: Any = None

    def __post_init__(self):
        self.calculators = [resolve_calculator(c) for c in self.calculators]
        labels = [c.label() for c in self.calculators]
        if len(labels) < 2:
            raise InterchemError(f"a committee needs at least two calculators, got {', '.join(labels) or 'none'}")
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise InterchemError(f"calculator(s) {', '.join(repeated)} appear more than once in the committee")

    def make(self, phases: dict[str, Structure], anodes: list[str], electrolytes: list[str]) -> Flow:
        flows = [
            ScreenMaker(
                name=f"thermodynamic screen {spec.label()}",
                calculator=spec,
                fmax=self.fmax,
                steps=self.steps,
                reuse_from=self.reuse_from,
            ).make(phases, anodes, electrolytes)
            for spec in self.calculators
        ]
        final = mark_light(committee_screen([f.output for f in flows], [c.label() for c in self.calculators]))
        return Flow([*flows, final], output=final.output, name=self.name)
