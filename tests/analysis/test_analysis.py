"""Unit tests of interchem.analysis on toy systems worked out by hand, plus checks on MP reference data.

Toy system (energies in eV; elemental references Li -2, Si -5, P -5, S -4 eV/atom so that a wrong
reference shows up as a wrong number):
  Li-Si: LiSi and Li3Si built from chosen plateaus, Si->LiSi at 0.5 V and LiSi->Li3Si at 0.2 V:
         E(LiSi) = -5 + 1*(-2 - 0.5) = -7.5 per Si; E(Li3Si) = -7.5 + 2*(-2 - 0.2) = -11.9 per Si.
         Li2Si at -9.6 (3 atoms) lies 0.1 eV above the LiSi-Li3Si line: 0.1/3 eV/atom above hull.
  Li-P-S: formation energies per f.u. Li2S -4.5, Li3P -3.0, Li3PS4 ("LPS") -9.0 (8 atoms).
    LPS + 5 Li -> 4 Li2S + P   dE = -18 + 9 = -9   -> 1.8 V
    P + 3 Li -> Li3P           dE = -3             -> 1.0 V
    LPS -> 3 Li + P + 4 S      dE = +9             -> 3.0 V
  so the LPS window is 1.8-3.0 V, reduced to Li2S + P, oxidised to P + S.
"""

from __future__ import annotations

import json
import math
import warnings

import pytest
from paths import REFERENCE
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry

from interchem.analysis import (
    ZHU_HULL_OFFSET_EV_PER_ATOM,
    ScreenAnalysis,
    build_phase_diagram,
    energies_above_hull,
    find_entry,
    hull_table,
    interface_reaction,
    li_potential_at,
    lithiation_reaction_map,
    lithiation_voltage_profile,
    reaction_energy_vs_li,
    screen_analysis,
    shares_tie_line,
    stability_voltage_range,
    stability_window,
)
from interchem.errors import ChemicalSystemError, UnknownPhaseError

MP_SUBSET = REFERENCE / "energies" / "mp_computed_entries_subset_from_pymatgen_calc_compounds.json"

MU = {"Li": -2.0, "Si": -5.0, "P": -5.0, "S": -4.0}


def entry(formula: str, energy: float, phase: str | None = None) -> ComputedEntry:
    return ComputedEntry(Composition(formula), energy, data={"phase": phase or Composition(formula).reduced_formula})


def from_formation(formula: str, dh: float, phase: str | None = None) -> ComputedEntry:
    comp = Composition(formula)
    return entry(formula, dh + sum(MU[str(el)] * n for el, n in comp.items()), phase)


def elements(*els: str) -> list[ComputedEntry]:
    return [entry(el, MU[el]) for el in els]


def li_si() -> list[ComputedEntry]:
    return [
        *elements("Li", "Si"),
        entry("LiSi", -7.5),
        entry("Li3Si", -11.9),
        entry("Li2Si", -9.6),
    ]


def li_p_s(lps_dh: float = -9.0) -> list[ComputedEntry]:
    return [
        *elements("Li", "P", "S"),
        from_formation("Li2S", -4.5),
        from_formation("Li3P", -3.0),
        from_formation("Li3PS4", lps_dh, phase="LPS"),
    ]


def toy() -> list[ComputedEntry]:
    return li_si() + [e for e in li_p_s() if e.data["phase"] != "Li"]


# ---------------------------------------------------------------- hull


def test_hull_energies_formation_and_decomposition():
    ents = toy()
    ehull = energies_above_hull(ents)
    assert ehull["Li2Si"] == pytest.approx(0.1 / 3, abs=1e-9)
    assert ehull["LPS"] == pytest.approx(0.0, abs=1e-9)
    assert ehull["LiSi"] == pytest.approx(0.0, abs=1e-9)

    rows = {r.phase: r for r in hull_table(ents)}
    assert rows["LPS"].formation_energy_eV_per_atom == pytest.approx(-9.0 / 8, abs=1e-9)
    assert rows["LPS"].stable and rows["LPS"].decomposition == []
    assert not rows["Li2Si"].stable
    assert rows["Li2Si"].decomposition == ["Li3Si", "LiSi"]
    assert rows["Li2Si"].chemsys == "Li-Si"
    json.dumps([r.model_dump(mode="json") for r in rows.values()])


def test_duplicate_names_keep_lowest_energy():
    ents = li_p_s() + [from_formation("Li2S", -4.0)]  # a worse Li2S entry with the same name
    assert energies_above_hull(ents)["Li2S"] == pytest.approx(0.0, abs=1e-9)
    assert find_entry(ents, "Li2S").energy_per_atom == pytest.approx((-4.5 - 4 - 4) / 3)


def test_find_entry_by_name_then_formula_then_error():
    ents = toy()
    assert find_entry(ents, "LPS").composition.reduced_formula == "Li3PS4"
    assert find_entry(ents, "Li3PS4").data["phase"] == "LPS"  # formula fallback
    assert find_entry(ents, "SiLi").data["phase"] == "LiSi"  # any spelling of the formula
    with pytest.raises(UnknownPhaseError, match="Li6PS5Cl"):
        find_entry(ents, "Li6PS5Cl")
    with pytest.raises(UnknownPhaseError):
        find_entry(ents, "not a formula!")


def test_bad_inputs_raise_project_errors():
    with pytest.raises(ChemicalSystemError, match="no entries"):
        energies_above_hull([])
    with pytest.raises(ChemicalSystemError, match="no entries"):
        screen_analysis([], ["Si"], ["LPS"])
    no_s = [e for e in toy() if e.data["phase"] != "S"]
    with pytest.raises(ChemicalSystemError, match=r"reference.*\bS\b"):
        build_phase_diagram(no_s)
    with pytest.raises(ChemicalSystemError, match=r"\bS\b"):
        stability_window(no_s, "LPS")
    with pytest.raises(ChemicalSystemError, match="Cl"):
        build_phase_diagram(toy(), elements=["Li", "Cl"])
    with pytest.raises(UnknownPhaseError):
        stability_window(toy(), "Li6PS5Cl")


# ---------------------------------------------------------------- voltages


def test_lithiation_voltage_profile_matches_chosen_plateaus():
    plateaus = lithiation_voltage_profile(toy())
    assert [(p.phase_from, p.phase_to) for p in plateaus] == [("Si", "LiSi"), ("LiSi", "Li3Si")]
    assert [(p.x_from, p.x_to) for p in plateaus] == [(0.0, 1.0), (1.0, 3.0)]
    assert [p.voltage_V for p in plateaus] == pytest.approx([0.5, 0.2], abs=1e-9)


def test_stability_voltage_ranges_and_anode_potential():
    ents = toy()
    assert stability_voltage_range(ents, "LiSi") == pytest.approx((0.2, 0.5), abs=1e-9)
    assert stability_voltage_range(ents, "Li3Si") == pytest.approx((0.0, 0.2), abs=1e-9)
    low, high = stability_voltage_range(ents, "Si")
    assert low == pytest.approx(0.5) and math.isinf(high)
    with pytest.raises(ChemicalSystemError, match="above"):
        stability_voltage_range(ents, "Li2Si")
    # lower bound of the range; the unstable Li2Si sits on the LiSi-Li3Si plateau
    assert li_potential_at(ents, "LiSi") == pytest.approx(0.2)
    assert li_potential_at(ents, "Li2Si") == pytest.approx(0.2)
    assert li_potential_at(ents, "Li") == 0.0


# ---------------------------------------------------------------- windows


def test_window_of_stable_electrolyte_by_hand():
    w = stability_window(toy(), "LPS")
    assert w.energy_shift_eV_per_atom == 0.0 and w.e_above_hull_eV_per_atom == pytest.approx(0.0, abs=1e-9)
    assert w.reduction_V == pytest.approx(1.8, abs=1e-9)
    assert w.oxidation_V == pytest.approx(3.0, abs=1e-9)
    assert w.reduction_products == ["Li2S", "P"]
    assert w.oxidation_products == ["P", "S"]
    # the reactions that set each edge: LPS + 5 Li -> 4 Li2S + P (1.8 V), LPS -> 3 Li + P + 4 S (3.0 V)
    assert w.reduction_reaction == "Li3PS4 + 5 Li -> P + 4 Li2S"
    assert w.oxidation_reaction == "Li3PS4 -> 4 S + P + 3 Li"
    # staircase from Li metal upwards: reduced (uptake > 0) at low V, oxidised (release) at high V
    steps = [(s.voltage_from_V, s.voltage_to_V, s.li_per_fu, s.products) for s in w.staircase]
    assert [s[2] for s in steps] == pytest.approx([8.0, 5.0, 0.0, -3.0], abs=1e-9)
    assert [s[0] for s in steps] == pytest.approx([0.0, 1.0, 1.8, 3.0], abs=1e-9)
    assert steps[0][3] == ["Li2S", "Li3P"] and steps[-1][1] is None
    json.dumps(w.model_dump(mode="json"))


def test_window_zhu_shift_for_electrolyte_above_hull():
    # LPS at dH = -6.5 eV/f.u. is above 1.5 Li2S + P + 2.5 S (-6.75) by 0.25/8 eV/atom.
    ents = li_p_s(lps_dh=-6.5)
    w = stability_window(ents, "LPS")
    assert w.e_above_hull_eV_per_atom == pytest.approx(0.25 / 8, abs=1e-9)
    assert w.energy_shift_eV_per_atom == pytest.approx(-(0.25 / 8 + ZHU_HULL_OFFSET_EV_PER_ATOM), abs=1e-12)
    # shifted dH = -6.75 - 8e-4: reduction by 5 Li to 4 Li2S + P, oxidation releasing 3 Li
    dh = -6.75 - 8 * ZHU_HULL_OFFSET_EV_PER_ATOM
    assert w.reduction_V == pytest.approx((18 + dh) / 5, abs=1e-9)
    assert w.oxidation_V == pytest.approx(-dh / 3, abs=1e-9)
    assert w.oxidation_V - w.reduction_V < 1e-3  # a metastable electrolyte has (almost) no window
    assert w.reduction_products == ["Li2S", "P"]
    assert w.oxidation_products == ["P", "S"]
    # the caller's entry is untouched
    assert find_entry(ents, "LPS").energy == pytest.approx(-6.5 + 3 * -2 - 5 - 16)


# ---------------------------------------------------------------- reactions


def test_reaction_energy_vs_li_by_hand():
    # LPS + 8 Li -> Li3P + 4 Li2S: -12 eV. Zhu's convention: per atom of the electrolyte (8 atoms);
    # per atom of the Li + LPS mixture (16 atoms) at the most negative point: -0.75 (partial 5 Li:
    # -9/13 is less negative).
    red = reaction_energy_vs_li(toy(), "LPS")
    assert red.E_eV_per_atom == pytest.approx(-12.0 / 8, abs=1e-9)
    assert red.li_per_fu == pytest.approx(8.0)
    assert red.E_eV_per_atom_of_mixture == pytest.approx(-12.0 / 16, abs=1e-9)
    assert red.products == red.mixture_products == ["Li2S", "Li3P"]
    stable = reaction_energy_vs_li(toy(), "Li2S")
    assert (stable.E_eV_per_atom, stable.products, stable.li_per_fu) == (0.0, [], 0.0)


def test_interface_reaction_li_metal_and_si():
    ents = toy()
    r = interface_reaction(ents, "Li", "LPS", anode_voltage_V=0.0)
    assert r.E_rxn_meV_per_atom == pytest.approx(-750.0, abs=1e-6)
    assert r.mixing_ratio == pytest.approx(0.5)  # 8 Li of 16 atoms: fraction of the anode
    assert r.products == ["Li2S", "Li3P"]
    assert r.E_mutual_meV_per_atom == pytest.approx(-750.0, abs=1e-6)  # both reactants on the hull
    assert r.x_Li is None
    # open to Li at 0 V: -12 eV per LPS over its 5 non-Li atoms
    assert r.E_rxn_open_Li_meV_per_atom == pytest.approx(-2400.0, abs=1e-6)
    assert r.open_li_products == ["Li2S", "Li3P"]

    # Si and LPS share no element that could react (no Si-P/S compounds): no closed reaction,
    # but at Si's potential (0.5 V) the Li reservoir reduces LPS: (-12 + 8*0.5)/5 eV per non-Li atom.
    s = interface_reaction(ents, "Si", "LPS", anode_voltage_V=0.5)
    assert s.x_Li == 0.0
    assert s.E_rxn_meV_per_atom == 0.0 and s.products == []
    assert s.E_rxn_open_Li_meV_per_atom == pytest.approx(-1600.0, abs=1e-6)
    assert s.open_li_products == ["Li2S", "Li3P"]


def test_lithiation_reaction_map_uses_lower_bound_potential():
    ents = toy()
    rmap = lithiation_reaction_map(ents, ["Si", "LiSi", "Li3Si", "Li"], ["LPS"])
    assert [r.anode for r in rmap] == ["Si", "LiSi", "Li3Si", "Li"]
    assert [r.open_li_voltage_V for r in rmap] == pytest.approx([0.5, 0.2, 0.0, 0.0], abs=1e-9)
    by = {r.anode: r for r in rmap}
    assert by["Li3Si"].x_Li == pytest.approx(3.0)
    # Li3Si supplies Li (at a cost), so it reduces LPS, but less than Li metal does per atom
    assert -750.0 < by["Li3Si"].E_rxn_meV_per_atom < 0.0
    assert 0.0 < by["Li3Si"].mixing_ratio < 1.0
    assert set(by["Li3Si"].products) <= {"Si", "LiSi", "Li2S", "Li3P", "P"}
    assert "Li2S" in by["Li3Si"].products


# ---------------------------------------------------------------- tie-lines


def test_tie_lines():
    ents = toy()
    assert shares_tie_line(ents, "Li2S", "Li").direct
    assert shares_tie_line(ents, "Si", "LPS").direct
    t = shares_tie_line(ents, "LPS", "Li")
    assert not t.direct and t.products == ["Li2S", "Li3P"]
    assert t.E_mutual_meV_per_atom == pytest.approx(-750.0, abs=1e-6)
    assert set(t.mix_decomposition) == {"Li2S", "Li3P"}  # 50:50 atoms is exactly the 8 Li : 1 LPS point
    above = shares_tie_line(ents, "Li2Si", "Li")
    assert not above.direct and "above the hull" in above.note
    assert above.a_e_above_hull_eV_per_atom == pytest.approx(0.1 / 3)


# ---------------------------------------------------------------- screen


def test_screen_analysis_toy_summary_and_warnings():
    ents = toy() + [entry("LiCl", -6.0)]  # no Cl reference: must be skipped, not crash
    res = screen_analysis(ents, ["Si", "LiSi", "Li", "Nope"], ["LPS", "Li2S", "LiCl", "Li6PS5Cl"])
    assert set(res.windows) == {"LPS", "Li2S"}
    assert any("LiCl" in w and "Cl" in w for w in res.warnings)
    assert any("Li6PS5Cl" in w for w in res.warnings) and any("Nope" in w for w in res.warnings)
    assert len(res.reactions) == 3 * 2
    assert res.reductions_vs_li["LPS"].E_eV_per_atom == pytest.approx(-1.5)
    pairs = {(t.a, t.b): t.direct for t in res.tie_lines}
    assert pairs[("LPS", "Li")] is False and pairs[("Li2S", "Li")] is True
    assert ("P", "Li") in pairs and ("LPS", "Si") in pairs  # window products and electrolyte x anode

    s = res.summary()
    assert {"windows", "voltage_profile", "reactions", "e_above_hull"} <= set(s)
    assert set(s["windows"]["LPS"]) == {
        "reduction_V",
        "oxidation_V",
        "reduction_products",
        "oxidation_products",
        "reduction_reaction",
        "oxidation_reaction",
        "e_above_hull_eV_per_atom",
    }
    assert s["windows"]["LPS"]["reduction_V"] == pytest.approx(1.8)
    assert s["voltage_profile"][0] == pytest.approx({"x_from": 0.0, "x_to": 1.0, "voltage_V": 0.5})
    assert set(s["reactions"][0]) == {"anode", "electrolyte", "x_Li", "E_rxn_meV_per_atom", "mixing_ratio", "products"}
    assert s["e_above_hull"]["Li2Si"] == pytest.approx(0.1 / 3)
    json.dumps(s)
    # the full result survives a JSON round trip (jobflow job output)
    again = ScreenAnalysis.model_validate_json(json.dumps(res.model_dump(mode="json")))
    assert again.summary() == json.loads(json.dumps(s))


# ---------------------------------------------------------------- Materials Project reference data


@pytest.fixture(scope="module")
def mp_entries():
    if not MP_SUBSET.exists():
        pytest.skip(f"reference data not found at {MP_SUBSET}")
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

    raw = json.loads(MP_SUBSET.read_text())
    ents = []
    for name, d in raw.items():
        e = ComputedEntry.from_dict(d)
        e.data["phase"] = name
        ents.append(e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MaterialsProject2020Compatibility(check_potcar=False).process_entries(ents)


def test_mp_tie_lines_with_li_metal(mp_entries):
    for phase in ("Li2S", "Li2O", "Li3N", "LiCl"):
        assert shares_tie_line(mp_entries, phase, "Li").direct, phase
    t = shares_tie_line(mp_entries, "Li2O2", "Li")
    assert not t.direct and t.products == ["Li2O"]


def test_mp_li2s_window(mp_entries):
    # Zhu et al. (2015) / Richards et al. (2016): Li2S stable vs Li, oxidised to S at ~2.01 V (older MP
    # corrections); with MP2020 corrections we get 2.26 V: accept 2.0-2.3 V.
    w = stability_window(mp_entries, "Li2S")
    assert w.reduction_V == 0.0 and w.reduction_products == []
    assert 2.0 <= w.oxidation_V <= 2.3
    assert w.oxidation_products == ["S"]


def test_mp_li2o2_reduction_by_hand(mp_entries):
    # Li2O2 + 2 Li -> 2 Li2O, from the corrected entries: per atom of Li2O2 (4 atoms, Zhu's
    # convention) and per atom of the 6-atom reactant mixture.
    e = {n: find_entry(mp_entries, n).energy_per_atom for n in ("Li", "Li2O", "Li2O2")}
    total = 2 * 3 * e["Li2O"] - 4 * e["Li2O2"] - 2 * e["Li"]
    red = reaction_energy_vs_li(mp_entries, "Li2O2")
    assert red.E_eV_per_atom == pytest.approx(total / 4, abs=1e-9)
    assert red.E_eV_per_atom_of_mixture == pytest.approx(total / 6, abs=1e-9)
    assert red.li_per_fu == pytest.approx(2.0) and red.products == ["Li2O"]
    assert red.E_eV_per_atom < -0.5  # strongly reduced by Li


def test_screen_result_travels_as_a_jobflow_output():
    from jobflow import Flow, job, run_locally

    @job
    def screen():
        return screen_analysis(toy(), ["Si", "Li"], ["LPS"])

    @job
    def read_window(res):
        return res.windows["LPS"].oxidation_V

    j = screen()
    r = read_window(j.output)
    out = run_locally(Flow([j, r]), ensure_success=True, log=False)
    assert isinstance(out[j.uuid][1].output, ScreenAnalysis)
    assert out[r.uuid][1].output == pytest.approx(3.0)
