"""Issue 15: an interface partner that is partially occupied (the measured argyrodite,
``Li6PS5Cl-disordered@0.5``, or a CIF with occupancies) is ordered with the calculator first, and the
interface, its slabs and the bulk reference of the surface energies are all that one relaxed ordered cell.

Here on a 12-atom antifluorite with the anion site half S, half O (Li8S2O2 when ordered) and the tiny
MACE: the CLI orders it, builds Li(100)|ordered(001), runs, and the report, summary.json and the bulk
reference name the ordering."""

from __future__ import annotations

import json

from pymatgen.core import Lattice, Structure


def mixed_anion_antifluorite() -> Structure:
    """Li2(S0.5O0.5) antifluorite, a = 4.87 A (= sqrt(2) x bcc Li's 3.44 A, so Li(100) matches a small cell)."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.87), [{"S": 0.5, "O": 0.5}, "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]]
    )


def test_cli_interface_orders_a_partially_occupied_electrolyte(tmp_path, tiny_mace, isolated_settings):
    from typer.testing import CliRunner

    from interchem.cli import app

    cif = tmp_path / "Li2SO-mixed.cif"
    mixed_anion_antifluorite().to(filename=str(cif))
    out = tmp_path / "report"
    args = ["interface", "Li", str(cif), "--miller-electrolyte", "001", "--max-area", "40", "--max-atoms", "40"]
    args += ["--anode-thickness", "3", "--electrolyte-thickness", "3", "--top", "1", "--relax-steps", "5"]
    args += ["--fmax", "1e-9", "--include-unconverged", "--md-steps", "0", "-c", f"mace:model={tiny_mace}"]
    args += ["-o", str(out), "-s", str(tmp_path / "store"), "--create"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    terminal = " ".join(res.output.split())
    assert "ordering Li2SO-mixed (partially occupied)" in terminal and "ordered cell Li4SO (12 atoms" in terminal
    # the ordering made the parent's {001} more than one surface: every such plane was tried
    assert "distinct planes of the ordered cell" in terminal and "all tried" in terminal

    summary = json.loads((out / "summary.json").read_text())
    ordering = summary["orderings"]["Li2SO-mixed"]
    assert ordering["method"] == "ewald" and ordering["n_atoms"] == 12 and ordering["formula"] == "Li4SO"
    assert ordering["n_candidates"] >= 1 and len(ordering["calc_key"]) > 8
    assert ordering["planes"][0] == [0, 0, 1] and len(ordering["planes"]) in (2, 3)
    (row,) = summary["interfaces"]
    assert "Li2SO-mixed(001)" in row["label"]
    # the surface energy's bulk reference is that ordered, relaxed cell (strained as the film is), no other
    ref = row["bulk_references"]["electrolyte"]
    assert ref["ordering"] == ordering["text"] and ref["formula"] == "Li4SO" and ref["relaxed"]
    assert row["bulk_references"]["anode"]["ordering"] is None  # Li is ordered: nothing to name
    text = (out / "report.md").read_text()
    assert "## Ordered cells of partially occupied partners" in text and ordering["text"] in text


def test_parent_equivalent_millers_of_an_ordered_cell():
    """Cubic parent, ordered cell strained off cubic (as a relaxation leaves it): the parent's {100} is three
    planes of the ordered cell, {110} six, {111} four, one sign each, the requested one first (also when
    negative); an orthorhombic distortion of 30 % still maps the axes onto each other."""
    from interchem.structures.disorder import parent_equivalent_millers

    parent = mixed_anion_antifluorite()
    cell = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.87), ["S", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    cell.apply_strain([0.01, -0.02, 0.015])
    assert parent_equivalent_millers(parent, cell, (1, 0, 0)) == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    assert len(parent_equivalent_millers(parent, cell, (1, 1, 0))) == 6
    assert sorted(parent_equivalent_millers(parent, cell, (1, 1, 1))) == [
        (1, -1, -1),
        (1, -1, 1),
        (1, 1, -1),
        (1, 1, 1),
    ]
    assert parent_equivalent_millers(parent, cell, (0, 0, -1))[0] == (0, 0, -1)
    sheared = cell.copy()
    sheared.apply_strain([0.3, 0.0, 0.0])
    assert (1, 0, 0) in parent_equivalent_millers(parent, sheared, (1, 0, 0))
