"""Li hop enumeration, NEB endpoints and percolation thresholds (hand-worked counts; fast, no calculator)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from interchem.errors import InterchemError
from interchem.structures.hops import (
    NoHopsError,
    NoMobileSpeciesError,
    build_neb_endpoints,
    enumerate_li_hops,
    find_interstitial_sites,
    percolation_threshold,
)
from interchem.structures.library import cards


@pytest.fixture(scope="module")
def bcc_li() -> Structure:
    s = Structure(Lattice.cubic(3.51), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    assert len(s) == 1
    return s


@pytest.fixture(scope="module")
def li2s() -> Structure:
    return cards()["Li2S"].build()


@pytest.fixture(scope="module")
def layered() -> Structure:
    """Li square nets (a = 3.0 A) stacked 5.0 A apart: below 5 A the Li only connect within planes."""
    return Structure(Lattice.tetragonal(3.0, 5.0), ["Li"], [[0, 0, 0]])


def with_barriers(hops, barriers):
    return [h.model_copy(update={"barrier_eV": b}) for h, b in zip(hops, barriers, strict=True)]


def test_bcc_li_nearest_neighbour_hop(bcc_li):
    hops = enumerate_li_hops(bcc_li, cutoff=3.1)
    assert len(hops) == 1
    (h,) = hops
    assert h.distance_A == pytest.approx(3.51 * np.sqrt(3) / 2, abs=1e-4)
    assert h.n_from_start == 8  # 8 nearest neighbours per atom
    assert h.multiplicity == 4  # each path shared by its two ends: 8 / 2 per one-atom cell
    assert h.start_wyckoff == h.end_wyckoff
    assert len(h.members) == h.multiplicity


def test_bcc_li_second_shell(bcc_li):
    hops = enumerate_li_hops(bcc_li, cutoff=3.6)
    assert [round(h.distance_A, 3) for h in hops] == [pytest.approx(3.040, abs=1e-3), pytest.approx(3.51, abs=1e-3)]
    assert [h.n_from_start for h in hops] == [8, 6]
    assert [h.multiplicity for h in hops] == [4, 3]


def test_li2s_simple_cubic_li_sublattice(li2s):
    one = enumerate_li_hops(li2s, cutoff=3.0)
    assert len(one) == 1
    assert one[0].distance_A == pytest.approx(5.708 / 2, abs=1e-3)
    assert one[0].n_from_start == 6
    n_li = sum(1 for site in li2s if site.specie.symbol == "Li")
    assert one[0].multiplicity == n_li * 6 // 2
    assert one[0].start_wyckoff == "8c" and one[0].end_wyckoff == "8c"

    two = enumerate_li_hops(li2s, cutoff=4.1)
    assert len(two) == 2
    assert two[1].distance_A == pytest.approx(5.708 / np.sqrt(2), abs=1e-3)  # face diagonal of the Li cube
    assert two[1].n_from_start == 12
    for h in two:
        assert li2s[h.start_index].specie.symbol == "Li" and li2s[h.end_index].specie.symbol == "Li"
        end = li2s[h.end_index].frac_coords + np.array(h.end_image)
        vector = li2s.lattice.get_cartesian_coords(end - li2s[h.start_index].frac_coords)
        assert np.linalg.norm(vector) == pytest.approx(h.distance_A, abs=1e-4)


def test_neb_endpoints_same_order_differ_at_hop(li2s):
    for hop in enumerate_li_hops(li2s, cutoff=4.1):
        initial, final = build_neb_endpoints(li2s, hop, supercell_min_length=8.0)
        assert len(initial) == len(final) == 8 * len(li2s) - 1  # 2x2x2 of the 5.708 A cell, one vacancy
        assert min(initial.lattice.abc) >= 8.0 and initial.lattice == final.lattice
        assert [s.species for s in initial] == [s.species for s in final]
        assert initial.composition == final.composition
        assert initial.composition["Li"] == li2s.composition["Li"] * 8 - 1
        k = initial.properties["neb_moving_index"]
        moved = np.linalg.norm(initial.cart_coords - final.cart_coords, axis=1)
        assert np.flatnonzero(moved > 1e-8).tolist() == [k]
        assert moved[k] == pytest.approx(hop.distance_A, abs=1e-4)  # unwrapped: the displacement is the hop
        # Initial has its vacancy at the start: the moving atom sits on the end site, and vice versa.
        for st, frac in ((initial, hop.end_frac), (final, hop.start_frac)):
            target = np.asarray(frac) / np.array(st.properties["supercell_scaling"])
            assert st.lattice.get_all_distances(target, st[k].frac_coords)[0, 0] < 1e-6


def test_neb_endpoints_respect_min_length(bcc_li):
    hop = enumerate_li_hops(bcc_li, cutoff=3.1)[0]
    initial, final = build_neb_endpoints(bcc_li, hop, supercell_min_length=10.0)
    assert min(initial.lattice.abc) >= 10.0 and min(final.lattice.abc) >= 10.0
    assert len(initial) == len(final)


def test_percolation_single_hop_3d(li2s):
    hops = with_barriers(enumerate_li_hops(li2s, cutoff=3.0), [0.3])
    assert percolation_threshold(hops, li2s) == {1: 0.3, 2: 0.3, 3: 0.3}


def test_percolation_layered(layered):
    in_plane = with_barriers(enumerate_li_hops(layered, cutoff=3.5), [0.2])
    assert len(in_plane) == 1
    assert percolation_threshold(in_plane, layered) == {1: 0.2, 2: 0.2, 3: None}

    hops = enumerate_li_hops(layered, cutoff=5.1)  # in-plane a, in-plane diagonal, interlayer c
    assert [round(h.distance_A, 3) for h in hops] == [3.0, 4.243, 5.0]
    hops = with_barriers(hops, [0.2, 0.5, 0.9])
    assert percolation_threshold(hops, layered) == {1: 0.2, 2: 0.2, 3: 0.9}
    # Hops without a barrier never open.
    partial = [hops[0], hops[2].model_copy(update={"barrier_eV": None})]
    assert percolation_threshold(partial, layered, dims=(3,)) == {3: None}


def test_percolation_isolated_pairs():
    # Li2 dimers 2.5 A long, 6 A apart: the dimer bond closes no cycle, so nothing percolates.
    s = Structure(Lattice.cubic(6.0), ["Li", "Li"], [[0, 0, 0], [2.5 / 6.0, 0, 0]])
    hops = with_barriers(enumerate_li_hops(s, cutoff=3.0), [0.1])
    assert percolation_threshold(hops, s) == {1: None, 2: None, 3: None}


def test_no_li_phase_raises():
    si = cards()["Si"].build()
    with pytest.raises(NoMobileSpeciesError, match="Si.*Li") as err:
        enumerate_li_hops(si)
    assert isinstance(err.value, InterchemError)


def test_cutoff_below_shortest_distance_raises(li2s):
    with pytest.raises(NoHopsError, match="2.854") as err:
        enumerate_li_hops(li2s, cutoff=2.0)
    assert isinstance(err.value, InterchemError)


def test_interstitial_octahedral_sites_li2s(li2s):
    sites = find_interstitial_sites(li2s)
    # The empty octahedral holes of antifluorite: the fcc set (1/2,1/2,1/2) + face centres, 4 per cell.
    expected = np.array([[0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    assert len(sites) == 4
    assert np.max(li2s.lattice.get_all_distances(sites, expected).min(axis=1)) < 1e-6
    hops = enumerate_li_hops(li2s, cutoff=4.1, mechanism="interstitial")
    assert len(hops) == 1
    assert hops[0].distance_A == pytest.approx(5.708 / np.sqrt(2), abs=1e-3)
    assert hops[0].n_from_start == 12 and hops[0].start_wyckoff == "4b"
    initial, final = build_neb_endpoints(li2s, hops[0])
    assert len(initial) == len(final) == 8 * len(li2s) + 1
    assert initial.composition == final.composition
