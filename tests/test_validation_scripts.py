"""The validation scripts' own arithmetic (their comparisons are only as good as this)."""

from __future__ import annotations

import importlib.util

import pytest
from paths import VALIDATION


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, VALIDATION / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_average_voltage_integrates_the_staircase():
    lisi = _load("lisi_voltages")
    steps = [(0.0, 1.0, 0.4), (1.0, 3.0, 0.1)]
    assert lisi.average_voltage(steps, 1.0) == pytest.approx(0.4)
    assert lisi.average_voltage(steps, 3.0) == pytest.approx((0.4 + 0.2) / 3)
    with pytest.raises(ValueError, match="beyond"):
        lisi.average_voltage(steps, 3.5)
    # Wen & Huggins' own staircase: average to Li13Si4 from their four plateaus.
    ref = lisi.average_voltage(lisi.WEN_HUGGINS_1981, 13 / 4)
    assert ref == pytest.approx((12 / 7 * 0.332 + (7 / 3 - 12 / 7) * 0.288 + (13 / 4 - 7 / 3) * 0.158) / (13 / 4))


def test_zhu_comparison_flags_a_window_outside_tolerance_and_matches_products():
    zhu = _load("zhu2015_windows")
    summary = {
        "windows": {
            "Li6PS5Cl": {
                "reduction_V": 1.70,
                "oxidation_V": 2.60,
                "reduction_products": ["P", "Li2S", "LiCl"],
                "oxidation_products": ["Li3PS4", "LiCl", "S-mp-77"],
            }
        },
        "reductions_vs_li": {"Li6PS5Cl": {"E_eV_per_atom": -0.90, "products": ["Li3P", "Li2S", "LiCl"]}},
    }
    rows = {r["quantity"]: r for r in zhu.compare(summary, "mlip")}
    assert rows["reduction limit (V)"]["ok"] and rows["reduction limit (V)"]["products_match"]
    assert not rows["oxidation limit (V)"]["ok"]  # 2.60 vs 2.01: outside +-0.35 V
    assert rows["oxidation limit (V)"]["products_match"]  # polymorph suffixes are ignored
    assert rows["E_rxn vs Li at 0 V (eV/atom)"]["ok"]


def test_barrier_comparison_uses_tolerance_and_refuses_flagged_results():
    mig = _load("li_migration")
    ok = mig.compare("Si", "interstitial", 0.50)
    assert ok["ok"] and ok["difference_eV"] == pytest.approx(-0.08)
    assert not mig.compare("Si", "interstitial", 0.30)["ok"]  # 0.28 eV below 0.58: outside +-0.15
    assert not mig.compare("Li2PO2N", "vacancy", 0.42, flagged=True)["ok"]  # a flagged NEB never passes
    assert not mig.compare("Li2PO2N", "interstitial", None)["ok"]


def test_conduction_comparison_in_log_space():
    cond = _load("electrolyte_conduction")
    (row,) = cond.compare("Li6PS5Cl", 0.30, 5e-3)
    assert row["Ea_ok"] and row["sigma_ok"]  # 0.05 eV and log10(5e-3/1.33e-3) = 0.58 decades
    (row,) = cond.compare("Li6PS5Cl", 0.10, 5e-1)
    assert not row["Ea_ok"] and not row["sigma_ok"]
    tetra, cubic = cond.compare("Li7La3Zr2O12", 0.35, 1e-4)
    assert not tetra["sigma_ok"] and cubic["sigma_ok"]


def test_surface_energy_verdict_uses_the_tolerance_and_treats_a_reconstructed_reference_as_a_lower_bound():
    se = _load("surface_energies")
    like, lower = se.LIKE, se.LOWER
    assert se.verdict(2.0, 2.28, like, "mlip").startswith("PASS")  # -12 % inside +-30 %
    assert se.verdict(1.03, 2.28, like, "mlip").startswith("FAIL")  # -55 %
    assert se.verdict(2.0, 2.28, like, "dft").startswith("PASS") and se.verdict(1.9, 2.28, like, "dft")[:4] == "FAIL"
    # a 1x1 slab may lie above a reconstructed surface (never PASS: not like-for-like), not far below it
    assert se.verdict(1.5, 1.31, lower, "mlip").startswith("consistent")
    assert se.verdict(1.0, 1.31, lower, "mlip").startswith("consistent")  # -24 %, inside the MLIP band
    assert se.verdict(0.38, 1.31, lower, "mlip").startswith("FAIL")  # -71 %
    assert se.verdict(1.0, 1.31, lower, "dft").startswith("FAIL")  # -24 %, outside +-15 %
    assert se.verdict(0.3, None, None, "mlip") == "no published value"
    with pytest.raises(ValueError, match="unknown comparison"):
        se.verdict(1.0, 1.0, "roughly", "mlip")
    # the published numbers are the cited Si ones (eV/A^2 -> J/m^2, dyn/cm -> J/m^2); every other row: not found
    assert se.CASES["Si100"].published_J_m2 == pytest.approx(0.142 * 16.021766208)
    assert se.CASES["Si111"].published_J_m2 == pytest.approx(1.310) and se.CASES["Si111"].comparison == lower
    assert all(
        c.published_J_m2 is None and c.source.startswith("not found") for k, c in se.CASES.items() if k[:2] != "Si"
    )


def test_surface_energy_rescore_reapplies_references_without_touching_computed_numbers():
    se = _load("surface_energies")
    stored = {
        "calculator": "cp2k:basis=SZV-MOLOPT-SR-GTH",
        "tolerance": {"mlip": 0.5, "dft": 0.5},
        "surfaces": {
            "Si100": {"gamma_J_m2": 2.1, "verdict": "stale", "terminations": {"Si-terminated": {"gamma_J_m2": 2.1}}},
            "Li100": {"gamma_J_m2": 0.31, "published_J_m2": 9.9, "verdict": "stale"},
            "Si111": {"error": "RuntimeError: SCF did not converge"},
        },
    }
    out = se.rescore(stored)
    assert out["tolerance"] == se.TOLERANCE and out["w_ad_reference"].startswith("not found")
    si = out["surfaces"]["Si100"]
    assert si["gamma_J_m2"] == 2.1 and si["terminations"] == stored["surfaces"]["Si100"]["terminations"]
    assert si["verdict"].startswith("PASS") and "15%" in si["verdict"]  # -8 %: DFT tolerance, from the calculator
    assert si["published_J_m2"] == pytest.approx(2.275, abs=1e-3) and si["comparison"] == se.LIKE
    li = out["surfaces"]["Li100"]
    assert li["published_J_m2"] is None and li["verdict"] == "no published value"
    assert out["surfaces"]["Si111"] == {"error": "RuntimeError: SCF did not converge"}
    assert stored["surfaces"]["Si100"]["verdict"] == "stale"  # the input is not mutated


def test_argyrodite_cage_hops_count_held_moves_between_cages_only():
    """An inter-cage jump counts when the new cage is held; a flicker across a cage boundary does not."""
    import numpy as np

    arg = _load("argyrodite_disorder")
    lattice = np.eye(3) * 10.0
    centres = arg.CAGE_CENTRES @ lattice
    near = lambda k: centres[k] + [0.3, -0.2, 0.1]  # noqa: E731 - one Li near cage k
    # Li 0 moves from cage 0 to cage 3 at frame 10 and stays; Li 1 visits cage 1 for 2 frames only.
    frames = [[near(0) if f < 10 else near(3), near(2) if f not in (5, 6) else near(1)] for f in range(30)]
    jumps, cage = arg.cage_hops(np.array(frames), lattice, hold_frames=5)
    assert jumps == 1 and cage[0, 0] == 0 and cage[-1, 0] == 3 and cage[5, 1] == 1
    # two temperatures with 4 and 8 jumps at twice the rate: Ea = k ln 2 / (1/T1 - 1/T2), Poisson error
    points = [
        {"T_K": 700.0, "cage_hops": {"jumps": 4, "per_li_per_ps": 0.02}},
        {"T_K": 800.0, "cage_hops": {"jumps": 8, "per_li_per_ps": 0.04}},
    ]
    from pymatgen.core import Lattice, Structure

    cell = Structure(Lattice.cubic(9.86), ["Li", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    est = arg.cage_hop_estimate(points, cell, np.array(["Li", "S"]))
    k_b = 8.617333e-5
    assert est["Ea_eV"] == pytest.approx(k_b * np.log(2) / (1 / 700 - 1 / 800))
    assert est["Ea_err_eV"] == pytest.approx(k_b * np.sqrt(1 / 4 + 1 / 8) / (1 / 700 - 1 / 800))
    low, high = est["sigma_300K_interval_S_per_cm"]
    assert low < est["sigma_300K_S_per_cm"] < high
    assert arg.cage_hop_estimate(points[:1], cell, np.array(["Li", "S"]))["estimate"] is None
