"""evaluate_many: CHGNet's batched inference equals one-by-one ASE evaluation; every other calculator
falls back to one-by-one ASE; bad input fails before anything is evaluated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from ase.build import bulk
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from interchem.calculators import CalculatorSpec, ase_calculator, evaluate_many, get_backend
from interchem.calculators import registry as calculators
from interchem.errors import CalculatorSettingsError, UnsupportedElementsError
from interchem.structures.library import cards

SMALL_CELLS = ("Si", "Li2S", "LiCl", "Li2O", "Li3N", "Li")

# CHGNet runs in float32; batched and single-structure calls sum in different orders. Measured
# differences on these cells: <= 5e-7 eV/atom, 4e-6 eV/A, 2e-7 eV/A^3. Tolerances are float32-sized:
ENERGY_TOL = 1e-4  # eV/atom
FORCE_TOL = 5e-4  # eV/A
STRESS_TOL = 1e-5  # eV/A^3 (1.6 MPa)


@pytest.fixture(scope="module")
def small_cells() -> list[Structure]:
    """The six primitive library cells, cell strained ~1 % and atoms displaced 0.05 A (seeded), so that
    forces and stresses are not zero by symmetry."""
    rng = np.random.default_rng(7)
    out = []
    for name in SMALL_CELLS:
        s = cards()[name].build(primitive=True)
        lattice = s.lattice.matrix @ (np.eye(3) + rng.normal(scale=0.01, size=(3, 3)))
        coords = s.cart_coords + rng.normal(scale=0.05, size=(len(s), 3))
        out.append(Structure(lattice, s.species, coords, coords_are_cartesian=True))
    return out


def _direct_ase(spec, structure) -> tuple[float, np.ndarray, np.ndarray]:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = ase_calculator(spec)
    return float(atoms.get_potential_energy()), np.array(atoms.get_forces()), np.array(atoms.get_stress())


def test_chgnet_declares_batching_and_others_do_not():
    assert get_backend("chgnet").evaluate_batch is not None
    assert get_backend("mace").evaluate_batch is None
    assert get_backend("emt").evaluate_batch is None


@pytest.mark.parametrize("batch_size", [16, 4])
def test_chgnet_batched_equals_one_by_one_ase(small_cells, batch_size):
    spec = CalculatorSpec(name="chgnet")
    results = evaluate_many(small_cells, spec, batch_size=batch_size)
    assert len(results) == len(small_cells)
    for structure, result in zip(small_cells, results):
        n = len(structure)
        energy, forces, stress = _direct_ase(spec, structure)
        assert result["forces"].shape == (n, 3) and result["stress"].shape == (6,)
        assert result["energy_per_atom"] == pytest.approx(result["energy"] / n)
        assert abs(result["energy"] / n - energy / n) < ENERGY_TOL, structure.formula
        np.testing.assert_allclose(result["forces"], forces, atol=FORCE_TOL, rtol=0)
        np.testing.assert_allclose(result["stress"], stress, atol=STRESS_TOL, rtol=0)
    # The check is not vacuous: the perturbed cells carry real forces and stresses.
    assert max(np.abs(r["forces"]).max() for r in results) > 0.05
    assert max(np.abs(r["stress"]).max() for r in results) > 1e-3


def test_batched_calls_are_limited_in_atoms(small_cells, monkeypatch):
    """Chunks keep order, hold at most the atom limit (a larger structure alone), and the results are the
    same as in one call: memory, not numbers, is what the limit changes."""
    sizes = [len(s) for s in small_cells]
    chunks = calculators.atom_limited_chunks(small_cells, max(sizes) + 1)
    assert [s for c in chunks for s in c] == small_cells and len(chunks) > 1
    assert all(sum(len(s) for s in c) <= max(sizes) + 1 or len(c) == 1 for c in chunks)
    assert [len(c) for c in calculators.atom_limited_chunks(small_cells, 1)] == [1] * len(small_cells)
    spec = CalculatorSpec(name="chgnet")
    whole = evaluate_many(small_cells, spec)
    monkeypatch.setattr(calculators, "MAX_BATCH_ATOMS", max(sizes))
    for a, b in zip(whole, evaluate_many(small_cells, spec)):
        assert a["energy"] == pytest.approx(b["energy"], abs=1e-4)


def test_chgnet_batched_accepts_ase_atoms_and_single_structure(small_cells):
    spec = CalculatorSpec(name="chgnet")
    atoms = AseAtomsAdaptor.get_atoms(small_cells[1])
    [from_atoms] = evaluate_many([atoms], spec)
    [from_structure] = evaluate_many(small_cells[1:2], spec)
    assert from_atoms["energy"] == pytest.approx(from_structure["energy"], abs=1e-5)
    np.testing.assert_allclose(from_atoms["forces"], from_structure["forces"], atol=1e-5)


def test_fallback_with_tiny_mace_equals_direct_ase(small_cells, tiny_mace):
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    results = evaluate_many(small_cells, spec, batch_size=3)
    assert len(results) == len(small_cells)
    for structure, result in zip(small_cells, results):
        energy, forces, stress = _direct_ase(spec, structure)
        assert result["energy"] == pytest.approx(energy, abs=1e-10)
        np.testing.assert_allclose(result["forces"], forces, atol=1e-10, rtol=0)
        np.testing.assert_allclose(result["stress"], stress, atol=1e-10, rtol=0)


def test_empty_input_gives_empty_list():
    assert evaluate_many([], CalculatorSpec(name="chgnet")) == []
    assert evaluate_many([], "emt") == []


def test_unsupported_element_fails_before_any_batched_evaluation(small_cells, monkeypatch):
    calls = []
    backend = get_backend("chgnet")
    monkeypatch.setitem(
        calculators._REGISTRY, "chgnet", dataclasses.replace(backend, evaluate_batch=lambda *a: calls.append(a) or [])
    )
    helium = bulk("He", "fcc", a=4.2)  # CHGNet (MPtrj) has no noble gases He, Ne, Ar
    with pytest.raises(UnsupportedElementsError, match="He"):
        evaluate_many([*small_cells, helium], "chgnet")
    assert calls == []


def test_unsupported_element_fails_before_any_fallback_evaluation(small_cells, tiny_mace, monkeypatch):
    def no_calculator(*args, **kwargs):
        raise AssertionError("a calculator was requested before the element check")

    monkeypatch.setattr(calculators, "ase_calculator", no_calculator)
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    copper = bulk("Cu", "fcc", a=3.6)  # not among the tiny model's elements
    with pytest.raises(UnsupportedElementsError, match="Cu"):
        evaluate_many([small_cells[0], copper], spec)


def test_bad_batch_size_and_bad_items_are_refused(small_cells):
    with pytest.raises(CalculatorSettingsError):
        evaluate_many(small_cells, "chgnet", batch_size=0)
    with pytest.raises(TypeError):
        evaluate_many([small_cells[0], "Si"], "chgnet")
