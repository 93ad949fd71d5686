"""``interchem export``: a relaxed phase, an MD trajectory and an NEB band, computed here with CHGNet (tiny
cells, few steps) and stored in an embedded store, written to extxyz / ASE traj / CIF / POSCAR and read
back with ASE and pymatgen."""

from __future__ import annotations

import numpy as np
import pytest
from ase.io import read
from jobflow import Flow
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory
from typer.testing import CliRunner

from interchem.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store holding one relaxation (LiCl), one MD run (LiCl, 3 frames) and one NEB band (bcc Li, 5 images)."""
    from interchem.calculators import CalculatorSpec
    from interchem.runner import run_flow
    from interchem.settings import get_settings
    from interchem.structures.hops import enumerate_li_hops
    from interchem.structures.library import resolve_phase
    from interchem.workflows.md import MDMaker
    from interchem.workflows.neb import neb_job
    from interchem.workflows.thermo import relax_or_reuse

    tmp = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERCHEM_CONFIG", str(tmp / "none.yaml"))
        mp.setenv("INTERCHEM_CHECKPOINT_DIR", str(tmp / "ck"))
        settings = get_settings(store_path=tmp / "store", output_dir=tmp / "out")
        spec = CalculatorSpec.parse("chgnet")
        licl = resolve_phase("LiCl")[1]
        li = resolve_phase("Li", primitive=False)[1]
        relax = relax_or_reuse(licl, "LiCl", spec, 0.1, 20)
        md = MDMaker(calculator=spec, temperature_K=300, steps=10, md_settings={"sample_interval": 5}).make(
            licl, label="LiCl md"
        )
        hop = enumerate_li_hops(li, cutoff=3.5)[0].model_dump()
        neb_settings = {"n_images": 3, "steps": 2, "relax_endpoints": False, "supercell_min_length": 5.0}
        neb = neb_job(li, hop, spec, neb_settings, "Li hop")
        _, md_out, neb_out = run_flow(Flow([relax, md, neb], output=[relax.output, md.output, neb.output]), settings)
    return {"store": tmp / "store", "md": md, "md_out": md_out, "neb": neb, "neb_out": neb_out}


def _export(stored, *args):
    result = CliRunner().invoke(app, ["export", *args, "-s", str(stored["store"])])
    return result


def test_relaxed_phase_by_name_to_cif_and_poscar(stored, tmp_path):
    for name in ("LiCl.cif", "POSCAR"):
        result = _export(stored, "LiCl", "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        s = Structure.from_file(tmp_path / name)
        assert s.composition.reduced_formula == "LiCl" and len(s) == 2


def test_md_trajectory_by_uuid_prefix_to_extxyz_and_traj(stored, tmp_path):
    md_out = stored["md_out"]
    traj = md_out["trajectory"] if isinstance(md_out, dict) else md_out.trajectory
    traj = Trajectory.from_dict(traj) if isinstance(traj, dict) else traj
    n = len(traj)
    assert n == 3
    for name in ("md.extxyz", "md.traj"):
        result = _export(stored, stored["md"].uuid[:8], "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert "MD trajectory" in result.output and "3 frame(s)" in result.output
        frames = read(tmp_path / name, index=":")
        assert len(frames) == n
        for i, atoms in enumerate(frames):
            expected = traj.get_structure(i)
            assert np.allclose(atoms.get_positions(), expected.cart_coords, atol=1e-5)
            assert atoms.get_potential_energy() == pytest.approx(traj.frame_properties[i]["energy"], abs=1e-6)
    # one frame as CIF: the last one
    result = _export(stored, "LiCl md", "-o", str(tmp_path / "last.cif"), "--frame", "-1")
    assert result.exit_code == 0, result.output
    last, expected = Structure.from_file(tmp_path / "last.cif"), traj.get_structure(n - 1)

    assert sorted(last.species) == sorted(expected.species)
    for site in last:  # CIF groups sites by element: each one matches a site of the frame (periodic images alike)
        d = np.array([s.frac_coords for s in expected if s.specie == site.specie]) - site.frac_coords
        assert np.abs(d - np.round(d)).max(axis=1).min() < 1e-4


def test_neb_band_by_label_to_extxyz_and_numbered_poscars(stored, tmp_path):
    neb_out = stored["neb_out"]
    energies = neb_out["energies_eV"] if isinstance(neb_out, dict) else neb_out.energies_eV
    result = _export(stored, "Li hop", "-o", str(tmp_path / "band.extxyz"))
    assert result.exit_code == 0, result.output
    band = read(tmp_path / "band.extxyz", index=":")
    assert len(band) == 5 == len(energies)  # 3 images + 2 endpoints
    assert [a.info["energy_rel"] for a in band] == pytest.approx(energies)
    result = _export(stored, stored["neb"].uuid, "-o", str(tmp_path / "neb" / "POSCAR"), "--format", "poscar")
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "neb").iterdir())
    assert [f.name for f in files] == [f"POSCAR_{i}" for i in range(5)]
    assert all(len(Structure.from_file(f)) == len(band[0]) for f in files)


def test_export_errors_are_one_line(stored, tmp_path):
    missing = _export(stored, "NoSuchPhase", "-o", str(tmp_path / "x.cif"))
    assert missing.exit_code == 3 and "nothing to export for 'NoSuchPhase'" in " ".join(missing.output.split())
    bad = _export(stored, "LiCl", "-o", str(tmp_path / "x.pdb"))
    assert bad.exit_code == 3 and "cannot tell the format" in bad.output
    frame = _export(stored, "LiCl", "-o", str(tmp_path / "x.cif"), "--frame", "7")
    assert frame.exit_code == 3 and "out of range" in frame.output
    nostore = CliRunner().invoke(app, ["export", "LiCl", "-o", str(tmp_path / "x.cif"), "-s", str(tmp_path / "none")])
    assert nostore.exit_code == 3 and not (tmp_path / "none").exists()
    assert "Traceback" not in missing.output + bad.output + frame.output + nostore.output
