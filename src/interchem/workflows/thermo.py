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

from interchem.calculators import CalculatorSpec, check_calculator, get_backend, relax_maker
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
        level_of_theory=backend.level_of_theory(spec),
        versions=backend.versions(),
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
        relax_jobs = [relaxer.make(structure, phase=name) for name, structure in phases.items()]
        analysis = analyse_screen([j.output for j in relax_jobs], list(anodes), list(electrolytes), spec.model_dump(mode="json"))
        return Flow([*relax_jobs, analysis], output=analysis.output, name=self.name)
