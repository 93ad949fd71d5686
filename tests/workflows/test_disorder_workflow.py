"""Calculator ranking of ordered candidates (relax each, keep the lowest, reuse stored relaxations) and a
partially occupied phase going through the screen."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from interchem.calculators import CalculatorSpec
from interchem.runner import order_phase, plan_screen, run_screen


def tiny_disordered() -> Structure:
    """Antifluorite cell with Li at 3/4 and the anion site half S, half Cl (Li6S2Cl2 when ordered)."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.7), ["S", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    s.replace_species({"S": {"S": 0.5, "Cl": 0.5}, "Li": {"Li": 0.75}})
    return s


def test_chgnet_ranking_keeps_the_lowest_and_reuses_stored_relaxations(isolated_settings):
    settings = isolated_settings.model_copy(update={"relax_steps": 20, "relax_fmax": 0.1})
    first = order_phase(tiny_disordered(), "Li3SCl-mixed", "chgnet", settings, n_candidates=2)
    energies = [r.energy_per_atom_eV for r in first.ranking]
    assert len(energies) == 2 and energies == sorted(energies)
    assert first.lowest.energy_per_atom_eV == pytest.approx(energies[0])
    assert first.ranking[0].above_lowest_meV_per_atom == 0.0
    assert first.lowest.phase == "Li3SCl-mixed" and first.lowest.structure.is_ordered
    assert first.lowest.structure.composition.reduced_formula == "Li3SCl"
    assert not first.lowest.reused and first.method == "ewald"
    again = order_phase(tiny_disordered(), "Li3SCl-mixed", "chgnet", settings, n_candidates=2)
    assert again.lowest.reused  # every candidate relaxation comes from the store (one cache key each)
    assert [r.calc_key for r in again.ranking] == [r.calc_key for r in first.ranking]


def test_partially_occupied_file_enters_the_screen_ordered(isolated_settings, tiny_mace, tmp_path):
    path = tmp_path / "LiSCl-mixed.cif"
    tiny_disordered().to(filename=str(path))
    settings = isolated_settings.model_copy(update={"relax_steps": 10})
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    plan = plan_screen([str(path)], [], spec, settings=settings, extra_phases=[])
    assert not plan.phases["LiSCl-mixed"].is_ordered  # ordered by run_screen, with the calculator
    result = run_screen(plan, settings=settings)
    record = next(r for r in result.relaxations if r["phase"] == "LiSCl-mixed")
    assert record["formula"] == "Li3SCl" and record["n_atoms"] == 10


def test_kinetics_commands_take_disordered_names_and_refuse_bad_ones_before_any_work(isolated_settings, tmp_path):
    from typer.testing import CliRunner

    from interchem.cli import app

    store = tmp_path / "cli-store"
    for args, message in (
        (["diffusion", "Li6PS5Cl-disordered@2", "-s", str(store), "--create"], "must lie in [0, 1]"),
        (["barriers", "Li6PS5Cl-disordered@x", "-s", str(store), "--create"], "must be a number"),
        (["barriers", "Li6PS5Cl@0.25", "-s", str(store), "--create"], "is ordered"),
    ):
        bad = CliRunner().invoke(app, args)
        assert bad.exit_code == 3, (args, bad.output)  # an input error
        assert message in bad.output
    assert not store.exists()  # refused before the ordering relaxes anything
