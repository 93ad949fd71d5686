"""Library-wide checks: what every screen relies on, whatever card was added last."""

from __future__ import annotations

import numpy as np
import pytest

from interchem.structures.library import (
    ALIASES,
    DEFAULT_ELECTROLYTES,
    anode_series,
    canonical_name,
    card_phases_in,
    cards,
)


def test_every_element_of_the_library_has_an_elemental_reference():
    """A phase diagram needs each element's own phase; a missing one silently drops every phase
    containing that element from the hull (it once dropped Li6PS5Cl for want of Cl2)."""
    elements = {el.symbol for c in cards().values() for el in c.composition.elements}
    unary = {c.composition.elements[0].symbol for c in cards().values() if len(c.composition.elements) == 1}
    assert elements - unary == set()


def test_default_electrolytes_and_aliases_resolve():
    for name in DEFAULT_ELECTROLYTES:
        assert name in cards()
    for alias, name in ALIASES.items():
        assert canonical_name(alias.upper()) == name and name in cards()


def test_anode_series_runs_from_si_in_increasing_lithium():
    series = anode_series()
    assert series[0] == "Si"
    x = [cards()[n].composition["Li"] / cards()[n].composition["Si"] for n in series]
    assert x == sorted(x) and x[-1] >= 3.75  # reaches at least Li15Si4
    assert {"LiSi", "Li12Si7", "Li7Si3", "Li13Si4", "Li15Si4"} <= set(series)


def test_chemical_system_selection_is_by_subset():
    li_si = set(card_phases_in(["Li", "Si"]))
    assert li_si == set(anode_series()) | {"Li"}
    assert "Li2S" not in li_si and "Li2S" in card_phases_in(["Li", "S"])


def test_cl2_is_a_molecular_solid_with_the_chlorine_bond():
    s = cards()["Cl2"].build()
    d = s.distance_matrix
    np.fill_diagonal(d, np.inf)
    nearest = d.min(axis=1)
    assert np.allclose(nearest, 1.99, atol=0.02)  # Cl-Cl in Cl2: 1.988 A
    second = np.sort(d, axis=1)[:, 1]
    assert second.min() > 3.0  # molecules, not a network: intermolecular contacts ~3.3 A


@pytest.mark.parametrize("name", sorted(cards()))
def test_card_builds_ordered_with_its_formula_and_cites_a_source(name):
    card = cards()[name]
    s = card.build(primitive=True)
    assert s.is_ordered
    assert s.composition.reduced_formula == card.composition.reduced_formula
    assert len(card.source.citation) > 20
    assert s.properties["provenance"]["card"] == name
    if card.ordered_approximant:
        assert card.notes, f"{name}: an ordered approximant must say what was ordered"
