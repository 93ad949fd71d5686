"""Interface thermodynamics by hand: the screen's reaction at an interface cell's composition
(``reaction_at_mixing_ratio``) and surface energies of non-stoichiometric slabs against the Li chemical
potential (``surface_energy_vs_mu_li``), on numbers worked out here."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry

from interchem.analysis import reaction_at_mixing_ratio
from interchem.analysis.interfaces import EV_PER_A2_TO_J_PER_M2, li_excess, surface_energy_vs_mu_li


def _entry(formula: str, energy: float) -> ComputedEntry:
    return ComputedEntry(Composition(formula), energy, data={"phase": Composition(formula).reduced_formula})


def li_s() -> list[ComputedEntry]:
    # elements at 0 eV/atom, Li2S formed at -4.5 eV per formula unit (-1.5 eV/atom)
    return [_entry("Li", -2.0), _entry("S", -4.0), _entry("Li2S", 2 * -2.0 - 4.0 - 4.5)]


@pytest.mark.parametrize(
    "x, energy_meV, products",
    [
        (1 / 3, -750.0, ["Li2S", "S"]),  # halfway to the Li2S kink at x = 2/3
        (2 / 3, -1500.0, ["Li2S"]),  # on the kink: Li2S alone
        (5 / 6, -750.0, ["Li", "Li2S"]),  # Li-rich side
        (1.0, 0.0, []),  # pure anode: nothing reacts
    ],
)
def test_reaction_at_the_interface_composition(x, energy_meV, products):
    r = reaction_at_mixing_ratio(li_s(), "Li", "S", x)
    assert r["E_rxn_meV_per_atom"] == pytest.approx(energy_meV, abs=1e-6)
    assert r["products"] == products
    # the screen's own number rides along: the most negative point, at Li2S
    assert r["most_negative"]["x_anode"] == pytest.approx(2 / 3)
    assert r["most_negative"]["E_rxn_meV_per_atom"] == pytest.approx(-1500.0)


def test_reaction_at_mixing_ratio_refuses_a_fraction_outside_0_1():
    with pytest.raises(ValueError, match="atom fraction"):
        reaction_at_mixing_ratio(li_s(), "Li", "S", 1.2)


def test_surface_energy_vs_mu_li_by_hand():
    # Li2S bulk: -12.5 eV per formula unit. A slab of 4 Li2S + 2 extra Li (10 Li, 4 S), E = -52 eV, A = 20 A^2.
    e_fu, area = -12.5, 20.0
    slab = {"Li": 10.0, "S": 4.0}
    assert li_excess(slab, {"Li": 2.0, "S": 1.0}) == (4.0, 2.0)
    mus = [-2.0, -3.0]
    g = surface_energy_vs_mu_li(-52.0, slab, e_fu, {"Li": 2.0, "S": 1.0}, area, mus)
    # gamma = (E_slab - n E_fu - dN mu) / 2A = (-52 + 50 - 2 mu) / 40 eV/A^2
    for mu, value in zip(mus, g):
        assert value == pytest.approx((-52.0 + 50.0 - 2 * mu) / 40.0 * EV_PER_A2_TO_J_PER_M2)
    assert g[0] == pytest.approx(2.0 / 40.0 * EV_PER_A2_TO_J_PER_M2) and g[1] > g[0]  # Li-rich: costlier at lower mu
    # a Li-poor slab (3 Li, 2 S: one Li short of 2 Li2S) gets cheaper as mu_Li falls
    poor = surface_energy_vs_mu_li(-24.0, {"Li": 3.0, "S": 2.0}, e_fu, {"Li": 2.0, "S": 1.0}, area, mus)
    assert poor[1] < poor[0]
    # stoichiometric: one number whatever mu_Li
    stoich = surface_energy_vs_mu_li(-49.0, {"Li": 8.0, "S": 4.0}, e_fu, {"Li": 2.0, "S": 1.0}, area, mus)
    assert stoich[0] == pytest.approx(stoich[1]) == pytest.approx(1.0 / 40.0 * EV_PER_A2_TO_J_PER_M2)


def test_surface_energy_vs_mu_li_refuses_a_slab_that_is_not_bulk_plus_li():
    with pytest.raises(ValueError, match="not bulk"):
        surface_energy_vs_mu_li(-10.0, {"Li": 2.0, "S": 2.0, "P": 1.0}, -12.5, {"Li": 2.0, "S": 1.0}, 20.0, [0.0])


def test_md_report_sets_what_formed_against_the_screen():
    from interchem.reports.interfaces import screen_comparison

    predicted = reaction_at_mixing_ratio(li_s(), "Li", "S", 1 / 3)
    lines = " ".join(screen_comparison(predicted, {"Li2S-like": 2, "LiCl-like": 0}))
    assert "E_rxn -750 meV/atom -> Li2S, S" in lines and "most negative along the tie-line: -1500 meV/atom" in lines
    assert "predicted and forming in the run: Li2S" in lines and "not tracked by the environment analysis: S" in lines
    nothing = " ".join(screen_comparison(predicted, {"Li2S-like": 0}))
    assert "forming in the run: none; predicted, not (yet) seen: Li2S" in nothing
    # no stored screen: the reason is said, not hidden
    assert screen_comparison("not compared (no stored screen)", {}) == [
        "- thermodynamic screen: not compared (no stored screen)"
    ]
