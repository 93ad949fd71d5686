"""Tie-lines: do two phases coexist in equilibrium (a hull edge joins them)?

Interlayer rule used by the screen: an interlayer between Li_xSi and an electrolyte must share a tie-line
with Li metal (otherwise Li reduces it).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from pymatgen.entries import Entry

from interchem.analysis._common import (
    HULL_TOL_EV_PER_ATOM,
    PhaseDiagramCache,
    formula_to_name,
    names_of,
    phase_name,
)
from interchem.analysis.reactions import interfacial_reactivity, most_negative_kink


class TieLine(BaseModel):
    a: str
    b: str
    direct: bool
    # Phases in equilibrium at the 50:50 (atomic) mix; equals {a, b} exactly when the tie-line is direct.
    mix_decomposition: list[str]
    # When not direct: products of the most negative mutual reaction (reactants at hull energies).
    products: list[str] = []
    E_mutual_meV_per_atom: float = 0.0
    a_e_above_hull_eV_per_atom: float = 0.0
    b_e_above_hull_eV_per_atom: float = 0.0
    note: str = ""


def shares_tie_line(entries: Sequence[Entry], a: str, b: str, *, cache: PhaseDiagramCache | None = None) -> TieLine:
    """Whether phases ``a`` and ``b`` share a tie-line on the hull of their combined elements.

    A phase above the hull is in equilibrium with nothing, so it has no tie-line (``direct`` False, note says
    so). For two hull phases the segment between them is a hull edge exactly when the 50:50 mix decomposes
    into the two phases alone, which is what we test (pymatgen ``get_decomposition``).
    """
    cache = cache or PhaseDiagramCache(entries)
    ea, eb = cache.phase(a), cache.phase(b)
    pd = cache.get(set(ea.composition.elements) | set(eb.composition.elements))
    na, nb = phase_name(ea), phase_name(eb)
    ha = max(0.0, float(pd.get_e_above_hull(ea, allow_negative=True)))
    hb = max(0.0, float(pd.get_e_above_hull(eb, allow_negative=True)))
    mix = ea.composition.fractional_composition * 0.5 + eb.composition.fractional_composition * 0.5
    decomp = names_of(pd.get_decomposition(mix))
    x, e, prods = most_negative_kink(interfacial_reactivity(pd, ea, eb, use_hull_energy=True), formula_to_name(pd))
    above = [f"{n} is {h:.4f} eV/atom above the hull" for n, h in ((na, ha), (nb, hb)) if h > HULL_TOL_EV_PER_ATOM]
    on_hull = not above and ea in pd.stable_entries and eb in pd.stable_entries
    direct = on_hull and set(decomp) == {na, nb}
    if above:
        note = "; ".join(above) + ": a phase above the hull has no tie-line"
    elif not on_hull:
        note = "a phase is on the hull but not a hull vertex (a lower polymorph or degenerate mix of others)"
    elif direct:
        note = "direct tie-line: the two phases coexist"
    else:
        note = f"no tie-line: a {na}/{nb} mix forms {', '.join(prods or decomp)}"
    return TieLine(
        a=na,
        b=nb,
        direct=direct,
        mix_decomposition=decomp,
        products=[] if direct else prods,
        E_mutual_meV_per_atom=0.0 if direct else e * 1000.0,
        a_e_above_hull_eV_per_atom=ha,
        b_e_above_hull_eV_per_atom=hb,
        note=note,
    )
