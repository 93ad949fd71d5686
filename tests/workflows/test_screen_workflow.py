"""The screen end to end: jobflow flow on the embedded store, reuse, report, CLI, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interchem.calculators import CalculatorSpec
from interchem.cli import app
from interchem.errors import (
    ChemicalSystemError,
    InterchemError,
    StructureFileError,
    UnknownCalculatorError,
    UnknownPhaseError,
    UnsupportedElementsError,
)
from interchem.reports.screen import write_report
from interchem.runner import plan_screen, run_screen


def _store_is_empty(path: Path) -> bool:
    """Nothing written: the store folder does not exist or its collections hold no documents."""
    if not path.exists():
        return True
    from interchem.store import embedded_store

    store = embedded_store(path)
    store.connect()
    try:
        return store.docs_store.count() == 0 and store.additional_stores["data"].count() == 0
    finally:
        store.close()


@pytest.fixture()
def mace_spec(tiny_mace) -> CalculatorSpec:
    return CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})


def test_plan_covers_every_phase_of_the_chemical_system(isolated_settings, mace_spec):
    plan = plan_screen(["Li2S"], ["Si"], mace_spec, settings=isolated_settings)
    ((system, names),) = plan.systems.items()
    assert system == "Li-S-Si"
    # Every library phase inside Li-S-Si is relaxed, not only the ones asked for.
    assert {"Li", "Si", "S", "Li2S", "SiS2"} <= set(names) <= set(plan.phases)
    assert all(s.is_ordered for s in plan.phases.values())


def test_screen_runs_on_embedded_store_and_second_run_reuses(isolated_settings, mace_spec, tmp_path):
    settings = isolated_settings.model_copy(update={"relax_steps": 15})
    plan = plan_screen(["Li2S"], ["Si"], mace_spec, settings=settings)
    first = run_screen(plan, settings=settings)
    assert len(first.relaxations) == len(plan.phases)
    assert not any(r["reused"] for r in first.relaxations)
    assert first.level_of_theory.startswith("MACE") and first.calculator["name"] == "mace"

    # A new plan in the same settings (same store on disk): nothing is recomputed, and the stored phases
    # are resolved when the flow is made: the only job that runs is the analysis.
    events: list[tuple[str, str]] = []
    second = run_screen(
        plan_screen(["Li2S"], ["Si"], mace_spec, settings=settings),
        settings=settings,
        progress=lambda event, name: events.append((event, name)),
    )
    assert all(r["reused"] for r in second.relaxations)
    assert [n for e, n in events if e == "starting"] == ["analyse screen"], events
    assert sum(e == "reused" for e, _ in events) == len(plan.phases)  # the progress bar still counts every phase
    e1 = {r["phase"]: r["energy_per_atom_eV"] for r in first.relaxations}
    e2 = {r["phase"]: r["energy_per_atom_eV"] for r in second.relaxations}
    assert e1 == e2
    # ... and the analysis itself was the stored one (same records, lists, calculator and analysis code),
    # handed on under this run's reuse flags, with the same numbers
    assert second.analysis_reused and not first.analysis_reused and second.analysis_key == first.analysis_key
    assert second.analysis == first.analysis and second.entries == first.entries
    # other anodes: another analysis, computed (its records are all stored)
    fourth = run_screen(plan_screen(["Li2S"], [], mace_spec, settings=settings), settings=settings)
    assert not fourth.analysis_reused and fourth.analysis_key != first.analysis_key

    # A different calculator setting is a different calculation: it is not served from the store.
    other = mace_spec.model_copy(update={"settings": {**mace_spec.settings, "dtype": "float32"}})
    third = run_screen(plan_screen(["Li2S"], ["Si"], other, settings=settings), settings=settings)
    assert not any(r["reused"] for r in third.relaxations)

    report = write_report(first, tmp_path / "report")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert {"windows", "voltage_profile", "reactions", "e_above_hull", "tie_lines", "calculator", "versions"} <= set(
        summary
    )
    assert set(summary["e_above_hull"]) == set(plan.phases)
    assert summary["calculator"]["settings"]["model"] == mace_spec.settings["model"]
    assert "Li2S" in report.read_text()
    pngs = list((tmp_path / "report" / "figures").glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)


@pytest.mark.parametrize(
    ("electrolytes", "anodes", "calculator", "error"),
    [
        (["Li6PS5Cl"], ["Unobtainium"], "chgnet", UnknownPhaseError),
        (["Li6PS5Cl"], ["Si"], "vasp9", UnknownCalculatorError),
        (["Li6PS5Cl"], ["Si"], "emt", UnsupportedElementsError),
        ([], [], "chgnet", InterchemError),
    ],
)
def test_bad_input_fails_before_anything_is_written(isolated_settings, electrolytes, anodes, calculator, error):
    with pytest.raises(error):
        plan_screen(electrolytes, anodes, calculator, settings=isolated_settings)
    assert _store_is_empty(isolated_settings.store_path)


def test_unparsable_structure_file_is_named(isolated_settings, tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_x\n_cell_length_a 5\nloop_\n_atom_site_label\nthis is not a cif\n")
    with pytest.raises(StructureFileError, match="broken.cif"):
        plan_screen([str(bad)], ["Si"], "chgnet", settings=isolated_settings)
    assert _store_is_empty(isolated_settings.store_path)


def test_user_structure_file_joins_the_screen(isolated_settings, mace_spec, tmp_path):
    from interchem.structures.library import cards

    path = tmp_path / "my_Li2S.cif"
    cards()["Li2S"].build().to(filename=str(path))
    plan = plan_screen([str(path)], ["Si"], mace_spec, settings=isolated_settings)
    assert "my_Li2S" in plan.electrolytes
    assert plan.phases["my_Li2S"].properties["provenance"]["origin"] == "user file"


def test_cli_screen_and_errors(tmp_path, tiny_mace, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    runner = CliRunner()
    args = [
        "screen",
        "-e",
        "Li2S",
        "-a",
        "Si",
        "-c",
        f"mace:model={tiny_mace}",
        "--relax-steps",
        "5",
        "-o",
        str(tmp_path / "out"),
        "-s",
        str(tmp_path / "store"),
        "--create",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "Li2S" in summary["windows"]
    assert (tmp_path / "out" / "report.md").is_file()

    # Queries answer from the stored screen of the same calculator, without recomputing.
    store = ["-s", str(tmp_path / "store"), "-c", f"mace:model={tiny_mace}"]
    tie = runner.invoke(app, ["tieline", "Li2S", "Li", *store])
    assert tie.exit_code == 0, tie.output
    assert "Li2S | Li:" in tie.output and "tie-line" in tie.output
    redraw = runner.invoke(app, ["report", "-o", str(tmp_path / "redraw"), *store])
    assert redraw.exit_code == 0, redraw.output
    assert json.loads((tmp_path / "redraw" / "summary.json").read_text())["windows"] == summary["windows"]
    other = runner.invoke(app, ["tieline", "Li2S", "Li", "-s", str(tmp_path / "store"), "-c", "chgnet"])
    assert other.exit_code == 3 and "no stored screen" in other.output

    bad = runner.invoke(app, ["screen", "-e", "Li2S", "-a", "NoSuchPhase", "-s", str(tmp_path / "store2"), "--create"])
    assert bad.exit_code == 3
    assert "NoSuchPhase" in bad.output
    assert not (tmp_path / "store2").exists()


def test_chgnet_screen_of_li_s_si_physics(isolated_settings):
    """Real potential, real physics: Li2S is the stable sulfide, reduced by nothing (window starts at
    0 V), oxidised to S near 2 V (PBE+MP2020: 2.26 V; Zhu et al. 2015: ~2.0 V), and shares a tie-line
    with Li metal; Si does not react with Li2S."""
    plan = plan_screen(["Li2S"], ["Si"], "chgnet", settings=isolated_settings)
    result = run_screen(plan, settings=isolated_settings)
    a = result.analysis
    w = a["windows"]["Li2S"]
    assert w["reduction_V"] == pytest.approx(0.0, abs=1e-6)
    assert 1.6 < w["oxidation_V"] < 2.7
    assert [p.split("-")[0] for p in w["oxidation_products"]] == ["S"]
    assert a["e_above_hull"]["Li2S"] == pytest.approx(0.0, abs=1e-6)
    li_li2s = next(t for t in a["tie_lines"] if {t["a"], t["b"]} == {"Li", "Li2S"})
    assert li_li2s["direct"]
    si_li2s = next(r for r in a["reactions"] if r["anode"] == "Si" and r["electrolyte"] == "Li2S")
    assert si_li2s["E_rxn_meV_per_atom"] > -5


def test_mlip_relax_then_static_single_points(isolated_settings, mace_spec):
    """The "relax with one level, single point with another" protocol: energies are the second
    calculator's on the first one's geometry, both levels are recorded, and both steps are reused."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from interchem.calculators import ase_calculator

    settings = isolated_settings.model_copy(update={"relax_steps": 10})
    plan = plan_screen(["Li2S"], ["Si"], mace_spec, settings=settings, static_calculator="chgnet")
    result = run_screen(plan, settings=settings)
    assert result.calculator["name"] == "chgnet"
    assert "CHGNet" in result.level_of_theory.split("//")[0] and "MACE" in result.level_of_theory.split("//")[1]
    entry = next(e for e in result.entries if e["data"]["phase"] == "Li2S")
    atoms = AseAtomsAdaptor.get_atoms(Structure.from_dict(entry["structure"]))
    atoms.calc = ase_calculator("chgnet")
    assert entry["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
    record = next(r for r in result.relaxations if r["phase"] == "Li2S")
    assert record["geometry_calculator"]["name"] == "mace"

    again = run_screen(
        plan_screen(["Li2S"], ["Si"], mace_spec, settings=settings, static_calculator="chgnet"), settings=settings
    )
    assert all(r["reused"] for r in again.relaxations)
    # A plain CHGNet screen is a different level of theory: its entries never meet these in one hull.
    from interchem.entries import build_entries

    plain = {
        **record,
        "level_of_theory": "CHGNet 0.3.0 (MPtrj PBE/PBE+U, MP2020-corrected)",
        "structure": entry["structure"],
    }
    with pytest.raises(ChemicalSystemError, match="mix levels of theory"):
        build_entries([{**record, "structure": entry["structure"]}, plain])


def test_cli_quick_set_and_phase_listing(tmp_path, tiny_mace, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "screen",
            "--quick",
            "-c",
            f"mace:model={tiny_mace}",
            "--relax-steps",
            "3",
            "-o",
            str(tmp_path / "out"),
            "-s",
            str(tmp_path / "store"),
            "--create",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["electrolytes"] == ["Li6PS5Cl"] and summary["anodes"] == ["Si", "LiSi", "Li15Si4"]
    assert {r["anode"] for r in summary["reactions"]} == {"Si", "LiSi", "Li15Si4"}
    # The whole Li-P-S-Cl-Si system is relaxed, not only the named phases.
    assert {"Li3PS4", "LiCl", "Cl2", "Li2S", "Li3P"} <= set(summary["e_above_hull"])

    listing = runner.invoke(app, ["phases", "--chemsys", "Li-Si"])
    assert listing.exit_code == 0
    assert "Li15Si4" in listing.output and "Li2S" not in listing.output
