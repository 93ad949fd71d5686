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


def test_surface_energy_verdict_uses_the_tolerance_and_says_when_not_comparable():
    se = _load("surface_energies")
    assert se.verdict(2.0, 2.28, True, "mlip").startswith("PASS")  # -12 % inside +-30 %
    assert se.verdict(1.03, 2.28, True, "mlip").startswith("FAIL")  # -55 %
    assert se.verdict(2.0, 2.28, True, "dft").startswith("PASS") and se.verdict(1.9, 2.28, True, "dft")[:4] == "FAIL"
    assert "not like-for-like" in se.verdict(0.38, 1.46, False, "mlip")
    assert se.verdict(0.3, None, False, "mlip") == "no published value"
    # the only published numbers are the cited Si ones (eV/A^2 -> J/m^2); every other row says not found
    assert se.CASES["Si100"][2] == pytest.approx(0.142 * 16.021766208)
    assert all(c[2] is None and c[4].startswith("not found") for k, c in se.CASES.items() if not k.startswith("Si"))
