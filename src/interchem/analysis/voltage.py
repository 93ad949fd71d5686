"""Lithiation voltage plateaus of a host (Si) on its Li-host convex hull.

Written by hand (pymatgen's battery tools need structures / an insertion framework, and the formula is
three lines): between neighbouring stable phases Li_x1 Si and Li_x2 Si on the hull,
    V = -[E(Li_x2 Si) - E(Li_x1 Si) - (x2 - x1) mu_Li^0] / (x2 - x1)      (energies per host atom, eV)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel
from pymatgen.core import Element
from pymatgen.entries import Entry

from interchem.analysis._common import PhaseDiagramCache, phase_name
from interchem.errors import ChemicalSystemError


class VoltagePlateau(BaseModel):
    x_from: float  # ion per host atom at the start of the plateau
    x_to: float
    voltage_V: float  # versus the ion's metal
    phase_from: str
    phase_to: str


def _hull_points(cache: PhaseDiagramCache, host: str, ion: str) -> list[tuple[float, float, str]]:
    """(x = ion per host, energy per host atom, phase name) of the stable host-containing phases, by x."""
    h, i = Element(host), Element(ion)
    pd = cache.get([h, i])
    pts = []
    for e in pd.stable_entries:
        n_host = e.composition[h]
        if n_host == 0:
            continue  # the ion metal itself: x = infinity, it closes the last plateau at 0 V
        pts.append((e.composition[i] / n_host, e.energy / n_host, phase_name(e)))
    return sorted(pts)


def _mu0(cache: PhaseDiagramCache, host: str, ion: str) -> float:
    return cache.get([Element(host), Element(ion)]).el_refs[Element(ion)].energy_per_atom


def lithiation_voltage_profile(
    entries: Sequence[Entry], host: str = "Si", ion: str = "Li", *, cache: PhaseDiagramCache | None = None
) -> list[VoltagePlateau]:
    """Plateaus between neighbouring stable Li_x host phases, from the host (x = 0) upwards."""
    cache = cache or PhaseDiagramCache(entries)
    pts = _hull_points(cache, host, ion)
    mu0 = _mu0(cache, host, ion)
    out = []
    for (x1, e1, n1), (x2, e2, n2) in zip(pts, pts[1:]):
        v = -((e2 - e1) - (x2 - x1) * mu0) / (x2 - x1)
        out.append(VoltagePlateau(x_from=x1, x_to=x2, voltage_V=v, phase_from=n1, phase_to=n2))
    return out


def stability_voltage_range(
    entries: Sequence[Entry],
    phase: str,
    host: str = "Si",
    ion: str = "Li",
    *,
    cache: PhaseDiagramCache | None = None,
) -> tuple[float, float]:
    """(V_low, V_high) in V vs the ion metal over which ``phase`` is an equilibrium phase of the ion-host hull.

    The host itself is stable up to +inf; the most ion-rich phase down to 0 V; the ion metal gives
    (-inf, 0). A phase above the hull is stable at no voltage: ChemicalSystemError.
    """
    cache = cache or PhaseDiagramCache(entries)
    target = cache.phase(phase)
    h, i = Element(host), Element(ion)
    if not set(target.composition.elements) <= {h, i} or h not in target.composition.elements:
        if target.composition.elements == [i]:
            return (-math.inf, 0.0)
        raise ChemicalSystemError(
            f"phase {phase_name(target)!r} ({target.composition.reduced_formula}) is not a {ion}_x{host} phase"
        )
    pd = cache.get([h, i])
    if target not in pd.stable_entries:
        ehull = pd.get_e_above_hull(target)
        raise ChemicalSystemError(
            f"phase {phase_name(target)!r} is {ehull:.4f} eV/atom above the {ion}-{host} hull: "
            "it is not an equilibrium phase at any voltage"
        )
    x = target.composition[i] / target.composition[h]
    plateaus = lithiation_voltage_profile(entries, host, ion, cache=cache)
    v_high = next((p.voltage_V for p in plateaus if math.isclose(p.x_to, x, abs_tol=1e-9)), math.inf)
    v_low = next((p.voltage_V for p in plateaus if math.isclose(p.x_from, x, abs_tol=1e-9)), 0.0)
    return (v_low, v_high)


def li_potential_at(
    entries: Sequence[Entry],
    phase: str,
    host: str = "Si",
    ion: str = "Li",
    *,
    cache: PhaseDiagramCache | None = None,
) -> float:
    """Voltage (vs ion metal) that a Li_x host anode imposes: the LOWER bound of its stability range.

    Chosen over the midpoint because it is the most reducing potential at which the anode phase is still in
    equilibrium (worst case for the electrolyte) and it is defined for Si, whose range is open above.
    A phase above the hull gets the voltage of the two-phase plateau its composition lies on.
    The ion metal gives 0 V.
    """
    cache = cache or PhaseDiagramCache(entries)
    target = cache.phase(phase)
    h, i = Element(host), Element(ion)
    if target.composition.elements == [i]:
        return 0.0
    pd = cache.get([h, i])
    if set(target.composition.elements) <= {h, i} and h in target.composition and target not in pd.stable_entries:
        x = target.composition[i] / target.composition[h]
        plateaus = lithiation_voltage_profile(entries, host, ion, cache=cache)
        for p in plateaus:
            if p.x_from - 1e-9 <= x < p.x_to - 1e-9:
                # on a two-phase plateau, or at a stable composition (take that vertex's lower bound)
                return p.voltage_V
        return 0.0  # richer in the ion than every stable phase: in equilibrium with the ion metal
    return stability_voltage_range(entries, phase, host, ion, cache=cache)[0]
