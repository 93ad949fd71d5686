"""Committee spread arithmetic and the screen's warnings, on hand-made numbers worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from interchem.analysis.committee import agreement, committee_uncertainty, spread
from interchem.analysis.quality import (
    ELECTROLYTE_EHULL_EV_PER_ATOM,
    MOVED_VOLUME_PERCENT,
    hull_warnings,
    relaxation_warnings,
    screen_warnings,
)
from interchem.errors import InterchemError


def _analysis(red, ox, red_products, plateaus, e_rxn, rxn_products, e_li, ehull):
    return {
        "windows": {
            "LPS": {
                "reduction_V": red,
                "oxidation_V": ox,
                "reduction_products": red_products,
                "oxidation_products": ["P", "S"],
            }
        },
        "voltage_profile": [
            {"x_from": a, "x_to": b, "voltage_V": v, "phase_from": pa, "phase_to": pb} for a, b, v, pa, pb in plateaus
        ],
        "reactions": [
            {
                "anode": "Si",
                "electrolyte": "LPS",
                "E_rxn_meV_per_atom": e_rxn,
                "E_rxn_open_Li_meV_per_atom": e_rxn - 10,
                "products": rxn_products,
                "open_li_products": rxn_products,
            }
        ],
        "reductions_vs_li": {"LPS": {"E_eV_per_atom": e_li}},
        "e_above_hull": {"LPS": ehull},
    }


# Three made-up models. Model B has an extra stable phase LiSi, model C oxidises nothing (unbounded).
COMMITTEE = {
    "A": _analysis(1.7, 2.2, ["Li2S", "P"], [(0, 3.75, 0.40, "Si", "Li15Si4")], -100.0, ["Li2S"], -0.8, 0.0),
    "B": _analysis(
        1.5,
        2.0,
        ["Li2S", "P"],
        [(0, 1, 0.50, "Si", "LiSi"), (1, 3.75, 0.30, "LiSi", "Li15Si4")],
        -130.0,
        ["Li2S", "SiS2"],
        -0.9,
        0.02,
    ),
    "C": _analysis(1.8, None, ["Li3P", "Li2S"], [(0, 3.75, 0.45, "Si", "Li15Si4")], -70.0, ["Li2S"], -0.7, 0.01),
}


def test_spread_and_std_by_hand():
    s = spread({"A": 1.7, "B": 1.5, "C": 1.8}, "A")
    assert s["default"] == 1.7
    assert s["spread"] == pytest.approx(0.3)
    mean = (1.7 + 1.5 + 1.8) / 3
    assert s["std"] == pytest.approx(math.sqrt(((1.7 - mean) ** 2 + (1.5 - mean) ** 2 + (1.8 - mean) ** 2) / 3))
    unbounded = spread({"A": 2.2, "C": None}, "A")
    assert unbounded["spread"] is None and unbounded["std"] is None and unbounded["default"] == 2.2
    assert agreement({"A": ["P", "Li2S"], "B": ["Li2S", "P"]}) == {
        "values": {"A": ["Li2S", "P"], "B": ["Li2S", "P"]},
        "differ": False,
    }
    assert agreement({"A": ["P"], "B": None})["differ"]


def test_committee_block_on_a_hand_made_committee():
    u = committee_uncertainty(COMMITTEE)
    assert u["models"] == ["A", "B", "C"] and u["default_model"] == "A"
    w = u["windows"]["LPS"]
    assert w["reduction_V"]["default"] == 1.7 and w["reduction_V"]["spread"] == pytest.approx(0.3)
    assert w["oxidation_V"]["values"] == {"A": 2.2, "B": 2.0, "C": None} and w["oxidation_V"]["spread"] is None
    assert w["reduction_products"]["differ"] and not w["oxidation_products"]["differ"]
    # The default's one plateau (0..3.75, midpoint 1.875) meets B's second plateau (1..3.75, 0.30 V).
    (p,) = u["voltage_profile"]
    assert p["voltage_V"]["values"] == {"A": 0.40, "B": 0.30, "C": 0.45}
    assert p["voltage_V"]["spread"] == pytest.approx(0.15)
    assert p["voltage_V"]["std"] == pytest.approx(0.0623609564, abs=1e-9)
    assert p["two_phase_region"]["differ"]
    (r,) = u["reactions"]
    assert r["E_rxn_meV_per_atom"]["spread"] == pytest.approx(60.0)
    assert r["E_rxn_open_Li_meV_per_atom"]["default"] == -110.0
    assert r["products"]["differ"]
    assert u["reductions_vs_li"]["LPS"]["spread"] == pytest.approx(0.2)
    assert u["e_above_hull"]["LPS"]["spread"] == pytest.approx(0.02)
    kinds = {(f["phase"], f["message"].split(":")[0]) for f in u["flags"]}
    assert ("LPS", "models disagree on LPS reduction products") in kinds
    assert (None, "models disagree on Li-Si two-phase region at x = 0.00-3.75") in kinds
    assert ("LPS", "models disagree on Si | LPS reaction products") in kinds
    assert len(u["flags"]) == 3  # oxidation products agree: no flag
    json.dumps(u)


def test_committee_default_model_and_size_are_checked():
    assert committee_uncertainty(COMMITTEE, default="B")["windows"]["LPS"]["reduction_V"]["default"] == 1.5
    with pytest.raises(InterchemError, match="at least two"):
        committee_uncertainty({"A": COMMITTEE["A"]})
    with pytest.raises(InterchemError, match="'D' is not in the committee"):
        committee_uncertainty(COMMITTEE, default="D")


def test_warnings_at_their_thresholds():
    records = [
        {"phase": "Si", "converged": True, "volume_change_percent": MOVED_VOLUME_PERCENT - 0.1, "matches_input": True},
        {"phase": "S", "converged": False, "n_steps": 1, "volume_change_percent": 0.0},
        {"phase": "Li", "converged": True, "volume_change_percent": -(MOVED_VOLUME_PERCENT + 0.1)},
        {"phase": "P", "converged": True, "volume_change_percent": 2.0, "matches_input": False},
    ]
    got = [(w.kind, w.phase, w.value) for w in relaxation_warnings(records)]
    assert got == [
        ("unconverged", "S", 1),
        ("moved_volume", "Li", -(MOVED_VOLUME_PERCENT + 0.1)),
        ("moved_structure", "P", False),
    ]
    edge = ELECTROLYTE_EHULL_EV_PER_ATOM
    hull = hull_warnings({"ok": {"e_above_hull_eV_per_atom": edge}, "bad": {"e_above_hull_eV_per_atom": edge + 0.001}})
    assert [(w.kind, w.phase, w.value, w.threshold) for w in hull] == [("electrolyte_above_hull", "bad", 51.0, 50.0)]
    every = screen_warnings({"warnings": ["skipped anode 'X'"], "windows": {}}, records)
    assert every[-1].kind == "skipped" and "X" in every[-1].message and len(every) == 4
