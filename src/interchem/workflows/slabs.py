"""Slabs of one Miller plane and their surface energies (jobflow Maker).

Each termination's slab is relaxed (positions; fixed bottom layers optional) against a bulk reference
relaxed the same way (``workflows.references``). A negative surface energy stops the flow with
``NegativeSurfaceEnergyError`` naming the likely causes; an unconverged slab or bulk relaxation is
reported (``converged``, ``unconverged``), not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Maker, job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from interchem.analysis.interfaces import negative_surface_energy_message, surface_energy
from interchem.calculators import CalculatorSpec, check_calculator
from interchem.errors import NegativeSurfaceEnergyError
from interchem.schemas import RelaxedStructure
from interchem.structures.cards import check_structure
from interchem.structures.surfaces import Miller, find_terminations, make_slab
from interchem.workflows.common import resolve_calculator
from interchem.workflows.references import BulkReferenceMode, bulk_reference_jobs, interface_makers


class SlabEnergy(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    phase: str
    miller: Miller
    termination: str
    opposite_termination: str
    symmetric: bool
    polar: bool | None
    note: str
    n_atoms: int
    area_A2: float
    energy_eV: float
    bulk_energy_per_atom_eV: float
    surface_energy_J_m2: float
    unrelaxed_surface_energy_J_m2: float
    converged: bool = Field(description="slab and bulk reference relaxations both reached fmax")
    unconverged: list[str] = Field(default_factory=list)
    n_steps: int
    n_fixed: int
    structure: Structure
    calculator: dict[str, Any]
    level_of_theory: str
    bulk_reference: dict[str, Any] = Field(default_factory=dict)


def relaxation_note(what: str, r: RelaxedStructure | dict) -> str:
    """'interface: 600 steps, largest force 0.081 > 0.05 eV/A' for an unconverged relaxation."""
    get = r.get if isinstance(r, dict) else lambda k: getattr(r, k, None)
    force, target = get("max_force_eV_A"), get("fmax_eV_A")
    steps = get("n_steps") if get("n_steps") is not None else get("relax_steps")
    tail = f", largest force {force:.3f}" + (f" > {target:g}" if target else "") + " eV/A" if force else ""
    return f"{what}: not converged in {steps} steps{tail}"


@job(name="surface energy")
def surface_energy_job(relaxed: RelaxedStructure, bulk: dict, slab_info: dict) -> SlabEnergy:
    s = relaxed.structure
    area = float(s.lattice.volume / s.lattice.c)
    e_bulk = bulk["energy_per_atom_eV"]
    # Fixed bottom layers: only the top face relaxes, the bottom keeps the bulk-terminated energy.
    # The face-averaged value is reported; with no fixed layers it is exact for symmetric slabs.
    gamma = surface_energy(relaxed.energy_eV, len(s), e_bulk, area)
    what = f"{slab_info['phase']}{tuple(slab_info['miller'])} {slab_info['termination']}"
    ref = "relaxed bulk" if bulk.get("relaxed") else "single point of the unrelaxed bulk"
    message = negative_surface_energy_message(gamma, what, ref)
    if message:
        raise NegativeSurfaceEnergyError(message)
    unconverged = [relaxation_note("slab", relaxed)] if not relaxed.converged else []
    if not bulk.get("converged", True):
        unconverged.append(relaxation_note("bulk reference", bulk))
    return SlabEnergy(
        **slab_info,
        n_atoms=len(s),
        area_A2=area,
        energy_eV=relaxed.energy_eV,
        bulk_energy_per_atom_eV=e_bulk,
        surface_energy_J_m2=gamma,
        unrelaxed_surface_energy_J_m2=surface_energy(relaxed.initial_energy_eV, len(s), e_bulk, area),
        converged=not unconverged,
        unconverged=unconverged,
        n_steps=relaxed.n_steps,
        n_fixed=relaxed.n_fixed,
        structure=s,
        calculator=relaxed.calculator,
        level_of_theory=relaxed.level_of_theory,
        bulk_reference=bulk,
    )


@dataclass
class SlabMaker(Maker):
    """Slabs of every termination of one Miller plane (or the chosen ones), relaxed (positions, fixed
    bottom layers optional), with their surface energies. Inputs are checked in ``make``: an unknown
    termination or a slab too thin for its fixed layers raises before any job exists."""

    name: str = "slabs"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    min_thickness_A: float = 10.0
    vacuum_A: float = 15.0
    fixed_bottom_layers: int = 0
    fmax: float = 0.05
    steps: int = 600
    bulk_reference: BulkReferenceMode = "relaxed"

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(
        self, bulk: Structure, miller: Miller, phase: str | None = None, terminations: list[int | str] | None = None
    ) -> Flow:
        phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
        check_calculator(self.calculator, {el.symbol for el in bulk.composition.elements}, context=f"{phase} slabs")
        makers = interface_makers(self.calculator)
        check_structure(bulk, label=phase)
        terms = find_terminations(bulk, miller, phase=phase, cross_check=False)
        chosen = [terms.get(t) for t in terminations] if terminations else terms.terminations
        slabs = [
            make_slab(
                bulk,
                miller,
                t,
                self.min_thickness_A,
                self.vacuum_A,
                self.fixed_bottom_layers,
                terminations=terms,
                phase=phase,
            )
            for t in chosen
        ]
        jobs, ref = bulk_reference_jobs(makers, bulk, phase, self.bulk_reference, self.fmax, self.steps)
        outputs = []
        for slab in slabs:
            t = slab.termination
            tag = f"{phase}{tuple(miller)} {t.label}"
            relax_jobs, relaxed = makers.positions_relax(
                makers.input_order(slab.structure),
                self.fmax,
                self.steps,
                label=f"{phase} {t.label}",
                name=f"relax slab {tag}",
            )
            info = {
                "phase": phase,
                "miller": tuple(miller),
                "termination": t.label,
                "opposite_termination": t.opposite_label,
                "symmetric": t.symmetric,
                "polar": t.polar,
                "note": t.note,
            }
            gamma = surface_energy_job(relaxed, ref, info)
            gamma.name = f"surface energy {tag}"
            jobs += [*relax_jobs, gamma]
            outputs.append(gamma.output)
        return Flow(jobs, output=outputs, name=f"{self.name} {phase}{tuple(miller)}")
