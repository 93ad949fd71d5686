"""Issue 15: non-stoichiometric terminations get gamma as a function of the Li chemical potential.

- ``make_slab(li_layers=(top, bottom))`` adds the Li of the next bulk layer beyond a face (on bulk sites)
  or removes the Li of the outermost layer, and refuses a face whose layer holds no Li;
- ``SlabMaker`` with CHGNet on a Li2S(111) slab with one extra Li layer on each face: gamma is linear in
  mu_Li with slope -(excess Li)/(2A) and equals the arithmetic from the flow's own energies; the
  stoichiometric slab keeps one number; the report table and summary.json carry both.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from interchem.analysis.interfaces import EV_PER_A2_TO_J_PER_M2
from interchem.errors import InterfaceError
from interchem.structures.library import resolve_phase
from interchem.structures.surfaces import find_terminations, make_slab


def test_li_layers_add_li_on_bulk_sites_and_refuse_a_face_without_li():
    li2s = resolve_phase("Li2S")[1]
    terms = find_terminations(li2s, (1, 0, 0), phase="Li2S", cross_check=False)
    top_li2 = next(t for t in terms.terminations if t.label.startswith("Li"))  # Li2 on top, S at the bottom
    stoich = make_slab(li2s, (1, 0, 0), top_li2, 5.0, 10.0, terminations=terms)
    rich = make_slab(li2s, (1, 0, 0), top_li2, 5.0, 10.0, terminations=terms, li_layers=(0, 1))
    assert rich.li_excess == 2 and stoich.li_excess == 0
    assert rich.structure.composition["Li"] == stoich.structure.composition["Li"] + 2
    assert rich.structure.composition["S"] == stoich.structure.composition["S"]
    # the added Li continue the crystal: each sits at the bulk Li-S distance from the S face below it
    d_bulk = min(li2s.get_distance(i, j) for i in range(len(li2s)) for j in range(len(li2s)) if i != j)
    added = rich.structure[len(stoich.structure) :]
    for site in added:
        assert site.specie.symbol == "Li"
        nearest = min(site.distance(other) for other in rich.structure if other.specie.symbol == "S")
        assert nearest == pytest.approx(d_bulk, abs=0.02)
    poor = make_slab(li2s, (1, 0, 0), top_li2, 5.0, 10.0, terminations=terms, li_layers=(-1, 0))
    assert poor.li_excess == -2
    with pytest.raises(InterfaceError, match="layer beyond the top face holds no Li"):
        make_slab(li2s, (1, 0, 0), top_li2, 5.0, 10.0, terminations=terms, li_layers=(1, 0))


def test_li_rich_li2s_slab_gamma_is_linear_in_mu_li_chgnet(tmp_path):
    from interchem.reports.slabs import write_slab_report
    from interchem.runner import run_flow
    from interchem.settings import get_settings
    from interchem.workflows.slabs import SlabEnergy, SlabMaker

    li2s = resolve_phase("Li2S")[1]
    kwargs = {"calculator": "chgnet", "min_thickness_A": 5.0, "vacuum_A": 10.0, "fmax": 0.1, "steps": 15}
    settings = get_settings(store_path=tmp_path / "store")

    def slabs(**extra):
        flow = SlabMaker(**kwargs, **extra).make(li2s, (1, 1, 1), phase="Li2S", terminations=["Li/S-terminated"])
        return [SlabEnergy.model_validate(x) for x in run_flow(flow, settings, work_dir=tmp_path / "jobs")]

    (rich,) = slabs(li_layers=(1, 1), potential_range_V=(0.0, 2.0))
    (stoich,) = slabs()
    assert rich.li_excess == 2 and rich.surface_energy_J_m2 is None
    vs = rich.surface_energy_vs_mu_li
    mu, gamma = np.asarray(vs["mu_li_eV"]), np.asarray(vs["gamma_J_m2"])
    assert vs["potentials_V"][0] == 0.0 and vs["potentials_V"][-1] == 2.0
    assert mu[0] == pytest.approx(vs["li_reference"]["energy_per_atom_eV"]) and vs["li_reference"]["relaxed"]
    slope, _ = np.polyfit(mu, gamma, 1)
    expected = -rich.li_excess / (2 * rich.area_A2) * EV_PER_A2_TO_J_PER_M2
    assert slope == pytest.approx(expected, rel=1e-9) and vs["slope_J_m2_per_eV"] == pytest.approx(expected)
    assert np.allclose(gamma, gamma[0] + expected * (mu - mu[0]), atol=1e-9)  # a straight line
    # the flow's own energies, by hand: n = 2 Li2S formula units (S count), 2 Li beyond them
    e_fu = 3 * rich.bulk_energy_per_atom_eV
    by_hand = (rich.energy_eV - 2 * e_fu - 2 * mu[0]) / (2 * rich.area_A2) * EV_PER_A2_TO_J_PER_M2
    assert gamma[0] == pytest.approx(by_hand)
    assert gamma[-1] > gamma[0]  # Li-rich: dearer the further mu_Li falls below Li metal
    # the stoichiometric slab of the same termination: one number, no mu_Li dependence
    assert stoich.li_excess == 0 and stoich.surface_energy_vs_mu_li is None and stoich.surface_energy_J_m2 > 0

    report = write_slab_report([stoich, rich], tmp_path / "report")
    text = report.read_text()
    assert f"| {stoich.surface_energy_J_m2:.3f} |" in text
    assert f"{gamma[0]:.3f} at 0 V -> {gamma[-1]:.3f} at 2 V vs Li/Li+" in text and "d gamma / d mu_Li" in text
    rows = json.loads((tmp_path / "report" / "summary.json").read_text())["slabs"]
    assert rows[0]["surface_energy_J_m2"] == pytest.approx(stoich.surface_energy_J_m2)
    assert rows[0]["surface_energy_vs_mu_li"] is None
    assert rows[1]["surface_energy_J_m2"] is None and rows[1]["li_layers"] == [1, 1]
    assert rows[1]["surface_energy_vs_mu_li"]["gamma_J_m2"] == pytest.approx(list(gamma))
    assert (tmp_path / "report" / "figures" / "gamma_vs_potential.png").stat().st_size > 0


def test_cli_slabs_gives_gamma_vs_potential_and_refuses_a_face_without_li(tmp_path, tiny_mace, isolated_settings):
    from typer.testing import CliRunner

    from interchem.cli import app

    out = tmp_path / "report"
    common = ["--thickness", "5", "--vacuum", "10", "--relax-steps", "3", "-c", f"mace:model={tiny_mace}"]
    common += ["-s", str(tmp_path / "store"), "--create"]
    args = ["slabs", "Li2S", "--miller", "111", "--termination", "Li/S-terminated", "--li-top", "1"]
    res = CliRunner().invoke(app, [*args, "--li-bottom", "1", *common, "-o", str(out)])
    assert res.exit_code == 0, res.output
    terminal = " ".join(res.output.split())
    # no stored screen in this store: the stated default range
    assert "gamma(mu_Li) from 0 to 3 V vs Li/Li+ (default" in terminal
    (row,) = json.loads((out / "summary.json").read_text())["slabs"]
    assert row["li_excess"] == 2 and row["surface_energy_J_m2"] is None
    assert row["surface_energy_vs_mu_li"]["potential_range_V"] == [0.0, 3.0]
    assert "at 3 V vs Li/Li+ (d gamma / d mu_Li" in (out / "report.md").read_text()
    bad = tmp_path / "bad"
    res = CliRunner().invoke(
        app, ["slabs", "Li2S", "--termination", "S-terminated", "--li-bottom", "1", *common, "-o", str(bad)]
    )
    assert res.exit_code == 3 and "beyond the bottom face holds no Li" in " ".join(res.output.split())
    assert not bad.exists()
