"""Amorphous phases: composition -> integer cell, density sanity, random packing, g(r) analysis,
the melt-quench flow (CHGNet a-Si physics check) and the `interchem amorphous` command."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
from paths import VALIDATION
from pymatgen.core import Composition, Lattice, Structure
from typer.testing import CliRunner

from interchem.analysis.structure import (
    density_bounds,
    density_g_cm3,
    first_peak_and_minimum,
    mean_coordination,
    partial_rdfs,
)
from interchem.errors import CompositionError, DensityError, PackingError, TooFewAtomsError
from interchem.structures.amorphous import (
    LIPON_COMPOSITION,
    amorphous_target,
    integer_cell,
    min_distance_for,
    parse_composition,
    random_packing,
)


def _load_validation(name: str):
    spec = importlib.util.spec_from_file_location(name, VALIDATION / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- composition and cell -------------------------------------------------------------------------


def test_lipon_default_composition_scales_to_an_integer_cell_with_small_error():
    t = amorphous_target("a-LiPON")
    assert t.n_atoms == sum(t.counts.values()) == 100
    requested = Composition(LIPON_COMPOSITION)
    for el, n in t.counts.items():
        exact = requested.get_atomic_fraction(el) * 100
        assert abs(n - exact) < 1.0  # largest-remainder rounding never misses by a whole atom
        assert t.composition_error_relative[el] == pytest.approx(n / exact - 1)
    assert t.composition_error < 0.01
    assert t.reference_density is not None and 2.0 < t.reference_density[0] < t.reference_density[1] < 3.0
    # A user composition of the same family gets the same recipe (start density, published range).
    u = amorphous_target("Li3.0PO2.9N0.5", n_atoms=74)
    assert u.start_density == t.start_density and u.reference_density == t.reference_density


def test_lithium_silicide_at_any_x_starts_on_the_crystalline_volume_line():
    t = amorphous_target("a-Li3.75Si", n_atoms=76)
    assert t.counts == {"Li": 60, "Si": 16} and t.x_li_per_si == pytest.approx(3.75)
    # Li15Si4's experimental structure lies close to the line through all crystalline cards.
    from interchem.structures.library import resolve_phase

    _, li15si4 = resolve_phase("Li15Si4")
    assert t.start_density == pytest.approx(density_g_cm3(li15si4), rel=0.05)
    assert amorphous_target("Li15Si4", n_atoms=76).counts == t.counts


@pytest.mark.parametrize(
    ("text", "error"),
    [("Xx2Si", CompositionError), ("Li-1Si", CompositionError), ("", CompositionError), ("Li2He", CompositionError)],
)
def test_impossible_compositions_are_refused(text, error):
    with pytest.raises(error):
        parse_composition(text)


def test_too_few_atoms_for_the_composition():
    with pytest.raises(TooFewAtomsError, match="N"):
        amorphous_target("a-LiPON", n_atoms=8)  # N rounds badly
    with pytest.raises(TooFewAtomsError, match="no atom"):
        integer_cell(Composition("Li2.9PO3.3N0.01"), 50)
    counts, err, rel = integer_cell(Composition("Li2.9PO3.3N0.46"), 20, max_relative_error=0.5)
    assert sum(counts.values()) == 20 and err > 0.005  # reported, not hidden


def test_density_far_from_sane_is_refused_with_the_window_named():
    lo, hi = density_bounds("Si")
    assert lo < 2.285 < hi  # a-Si's published density is inside
    for bad in (0.3 * 2.33, 12.0):
        with pytest.raises(DensityError, match="far from sane"):
            amorphous_target("a-Si", density=bad)
    assert amorphous_target("a-Si", density=2.2).start_density == 2.2


def test_every_card_crystal_lies_inside_the_density_window():
    """The sanity window is derived from the card library: no real crystal may fall outside it."""
    from interchem.structures.library import cards, resolve_phase

    for name in cards():
        _, s = resolve_phase(name)
        lo, hi = density_bounds(s.composition)
        assert lo <= density_g_cm3(s) <= hi, name


# --- random packing --------------------------------------------------------------------------------


def test_random_packing_is_seeded_dense_as_asked_and_respects_minimum_distances():
    t = amorphous_target("a-LiPON")
    a, b = random_packing(t, seed=3), random_packing(t, seed=3)
    assert np.allclose(a.frac_coords, b.frac_coords)
    assert not np.allclose(a.frac_coords, random_packing(t, seed=4).frac_coords)
    assert density_g_cm3(a) == pytest.approx(t.start_density, rel=1e-9)
    assert a.composition == Composition(t.counts)
    dm = a.distance_matrix + np.eye(len(a)) * 99
    species = [s.species_string for s in a]
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            assert dm[i, j] >= min_distance_for(species[i], species[j]) - 1e-9


def test_random_packing_that_cannot_fit_raises_before_anything_runs():
    t = amorphous_target("Cu", n_atoms=32, density=25.0)  # inside the window, but jams the packing
    with pytest.raises(PackingError, match="lower density"):
        random_packing(t, seed=0, max_attempts=2000)


# --- g(r) and coordination -------------------------------------------------------------------------


def test_rdf_of_crystalline_si_peaks_at_the_bond_length_with_fourfold_coordination():
    from interchem.structures.library import resolve_phase

    _, si = resolve_phase("Si")
    si = si * (2, 2, 2)
    rdf = partial_rdfs(si, r_max=5.0, dr=0.02)["Si-Si"]
    assert rdf.first_peak_A == pytest.approx(5.431 * np.sqrt(3) / 4, abs=0.03)
    assert rdf.coordination == pytest.approx(4.0)
    assert mean_coordination(si, "Si", "Si", 2.6) == pytest.approx(4.0)


def test_rdf_of_an_ideal_gas_tends_to_one():
    rng = np.random.default_rng(0)
    frames = [Structure(Lattice.cubic(14.0), ["Li"] * 150 + ["Si"] * 50, rng.random((200, 3))) for _ in range(20)]
    rdfs = partial_rdfs(frames, r_max=6.0, dr=0.2)
    for pair in ("Li-Li", "Li-Si", "Si-Si"):
        g = np.array(rdfs[pair].g)
        r = np.array(rdfs[pair].r)
        assert np.mean(g[r > 3.0]) == pytest.approx(1.0, abs=0.06), pair


def test_first_peak_and_minimum_on_a_synthetic_curve():
    r = np.linspace(0, 6, 301)
    g = 3 * np.exp(-((r - 2.4) ** 2) / 0.02) + (r > 2.0) * (1 - np.exp(-(r - 2.0)))
    peak, minimum = first_peak_and_minimum(r, g)
    assert peak == pytest.approx(2.4, abs=0.05)
    assert 2.5 < minimum < 3.2
    assert first_peak_and_minimum(r, np.zeros_like(r)) == (None, None)


# --- the melt-quench flow with a real potential ----------------------------------------------------


@pytest.fixture()
def md_env(isolated_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("INTERCHEM_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("INTERCHEM_TORCH_THREADS", "1")  # shared cores: 2 threads per process oversubscribe
    return isolated_settings


def test_cli_melt_quench_of_a_si_with_chgnet_gives_tetrahedral_glass_near_published_density(md_env, tmp_path):
    """Physics check (could fail): a short CHGNet melt-quench of 32 Si atoms must give a 4-fold
    coordinated network with the Si-Si bond near 2.35 A and a density within 6 % of Custer et al.'s
    2.285-2.290 g/cm3 (the NPT quench and cell relaxation set the density, not the start value)."""
    from interchem.cli import app

    out_dir, store = tmp_path / "out", tmp_path / "store"
    result = CliRunner().invoke(
        app,
        [
            "amorphous",
            "a-Si",
            "-n",
            "32",
            "-c",
            "chgnet",
            "--melt-steps",
            "300",
            "--quench-steps",
            "500",
            "--anneal-steps",
            "200",
            "-o",
            str(out_dir),
            "-s",
            str(store),
            "--create",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out_dir / "a-Si.json").read_text())
    assert doc["density_sane"]
    rdf = doc["rdf_0K"]["Si-Si"]
    assert rdf["first_peak_A"] == pytest.approx(2.36, abs=0.08)
    assert 3.6 <= rdf["coordination"] <= 4.6
    assert doc["density"] == pytest.approx(2.2875, rel=0.06)
    s = Structure.from_file(out_dir / "a-Si.cif")
    assert len(s) == 32 and density_g_cm3(s) == pytest.approx(doc["density"], rel=1e-3)
    assert (out_dir / "a-Si.extxyz").is_file() and (out_dir / "a-Si_rdf.png").stat().st_size > 1000
    report = (out_dir / "a-Si_report.md").read_text()
    assert "Custer" in report and "Si-Si" in report
    # The validation script reads the result and judges it with its own tolerance.
    val = _load_validation("amorphous_densities")
    row = val.compare(doc)
    assert row["published"] == [2.285, 2.29] and row["ok"] == (
        abs(row["deviation_percent"]) <= row["tolerance_percent"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a-Si", "--density", "12"], "far from sane"),
        (["Xx2Si"], "Xx is not a chemical element"),
        (["a-LiPON", "-n", "8"], "too few|badly"),
        (["a-Si", "-c", "emt"], "cannot treat"),
    ],
)
def test_cli_bad_input_fails_clearly_and_writes_nothing(md_env, tmp_path, args, message):
    import re

    from interchem.cli import app

    out_dir, store = tmp_path / "out", tmp_path / "store"
    result = CliRunner().invoke(app, ["amorphous", *args, "-o", str(out_dir), "-s", str(store), "--create"])
    assert result.exit_code == 3, result.output  # an input error
    assert re.search(message, result.output.replace("\n", " "))
    assert not out_dir.exists() and not store.exists()
    assert not (tmp_path / "ckpt").exists()


def test_validation_arithmetic_for_densities():
    val = _load_validation("amorphous_densities")
    doc = {"label": "a-Si", "density": 2.30, "reference_density": [2.285, 2.29], "level_of_theory": "x"}
    row = val.compare(doc)
    assert row["deviation_percent"] == pytest.approx(100 * (2.30 / 2.2875 - 1), abs=0.005)  # rounded to 0.01 %
    assert row["ok"]
    assert not val.compare({**doc, "density": 2.0})["ok"]
    assert os.path.basename(val.__file__) == "amorphous_densities.py"
