"""Electrochemical stability window of an electrolyte against an open Li reservoir.

Method: Zhu, He & Mo, ACS Appl. Mater. Interfaces 7, 23685 (2015). The electrolyte is put on the hull
(lowered just below it when it is metastable), then the phase equilibria of its composition are followed
as the Li chemical potential falls. pymatgen's ``PhaseDiagram.get_element_profile`` gives the steps; we
only convert chemical potentials to voltages, V = -(mu_Li - mu_Li^0)/e, and pick the step where the
electrolyte itself is the equilibrium phase. Low V (mu_Li near Li metal) reduces, high V oxidises.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from pymatgen.analysis.phase_diagram import PDEntry
from pymatgen.core import Element
from pymatgen.entries import Entry

from interchem.analysis._common import PhaseDiagramCache, check_in_diagram, names_of, phase_name
from interchem.errors import ChemicalSystemError

# How far below the hull a metastable electrolyte is placed (eV/atom). Zhu et al. lower it onto the hull;
# sitting a hair below makes it a hull vertex, so it appears as its own step with a (tiny) window.
ZHU_HULL_OFFSET_EV_PER_ATOM = 1e-4

# |Li uptake| per formula unit below which a step counts as "neither takes up nor releases Li".
_LI_TOL = 1e-6


class VoltageStep(BaseModel):
    """One step of the staircase: the equilibrium reached by the electrolyte between two voltages."""

    voltage_from_V: float
    # None: no upper bound (the Li-free end stays in equilibrium up to any oxidising potential).
    voltage_to_V: float | None
    # Li taken up per formula unit of the electrolyte to reach this equilibrium: > 0 reduced, < 0 oxidised.
    li_per_fu: float
    products: list[str]
    # The balanced reaction of one formula unit of the electrolyte with the reservoir that reaches this
    # equilibrium (pymatgen's, by formula), e.g. "Li3PS4 + 5 Li -> P + 4 Li2S".
    reaction: str = ""


class StabilityWindow(BaseModel):
    electrolyte: str
    formula: str
    open_element: str = "Li"
    reduction_V: float
    # None: stable up to any potential (the electrolyte holds no open element to give up).
    oxidation_V: float | None
    # Phases at the first step below / above the window; empty when there is no such step
    # (reduction_V == 0: stable against Li metal; below 0 V Li plates).
    reduction_products: list[str]
    oxidation_products: list[str]
    # The reaction that sets each limit (the step just below / above the window); None with no such step.
    reduction_reaction: str | None = None
    oxidation_reaction: str | None = None
    e_above_hull_eV_per_atom: float
    # Energy added to the electrolyte before the analysis (<= 0): -(E_hull + offset) when it was above hull.
    energy_shift_eV_per_atom: float
    staircase: list[VoltageStep]


def _shifted(entry: Entry, shift_eV_per_atom: float) -> PDEntry:
    name = phase_name(entry)
    return PDEntry(entry.composition, entry.energy + shift_eV_per_atom * entry.composition.num_atoms, name=name)


def _staircase(profile: list[dict], mu0: float, used: Entry) -> tuple[list[VoltageStep], int | None]:
    """The steps of pymatgen's element profile as voltages, and the index of the step where ``used`` (the
    electrolyte) is its own equilibrium phase (None if it never is)."""
    # get_element_profile runs from the ion-rich end to the ion-free end; each item's "chempot" is the upper
    # mu (lower V) bound of the range where its decomposition is the equilibrium; the next item's chempot
    # is the lower mu (upper V) bound. "evolution" is the ion taken up per formula unit of the electrolyte.
    steps: list[VoltageStep] = []
    window_idx = None
    for i, item in enumerate(profile):
        v_from = -(item["chempot"] - mu0) + 0.0  # + 0.0 turns -0.0 into 0.0
        v_to = -(profile[i + 1]["chempot"] - mu0) if i + 1 < len(profile) else None
        li = float(item["evolution"])
        decomp = item["entries"]
        products = names_of(decomp)
        steps.append(
            VoltageStep(
                voltage_from_V=float(v_from),
                voltage_to_V=v_to,
                li_per_fu=li,
                products=products,
                reaction=str(item["reaction"]),
            )
        )
        if abs(li) < _LI_TOL and any(e is used for e in decomp):
            window_idx = i
    return steps, window_idx


def stability_window(
    entries: Sequence[Entry],
    electrolyte: str,
    open_element: str = "Li",
    *,
    cache: PhaseDiagramCache | None = None,
) -> StabilityWindow:
    """Stability window of ``electrolyte`` (phase name or formula) versus the ``open_element`` metal.

    Voltages are in V versus the open element's metal, for a monovalent ion (charge +1 e).
    """
    cache = cache or PhaseDiagramCache(entries)
    target = cache.phase(electrolyte)
    name = phase_name(target)
    ion = Element(open_element)
    elements = set(target.composition.elements) | {ion}
    pd = cache.get(elements)
    check_in_diagram(target, pd)

    ehull = float(pd.get_e_above_hull(target, allow_negative=True))
    if target in pd.stable_entries:
        shift = 0.0
        pd_used, used = pd, target
    else:
        # Zhu et al.: move the metastable electrolyte onto (just below) the hull; only this entry changes.
        shift = -(ehull + ZHU_HULL_OFFSET_EV_PER_ATOM)
        used = _shifted(target, shift)
        others = [e for e in pd.all_entries if e is not target]
        pd_used = type(pd)([*others, used], elements=pd.elements)

    mu0 = pd_used.el_refs[ion].energy_per_atom
    comp = target.composition.reduced_composition
    steps, window_idx = _staircase(pd_used.get_element_profile(ion, comp), mu0, used)
    if window_idx is None:  # cannot happen once the electrolyte is a hull vertex; guard against tolerance issues
        raise ChemicalSystemError(
            f"electrolyte {name!r} does not appear as its own equilibrium phase along the "
            f"{open_element} chemical-potential profile; check its entry and the hull"
        )
    win = steps[window_idx]
    below = steps[window_idx - 1] if window_idx > 0 else None
    above = steps[window_idx + 1] if window_idx + 1 < len(steps) else None
    return StabilityWindow(
        electrolyte=name,
        formula=target.composition.reduced_formula,
        open_element=open_element,
        reduction_V=max(0.0, win.voltage_from_V),
        oxidation_V=win.voltage_to_V,
        reduction_products=below.products if below else [],
        oxidation_products=above.products if above else [],
        reduction_reaction=below.reaction if below else None,
        oxidation_reaction=above.reaction if above else None,
        e_above_hull_eV_per_atom=max(0.0, ehull),
        energy_shift_eV_per_atom=shift,
        staircase=steps,
    )
