"""Interfaces (issue 3, item 2): lattice match, stoichiometry of both partners, no overlaps, the stated
strain, limits, de-duplication, periodic/vacuum models, gap handling, amorphous block cutting, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from paths import FIXTURES
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Composition, Lattice, Structure

from interchem.errors import AmorphousBlockError, NoInterfaceMatchError
from interchem.structures.amorphous import cut_amorphous_block
from interchem.structures.cards import check_structure
from interchem.structures.interfaces import (
    InterfaceBuilder,
    InterfaceLimits,
    amorphous_interface,
    set_gap,
    side_composition,
    split_interface,
)
from interchem.structures.library import resolve_phase

CASES = {
    "Si|Li2S": ("Si", (1, 0, 0), "Li2S", (1, 0, 0), InterfaceLimits(max_area=160, max_strain=0.05, max_atoms=200)),
    "Si|LiCl": ("Si", (1, 1, 1), "LiCl", (1, 0, 0), InterfaceLimits(max_area=200, max_strain=0.05, max_atoms=200)),
    "Li15Si4|Li6PS5Cl": (
        "Li15Si4",
        (1, 0, 0),
        "Li6PS5Cl",
        (1, 0, 0),
        InterfaceLimits(max_area=250, max_strain=0.05, max_atoms=220),
    ),
}
_BUILT: dict = {}


def built(case: str, model: str = "vacuum"):
    key = (case, model)
    if key not in _BUILT:
        a, ma, e, me, lim = CASES[case]
        b = InterfaceBuilder(
            resolve_phase(a)[1],
            resolve_phase(e)[1],
            ma,
            me,
            limits=lim,
            anode_thickness_A=4.0,
            electrolyte_thickness_A=4.0,
            model=model,
        )
        _BUILT[key] = (b, b.build())
    return _BUILT[key]


def _in_plane(s: Structure) -> np.ndarray:
    return s.lattice.matrix[:2]


@pytest.mark.parametrize("case", list(CASES))
def test_every_interface_is_whole_partners_without_overlap(case):
    builder, cands = built(case)
    assert cands
    a_bulk, e_bulk = builder.anode, builder.electrolyte
    lim = builder.limits
    for c in cands:
        s = c.structure
        check_structure(s, label=c.label())  # no atoms closer than 0.9 A
        dm = s.distance_matrix
        np.fill_diagonal(dm, np.inf)
        assert dm.min() > 1.5
        # each side is a whole number of bulk formula units of its partner
        for side, bulk in (("anode", a_bulk), ("electrolyte", e_bulk)):
            comp = side_composition(s, side)
            assert comp.reduced_composition == bulk.composition.reduced_composition
            units = comp.num_atoms / bulk.composition.reduced_composition.num_atoms
            assert units == pytest.approx(round(units))
        assert c.n_atoms == len(s) <= lim.max_atoms
        assert c.area_A2 <= lim.max_area + 1e-6
        assert c.max_abs_strain <= lim.max_strain + 1e-9
        # the anode is on the bottom, the electrolyte above, separated by the stated gap
        n = np.cross(*_in_plane(s))
        n /= np.linalg.norm(n)
        z = s.cart_coords @ n
        side = np.array(s.site_properties["interface_side"])
        assert z[side == "electrolyte"].min() - z[side == "anode"].max() == pytest.approx(c.gap_A, abs=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_stated_strain_is_the_strain_applied(case):
    """Recompute the electrolyte's strain from the interface cell and the unstrained electrolyte
    supercell vectors, independently of the builder: lengths and angle of the two vector pairs."""
    _, cands = built(case)
    for c in cands:
        f = np.array(c.film_supercell_vectors)
        s = _in_plane(c.structure)
        # length strains of the two matched vectors are bounded by the principal strains
        length = np.linalg.norm(s, axis=1) / np.linalg.norm(f, axis=1) - 1
        assert np.all(np.abs(length) <= c.max_abs_strain + 1e-9)
        # principal stretches from the metric tensors (Cauchy-Green: C = F^T F in the film basis)
        gf, gs = f @ f.T, s @ s.T
        eig = np.sqrt(np.sort(np.linalg.eigvals(np.linalg.solve(gf, gs)).real)) - 1
        assert max(abs(eig)) == pytest.approx(c.max_abs_strain, abs=1e-6)
        assert min(abs(c.strain - x) for x in eig) < 1e-6  # the signed value reported is a principal strain
        # and the atoms follow: electrolyte area per formula unit scaled by det(F)
        area_ratio = np.linalg.norm(np.cross(*s)) / np.linalg.norm(np.cross(*f))
        assert area_ratio == pytest.approx((1 + eig[0]) * (1 + eig[1]), rel=1e-6)


def test_candidates_are_distinct_and_ranked():
    _, cands = built("Si|Li2S")
    matcher = StructureMatcher(
        ltol=0.1, stol=0.2, angle_tol=3, primitive_cell=False, scale=False, attempt_supercell=False
    )
    for i, a in enumerate(cands):
        for b in cands[i + 1 :]:
            if (
                a.n_atoms == b.n_atoms
                and a.anode_termination == b.anode_termination
                and a.electrolyte_termination == b.electrolyte_termination
            ):
                assert not matcher.fit(a.structure, b.structure)
    keys = [(int(c.max_abs_strain * 100), c.area_A2) for c in cands]
    assert keys == sorted(keys)
    assert [c.rank for c in cands] == list(range(len(cands)))
    # both Li2S(100) faces (Li2 and S) are offered against Si(100)
    assert {c.electrolyte_termination for c in cands} >= {"S-terminated", "Li2-terminated"}


def test_periodic_model_has_two_interfaces_and_no_vacuum():
    _, vac = built("Si|LiCl")
    _, per = built("Si|LiCl", "periodic")
    assert per[0].n_interfaces == 2 and vac[0].n_interfaces == 1
    s = per[0].structure
    n = np.cross(*_in_plane(s))
    n /= np.linalg.norm(n)
    c_perp = s.lattice.matrix[2] @ n
    z = s.cart_coords @ n
    side = np.array(s.site_properties["interface_side"])
    t_a = np.ptp(z[side == "anode"])
    t_e = np.ptp(z[side == "electrolyte"])
    assert c_perp == pytest.approx(t_a + t_e + 2 * per[0].gap_A, abs=1e-6)  # the second gap closes the cell
    # the vacuum model carries its vacuum
    sv = vac[0].structure
    assert sv.lattice.matrix[2] @ n - np.ptp(sv.cart_coords @ n) >= 12.0 - 1e-6


def test_set_gap_and_split_keep_the_partners():
    _, cands = built("Si|LiCl")
    c = cands[0]
    for gap in (1.8, 3.2):
        s = set_gap(c.structure, gap)
        n = np.cross(*_in_plane(s))
        n /= np.linalg.norm(n)
        z = s.cart_coords @ n
        side = np.array(s.site_properties["interface_side"])
        assert z[side == "electrolyte"].min() - z[side == "anode"].max() == pytest.approx(gap, abs=1e-6)
    a, e = split_interface(c.structure)
    assert a.composition == side_composition(c.structure, "anode")
    assert e.composition == side_composition(c.structure, "electrolyte")
    np.testing.assert_allclose(_in_plane(a), _in_plane(c.structure))


def test_impossible_match_raises_and_names_the_limits():
    """Si(100) (3.84 A square cell) against Li6PS5Cl(100) (6.97 A) does not match within 60 A^2 and 1 %."""
    si, arg = resolve_phase("Si")[1], resolve_phase("Li6PS5Cl")[1]
    b = InterfaceBuilder(si, arg, (1, 0, 0), (1, 0, 0), limits=InterfaceLimits(max_area=60, max_strain=0.01))
    with pytest.raises(NoInterfaceMatchError, match=r"max_area=60.*max_strain=0.010"):
        b.build()
    # a match that exists but is over the atom limit is reported as such
    b = InterfaceBuilder(
        si, resolve_phase("Li2S")[1], (1, 0, 0), (1, 0, 0), limits=InterfaceLimits(max_area=160, max_atoms=40)
    )
    with pytest.raises(NoInterfaceMatchError, match="over the atom limit"):
        b.build()


# --- amorphous partners ----------------------------------------------------------------------


def disordered_si(seed: int = 3, reps: int = 3) -> Structure:
    """A stand-in for a melt-quenched a-Si cell: a 3x3x3 conventional Si supercell (216 atoms,
    crystalline density 2.33 g/cm^3, a-Si is ~2.28), atoms displaced by 0.35 A at random and then
    shuffled in order. Kept at the crystal's density."""
    rng = np.random.default_rng(seed)
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.4307), ["Si"], [[0, 0, 0]])
    si.make_supercell([reps] * 3)
    cart = si.cart_coords + rng.normal(scale=0.35 / np.sqrt(3), size=(len(si), 3))
    order = rng.permutation(len(si))
    s = Structure(si.lattice, ["Si"] * len(si), cart[order], coords_are_cartesian=True)
    s.properties = {"phase": "a-Si"}
    return s


def test_amorphous_block_is_cut_to_the_crystal_cell():
    block = disordered_si()
    arg = resolve_phase("Li6PS5Cl")[1]
    cand = amorphous_interface(
        arg,
        (1, 0, 0),
        block,
        crystal_role="electrolyte",
        amorphous_thickness_A=8.0,
        crystal_thickness_A=5.0,
        supercell=(2, 2),
    )
    s = cand.structure
    check_structure(s)
    side = np.array(s.site_properties["interface_side"])
    anode = Structure.from_sites([s[i] for i in np.nonzero(side == "anode")[0]])
    assert anode.composition.reduced_formula == "Si"
    # the amorphous part takes the crystal's in-plane cell and keeps the block's density (within the seam loss)
    area = np.linalg.norm(np.cross(*_in_plane(s)))
    n_expected = area * 8.0 * len(block) / block.volume
    assert len(anode) == pytest.approx(n_expected, rel=0.08)
    assert side_composition(s, "electrolyte").reduced_composition == Composition("Li6PS5Cl")
    assert cand.max_abs_strain == 0.0 and cand.anode_termination == "amorphous"


def test_small_block_is_replicated_or_refused():
    block = disordered_si(reps=1)  # 5.43 A cube: smaller than a 2x2 argyrodite face (13.9 A)
    ab = np.array([[13.94, 0, 0], [0, 13.94, 0]])
    with pytest.raises(AmorphousBlockError, match="too small"):
        cut_amorphous_block(block, ab, 8.0, replicate=False)
    slab = cut_amorphous_block(block, ab, 8.0)
    assert slab.properties["replicas"][0] >= 3
    # density kept to within one atomic layer of the (still layered) stand-in block in an 8 A window
    assert len(slab) == pytest.approx(13.94**2 * 8.0 * len(block) / block.volume, rel=0.12)
    check_structure(slab)


def test_insane_amorphous_density_is_refused():
    block = disordered_si(reps=1)
    squeezed = Structure(Lattice(block.lattice.matrix * 0.45), block.species, block.frac_coords)
    with pytest.raises(AmorphousBlockError, match="not a sane solid density"):
        cut_amorphous_block(squeezed, [[8, 0, 0], [0, 8, 0]], 6.0)


# Recorded with the hand-written stacking, set_gap and split_interface that pymatgen's Interface replaced
# (interchem e4b5108): the same atoms, in the same order, in the same cell (lattice parameters: the new cell
# is pymatgen's frame, a rotation of the old one), the same gap, the same parts in the same order.
RECORDED = FIXTURES / "interfaces_before_pymatgen_interface.json"
RECORDED_CASES = {
    "Li(100)|LiCl(100)": (
        "Li",
        (1, 0, 0),
        "LiCl",
        (1, 0, 0),
        InterfaceLimits(max_area=120, max_strain=0.05, max_atoms=200),
    ),
    "Si(111)|Li2S(111)": (
        "Si",
        (1, 1, 1),
        "Li2S",
        (1, 1, 1),
        InterfaceLimits(max_area=200, max_strain=0.08, max_atoms=300),
    ),
}


def _assert_as_recorded(s: Structure, rec: dict) -> None:
    assert [x.specie.symbol for x in s] == rec["species"]
    assert s.site_properties.get("interface_side") == rec["side"]
    np.testing.assert_allclose(s.lattice.parameters, rec["lattice"], atol=1e-6)
    d = s.frac_coords % 1.0 - np.array(rec["frac"])
    d -= np.round(d)  # periodic images
    assert np.abs(d @ s.lattice.matrix).max() < 1e-6  # A


@pytest.mark.parametrize("model", ["vacuum", "periodic"])
@pytest.mark.parametrize("case", sorted(RECORDED_CASES))
def test_pymatgen_interface_gives_the_recorded_structures(case, model):
    rec = json.loads(RECORDED.read_text())[f"{case} {model}"]
    a, ma, e, me, lim = RECORDED_CASES[case]
    best = InterfaceBuilder(
        resolve_phase(a)[1],
        resolve_phase(e)[1],
        ma,
        me,
        limits=lim,
        anode_thickness_A=4.0,
        electrolyte_thickness_A=4.0,
        model=model,
        fixed_bottom_layers=1,
    ).build()[0]
    assert best.label() == rec["label"]
    _assert_as_recorded(best.structure, rec["built"])
    assert [bool(v[0]) for v in best.structure.site_properties["selective_dynamics"]] == rec["free"]
    gapped = set_gap(best.structure, 3.2)
    _assert_as_recorded(gapped, rec["gap_3.2"])
    side = np.array(gapped.site_properties["interface_side"]) == "anode"
    z = gapped.frac_coords[:, 2] * gapped.lattice.c
    assert z[~side].min() - z[side].max() == pytest.approx(3.2, abs=1e-6)
    anode_part, electrolyte_part = split_interface(best.structure)
    _assert_as_recorded(anode_part, rec["anode_part"])
    _assert_as_recorded(electrolyte_part, rec["electrolyte_part"])
