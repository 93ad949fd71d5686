"""Thermodynamic screen: relax every phase of the chemical systems, make MP-compatible entries,
analyse hulls, stability windows, voltages, interface reactions and tie-lines.

Reuse of stored work: each relaxation has a *calc key* (hash of the exact input structure, the
calculator spec and the relaxation settings). ``relax_or_reuse`` looks the key up in the job store
the flow runs with; a hit returns the stored result, a miss replaces itself (jobflow Response) with
atomate2's relax job plus a small record job. So a second screen, or another flow that needs the same
phase with the same calculator, recomputes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, JobConfig, Maker, Response, job
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, check_calculator, get_backend, relax_maker, static_maker
from interchem.errors import InterchemError
from interchem.structures.cards import check_structure

logger = logging.getLogger(__name__)

RELAX_PROTOCOL = "interchem-relax-1"  # bump when the meaning of a stored relaxation changes


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
    converged: bool | None = None
    n_steps: int | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    reused: bool = False
    # Set for "relax with one calculator, single point with another" records: the geometry's origin.
    geometry_calculator: dict[str, Any] | None = None
    geometry_calc_key: str | None = None


def calc_key(structure: Structure, spec: CalculatorSpec, settings: dict[str, Any]) -> str:
    """Hash of what determines a relaxation's result (structure to 1e-4, spec, settings, protocol)."""
    payload = {
        "lattice": [[round(x, 4) for x in row] for row in structure.lattice.matrix.tolist()],
        "sites": sorted(
            (site.species_string, *[round(x % 1.0, 4) % 1.0 for x in site.frac_coords]) for site in structure
        ),
        "calculator": spec.model_dump(mode="json"),
        "settings": settings,
        "protocol": RELAX_PROTOCOL,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _find_stored(key: str) -> dict | None:
    from jobflow import CURRENT_JOB

    store = CURRENT_JOB.store
    if store is None:
        return None
    doc = store.query_one(
        {"output.calc_key": key, "output.reused": False, "output.energy_eV": {"$exists": True}},
        properties=["output"],
        load=False,
    )
    return doc["output"] if doc else None


# expose_store: the job reads the store it runs with (jobflow hides it by default).
@job(name="relax or reuse", config=JobConfig(expose_store=True))
def relax_or_reuse(structure: Structure, phase: str, calculator: dict, fmax: float, steps: int):
    spec = CalculatorSpec.model_validate(calculator)
    key = calc_key(structure, spec, {"fmax": fmax, "steps": steps, "relax_cell": True})
    stored = _find_stored(key)
    if stored is not None:
        logger.info("Reused stored relaxation - %s (%s)", phase, key[:12])
        return RelaxedPhase.model_validate({**stored, "reused": True})
    relax = relax_maker(spec, fmax=fmax, steps=steps).make(structure)
    relax.name = f"relax {phase}"
    record = record_relaxation(phase=phase, key=key, calculator=calculator, initial_structure=structure, task_doc=relax.output)
    record.name = f"record {phase}"
    return Response(replace=Flow([relax, record], output=record.output, name=f"relax {phase}"))


def _field(doc: Any, *path: str) -> Any:
    """Read a nested field of an atomate2 task document, whether it arrives as a model or a dict
    (force-field, VASP and CP2K task documents share output.energy / output.structure)."""
    for name in path:
        if doc is None:
            return None
        doc = doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)
    return doc


@job(name="record relaxation")
def record_relaxation(phase: str, key: str, calculator: dict, initial_structure: Structure, task_doc: Any) -> RelaxedPhase:
    spec = CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    final_structure = _field(task_doc, "output", "structure")
    energy = _field(task_doc, "output", "energy")
    converged = _field(task_doc, "is_force_converged")
    n_steps = _field(task_doc, "output", "n_steps")
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
        converged=converged,
        n_steps=n_steps,
        provenance=(initial_structure.properties or {}).get("provenance", {}),
        versions=backend.versions(),
    )


@job(name="static or reuse", config=JobConfig(expose_store=True))
def static_or_reuse(relaxed: RelaxedPhase, calculator: dict):
    """Single point with ``calculator`` on a relaxed geometry (the "MLIP relax, DFT static" protocol),
    looked up in the store first like a relaxation."""
    relaxed = RelaxedPhase.model_validate(relaxed.model_dump() if hasattr(relaxed, "model_dump") else relaxed)
    spec = CalculatorSpec.model_validate(calculator)
    key = calc_key(relaxed.structure, spec, {"static": True, "geometry": relaxed.calc_key})
    stored = _find_stored(key)
    if stored is not None:
        logger.info("Reused stored relaxation - %s (%s)", relaxed.phase, key[:12])
        return RelaxedPhase.model_validate({**stored, "reused": True})
    static = static_maker(spec).make(relaxed.structure)
    static.name = f"static {relaxed.phase}"
    record = record_static(relaxed=relaxed, key=key, calculator=calculator, task_doc=static.output)
    record.name = f"record {relaxed.phase}"
    return Response(replace=Flow([static, record], output=record.output, name=f"static {relaxed.phase}"))


@job(name="record static")
def record_static(relaxed: RelaxedPhase, key: str, calculator: dict, task_doc: Any) -> RelaxedPhase:
    spec = CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    energy = _field(task_doc, "output", "energy")
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
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)
    fmax: float = 0.05
    steps: int = 300

    def make(self, structure: Structure, phase: str | None = None):
        phase = phase or (structure.properties or {}).get("phase") or structure.composition.reduced_formula
        spec = CalculatorSpec.parse(self.calculator)
        check_calculator(spec, {el.symbol for el in structure.composition.elements}, context=phase)
        check_structure(structure, label=phase)
        j = relax_or_reuse(structure, phase, spec.model_dump(mode="json"), self.fmax, self.steps)
        j.name = f"relax or reuse {phase}"
        return j


class ScreenResult(BaseModel):
    analysis: dict[str, Any]
    entries: list[dict[str, Any]]
    relaxations: list[dict[str, Any]]
    calculator: dict[str, Any]
    level_of_theory: str
    versions: dict[str, str]
    anodes: list[str]
    electrolytes: list[str]


@job(name="analyse screen")
def analyse_screen(relaxations: list, anodes: list[str], electrolytes: list[str], calculator: dict) -> ScreenResult:
    from interchem.analysis import screen_analysis
    from interchem.entries import build_entries

    records = [r.model_dump() if hasattr(r, "model_dump") else dict(r) for r in relaxations]
    entries = build_entries(records)
    analysis = screen_analysis(entries, anodes=anodes, electrolytes=electrolytes)
    spec = CalculatorSpec.model_validate(calculator)
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

    def make(self, phases: dict[str, Structure], anodes: list[str], electrolytes: list[str]) -> Flow:
        if not phases:
            raise InterchemError("empty chemical system: no phases to relax")
        spec = CalculatorSpec.parse(self.calculator)
        elements = {el.symbol for s in phases.values() for el in s.composition.elements}
        check_calculator(spec, elements, context="the screen's phases")
        missing = [p for p in [*anodes, *electrolytes] if p not in phases]
        if missing:
            raise InterchemError(f"anode/electrolyte phase(s) {', '.join(missing)} are not among the phases to relax")
        relaxer = RelaxPhaseMaker(calculator=spec, fmax=self.fmax, steps=self.steps)
        jobs = [relaxer.make(structure, phase=name) for name, structure in phases.items()]
        final = jobs
        if self.static_calculator is not None:
            static_spec = CalculatorSpec.parse(self.static_calculator)
            check_calculator(static_spec, elements, context="the screen's phases (single points)")
            final = []
            for name, relax_job in zip(phases, jobs):
                j = static_or_reuse(relax_job.output, static_spec.model_dump(mode="json"))
                j.name = f"static or reuse {name}"
                final.append(j)
            spec = static_spec
        analysis = analyse_screen([j.output for j in final], list(anodes), list(electrolytes), spec.model_dump(mode="json"))
        all_jobs = jobs + (final if final is not jobs else [])
        return Flow([*all_jobs, analysis], output=analysis.output, name=self.name)
