"""Anode | electrolyte interface reactions (pymatgen InterfacialReactivity, Richards et al. 2016).

Mixing ratio convention: x is the atomic fraction of the ANODE in the anode + electrolyte mixture
(pymatgen's c1 is the anode, norm=True). Energies are per atom of the mixture (closed) or per atom of the
mixture without the open element (open to Li).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from pydantic import BaseModel
from pymatgen.analysis.interface_reactions import GrandPotentialInterfacialReactivity, InterfacialReactivity
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.entries import Entry

from interchem.analysis._common import PhaseDiagramCache, formula_to_name, phase_name
from interchem.analysis.voltage import li_potential_at
from interchem.errors import ChemicalSystemError

_EV_TO_MEV = 1000.0
# A most-negative energy above this (eV/atom) is numerical noise of the hull: no reaction, no products.
NO_REACTION_TOL_EV_PER_ATOM = 1e-6


class InterfaceReaction(BaseModel):
    anode: str
    electrolyte: str
    # Li per Si of the anode (0 for Si); None for Li metal (or an anode without the host element).
    x_Li: float | None
    # Most negative reaction energy along the anode-electrolyte tie-line, reactants at their own energies.
    E_rxn_meV_per_atom: float
    mixing_ratio: float  # atomic fraction of the anode at that point (0 and products [] when no reaction)
    products: list[str]
    # Same, with both reactants taken at their hull energies (Richards et al., Chem. Mater. 28, 266, 2016).
    E_mutual_meV_per_atom: float
    mutual_mixing_ratio: float
    mutual_products: list[str]
    # Open to a Li reservoir at the anode's potential (mu_Li = mu_Li^0 - e V); energy per atom excluding Li.
    open_li_voltage_V: float | None = None
    E_rxn_open_Li_meV_per_atom: float | None = None
    open_li_mixing_ratio: float | None = None
    open_li_products: list[str] = []


class ReductionVsLi(BaseModel):
    """Reduction by Li metal at 0 V (Zhu et al. 2015 convention: per atom of the electrolyte)."""

    E_eV_per_atom: float
    li_per_fu: float  # Li taken up per formula unit of the electrolyte (reduced formula)
    products: list[str]
    E_eV_per_atom_of_mixture: float  # most negative point per atom of the Li + electrolyte mixture
    mixture_products: list[str]


def most_negative_kink(ir: InterfacialReactivity, names: dict[str, str], skip: set[str] = frozenset()):
    """(x, energy eV/atom, product names) at the most negative kink."""
    kinks = ir.get_kinks()
    # ties (e.g. both reactants on the hull: 0 at both ends) go to the first kink for determinism
    _, x, energy, rxn, _ = min(kinks, key=lambda k: (round(k[2], 12), k[0]))
    if energy > -NO_REACTION_TOL_EV_PER_ATOM:
        return 0.0, 0.0, []
    products = sorted(
        {names.get(c.reduced_formula, c.reduced_formula) for c in rxn.products if rxn.get_coeff(c) > 1e-8} - skip
    )
    # kink positions come from geometry; drop float dust such as 6e-17
    return round(float(x), 10) + 0.0, float(energy), products


def interfacial_reactivity(pd: PhaseDiagram, a: Entry, b: Entry, use_hull_energy: bool) -> InterfacialReactivity:
    """pymatgen's normalised InterfacialReactivity of the mixtures of ``a`` and ``b`` on ``pd``."""
    with warnings.catch_warnings():
        # pymatgen warns when a reactant has no entry of its own composition; ours always do
        warnings.simplefilter("ignore")
        return InterfacialReactivity(a.composition, b.composition, pd, norm=True, use_hull_energy=use_hull_energy)


def _host_x(entry: Entry, host: str, ion: str) -> float | None:
    comp = entry.composition
    if Element(host) not in comp:
        return None
    return float(comp[Element(ion)] / comp[Element(host)])


def interface_reaction(
    entries: Sequence[Entry],
    anode: str,
    electrolyte: str,
    open_element: str = "Li",
    anode_voltage_V: float | None = None,
    *,
    host: str = "Si",
    cache: PhaseDiagramCache | None = None,
) -> InterfaceReaction:
    """Reaction of ``anode`` with ``electrolyte``; with ``anode_voltage_V``, also open to ``open_element``.

    Each reactant is the lowest-energy entry of its composition in the diagram (pymatgen's choice for
    use_hull_energy=False), which is the named phase unless a lower polymorph is present.
    """
    cache = cache or PhaseDiagramCache(entries)
    a, b = cache.phase(anode), cache.phase(electrolyte)
    ion = Element(open_element)
    elements = set(a.composition.elements) | set(b.composition.elements)
    if anode_voltage_V is not None:
        elements.add(ion)
    pd = cache.get(elements)
    names = formula_to_name(pd)

    x, e, prods = most_negative_kink(interfacial_reactivity(pd, a, b, use_hull_energy=False), names)
    xm, em, prods_m = most_negative_kink(interfacial_reactivity(pd, a, b, use_hull_energy=True), names)

    result = InterfaceReaction(
        anode=phase_name(a),
        electrolyte=phase_name(b),
        x_Li=_host_x(a, host, open_element),
        E_rxn_meV_per_atom=e * _EV_TO_MEV,
        mixing_ratio=x,
        products=prods,
        E_mutual_meV_per_atom=em * _EV_TO_MEV,
        mutual_mixing_ratio=xm,
        mutual_products=prods_m,
    )
    if anode_voltage_V is None:
        return result

    mu = pd.el_refs[ion].energy_per_atom - float(anode_voltage_V)
    gpd = cache.get_grand(elements, {open_element: mu})
    gnames = formula_to_name(gpd)
    # An anode made of the open element only (Li metal) is the reservoir itself: its open reaction is the
    # electrolyte's own reaction with the reservoir, which pymatgen gives for the pair (electrolyte, electrolyte).
    first = b if set(a.composition.elements) <= {ion} else a
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gir = GrandPotentialInterfacialReactivity(
            first.composition,
            b.composition,
            gpd,
            pd_non_grand=pd,
            # include each reactant's own reaction with the reservoir (e.g. electrolyte reduction by Li)
            include_no_mixing_energy=True,
            norm=True,
            use_hull_energy=False,
        )
    xo, eo, prods_o = most_negative_kink(gir, gnames, skip={open_element})
    result.open_li_voltage_V = float(anode_voltage_V)
    result.E_rxn_open_Li_meV_per_atom = eo * _EV_TO_MEV
    result.open_li_mixing_ratio = xo if first is a else 1.0
    result.open_li_products = prods_o
    return result


def lithiation_reaction_map(
    entries: Sequence[Entry],
    anodes: Sequence[str],
    electrolytes: Sequence[str],
    *,
    host: str = "Si",
    ion: str = "Li",
    cache: PhaseDiagramCache | None = None,
) -> list[InterfaceReaction]:
    """Every anode x electrolyte pair, open to Li at the anode's potential.

    The anode's Li potential is the LOWER bound of its stability range on the Li-Si hull (see
    ``voltage.li_potential_at``): the most reducing condition under which that anode phase is in
    equilibrium. Li metal is an anode at 0 V.
    """
    cache = cache or PhaseDiagramCache(entries)
    out = []
    for an in anodes:
        v = li_potential_at(entries, an, host, ion, cache=cache)
        for el in electrolytes:
            out.append(interface_reaction(entries, an, el, ion, v, host=host, cache=cache))
    return out


def reaction_energy_vs_li(
    entries: Sequence[Entry],
    electrolyte: str,
    *,
    ion: str = "Li",
    cache: PhaseDiagramCache | None = None,
) -> ReductionVsLi:
    """Full reduction of ``electrolyte`` by Li metal at 0 V, as quoted by Zhu, He & Mo (2015).

    The products are the phase equilibrium at mu_Li = mu_Li^0 (the Li-rich end of the voltage
    staircase); the energy is per atom of the electrolyte, with the electrolyte at
    min(own energy, hull energy) like its window (Zhu et al. place it on the hull). E.g. Li6PS5Cl +
    8 Li -> Li3P + 5 Li2S + LiCl. Written by hand: pymatgen gives the equilibrium (get_hull_energy /
    get_decomposition) but no per-electrolyte-atom reduction energy. The most negative pseudo-binary
    point per atom of the Li + electrolyte mixture (InterfacialReactivity) is kept alongside.
    """
    cache = cache or PhaseDiagramCache(entries)
    li_el = Element(ion)
    li, b = cache.phase(ion), cache.phase(electrolyte)
    pd = cache.get(set(b.composition.elements) | {li_el})
    names = formula_to_name(pd)
    comp = b.composition
    n_atoms = comp.num_atoms
    mu0 = pd.get_hull_energy_per_atom(Composition(ion))
    e_own = min(b.energy, pd.get_hull_energy(comp))
    # Add Li until Li metal itself is among the products: then the equilibrium is the one at 0 V.
    extra = n_atoms
    for _ in range(12):
        mixed = comp + Composition({li_el: extra})
        decomp = pd.get_decomposition(mixed)
        # get_decomposition gives atomic fractions of ``mixed``
        li_left = mixed.num_atoms * sum(amt for e, amt in decomp.items() if e.composition.reduced_formula == ion)
        if li_left > 1e-8:
            break
        extra *= 2
    else:  # pragma: no cover - would need >4000 Li per formula unit
        raise ChemicalSystemError(f"could not reach Li-metal equilibrium for {electrolyte!r}")
    uptake = extra - li_left
    delta = pd.get_hull_energy(mixed) - e_own - extra * mu0
    products = sorted(
        {
            names.get(e.composition.reduced_formula, phase_name(e))
            for e in decomp
            if e.composition.reduced_formula != ion
        }
    )
    if uptake < 1e-8:  # nothing to reduce: stable against Li metal
        products = []
    _, e_mix, prods_mix = most_negative_kink(interfacial_reactivity(pd, li, b, use_hull_energy=False), names)
    return ReductionVsLi(
        E_eV_per_atom=delta / n_atoms,
        li_per_fu=uptake / comp.get_reduced_composition_and_factor()[1],
        products=products,
        E_eV_per_atom_of_mixture=e_mix,
        mixture_products=prods_mix,
    )


def reaction_at_mixing_ratio(
    entries: Sequence[Entry], anode: str, electrolyte: str, x_anode: float, *, cache: PhaseDiagramCache | None = None
) -> dict:
    """What the screen predicts for an interface cell holding the atom fraction ``x_anode`` of the anode:
    the reaction energy (meV/atom of the mixture, reactants at their own energies) and the products
    there. The energy along the tie-line is linear between pymatgen's kinks, and between two kinks the
    products are those of both (the segment's phase equilibrium), so both are read off the bracketing kinks.
    The most negative point of the tie-line is given alongside (the screen's own number)."""
    if not 0.0 <= x_anode <= 1.0:
        raise ValueError(f"x_anode must be an atom fraction in [0, 1], not {x_anode}")
    cache = cache or PhaseDiagramCache(entries)
    a, b = cache.phase(anode), cache.phase(electrolyte)
    pd = cache.get(set(a.composition.elements) | set(b.composition.elements))
    names = formula_to_name(pd)
    ir = interfacial_reactivity(pd, a, b, use_hull_energy=False)
    kinks = sorted(ir.get_kinks(), key=lambda k: k[1])
    xs = [float(k[1]) for k in kinks]
    j = next(i for i in range(1, len(xs)) if x_anode <= xs[i] + 1e-12) if len(xs) > 1 else 0
    lo, hi = kinks[max(j - 1, 0)], kinks[j]
    span = xs[j] - xs[max(j - 1, 0)]
    w = (x_anode - float(lo[1])) / span if span > 0 else 0.0
    energy = (1 - w) * float(lo[2]) + w * float(hi[2])

    def products(k) -> set[str]:
        if float(k[1]) in (0.0, 1.0):  # an end of the tie-line: the unreacted partner itself
            return {phase_name(a) if float(k[1]) == 1.0 else phase_name(b)}
        rxn = k[3]
        return {names.get(c.reduced_formula, c.reduced_formula) for c in rxn.products if rxn.get_coeff(c) > 1e-8}

    # at a kink itself only that kink's products; inside a segment, both ends' phases coexist
    ends = [lo] if w < 1e-9 else [hi] if w > 1 - 1e-9 else [lo, hi]
    prods = sorted(set().union(*(products(k) for k in ends))) if energy < -NO_REACTION_TOL_EV_PER_ATOM else []
    x_min, e_min, p_min = most_negative_kink(ir, names)
    return {
        "anode": phase_name(a),
        "electrolyte": phase_name(b),
        "x_anode": float(x_anode),
        "E_rxn_meV_per_atom": energy * _EV_TO_MEV,
        "products": prods,
        "most_negative": {"x_anode": x_min, "E_rxn_meV_per_atom": e_min * _EV_TO_MEV, "products": p_min},
    }
