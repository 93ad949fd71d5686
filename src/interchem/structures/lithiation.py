"""The Li_xSi series: crystalline phases from the card library and amorphous targets at any x.

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
from interchem.errors import TooFewAtomsError
from interchem.structures.amorphous import AmorphousTarget, amorphous_target


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


def amorphous_series_targets(xs: list[float], n_si: int = 16, **kwargs) -> list[AmorphousTarget]:
    """Amorphous Li_xSi targets with ``n_si`` Si atoms each (so every x is an integer cell of
    round(x n_si) Li + n_si Si; the composition error is reported by each target)."""
    targets = []
    for x in xs:
        if x < 0:
            raise TooFewAtomsError(f"x = {x} Li per Si is negative")
        if x == 0:
            targets.append(amorphous_target("a-Si", n_atoms=n_si, **kwargs))
            continue
        n_li = round(x * n_si)
        if n_li == 0:
            raise TooFewAtomsError(f"x = {x} needs more than {n_si} Si atoms (it rounds to no Li)")
        targets.append(amorphous_target(f"Li{x:.6g}Si", n_atoms=n_li + n_si, **kwargs))
    return targets
