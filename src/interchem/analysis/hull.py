"""Convex hull: phase diagram, energies above hull and a per-phase hull table (pymatgen PhaseDiagram)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Element
from pymatgen.entries import Entry

from interchem.analysis._common import (
    HULL_TOL_EV_PER_ATOM,
    PhaseDiagramCache,
    build_pd,
    names_of,
    phase_name,
)


class HullRow(BaseModel):
    phase: str
    formula: str
    chemsys: str
    formation_energy_eV_per_atom: float
    e_above_hull_eV_per_atom: float
    stable: bool
    # Names of the phases an unstable phase decomposes into (empty for stable phases).
    decomposition: list[str] = []
    entry_id: str | None = None


def build_phase_diagram(entries: Sequence[Entry], elements: Iterable[str | Element] | None = None) -> PhaseDiagram:
    """PhaseDiagram of ``entries`` restricted to ``elements`` (default: all elements present).

    Raises ChemicalSystemError for an empty list or an element without an elemental reference entry.
    """
    return build_pd(entries, None if elements is None else [Element(str(el)) for el in elements])


def _pd_for(entry: Entry, cache: PhaseDiagramCache) -> PhaseDiagram:
    # An entry's hull energy only depends on the sub-system of its own elements, and small diagrams are
    # cheap and numerically safer than one 9-element hull.
    return cache.get(entry.composition.elements)


def energies_above_hull(entries: Sequence[Entry], *, cache: PhaseDiagramCache | None = None) -> dict[str, float]:
    """Phase name -> energy above hull (eV/atom) for every entry; duplicates of a name keep the lowest."""
    cache = cache or PhaseDiagramCache(entries)
    out: dict[str, float] = {}
    for e in cache.entries:
        ehull = float(_pd_for(e, cache).get_e_above_hull(e))
        name = phase_name(e)
        out[name] = min(ehull, out.get(name, ehull))
    return out


def hull_table(entries: Sequence[Entry], *, cache: PhaseDiagramCache | None = None) -> list[HullRow]:
    """One row per phase name (its lowest-energy entry), sorted by chemical system then formula."""
    cache = cache or PhaseDiagramCache(entries)
    best: dict[str, Entry] = {}
    for e in cache.entries:
        name = phase_name(e)
        if name not in best or e.energy_per_atom < best[name].energy_per_atom:
            best[name] = e
    rows = []
    for name, e in best.items():
        pd = _pd_for(e, cache)
        decomp, ehull = pd.get_decomp_and_e_above_hull(e, allow_negative=True)
        stable = ehull <= HULL_TOL_EV_PER_ATOM
        rows.append(
            HullRow(
                phase=name,
                formula=e.composition.reduced_formula,
                chemsys=e.composition.chemical_system,
                formation_energy_eV_per_atom=float(pd.get_form_energy_per_atom(e)),
                e_above_hull_eV_per_atom=max(0.0, float(ehull)),
                stable=stable,
                decomposition=[] if stable else names_of(decomp),
                entry_id=None if getattr(e, "entry_id", None) is None else str(e.entry_id),
            )
        )
    return sorted(rows, key=lambda r: (len(r.chemsys.split("-")), r.chemsys, r.formula, r.phase))
