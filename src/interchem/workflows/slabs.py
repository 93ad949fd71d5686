"""Slabs of one Miller plane and their surface energies (jobflow Maker).

Each termination's slab is relaxed (positions; fixed bottom layers optional) against a bulk reference
relaxed the same way (``workflows.references``). A negative surface energy stops the flow with
``NegativeSurfaceEnergyError`` naming the likely causes; an unconverged slab or bulk relaxation is
reported (``converged``, ``unconverged``), not hidden.

Non-stoichiometric terminations (``li_layers``: Li layers added or removed per face, ``make_slab``) have no
single surface energy: with dN_Li Li atoms beyond n bulk formula units,
gamma(mu_Li) = (E_slab - n E_bulk,fu - dN_Li mu_Li) / (2A) (``analysis.interfaces.surface_energy_vs_mu_li``),
given over the Li potentials V of ``potential_range_V`` vs Li/Li+, mu_Li = mu_Li(Li metal) - eV, with
mu_Li(Li metal) from bcc Li relaxed like the other references (same calculator and settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Structure

from interchem.analysis.interfaces import (
    EV_PER_A2_TO_J_PER_M2,
    NEGATIVE_GAMMA_TOL_J_M2,
    li_excess,
    negative_surface_energy_message,
    surface_energy,
    surface_energy_vs_mu_li,
)
from interchem.calculators import CalculatorSpec, check_calculator
from interchem.errors import InterfaceError, NegativeSurfaceEnergyError
from interchem.schemas import RelaxedStructure
from interchem.structures.cards import check_structure
from interchem.structures.library import resolve_phase
from interchem.structures.surfaces import Miller, SlabInfo, find_terminations, make_slab
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
    surface_energy_J_m2: float | None = Field(description="face-averaged; None for a non-stoichiometric slab")
    unrelaxed_surface_energy_J_m2: float | None
    li_layers: tuple[int, int] = (0, 0)
    li_excess: int = Field(0, description="Li atoms beyond the bulk ratio (0: stoichiometric)")
    surface_energy_vs_mu_li: dict[str, Any] | None = Field(
        None, description="non-stoichiometric slabs: gamma over the Li potential range (see gamma_vs_mu_li)"
    )
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


def gamma_vs_mu_li(
    e_slab: float, slab: Structure, bulk: dict, li_metal: dict, potential_range_V: tuple[float, float], n: int = 13
) -> dict[str, Any]:
    """gamma(mu_Li) of a slab with Li beyond (or short of) its bulk's ratio over the Li potentials V in
    ``potential_range_V`` (vs Li/Li+; mu_Li = mu_Li(Li metal) - eV): the line (slope, value at the Li metal
    potential) and ``n`` samples. gamma falls with mu_Li for a Li-rich slab and rises for a Li-poor one."""
    area = float(slab.lattice.volume / slab.lattice.c)
    bulk_formula = {el.symbol: float(x) for el, x in Composition(bulk["formula"]).items()}
    e_fu = bulk["energy_per_atom_eV"] * sum(bulk_formula.values())
    slab_formula = {el.symbol: float(x) for el, x in slab.composition.items()}
    mu_metal = float(li_metal["energy_per_atom_eV"])
    lo, hi = (float(v) for v in potential_range_V)
    volts = np.linspace(lo, hi, n)
    gammas = surface_energy_vs_mu_li(e_slab, slab_formula, e_fu, bulk_formula, area, mu_metal - volts)
    at_metal = surface_energy_vs_mu_li(e_slab, slab_formula, e_fu, bulk_formula, area, [mu_metal])[0]
    n_fu, d_li = li_excess(slab_formula, bulk_formula)  # checked by surface_energy_vs_mu_li above
    return {
        "potentials_V": [round(float(v), 4) for v in volts],
        "mu_li_eV": [float(mu_metal - v) for v in volts],
        "gamma_J_m2": gammas,
        "mu_li_metal_eV": mu_metal,
        "gamma_at_li_metal_J_m2": at_metal,
        "slope_J_m2_per_eV": -d_li / (2 * area) * EV_PER_A2_TO_J_PER_M2,
        "li_excess": d_li,
        "bulk_formula_units": n_fu,
        "potential_range_V": [lo, hi],
        "li_reference": {k: li_metal.get(k) for k in ("label", "energy_per_atom_eV", "relaxed", "converged")},
        "negative_at_V": [round(float(v), 4) for v, g in zip(volts, gammas) if g < -NEGATIVE_GAMMA_TOL_J_M2],
    }


@job(name="surface energy")
def surface_energy_job(
    relaxed: RelaxedStructure,
    bulk: dict,
    slab_info: dict,
    li_metal: dict | None = None,
    potential_range_V: tuple[float, float] = (0.0, 3.0),
) -> SlabEnergy:
    # long: stoichiometric and non-stoichiometric slabs, their refusals and flags, in one place
    s = relaxed.structure
    area = float(s.lattice.volume / s.lattice.c)
    e_bulk = bulk["energy_per_atom_eV"]
    what = f"{slab_info['phase']}{tuple(slab_info['miller'])} {slab_info['termination']}"
    ref = "relaxed bulk" if bulk.get("relaxed") else "single point of the unrelaxed bulk"
    unconverged = [relaxation_note("slab", relaxed)] if not relaxed.converged else []
    if not bulk.get("converged", True):
        unconverged.append(relaxation_note("bulk reference", bulk))
    vs_mu, gamma, gamma0 = None, None, None
    if slab_info.get("li_excess"):
        if li_metal is None:
            raise InterfaceError(f"{what}: a non-stoichiometric slab needs the Li metal reference")
        vs_mu = gamma_vs_mu_li(relaxed.energy_eV, s, bulk, li_metal, potential_range_V)
        vs_mu["unrelaxed_gamma_J_m2"] = gamma_vs_mu_li(relaxed.initial_energy_eV, s, bulk, li_metal, potential_range_V)[
            "gamma_J_m2"
        ]
        if not li_metal.get("converged", True):
            unconverged.append(relaxation_note("Li metal reference", li_metal))
        if len(vs_mu["negative_at_V"]) == len(vs_mu["gamma_J_m2"]):  # below zero over the whole range
            message = negative_surface_energy_message(max(vs_mu["gamma_J_m2"]), what + " (at every Li potential)", ref)
            raise NegativeSurfaceEnergyError(message)
    else:
        # Fixed bottom layers: only the top face relaxes, the bottom keeps the bulk-terminated energy.
        # The face-averaged value is reported; with no fixed layers it is exact for symmetric slabs.
        gamma = surface_energy(relaxed.energy_eV, len(s), e_bulk, area)
        message = negative_surface_energy_message(gamma, what, ref)
        if message:
            raise NegativeSurfaceEnergyError(message)
        gamma0 = surface_energy(relaxed.initial_energy_eV, len(s), e_bulk, area)
    return SlabEnergy(
        **slab_info,
        n_atoms=len(s),
        area_A2=area,
        energy_eV=relaxed.energy_eV,
        bulk_energy_per_atom_eV=e_bulk,
        surface_energy_J_m2=gamma,
        unrelaxed_surface_energy_J_m2=gamma0,
        surface_energy_vs_mu_li=vs_mu,
        converged=not unconverged,
        unconverged=unconverged,
        n_steps=relaxed.n_steps,
        n_fixed=relaxed.n_fixed,
        structure=s,
        calculator=relaxed.calculator,
        level_of_theory=relaxed.level_of_theory,
        bulk_reference=bulk,
    )


def slab_description(slab: SlabInfo) -> dict[str, Any]:
    """The slab's identity as ``SlabEnergy`` carries it (termination, faces, Li layers, a note)."""
    t = slab.termination
    note = t.note
    if slab.li_excess:
        note = (
            f"non-stoichiometric: Li layers {slab.li_layers[0]:+d} on top, {slab.li_layers[1]:+d} at the bottom "
            f"({slab.li_excess:+d} Li); gamma depends on mu_Li" + (f"; {t.note}" if t.note else "")
        )
    return {
        "phase": slab.phase,
        "miller": tuple(slab.miller),
        "termination": t.label,
        "opposite_termination": t.opposite_label,
        "symmetric": t.symmetric,
        "polar": t.polar,
        "note": note,
        "li_layers": slab.li_layers,
        "li_excess": slab.li_excess,
    }


@dataclass
class SlabMaker(Maker):
    """Slabs of every termination of one Miller plane (or the chosen ones), relaxed (positions, fixed
    bottom layers optional), with their surface energies. Inputs are checked in ``make``: an unknown
    termination or a slab too thin for its fixed layers raises before any job exists.

    ``li_layers`` = (top, bottom): Li layers added (> 0) or removed (< 0) on each face (``make_slab``), for
    Li-rich or Li-poor terminations (e.g. (0, 1) on Li2S(100) Li2-terminated: the symmetric Li2/Li2 slab).
    Their gamma is given as a function of mu_Li over ``potential_range_V`` (V vs Li/Li+). The default
    0-3 V spans the anode's potential (0 V: Li metal, fully lithiated Li_xSi within ~0.1 V) up past the
    oxidation limits of the project's electrolytes (Li6PS5Cl 2.01, Li2PO2N 2.63, LLZO 2.91 V; Zhu et al.,
    ACS Appl. Mater. Interfaces 7, 23685 (2015)); ``interchem slabs`` narrows it to the stored screen's
    oxidation limit of the phase when there is one."""

    name: str = "slabs"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    min_thickness_A: float = 10.0
    vacuum_A: float = 15.0
    fixed_bottom_layers: int = 0
    fmax: float = 0.05
    steps: int = 600
    bulk_reference: BulkReferenceMode = "relaxed"
    li_layers: tuple[int, int] = (0, 0)
    potential_range_V: tuple[float, float] = (0.0, 3.0)

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)
        self.li_layers = (int(self.li_layers[0]), int(self.li_layers[1]))
        lo, hi = (float(v) for v in self.potential_range_V)
        if not 0.0 <= lo < hi <= 10.0:
            raise InterfaceError(f"potential_range_V must be 0 <= low < high <= 10 V vs Li/Li+, not {(lo, hi)}")
        self.potential_range_V = (lo, hi)

    def make(
        self, bulk: Structure, miller: Miller, phase: str | None = None, terminations: list[int | str] | None = None
    ) -> Flow:
        phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
        check_calculator(self.calculator, {el.symbol for el in bulk.composition.elements}, context=f"{phase} slabs")
        if any(self.li_layers) and ("Li" not in bulk.composition or len(bulk.composition) < 2):
            raise InterfaceError(f"{phase}: li_layers {self.li_layers} needs a Li compound (Li and another element)")
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
                li_layers=self.li_layers,
            )
            for t in chosen
        ]
        ref_args = (self.bulk_reference, self.fmax, self.steps)
        jobs, ref = bulk_reference_jobs(makers, bulk, phase, *ref_args)
        li_metal = None
        if any(s.li_excess for s in slabs):  # mu_Li's zero: bcc Li treated like every other reference
            li_jobs, li_metal = bulk_reference_jobs(
                makers, resolve_phase("Li", primitive=False)[1], "Li metal", *ref_args
            )
            jobs += li_jobs
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
            gamma = surface_energy_job(relaxed, ref, slab_description(slab), li_metal, self.potential_range_V)
            gamma.name = f"surface energy {tag}"
            jobs += [*relax_jobs, gamma]
            outputs.append(gamma.output)
        return Flow(jobs, output=outputs, name=f"{self.name} {phase}{tuple(miller)}")
