"""Interface workflows: interfacial-distance scan, relaxation, work of adhesion and interface energy,
ranking (jobflow Makers). Slabs and their surface energies are ``workflows.slabs``; bulk references
``workflows.references``; the positions-only relaxation ``workflows.relax``.

The relaxation runs in stages: a rigid gap scan (single points) picks the starting gap, then a
fixed-cell positions relaxation (FIRE down to a coarse threshold, BFGS to ``fmax``) with the bottom
layers held where they are marked. The flows are written once and composed from the calculator's makers
(``calculator_makers(spec).for_interfaces()``: ``single_points``, ``positions_relax``, ``input_order``),
so they never ask which code runs; with VASP every single point and relaxation is an atomate2 VASP job
read back by ``calculators.vasp.interfaces``; the arithmetic (``interface_result``) is the same.

Converged or flagged: an interface whose relaxation, whose separated partners' relaxations or whose
bulk references did not reach ``fmax`` carries ``unconverged`` (what and by how much) and is left out
of the ranking unless ``include_unconverged``; a result with a negative surface energy is refused
(``problems``) and never ranked.

Energy references: slabs and interfaces are cut from the bulk at the card's lattice; the anode's
reference is that bulk cell and the electrolyte's the same bulk strained in-plane as its film
(``structures.strained``), each relaxed with the same settings as the interface (``bulk_reference=
"relaxed"``), so neither lattice mismatch, strain energy nor a relaxable Li arrangement enters the
surface energies. W_ad does not depend on bulk references.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from interchem.analysis.interfaces import (
    interface_energy,
    negative_surface_energy_message,
    surface_energy,
    work_of_adhesion,
)
from interchem.calculators import CalculatorMakers, CalculatorSpec, check_calculator, get_backend
from interchem.errors import InterfaceError
from interchem.schemas import GapScan, RelaxedStructure
from interchem.structures.interfaces import InterfaceCandidate, set_gap, split_interface
from interchem.workflows.common import resolve_calculator
from interchem.workflows.references import BulkReferenceMode, bulk_reference_jobs, interface_makers
from interchem.workflows.relax import relax_positions as relax_positions
from interchem.workflows.slabs import SlabEnergy as SlabEnergy
from interchem.workflows.slabs import SlabMaker as SlabMaker
from interchem.workflows.slabs import relaxation_note

logger = logging.getLogger(__name__)

DEFAULT_GAPS_A = (1.5, 2.0, 2.5, 3.0, 3.5)


def _elements(structure: Structure) -> set[str]:
    return {el.symbol for el in structure.composition.elements}


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
    converged: bool = Field(description="interface, separated partners and bulk references all reached fmax")
    unconverged: list[str] = Field(default_factory=list, description="what did not converge, and by how much")
    problems: list[str] = Field(default_factory=list, description="why the result is refused (never ranked)")
    ranked: bool = True
    relax_steps: int
    structure: Structure
    anode_structure: Structure
    electrolyte_structure: Structure
    calculator: dict[str, Any]
    level_of_theory: str
    candidate: dict[str, Any] = Field(default_factory=dict)
    bulk_references: dict[str, Any] = Field(default_factory=dict)


def interface_result(
    relaxed: RelaxedStructure,
    scan: GapScan,
    candidate: dict,
    anode_bulk: dict,
    electrolyte_bulk: dict,
    spec: CalculatorSpec,
    rigid_energies: tuple[float, float],
    separated: tuple[float, float, Structure, Structure],
    unconverged: list[str] | None = None,
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
    unconverged = list(unconverged or [])
    if not relaxed.converged:
        unconverged.insert(0, relaxation_note("interface", relaxed))
    for side, ref in (("anode", anode_bulk), ("electrolyte", electrolyte_bulk)):
        if not ref.get("converged", True):
            unconverged.append(relaxation_note(f"{side} bulk reference {ref.get('label', '')}".strip(), ref))
    problems = [
        m
        for m in (
            negative_surface_energy_message(gamma_a, f"{candidate['anode']} part of {candidate['label']}"),
            negative_surface_energy_message(gamma_b, f"{candidate['electrolyte']} part of {candidate['label']}"),
        )
        if m
    ]
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
        converged=not unconverged,
        unconverged=unconverged,
        problems=problems,
        relax_steps=relaxed.n_steps,
        structure=s,
        anode_structure=sa,
        electrolyte_structure=sb,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=relaxed.level_of_theory,
        candidate=candidate,
        bulk_references={"anode": anode_bulk, "electrolyte": electrolyte_bulk},
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
    unconverged = []
    if separated:
        ra, rb = (RelaxedStructure.model_validate(r) if isinstance(r, dict) else r for r in separated)
        sep = (ra.energy_eV, rb.energy_eV, ra.structure, rb.structure)
        unconverged = [
            relaxation_note(f"{k} part", r) for k, r in (("anode", ra), ("electrolyte", rb)) if not r.converged
        ]
    else:
        sep = (*e_rigid, parts[0], parts[1])
    return interface_result(
        relaxed, scan, candidate, anode_bulk, electrolyte_bulk, calculator, e_rigid, sep, unconverged
    )


class InterfaceSummary(BaseModel):
    results: list[InterfaceResult] = Field(description="ranked, lowest interface energy first")
    excluded: list[InterfaceResult] = Field(
        default_factory=list, description="left out of the ranking: refused (problems) or unconverged"
    )
    include_unconverged: bool = False
    calculator: dict[str, Any]
    level_of_theory: str
    versions: dict[str, str] = Field(default_factory=dict)


@job(name="rank interfaces")
def rank_interfaces(results: list, calculator: CalculatorSpec, include_unconverged: bool = False) -> InterfaceSummary:
    """Rank the computed interfaces by interface energy (lowest first), then strain and area. Refused
    results (a negative surface energy) are never ranked; unconverged ones only with ``include_unconverged``."""
    res = [r if isinstance(r, InterfaceResult) else InterfaceResult.model_validate(r) for r in results]
    for r in res:
        r.ranked = not r.problems and (r.converged or include_unconverged)
    ranked = sorted((r for r in res if r.ranked), key=lambda r: (r.interface_energy_J_m2, abs(r.strain), r.area_A2))
    backend = get_backend(calculator)
    return InterfaceSummary(
        results=ranked,
        excluded=[r for r in res if not r.ranked],
        include_unconverged=include_unconverged,
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
    steps: int = 600
    relax_separated: bool = True
    bulk_reference: BulkReferenceMode = "relaxed"
    include_unconverged: bool = False

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
        ref_args = (self.bulk_reference, self.fmax, self.steps)
        jobs, ref_a = bulk_reference_jobs(makers, anode_bulk, candidates[0].anode, *ref_args)
        refs_e: dict[str, Any] = {}  # one electrolyte reference per distinct film cell (strain, supercell)
        results = []
        for c in candidates:
            key, film_bulk = self.electrolyte_reference_cell(c, electrolyte_bulk)
            if key not in refs_e:
                name = key if key == c.electrolyte else f"{c.electrolyte} strained #{len(refs_e) + 1}"
                ref_jobs, refs_e[key] = bulk_reference_jobs(makers, film_bulk, name, *ref_args)
                jobs += ref_jobs
            candidate_jobs, result = self.candidate_jobs(makers, c, ref_a, refs_e[key])
            jobs += candidate_jobs
            results.append(result)
        ranked = rank_interfaces(results, makers.spec, self.include_unconverged)
        return Flow([*jobs, ranked], output=ranked.output, name=self.name)

    def electrolyte_reference_cell(self, c: InterfaceCandidate, electrolyte_bulk: Structure) -> tuple[str, Structure]:
        """The electrolyte's reference: its bulk strained as the film is (relaxed references), else the card cell."""
        from interchem.structures.strained import strained_film_bulk

        if self.bulk_reference == "relaxed" and c.electrolyte_transformation and c.max_abs_strain > 0:
            # the film cell depends on the strain, the in-plane supercell and the frame (termination)
            key = f"{c.electrolyte} {100 * c.strain:+.2f}% {c.electrolyte_transformation} {c.electrolyte_termination}"
            return key, strained_film_bulk(electrolyte_bulk, c)
        return c.electrolyte, electrolyte_bulk

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
