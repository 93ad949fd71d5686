"""Finite-temperature screen: F_vib(T) added to the hull behaves as thermodynamics says it must."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry

from interchem.analysis.thermal import ThermalCorrectionError, add_vibrational_free_energy, screen_at_temperature

MU = {"Li": -2.0, "P": -5.0, "S": -4.0}


def _entry(formula: str, dh: float, phase: str | None = None) -> ComputedEntry:
    comp = Composition(formula)
    e = dh + sum(MU[str(el)] * n for el, n in comp.items())
    return ComputedEntry(comp, e, data={"phase": phase or comp.reduced_formula})


def _li_p_s() -> list[ComputedEntry]:
    return [
        _entry("Li", 0.0),
        _entry("P", 0.0),
        _entry("S", 0.0),
        _entry("Li2S", -4.5),
        _entry("Li3P", -3.0),
        _entry("Li3PS4", -9.0, phase="LPS"),
    ]


def test_same_f_vib_per_atom_everywhere_changes_nothing():
    """A constant per-atom shift cancels in every formation energy: windows stay put."""
    ents = _li_p_s()
    fvib = {entry.data["phase"]: -0.05 for entry in ents}
    th = screen_at_temperature(ents, fvib, 333.0, anodes=[], electrolytes=["LPS"])
    (w,) = th.windows
    assert w.reduction_V_T == pytest.approx(w.reduction_V_0K, abs=1e-9)
    assert w.oxidation_V_T == pytest.approx(w.oxidation_V_0K, abs=1e-9)


def test_f_vib_of_li_metal_alone_shifts_the_reduction_limit_by_it():
    """Raising mu_Li(metal) by delta makes every Li-uptake reaction delta/e more favourable vs Li/Li+:
    the reduction limit moves up by exactly delta volts, the products stay the same."""
    ents = _li_p_s()
    delta = 0.04
    fvib = {entry.data["phase"]: 0.0 for entry in ents}
    fvib["Li"] = delta
    th = screen_at_temperature(ents, fvib, 353.0, anodes=[], electrolytes=["LPS"])
    (w,) = th.windows
    assert w.reduction_V_T - w.reduction_V_0K == pytest.approx(delta, abs=1e-6)
    assert w.products_T["reduction"] == w.products_0K["reduction"]
    # Reduction by Li metal: more exothermic by delta per Li taken up, shown next to the 0 K value.
    red = th.reductions_vs_li_eV_per_atom["LPS"]
    assert red["T"] < red["0K"]


def test_adjustment_is_named_and_missing_phases_are_refused():
    ents = _li_p_s()
    fvib = {entry.data["phase"]: 0.01 for entry in ents}
    hot = add_vibrational_free_energy(ents, fvib, 300.0)
    li2s = next(e for e in hot if e.data["phase"] == "Li2S")
    assert li2s.energy == pytest.approx(-4.5 + 2 * -2.0 - 4.0 + 3 * 0.01)
    assert any("vibrational free energy (300 K)" in adj.name for adj in li2s.energy_adjustments)
    assert ents[3].energy == pytest.approx(-4.5 - 4.0 - 4.0)  # the inputs are not modified
    del fvib["S"]
    with pytest.raises(ThermalCorrectionError, match="'S'"):
        add_vibrational_free_energy(ents, fvib, 300.0)


def test_thermal_screen_end_to_end_with_reuse(isolated_settings, tiny_mace):
    """Stored screen -> phonons of every phase -> windows at T next to 0 K; the second call reuses
    every phonon run from the store. Tiny MACE: plumbing only (its F_vib means nothing)."""
    from interchem.calculators import CalculatorSpec
    from interchem.runner import plan_screen, run_screen, run_thermal_screen

    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    settings = isolated_settings.model_copy(update={"relax_steps": 10})
    plan = plan_screen(["LiCl"], ["Li"], spec, settings=settings)  # Li, LiCl, Cl2: three small cells
    run_screen(plan, settings=settings)
    events: list[tuple[str, str]] = []
    thermal, summaries = run_thermal_screen(
        333.0, settings, spec, min_length=5.0, progress=lambda k, n: events.append((k, n))
    )
    assert set(summaries) == set(plan.phases)
    assert set(thermal.f_vib_per_atom_eV) == set(plan.phases)
    (w,) = thermal.windows
    assert w.electrolyte == "LiCl" and w.reduction_V_T is not None
    assert not any(kind == "reused" for kind, _ in events)
    again_events: list[tuple[str, str]] = []
    again, _ = run_thermal_screen(
        333.0, settings, spec, min_length=5.0, progress=lambda k, n: again_events.append((k, n))
    )
    assert sum(kind == "reused" for kind, _ in again_events) == len(plan.phases)
    assert again.windows[0].reduction_V_T == pytest.approx(w.reduction_V_T)
