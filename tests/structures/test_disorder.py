"""Ordered cells of partially occupied structures: supercell, Ewald ranking, random occupations, errors,
and the disordered argyrodite card."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Lattice, Structure

from interchem.errors import DisorderTooLargeError, StructureValidationError, UnknownPhaseError
from interchem.structures import disorder
from interchem.structures.disorder import ordered_candidates, ordering_supercell
from interchem.structures.library import resolve_phase


def tiny_disordered() -> Structure:
    """Antifluorite Li2S cell (12 sites) with Li at 3/4 and the anion site half S, half Cl: Li6S2Cl2 when
    ordered (charge-balanced), 28 x 6 = 168 configurations."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.7), ["S", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    s.replace_species({"S": {"S": 0.5, "Cl": 0.5}, "Li": {"Li": 0.75}})
    return s


def _ewald(structure: Structure) -> float:
    s = structure.copy()
    s.add_oxidation_state_by_element({"Li": 1, "S": -2, "Cl": -1, "P": 5})
    return EwaldSummation(s).total_energy


def test_candidates_realise_the_occupancies_and_are_ranked_by_their_own_ewald_energy():
    cands = ordered_candidates(tiny_disordered(), n=4)
    assert len(cands) == 4
    for c in cands:
        assert c.is_ordered and c.composition.as_dict() == {"Li": 6.0, "S": 2.0, "Cl": 2.0}
        assert c.properties["ordering"]["method"] == "ewald"
    energies = [c.properties["ordering"]["ewald_eV"] for c in cands]
    assert energies == sorted(energies)
    # The stated rank energy is the ordered cell's own Ewald energy (pymatgen's exhaustive path).
    assert [_ewald(c) for c in cands] == pytest.approx(energies, abs=1e-3)


def test_annealing_finds_the_exhaustive_ewald_minimum(monkeypatch):
    exhaustive = ordered_candidates(tiny_disordered(), n=1)[0]
    monkeypatch.setattr(disorder, "ENUMERATION_LIMIT", 0)  # force the annealer on the same problem
    annealed = ordered_candidates(tiny_disordered(), n=3, seed=3)
    assert annealed[0].properties["ordering"]["ewald_eV"] == pytest.approx(_ewald(exhaustive), abs=1e-3)
    # Its pairwise-matrix energy is the ordered cell's full Ewald energy (charged-cell term included alike).
    assert [_ewald(c) for c in annealed] == pytest.approx(
        [c.properties["ordering"]["ewald_eV"] for c in annealed], abs=1e-3
    )


def test_random_occupations_are_seeded():
    a = ordered_candidates(tiny_disordered(), n=3, method="random", seed=7)
    b = ordered_candidates(tiny_disordered(), n=3, method="random", seed=7)
    assert [c.frac_coords.tolist() for c in a] == [c.frac_coords.tolist() for c in b]
    assert all(c.properties["ordering"]["ewald_eV"] is None for c in a)


def test_supercell_is_the_smallest_with_whole_counts():
    s = Structure(Lattice.cubic(4.0), [{"Li": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert sorted(ordering_supercell(s)) == [1, 1, 2]
    cands = ordered_candidates(s, n=1, method="random")
    assert cands[0].composition.as_dict() == {"Li": 1.0, "Cl": 2.0}


def test_occupancy_needing_a_too_large_supercell_is_a_clear_error():
    s = Structure(Lattice.cubic(4.0), [{"Li": 1 / 7}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(DisorderTooLargeError, match=r"occupancy 0\.142857 of Li.*limit of 6 atoms"):
        ordered_candidates(s, n=1, method="random", max_atoms=6)
    assert len(ordered_candidates(s, n=1, method="random", max_atoms=8)[0]) == 8  # 7 cells: 1 Li, 7 Cl


def test_bad_requests_are_clear_errors():
    with pytest.raises(StructureValidationError, match="ordering method 'best'"):
        ordered_candidates(tiny_disordered(), method="best")
    ordered = Structure(Lattice.cubic(4.0), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(StructureValidationError, match="no partially occupied sites"):
        ordered_candidates(ordered)


def test_disordered_argyrodite_card_sets_the_anion_exchange():
    label, s = resolve_phase("Li6PS5Cl-disordered@0.25", allow_disordered=True)
    assert label == "Li6PS5Cl-disordered@0.25" and len(s) == 76 and not s.is_ordered
    mixed = sorted({site.species_string for site in s if len(site.species) == 2})
    assert mixed == ["S:0.25, Cl:0.75", "S:0.75, Cl:0.25"]
    assert sum(1 for site in s if site.species_string == "Li:0.5") == 48
    with pytest.raises(StructureValidationError, match="partially occupied"):
        resolve_phase("Li6PS5Cl-disordered")
    with pytest.raises(StructureValidationError, match="must be a number"):
        resolve_phase("Li6PS5Cl-disordered@half", allow_disordered=True)
    with pytest.raises(StructureValidationError, match=r"must lie in \[0, 1\]"):
        resolve_phase("Li6PS5Cl-disordered@1.5", allow_disordered=True)
    with pytest.raises(UnknownPhaseError):
        resolve_phase("Li6PS5Cl-disorderd")


def test_argyrodite_ordering_puts_one_li_on_each_48h_pair_and_swaps_one_anion_pair():
    _, s = resolve_phase("Li6PS5Cl-disordered@0.25", allow_disordered=True)
    (c,) = ordered_candidates(s, n=1, n_restarts=2)
    assert len(c) == 52 and c.composition.reduced_formula == "Li6PS5Cl"
    li = [i for i, site in enumerate(c) if site.specie.symbol == "Li"]
    d = c.distance_matrix[np.ix_(li, li)]
    np.fill_diagonal(d, np.inf)
    assert d.min() > 2.2  # never both halves of a 48h pair (1.96 A apart): the Ewald ranking avoids them
    s_on_4a = [site for site in c if site.specie.symbol == "S" and np.allclose(site.frac_coords % 0.5, 0, atol=1e-3)]
    assert len(s_on_4a) == 1  # x = 0.25 of 4 Cl: one S2- on the Cl site (and one Cl on 4d)


def test_partially_occupied_user_cif_is_read_for_ordering(tmp_path):
    path = tmp_path / "mixed.cif"
    tiny_disordered().to(filename=str(path))
    label, s = resolve_phase(str(path), allow_disordered=True)
    assert label == "mixed" and not s.is_ordered
    assert ordered_candidates(s, n=1)[0].is_ordered
    with pytest.raises(StructureValidationError, match="partially occupied"):
        resolve_phase(str(path))
