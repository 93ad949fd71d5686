"""Slab and interface workflows: surface energies, interfacial-distance scan, relaxation, work of
adhesion and interface energy, and interface MD with reactivity analysis (jobflow Makers).

Relaxations here move atoms only (the in-plane cell is the substrate's and the vacuum must stay), and
honour fixed bottom layers. atomate2's ``ForceFieldRelaxMaker`` does not read pymatgen's
``selective_dynamics`` into ASE constraints, so ``relax_positions`` is a thin ASE job instead: BFGS
with ``FixAtoms`` on the registry's calculator (the same object atomate2 would drive). The cost of
this job against a bare ASE loop is measured in ``benchmarks/interface_build.py``. VASP has no ASE
calculator: with ``calculator="vasp"`` the interface and slab flows are atomate2 VASP jobs built by
``interchem.calculators.vasp.interfaces`` (same models, same arithmetic through ``interface_result``).

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
    ReactivityAnalysis,
    analyse_reactivity,
    interface_energy,
    surface_energy,
    work_of_adhesion,
)
from interchem.calculators import CalculatorSpec, ase_calculator, check_calculator, evaluate_many, get_backend
from interchem.errors import InterfaceError
from interchem.structures.cards import check_structure
from interchem.structures.interfaces import InterfaceCandidate, set_gap, split_interface
from interchem.structures.surfaces import Miller, find_terminations, make_slab

logger = logging.getLogger(__name__)

DEFAULT_GAPS_A = (1.5, 2.0, 2.5, 3.0, 3.5)


class RelaxedStructure(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    structure: Structure
    energy_eV: float
    initial_energy_eV: float
    converged: bool
    n_steps: int
    n_fixed: int
    calculator: dict[str, Any]
    level_of_theory: str
    wall_time_s: float


def _elements(structure: Structure) -> set[str]:
    return {el.symbol for el in structure.composition.elements}


def _is_vasp(spec: CalculatorSpec) -> bool:
    """VASP has no ASE calculator: its interface and slab flows are atomate2 jobs (``calculators.vasp.interfaces``)."""
    return get_backend(spec).make_ase_calculator is None and spec.name == "vasp"


def relax_atoms(structure: Structure, spec: CalculatorSpec, fmax: float, steps: int, label: str = "") -> RelaxedStructure:
    """Positions-only BFGS with the bottom layers held by ``FixAtoms`` (from ``selective_dynamics``)."""
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    backend = check_calculator(spec, _elements(structure), context=label or "relaxation")
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
        label=label, structure=final, energy_eV=energy, initial_energy_eV=e0, converged=converged,
        n_steps=int(opt.nsteps), n_fixed=len(fixed), calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec), wall_time_s=wall,
    )


@job(name="relax positions")
def relax_positions(structure: Structure, calculator: dict, fmax: float = 0.05, steps: int = 200, label: str = "") -> RelaxedStructure:
    return relax_atoms(structure, CalculatorSpec.model_validate(calculator), fmax, steps, label)


@job(name="bulk reference")
def bulk_reference(structure: Structure, calculator: dict, label: str = "") -> dict[str, Any]:
    """Energy per atom of the bulk cell the slabs were cut from (single point, same lattice)."""
    spec = CalculatorSpec.model_validate(calculator)
    res = evaluate_many([structure], spec)[0]
    return {"label": label, "energy_per_atom_eV": res["energy_per_atom"], "n_atoms": len(structure),
            "formula": structure.composition.reduced_formula}


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
        **slab_info, n_atoms=len(s), area_A2=area, energy_eV=relaxed.energy_eV, bulk_energy_per_atom_eV=e_bulk,
        surface_energy_J_m2=surface_energy(relaxed.energy_eV, len(s), e_bulk, area),
        unrelaxed_surface_energy_J_m2=surface_energy(relaxed.initial_energy_eV, len(s), e_bulk, area),
        converged=relaxed.converged, n_steps=relaxed.n_steps, n_fixed=relaxed.n_fixed, structure=s,
        calculator=relaxed.calculator, level_of_theory=relaxed.level_of_theory,
    )


@dataclass
class SlabMaker(Maker):
    """Slabs of every termination of one Miller plane (or the chosen ones), relaxed (positions, fixed
    bottom layers optional), with their surface energies. Inputs are checked in ``make``: an unknown
    termination or a slab too thin for its fixed layers raises before any job exists."""

    name: str = "slabs"
    calculator: str | dict | CalculatorSpec = "chgnet"
    min_thickness_A: float = 10.0
    vacuum_A: float = 15.0
    fixed_bottom_layers: int = 0
    fmax: float = 0.05
    steps: int = 200

    def make(self, bulk: Structure, miller: Miller, phase: str | None = None, terminations: list[int | str] | None = None) -> Flow:
        spec = CalculatorSpec.parse(self.calculator)
        phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
        check_calculator(spec, _elements(bulk), context=f"{phase} slabs")
        check_structure(bulk, label=phase)
        terms = find_terminations(bulk, miller, phase=phase, cross_check=False)
        chosen = [terms.get(t) for t in terminations] if terminations else terms.terminations
        slabs = [
            make_slab(bulk, miller, t, self.min_thickness_A, self.vacuum_A, self.fixed_bottom_layers, terminations=terms, phase=phase)
            for t in chosen
        ]
        if _is_vasp(spec):  # no ASE calculator: atomate2's VASP jobs (calculators/vasp/interfaces.py)
            from interchem.calculators.vasp.interfaces import vasp_slab_flow

            return vasp_slab_flow(bulk, miller, phase, slabs, spec, self.fmax, self.steps, name=self.name)
        ref = bulk_reference(bulk, spec.model_dump(mode="json"), label=phase)
        ref.name = f"bulk reference {phase}"
        jobs = [ref]
        outputs = []
        for slab in slabs:
            t = slab.termination
            relax = relax_positions(slab.structure, spec.model_dump(mode="json"), self.fmax, self.steps, label=f"{phase} {t.label}")
            relax.name = f"relax slab {phase}{tuple(miller)} {t.label}"
            info = {
                "phase": phase, "miller": tuple(miller), "termination": t.label, "opposite_termination": t.opposite_label,
                "symmetric": t.symmetric, "polar": t.polar, "note": t.note,
            }
            gamma = surface_energy_job(relax.output, ref.output, info)
            gamma.name = f"surface energy {phase}{tuple(miller)} {t.label}"
            jobs += [relax, gamma]
            outputs.append(gamma.output)
        return Flow(jobs, output=outputs, name=f"{self.name} {phase}{tuple(miller)}")


# --------------------------------------------------------------------------------------------------
# Interfaces


class GapScan(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    gaps_A: list[float]
    energies_eV: list[float]
    best_gap_A: float
    structure: Structure


@job(name="interfacial distance scan")
def scan_gap(structure: Structure, calculator: dict, gaps: list[float]) -> GapScan:
    """Single points of the interface with the electrolyte moved rigidly to each gap; the lowest wins.
    (A rigid scan is the usual start for relaxation: relaxing from too short or too long a gap either
    blows the partners apart or leaves them unbound.)"""
    spec = CalculatorSpec.model_validate(calculator)
    structures = [set_gap(structure, g) for g in gaps]
    energies = [r["energy"] for r in evaluate_many(structures, spec)]
    k = int(np.argmin(energies))
    return GapScan(gaps_A=list(gaps), energies_eV=energies, best_gap_A=float(gaps[k]), structure=structures[k])


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
    relaxed: RelaxedStructure, scan: GapScan, candidate: dict, anode_bulk: dict, electrolyte_bulk: dict, spec: CalculatorSpec,
    rigid_energies: tuple[float, float], separated: tuple[float, float, Structure, Structure],
) -> InterfaceResult:
    """The ``InterfaceResult`` of one candidate from the energies of its relaxed interface, of the two
    partners split off rigidly (W_sep) and of the partners as finally separated (relaxed or rigid: W_ad,
    surface and interface energies). Shared by the ASE route (``adhesion_job``) and the VASP route
    (``interchem.calculators.vasp.interfaces``), so both report the same arithmetic."""
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
        label=candidate["label"], anode=candidate["anode"], electrolyte=candidate["electrolyte"], model=candidate["model"],
        n_interfaces=n_int, area_A2=area, strain=candidate["strain"], von_mises_strain=candidate["von_mises_strain"],
        n_atoms=len(s), gap_scan={"gaps_A": scan.gaps_A, "energies_eV": scan.energies_eV, "best_gap_A": scan.best_gap_A},
        energy_interface_eV=relaxed.energy_eV, energy_anode_eV=e_a, energy_electrolyte_eV=e_b,
        energy_anode_rigid_eV=e_a_rigid, energy_electrolyte_rigid_eV=e_b_rigid,
        work_of_separation_J_m2=w_sep, work_of_adhesion_J_m2=w_ad, surface_energy_anode_J_m2=gamma_a,
        surface_energy_electrolyte_J_m2=gamma_b, interface_energy_J_m2=interface_energy(gamma_a, gamma_b, w_ad),
        converged=relaxed.converged, relax_steps=relaxed.n_steps, structure=s, anode_structure=sa, electrolyte_structure=sb,
        calculator=spec.model_dump(mode="json"), level_of_theory=relaxed.level_of_theory, candidate=candidate,
    )


@job(name="adhesion")
def adhesion_job(
    relaxed: RelaxedStructure, scan: GapScan, candidate: dict, anode_bulk: dict, electrolyte_bulk: dict,
    calculator: dict, fmax: float, steps: int, relax_separated: bool = True,
) -> InterfaceResult:
    """W_ad = (E_A + E_B - E_AB) / (n A): the relaxed interface split into its two partners, each alone in
    the same cell with vacuum; single points (W_sep, rigid) and, with ``relax_separated``, relaxed."""
    spec = CalculatorSpec.model_validate(calculator)
    part_a, part_b = split_interface(relaxed.structure)
    rigid = evaluate_many([part_a, part_b], spec)
    e_a_rigid, e_b_rigid = rigid[0]["energy"], rigid[1]["energy"]
    if relax_separated:
        ra = relax_atoms(part_a, spec, fmax, steps, label="anode part")
        rb = relax_atoms(part_b, spec, fmax, steps, label="electrolyte part")
        separated = (ra.energy_eV, rb.energy_eV, ra.structure, rb.structure)
    else:
        separated = (e_a_rigid, e_b_rigid, part_a, part_b)
    return interface_result(relaxed, scan, candidate, anode_bulk, electrolyte_bulk, spec, (e_a_rigid, e_b_rigid), separated)


class InterfaceSummary(BaseModel):
    results: list[InterfaceResult]
    calculator: dict[str, Any]
    level_of_theory: str
    versions: dict[str, str] = Field(default_factory=dict)


@job(name="rank interfaces")
def rank_interfaces(results: list, calculator: dict) -> InterfaceSummary:
    """Rank the computed interfaces by interface energy (lowest first), then strain and area."""
    res = [r if isinstance(r, InterfaceResult) else InterfaceResult.model_validate(r) for r in results]
    res.sort(key=lambda r: (r.interface_energy_J_m2, abs(r.strain), r.area_A2))
    spec = CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    return InterfaceSummary(results=res, calculator=calculator, level_of_theory=backend.level_of_theory(spec), versions=backend.versions())


def _candidate_meta(c: InterfaceCandidate) -> dict[str, Any]:
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
    calculator: str | dict | CalculatorSpec = "chgnet"
    gaps_A: tuple[float, ...] = DEFAULT_GAPS_A
    fmax: float = 0.05
    steps: int = 200
    relax_separated: bool = True

    def make(self, candidates: list[InterfaceCandidate], anode_bulk: Structure, electrolyte_bulk: Structure) -> Flow:
        if not candidates:
            raise InterfaceError("no interface candidates to compute")
        spec = CalculatorSpec.parse(self.calculator)
        elements = set().union(*(_elements(c.structure) for c in candidates))
        check_calculator(spec, elements, context="interfaces")
        if any(g <= 0.5 for g in self.gaps_A):
            raise InterfaceError(f"interfacial gaps must be > 0.5 A, not {self.gaps_A}")
        if _is_vasp(spec):  # no ASE calculator: atomate2's VASP jobs (calculators/vasp/interfaces.py)
            from interchem.calculators.vasp.interfaces import vasp_interface_flow

            return vasp_interface_flow(candidates, anode_bulk, electrolyte_bulk, spec, self.gaps_A, self.fmax, self.steps,
                                       self.relax_separated, name=self.name)
        calc = spec.model_dump(mode="json")
        ref_a = bulk_reference(anode_bulk, calc, label=candidates[0].anode)
        ref_a.name = f"bulk reference {candidates[0].anode}"
        ref_e = bulk_reference(electrolyte_bulk, calc, label=candidates[0].electrolyte)
        ref_e.name = f"bulk reference {candidates[0].electrolyte}"
        jobs = [ref_a, ref_e]
        results = []
        for c in candidates:
            meta = _candidate_meta(c)
            scan = scan_gap(c.structure, calc, list(self.gaps_A))
            scan.name = f"gap scan {meta['label']}"
            relax = relax_positions(scan.output.structure, calc, self.fmax, self.steps, label=meta["label"])
            relax.name = f"relax interface {meta['label']}"
            adh = adhesion_job(relax.output, scan.output, meta, ref_a.output, ref_e.output, calc, self.fmax, self.steps, self.relax_separated)
            adh.name = f"adhesion {meta['label']}"
            jobs += [scan, relax, adh]
            results.append(adh.output)
        ranked = rank_interfaces(results, calc)
        return Flow([*jobs, ranked], output=ranked.output, name=self.name)


# --------------------------------------------------------------------------------------------------
# Interface MD


class InterfaceMDResult(BaseModel):
    label: str
    md_key: str
    temperature_K: float
    steps: int
    timestep_fs: float
    n_atoms: int
    calculator: dict[str, Any]
    level_of_theory: str
    reactivity: ReactivityAnalysis
    trajectory_uuid: str = Field(description="uuid of the MD job: its trajectory is in the data store")


@job(name="interface reactivity")
def analyse_interface_md(md_output: Any, structure: Structure, label: str, md_uuid: str) -> InterfaceMDResult:
    """Reactivity time series from the MD job's trajectory (loaded from the data store by jobflow): an
    interchem ``MDResult`` or the task document of atomate2's VASP MD job (``calculators.vasp.md``)."""
    from interchem.calculators.vasp.md import is_vasp_md_output, vasp_md_result
    from interchem.workflows.md import MDResult, cartesian_frames

    if isinstance(md_output, MDResult):
        md = md_output
    elif is_vasp_md_output(md_output):
        md = vasp_md_result(md_output, label=label)
        if [s.specie.symbol for s in structure] != [getattr(sp, "symbol", str(sp)) for sp in md.trajectory.species]:
            raise InterfaceError("the VASP MD trajectory does not hold the interface's atoms in its order")
    else:
        md = MDResult.model_validate(md_output)
    frames, lattices = cartesian_frames(md.trajectory)
    dt = float(md.settings["timestep_fs"])
    times = [p["step"] * dt for p in md.trajectory.frame_properties]
    sides = structure.site_properties["interface_side"]
    analysis = analyse_reactivity([s.specie.symbol for s in structure], frames, lattices, sides, times)
    return InterfaceMDResult(
        label=label, md_key=md.md_key, temperature_K=float(md.settings["temperature_K"]), steps=md.steps_done,
        timestep_fs=dt, n_atoms=md.n_atoms, calculator=md.calculator, level_of_theory=md.level_of_theory,
        reactivity=analysis, trajectory_uuid=md_uuid,
    )


@dataclass
class InterfaceMDMaker(Maker):
    """NVT MD of an interface (``interchem.workflows.md.MDMaker``: restartable, trajectory to the data
    store) followed by the reactivity analysis: Li profile along the normal, bonds per element pair
    (and across the interface), product-like environments (Li2S-, Li3P-, LiCl-, Li2O-like) per frame."""

    name: str = "interface md"
    calculator: str | dict | CalculatorSpec = "chgnet"
    temperature_K: float = 600.0
    steps: int = 2000
    md_settings: dict[str, Any] = field(default_factory=lambda: {"sample_interval": 10})

    def make(self, structure: Structure, label: str = "") -> Flow:
        from interchem.workflows.md import MDMaker

        if "interface_side" not in structure.site_properties:
            raise InterfaceError("interface MD needs a structure with the 'interface_side' site property (an interface built here)")
        label = label or f"{(structure.properties or {}).get('anode', '?')}|{(structure.properties or {}).get('electrolyte', '?')}"
        if _is_vasp(CalculatorSpec.parse(self.calculator)):
            # VASP input sets write the atoms sorted by electronegativity: sort here (site properties
            # follow) so that the trajectory's atom order is the order of 'interface_side'.
            structure = structure.get_sorted_structure()
        plain = structure.copy()
        for key in list(plain.site_properties):
            plain.remove_site_property(key)
        md = MDMaker(calculator=self.calculator, temperature_K=self.temperature_K, steps=self.steps, md_settings=self.md_settings).make(plain, label=label)
        ana = analyse_interface_md(md.output, structure, label, md.uuid)
        ana.name = f"interface reactivity {label}"
        return Flow([md, ana], output=ana.output, name=f"{self.name} {label}")
