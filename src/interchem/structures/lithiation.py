"""The crystalline Li_xSi series from the card library and its volume line (amorphous targets at any x:
``interchem.structures.amorphous.amorphous_series_targets``).

Crystalline volumes per Si straight from the cards are *experimental* crystal structures (each card
cites its diffraction source), which makes them the published reference for the volume expansion of
lithiation: Si 20.0, LiSi 31.4, Li12Si7 43.5, Li7Si3 49.8, Li13Si4 67.3, Li15Si4 76.2 A^3 per Si,
i.e. Li15Si4 is 281 % larger per Si than Si (Obrovac & Christensen, Electrochem. Solid-State Lett.
7, A93 (2004), report 280 % for the Li15Si4 that forms on lithiation at room temperature).
"""

from __future__ import annotations

from functools import lru_cache

from pymatgen.core import Structure

from interchem.analysis.structure import li_per_host, linear_fit, volume_per_host


def crystalline_series() -> list[tuple[str, float, Structure]]:
    """(phase, x = Li per Si, structure) for every Li_xSi card, ordered by x, Si first."""
    from interchem.structures.library import anode_series, resolve_phase

    out = []
    for name in anode_series():
        _, structure = resolve_phase(name)
        out.append((name, li_per_host(structure.composition), structure))
    return out


@lru_cache(maxsize=1)
def crystalline_volume_line() -> tuple[float, float]:
    """(intercept, slope) of volume per Si (A^3) against x through the crystalline cards."""
    series = crystalline_series()
    return linear_fit([x for _, x, _ in series], [volume_per_host(s) for _, _, s in series])
