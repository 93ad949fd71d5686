"""Slab and interface workflows: surface energies, interfacial-distance scan, relaxation, work of
adhesion and interface energy, and interface MD with reactivity analysis (jobflow Makers).

Relaxations here move atoms only (the in-plane cell is the substrate's and the vacuum must stay), and
honour fixed bottom layers. The flows are written once and composed from the calculator's makers
(``calculator_makers(spec).for_interfaces()``: ``single_points``, ``positions_relax``, ``input_order``),
so they never ask which code runs. With an ASE calculator (interchem's ASE route) a positions-only
relaxation is ``relax_positions``: atomate2's ``ForceFieldRelaxMaker`` does not read pymatgen's
``selective_dynamics`` into ASE constraints, so it is a thin ASE job, BFGS with ``FixAtoms`` on the
registry's calculator (the same object atomate2 would drive; its cost against a bare ASE loop is
measured in ``benchmarks/interface_build.py``). With VASP every single point and relaxation is an
atomate2 VASP job read back by ``calculators.vasp.interfaces``; the arithmetic (``interface_result``)
is the same.

Energy references: slabs and interfaces are cut from the bulk at the card's lattice, and the bulk
reference energy is a single point of that same cell, so no lattice mismatch between bulk and slab
enters the surface energies. The electrolyte film is strained onto the anode, so its surface energy
(and the Dupre interface energy) include its strain energy; W_ad does not depend on bulk references.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from interchem.analysis.interfaces import (
    interface_energy,
    surface_energy,
    work_of_adhesion,
)
from interchem.calculators import (
    CalculatorMakers,
    CalculatorSpec,
    ase_calculator,
    calculator_makers,
    check_calculator,
    get_backend,
)
from interchem.errors import InterfaceError
from interchem.progress import tracking
from interchem.schemas import GapScan, RelaxedStructure
from interchem.structures.cards import check_structure
from interchem.structures.interfaces import InterfaceCandidate, set_gap, split_interface
from interchem.structures.surfaces import Miller, find_terminations, make_slab
from interchem.workflows.common import resolve_calculator

logger = logging.getLogger(__name__)

DEFAULT_GAPS_A = (1.5, 2.0, 2.5, 3.0, 3.5)


def _elements(structure: Structure) -> set[str]:
    return {el.symbol for el in structure.composition.elements}


def relax_atoms(
    structure: Structure, spec: CalculatorSpec, fmax: float, steps: int, label: str = ""
) -> RelaxedStructure:
    """Positions-only BFGS with the bottom layers held by ``FixAtoms`` (from ``selective_dynamics``)."""
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    backend = get_backend(spec)  # checked where the flow was made
    sd = structure.site_properties.get("selective_dynamics")
    plain = structure.copy()
    for key in list(plain.site_properties):
        plain.remove_site_property(key)
    atoms = AseAtomsAdaptor.get_atoms(plain)
    fixed = [i for i, flags in enumerate(sd or []) if not any(flags)]
    if fixed:
        atoms.set_constraint(FixAtoms(indices=fixed))
    atoms.calc = ase_calculator(spec)
    t0 = time.perf_counter()
    e0 = float(atoms.get_potential_energy())
    opt = BFGS(atoms, logfile=None)
    with tracking(opt, "relax", steps):  # live progress: the runner's bar and the job's log
        converged = bool(opt.run(fmax=fmax, steps=steps)) if steps > 0 else False
    energy = float(atoms.get_potential_energy())
    wall = time.perf_counter() - t0
    atoms.calc = None
    atoms.set_constraint()
    final = AseAtomsAdaptor.get_structure(atoms)
    for key, values in structure.site_properties.items():
        final.add_site_property(key, values)
    final.properties = dict(structure.properties or {})
    return RelaxedStructure(
        label=label,
        structure=final,
        energy_eV=energy,
        initial_energy_eV=e0,
        converged=converged,
        n_steps=int(opt.nsteps),
        n_fixed=len(fixed),
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        wall_time_s=wall,
    )


@job(name="relax positions")
def relax_positions(
    structure: Structure, calculator: CalculatorSpec, fmax: float = 0.05, steps: int = 200, label: str = ""
) -> RelaxedStructure:
    return relax_atoms(structure, calculator, fmax, steps, label)


@job(name="bulk reference")
def bulk_reference(energies: list[float], structure: Structure, label: str = "") -> dict[str, Any]:
    """Energy per atom of the bulk cell the slabs were cut from (its single point, same lattice)."""
    return {
        "label": label,
        "energy_per_atom_eV": float(energies[0]) / len(structure),
        "n_atoms": len(structure),
        "formula": structure.composition.reduced_formula,
    }


def bulk_reference_jobs(makers: CalculatorMakers, bulk: Structure, label: str) -> tuple[list, Any]:
    """Single point of the bulk cell (in the code's atom order) and its reference energy per atom."""
    bulk = makers.input_order(bulk)
    jobs, energies = makers.single_points([bulk], [f"single point bulk {label}"], label)
    ref = bulk_reference(energies, bulk, label=label)
    ref.name = f"bulk reference {label}"
    return [*jobs, ref], ref.output


def interface_makers(spec: CalculatorSpec) -> CalculatorMakers:
    """The calculator's makers for slab and interface work (checked for both capabilities)."""
    return calculator_makers(spec, "single_points").require("positions_relax").for_interfaces()


# --------------------------------------------------------------------------------------------------
# Slabs and surface energies


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
    converged: bool
    n_steps: int
    n_fixed: int
    structure: Structure
    calculator: dict[str, Any]
    level_of_theory: str


@job(name="surface energy")
def surface_energy_job(relaxed: RelaxedStructure, bulk: dict, slab_info: dict) -> SlabEnergy:
    s = relaxed.structure
    area = float(s.lattice.volume / s.lattice.c)
    e_bulk = bulk["energy_per_atom_eV"]
    # Fixed bottom layers: only the top face relaxes, the bottom keeps the bulk-terminated energy.
    # The face-averaged value is reported; with no fixed layers it is exact for symmetric slabs.
    return SlabEnergy(
        **slab_info,
        n_atoms=len(s),
        area_A2=area,
        energy_eV=relaxed.energy_eV,
        bulk_energy_per_atom_eV=e_bulk,
        surface_energy_J_m2=surface_energy(relaxed.energy_eV, len(s), e_bulk, area),
        unrelaxed_surface_energy_J_m2=surface_energy(relaxed.initial_energy_eV, len(s), e_bulk, area),
        converged=relaxed.converged,
        n_steps=relaxed.n_steps,
        n_fixed=relaxed.n_fixed,
        structure=s,
        calculator=relaxed.calculator,
        level_of_theory=relaxed.level_of_theory,
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
    steps: int = 200

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(
        self, bulk: Structure, miller: Miller, phase: str | None = None, terminations: list[int | str] | None = None
    ) -> Flow:
        phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
        check_calculator(self.calculator, _elements(bulk), context=f"{phase} slabs")
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
        jobs, ref = bulk_reference_jobs(makers, bulk, phase)
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


# --------------------------------------------------------------------------------------------------
# Interfaces


@job(name="interfacial distance scan")
def gap_scan(structure: Structure, gaps: list[float], energies: list[float]) -> GapScan:
    """The lowest of the single points of the interface with the electrolyte moved rigidly to each gap.
    (A rigid scan is the usual start for relaxation: relaxing from too short or too long a gap either
    blows the partners apart or leaves them unbound.)"""
    return GapScan.from_energies(structure, gaps, energies)


@job(name="split interface")
def split_job(relaxed: RelaxedStructure) -> list[Structure]:
    """The relaxed interface's two partners, each alone in the same cell with vacuum (``split_interface``)."""
    return list(split_interface(relaxed.structure))


class InterfaceResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    anode: str
    electrolyte: str
    model: str
    n_interfaces: int
    area_A2: float
    strain: float
    von_mises_strain: float
    n_atoms: int
    gap_scan: dict[str, Any]
    energy_interface_eV: float
    energy_anode_eV: float
    energy_electrolyte_eV: float
    energy_anode_rigid_eV: float
    energy_electrolyte_rigid_eV: float
    work_of_separation_J_m2: float = Field(description="rigid separation of the relaxed interface")
    work_of_adhesion_J_m2: float = Field(description="with the separated partners relaxed (W_ad)")
    surface_energy_anode_J_m2: float
    surface_energy_electrolyte_J_m2: float
    interface_energy_J_m2: float
    converged: bool
    relax_steps: int
    structure: Structure
    anode_structure: Structure
    electrolyte_structure: Structure
    calculator: dict[str, Any]
    level_of_theory: str
    candidate: dict[str, Any] = Field(default_factory=dict)


def interface_result(
    relaxed: RelaxedStructure,
    scan: GapScan,
    candidate: dict,
    anode_bulk: dict,
    electrolyte_bulk: dict,
    spec: CalculatorSpec,
    rigid_energies: tuple[float, float],
    separated: tuple[float, float, Structure, Structure],
) -> InterfaceResult:
    """The ``InterfaceResult`` of one candidate from the energies of its relaxed interface, of the two
    partners split off rigidly (W_sep) and of the partners as finally separated (relaxed or rigid: W_ad,
    surface and interface energies)."""
    s = relaxed.structure
    area = float(np.linalg.norm(np.cross(*s.lattice.matrix[:2])))
    n_int = int(candidate["n_interfaces"])
    e_a_rigid, e_b_rigid = (float(e) for e in rigid_energies)
    e_a, e_b, sa, sb = separated
    w_sep = work_of_adhesion(e_a_rigid, e_b_rigid, relaxed.energy_eV, area, n_int)
    w_ad = work_of_adhesion(e_a, e_b, relaxed.energy_eV, area, n_int)
    gamma_a = surface_energy(e_a, len(sa), anode_bulk["energy_per_atom_eV"], area)
    gamma_b = surface_energy(e_b, len(sb), electrolyte_bulk["energy_per_atom_eV"], area)
    return InterfaceResult(
        label=candidate["label"],
        anode=candidate["anode"],
        electrolyte=candidate["electrolyte"],
        model=candidate["model"],
        n_interfaces=n_int,
        area_A2=area,
        strain=candidate["strain"],
        von_mises_strain=candidate["von_mises_strain"],
        n_atoms=len(s),
        gap_scan={"gaps_A": scan.gaps_A, "energies_eV": scan.energies_eV, "best_gap_A": scan.best_gap_A},
        energy_interface_eV=relaxed.energy_eV,
        energy_anode_eV=e_a,
        energy_electrolyte_eV=e_b,
        energy_anode_rigid_eV=e_a_rigid,
        energy_electrolyte_rigid_eV=e_b_rigid,
        work_of_separation_J_m2=w_sep,
        work_of_adhesion_J_m2=w_ad,
        surface_energy_anode_J_m2=gamma_a,
        surface_energy_electrolyte_J_m2=gamma_b,
        interface_energy_J_m2=interface_energy(gamma_a, gamma_b, w_ad),
        converged=relaxed.converged,
        relax_steps=relaxed.n_steps,
        structure=s,
        anode_structure=sa,
        electrolyte_structure=sb,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=relaxed.level_of_theory,
        candidate=candidate,
    )


@job(name="adhesion")
def adhesion_job(
    relaxed: RelaxedStructure,
    scan: GapScan,
    candidate: dict,
    anode_bulk: dict,
    electrolyte_bulk: dict,
    calculator: CalculatorSpec,
    rigid_energies: list[float],
    separated: list[RelaxedStructure] | None = None,
    parts: list[Structure] | None = None,
) -> InterfaceResult:
    """W_ad = (E_A + E_B - E_AB) / (n A): the relaxed interface split into its two partners (``parts``),
    each alone in the same cell with vacuum; their single points (W_sep, rigid) and their relaxations
    (``separated``: W_ad, surface and interface energies), or the rigid parts when not relaxed."""
    e_rigid = (float(rigid_energies[0]), float(rigid_energies[1]))
    if separated:
        ra, rb = (RelaxedStructure.model_validate(r) if isinstance(r, dict) else r for r in separated)
        sep = (ra.energy_eV, rb.energy_eV, ra.structure, rb.structure)
    else:
        sep = (*e_rigid, parts[0], parts[1])
    return interface_result(relaxed, scan, candidate, anode_bulk, electrolyte_bulk, calculator, e_rigid, sep)


class InterfaceSummary(BaseModel):
    results: list[InterfaceResult]
    calculator: dict[str, Any]
    level_of_theory: str
    versions: dict[str, str] = Field(default_factory=dict)


@job(name="rank interfaces")
def rank_interfaces(results: list, calculator: CalculatorSpec) -> InterfaceSummary:
    """Rank the computed interfaces by interface energy (lowest first), then strain and area."""
    res = [r if isinstance(r, InterfaceResult) else InterfaceResult.model_validate(r) for r in results]
    res.sort(key=lambda r: (r.interface_energy_J_m2, abs(r.strain), r.area_A2))
    backend = get_backend(calculator)
    return InterfaceSummary(
        results=res,
        calculator=calculator.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(calculator),
        versions=backend.versions(),
    )


def candidate_meta(c: InterfaceCandidate) -> dict[str, Any]:
    d = c.model_dump(mode="json", exclude={"structure"})
    d["label"] = c.label()
    return d


@dataclass
class InterfaceMaker(Maker):
    """For each interface candidate: interfacial-distance scan (single points) -> relaxation (positions)
    -> work of adhesion and interface energy; then all candidates ranked by interface energy.

    ``make(candidates, anode_bulk, electrolyte_bulk)``: candidates from ``InterfaceBuilder.build()``;
    the bulks are the cells they were cut from (energy references for surface/interface energies).
    """

    name: str = "interfaces"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    gaps_A: tuple[float, ...] = DEFAULT_GAPS_A
    fmax: float = 0.05
    steps: int = 200
    relax_separated: bool = True

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(self, candidates: list[InterfaceCandidate], anode_bulk: Structure, electrolyte_bulk: Structure) -> Flow:
        if not candidates:
            raise InterfaceError("no interface candidates to compute")
        elements = set().union(*(_elements(c.structure) for c in candidates))
        check_calculator(self.calculator, elements, context="interfaces")
        if any(g <= 0.5 for g in self.gaps_A):
            raise InterfaceError(f"interfacial gaps must be > 0.5 A, not {self.gaps_A}")
        makers = interface_makers(self.calculator)
        jobs_a, ref_a = bulk_reference_jobs(makers, anode_bulk, candidates[0].anode)
        jobs_e, ref_e = bulk_reference_jobs(makers, electrolyte_bulk, candidates[0].electrolyte)
        jobs = [*jobs_a, *jobs_e]
        results = []
        for c in candidates:
            candidate_jobs, result = self.candidate_jobs(makers, c, ref_a, ref_e)
            jobs += candidate_jobs
            results.append(result)
        ranked = rank_interfaces(results, makers.spec)
        return Flow([*jobs, ranked], output=ranked.output, name=self.name)

    def candidate_jobs(
        self, makers: CalculatorMakers, c: InterfaceCandidate, ref_a: Any, ref_e: Any
    ) -> tuple[list, Any]:
        """Gap scan -> relaxation -> split -> single points (+ relaxations) of the parts -> adhesion."""
        meta = candidate_meta(c)
        label = meta["label"]
        start = makers.input_order(c.structure)
        gaps = [float(g) for g in self.gaps_A]
        point_jobs, energies = makers.single_points(
            [set_gap(start, g) for g in gaps], [f"single point {label} gap {g:g} A" for g in gaps], label
        )
        scan = gap_scan(start, gaps, energies)
        scan.name = f"gap scan {label}"
        relax_jobs, relaxed = makers.positions_relax(
            scan.output.structure, self.fmax, self.steps, label=label, name=f"relax interface {label}"
        )
        split = split_job(relaxed)
        split.name = f"split interface {label}"
        parts = [split.output[0], split.output[1]]
        sides = ("anode", "electrolyte")
        rigid_jobs, rigid = makers.single_points(
            parts, [f"single point {p} part {label}" for p in sides], f"{label} parts"
        )
        separated_jobs, separated = [], None
        if self.relax_separated:
            separated = []
            for part, side in zip(parts, sides):
                part_jobs, out = makers.positions_relax(
                    part, self.fmax, self.steps, label=f"{side} part", name=f"relax {side} part {label}"
                )
                separated_jobs += part_jobs
                separated.append(out)
        # The parts themselves are only read when they are not relaxed (W_ad from the rigid parts).
        adh = adhesion_job(
            relaxed, scan.output, meta, ref_a, ref_e, makers.spec, rigid, separated, None if separated else parts
        )
        adh.name = f"adhesion {label}"
        return [*point_jobs, scan, *relax_jobs, split, *rigid_jobs, *separated_jobs, adh], adh.output
