"""Issue 15: interface energetics that are converged or flagged, against consistent references.

- an unconverged relaxation (step limit 1) is flagged in the result, the report table and summary.json,
  and left out of the ranking unless asked for;
- a slab whose bulk reference is off its minimum gets a negative surface energy, which is refused with
  a message naming the likely causes; the same bulk relaxed like the slab (the default) gives gamma > 0;
- the electrolyte's strained bulk reference holds exactly the film's atoms, strained as the film is.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_interfaces import li_licl_bulks, li_licl_candidates

from interchem.structures.interfaces import InterfaceBuilder, InterfaceLimits, split_interface
from interchem.structures.library import resolve_phase


def _li_licl():
    li, licl = li_licl_bulks()
    return li_licl_candidates(li, licl), li, licl


def _run(flow, tmp_path):
    from jobflow import run_locally

    from interchem.store import embedded_store

    store = embedded_store(tmp_path / "store")
    run_locally(flow, store=store, create_folders=True, root_dir=tmp_path / "jobs", log=False, ensure_success=True)
    store.connect()
    return store.get_output(flow.output.uuid, load=True)


def test_unconverged_interface_is_flagged_and_excluded_from_the_ranking(tmp_path):
    from interchem.calculators import CalculatorSpec
    from interchem.reports.interfaces import write_interface_report
    from interchem.workflows.interfaces import InterfaceMaker, InterfaceSummary, rank_interfaces

    cands, li, licl = _li_licl()
    flow = InterfaceMaker(calculator="chgnet", steps=1, gaps_A=(2.5, 3.5)).make(cands, li, licl)
    summary = InterfaceSummary.model_validate(_run(flow, tmp_path))
    assert summary.results == [] and len(summary.excluded) == 1
    r = summary.excluded[0]
    assert not r.converged and not r.ranked and r.relax_steps == 1
    assert r.unconverged[0].startswith("interface: not converged in 1 steps, largest force")
    assert any(u.startswith("anode part") for u in r.unconverged)
    # asked for: ranked, still marked
    again = rank_interfaces.original([r.model_copy()], CalculatorSpec.parse("chgnet"), include_unconverged=True)
    assert [x.label for x in again.results] == [r.label] and not again.results[0].converged
    # the report says so in the table and in summary.json
    write_interface_report(summary, tmp_path / "report", [])
    text = (tmp_path / "report" / "report.md").read_text()
    assert "NOT CONVERGED" in text and "not ranked" in text
    row = json.loads((tmp_path / "report" / "summary.json").read_text())["interfaces"][0]
    assert row["converged"] is False and row["ranked"] is False and row["unconverged"] == r.unconverged


def _rattled_li():
    li = resolve_phase("Li", primitive=False)[1]
    li.make_supercell([1, 1, 2])
    rng = np.random.default_rng(3)
    for i in range(len(li)):  # every atom off its site: a bulk cell that is not at its minimum
        li.translate_sites([i], rng.normal(0, 0.3, 3), frac_coords=False)
    return li


def test_negative_surface_energy_from_an_off_minimum_bulk_is_refused(tmp_path):
    from interchem.errors import InterchemError
    from interchem.runner import run_flow
    from interchem.settings import get_settings
    from interchem.workflows.slabs import SlabEnergy, SlabMaker

    li = _rattled_li()
    kwargs = {"calculator": "chgnet", "min_thickness_A": 6.0, "vacuum_A": 10.0, "fmax": 0.05, "steps": 300}
    settings = get_settings(store_path=tmp_path / "s1")
    flow = SlabMaker(bulk_reference="single_point", **kwargs).make(li, (0, 0, 1), phase="Li", terminations=[0])
    with pytest.raises(InterchemError, match="negative surface energy .* refused") as err:
        run_flow(flow, settings, work_dir=tmp_path / "j1", what="slabs")
    assert "bulk reference is not at its minimum" in str(err.value) and "not stoichiometric" in str(err.value)
    # the consistent reference: the same cell relaxed like the slab
    settings = get_settings(store_path=tmp_path / "s2")
    flow = SlabMaker(**kwargs).make(li, (0, 0, 1), phase="Li", terminations=[0])
    (slab,) = [SlabEnergy.model_validate(x) for x in run_flow(flow, settings, work_dir=tmp_path / "j2", what="slabs")]
    assert slab.surface_energy_J_m2 > 0.05 and slab.bulk_reference["relaxed"]
    assert slab.bulk_reference["relaxation_meV_per_atom"] > 10


def test_strained_electrolyte_reference_holds_the_film_atoms():
    from interchem.structures.strained import strained_film_bulk

    li15, arg = resolve_phase("Li15Si4")[1], resolve_phase("Li6PS5Cl")[1]
    (c,) = InterfaceBuilder(
        li15,
        arg,
        (1, 0, 0),
        (1, 0, 0),
        limits=InterfaceLimits(max_area=250, max_atoms=300, max_candidates=1),
        anode_thickness_A=3.0,
        electrolyte_thickness_A=4.0,
    ).build()
    bulk = strained_film_bulk(arg, c)
    film = split_interface(c.structure)[1]
    assert bulk.composition.reduced_formula == "Li6PS5Cl"
    assert bulk.volume / len(bulk) == pytest.approx(
        arg.volume / len(arg) * np.prod(1 + np.array([c.strain] * 2)), rel=2e-2
    )
    # every film atom sits on a site of the strained bulk (one rigid translation)
    worst = []
    for j in (k for k, x in enumerate(bulk) if x.specie == film[0].specie):
        frac = bulk.lattice.get_fractional_coords(film.cart_coords + bulk[j].coords - film[0].coords)
        worst.append(max(bulk.lattice.get_all_distances(f[None], bulk.frac_coords)[0].min() for f in frac))
    assert min(worst) < 1e-3


def test_md_run_length_against_the_li_hop_time():
    from interchem.analysis.interfaces import hop_time_fs, md_length_verdict

    # 1 / (1e13 Hz exp(-0.3 eV / kT)) at 600 K: 33 ps
    assert hop_time_fs(0.3, 600.0) == pytest.approx(1e15 / (1e13 * np.exp(-0.3 / (8.617333262e-5 * 600))))
    short = md_length_verdict(400.0, 600.0, 0.3, 2)
    assert short["verdict"].startswith("too short") and short["new_product_like_per_ps"] == pytest.approx(5.0)
    assert md_length_verdict(400.0, 600.0, 0.05, 0)["verdict"].endswith("long enough to see hops")


def test_run_length_check_uses_the_pairs_stored_barrier(isolated_settings, tmp_path):
    """A real (small, CHGNet) barrier run of Li is stored; the interface report's run-length check then
    uses it for a pair with Li, and says which partner has none; with none stored, the stated 0.3 eV."""
    from interchem.reports.interfaces import HOP_BARRIER_EV, run_length_barrier
    from interchem.runner import run_flow
    from interchem.stored import stored_li_barriers
    from interchem.workflows.neb import BarrierMaker

    li = resolve_phase("Li", primitive=False)[1]
    maker = BarrierMaker(
        calculator="chgnet",
        cutoff=3.2,
        max_hops=1,
        neb_settings={"n_images": 3, "supercell_min_length": 7.0, "steps": 60, "fmax": 0.1},
    )
    report = run_flow(maker.make(li, "Li"), isolated_settings, work_dir=tmp_path / "jobs")
    stored = stored_li_barriers(isolated_settings, ["Li", "Li6PS5Cl"], "chgnet")
    expected = min(v for p in report["percolation_eV"].values() for v in p.values() if v is not None)
    assert set(stored) == {"Li"} and stored["Li"]["barrier_eV"] == pytest.approx(expected)
    md = {"anode_phase": "Li", "electrolyte_phase": "Li6PS5Cl"}
    barrier, source = run_length_barrier(md, stored)
    assert barrier == pytest.approx(expected) and "computed: Li's" in source and "none stored for Li6PS5Cl" in source
    # another calculator's barriers are not used
    assert stored_li_barriers(isolated_settings, ["Li"], "sevennet") == {}
    barrier, source = run_length_barrier(md, {})
    assert barrier == HOP_BARRIER_EV and "Boulineau" in source and "Murugan" in source
