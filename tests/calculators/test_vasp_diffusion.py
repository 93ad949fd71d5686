"""Diffusion from VASP MD (``DiffusionMaker(calculator="vasp")``): atomate2's VASP MD job output (an emmet
TaskDoc) feeds ``diffusion_point`` through ``interchem.calculators.vasp.md``.

Recorded-style outputs, made here: no VASP binary and no POTCARs are used. ``write_vasp_md_outputs``
writes the files VASP leaves in a run folder that emmet's ``TaskDoc.from_directory`` reads
(vasprun.xml with one <calculation> per ionic step, OSZICAR with the temperature per step, a minimal
OUTCAR, CONTCAR) for a cell in which the atoms follow seeded random walks of known D. The numbers are
made up (energies, forces, stress); the layout is VASP 6's, trimmed to what pymatgen's Vasprun/Outcar
and emmet need. Parsing goes through atomate2's own ``get_vasp_task_document`` with the MD maker's
``task_document_kwargs``, and in the flow test through the real atomate2 VASP MD job with VASP replaced
by atomate2's test double (``atomate2.utils.testing.vasp.monkeypatch_vasp``), which copies these files
into the job folder after checking the inputs the job wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.io.vasp import Incar, Kpoints, Poscar
from vasp_recorded import energy_xml, outcar, structure_xml, v, vasprun_head

from interchem.calculators import CalculatorSpec
from interchem.calculators.vasp import inputs as vasp
from interchem.errors import DiffusionInputError, InterchemError, NoMobileSpeciesError
from interchem.structures.library import resolve_phase
from interchem.workflows.diffusion import DiffusionMaker, diffusion_point, diffusion_supercell

K_B = 8.617333262e-5
WRITE_ONLY = "vasp:write_only=true"


@pytest.fixture(scope="module")
def li2s():
    return resolve_phase("Li2S", primitive=False)[1]


# --------------------------------------------------------------------------------------------------
# Recorded-style VASP MD output


def write_vasp_md_outputs(
    directory: Path, structure, frac_frames: np.ndarray, incar: dict, temperatures, energies
) -> Path:
    """The outputs of a VASP MD run (one frame per ionic step, positions wrapped into [0, 1) as VASP
    writes them): vasprun.xml, OSZICAR (T per step), OUTCAR, CONTCAR. ``incar`` is what the run used."""
    directory.mkdir(parents=True, exist_ok=True)
    symbols = [s.species_string for s in structure]
    lattice = structure.lattice.matrix
    ionic = {k: incar[k] for k in ("NSW", "IBRION", "ISIF", "POTIM") if k in incar}
    md = {k: incar[k] for k in ("TEBEG", "TEEND", "SMASS", "MDALGO") if k in incar}
    lines = vasprun_head(
        "tests/test_vasp_diffusion.py",
        incar,
        symbols,
        structure_xml(lattice, frac_frames[0], "initialpos"),
        divisions=(1, 1, 1),
        system="md",
        electronic={"PREC": "normal", "ENMAX": 520.0, "ISPIN": 1, "NELECT": 40.0, "NBANDS": 64, "NELM": 500},
        separators={"ionic": ionic, "ionic md": md},
    )
    zeros = ["   " + v((0.0, 0.0, 0.0)) for _ in symbols]
    stress = ["   " + v(r) for r in np.eye(3) * 5.0]
    for frac, e in zip(frac_frames, energies):
        lines += [
            " <calculation>",
            *structure_xml(lattice, frac),
            '  <varray name="forces">',
            *zeros,
            "  </varray>",
            '  <varray name="stress">',
            *stress,
            "  </varray>",
            "  <energy>",
            *energy_xml(e),
            "  </energy>",
            " </calculation>",
        ]
    lines += [*structure_xml(lattice, frac_frames[-1], "finalpos"), "</modeling>"]
    (directory / "vasprun.xml").write_text("\n".join(lines) + "\n")
    (directory / "OSZICAR").write_text(
        "".join(
            f"{i:7d} T= {t:8.1f} E= {e + 1.0:.8E} F= {e:.8E} E0= {e:.8E}  EK= 0.10000E+01 SP= 0.00E+00 SK= 0.00E+00\n"
            for i, (t, e) in enumerate(zip(temperatures, energies), 1)
        )
    )
    (directory / "OUTCAR").write_text(outcar(len(symbols), nkpts=1, nbands=64, ibrion=0, elapsed=3600.0))
    final = structure.copy()
    for i, f in enumerate(frac_frames[-1]):
        final.replace(i, final[i].species, f)
    Poscar(final).write_file(directory / "CONTCAR")
    return directory


def random_walk_frames(structure, n_frames: int, step_A: dict[str, float], vibration_A: float, seed: int) -> np.ndarray:
    """Wrapped fractional positions: atoms of the species in ``step_A`` walk with that rms step per frame
    (D = step^2 / (6 dt)), the others vibrate about their sites with rms ``vibration_A`` per component.

    Independent walkers may end up on top of each other, and emmet marks a run whose final structure has
    atoms closer than 0.5 Å as failed (atomate2 then fails the job): such a draw is replaced by the next
    seed's (deterministic; a selection on the last frame only, which does not bias D measurably)."""
    from pymatgen.core import Structure

    for attempt in range(20):
        frac = _walk(structure, n_frames, step_A, vibration_A, seed + 1000 * attempt)
        if Structure(structure.lattice, structure.species, frac[-1]).is_valid():
            return frac
    raise AssertionError("no valid final structure in 20 draws")


def _walk(structure, n_frames: int, step_A: dict[str, float], vibration_A: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    symbols = [s.species_string for s in structure]
    cart = np.repeat(structure.cart_coords[None], n_frames, axis=0)
    for i, sym in enumerate(symbols):
        if sym in step_A:
            steps = rng.normal(scale=step_A[sym] / np.sqrt(3), size=(n_frames - 1, 3))
            cart[1:, i] += np.cumsum(steps, axis=0)
        else:
            cart[:, i] += rng.normal(scale=vibration_A, size=(n_frames, 3))
    return (cart @ np.linalg.inv(structure.lattice.matrix)) % 1.0


def md_incar(temperature: float, nsw: int, potim: float) -> dict:
    """What atomate2's MDSetGenerator writes for NVT (the keys that matter here)."""
    return {
        "PREC": "Normal",
        "ENCUT": 520.0,
        "IBRION": 0,
        "NSW": nsw,
        "POTIM": potim,
        "TEBEG": temperature,
        "TEEND": temperature,
        "MDALGO": 2,
        "SMASS": 0.0,
        "ISIF": 2,
        "ISMEAR": 0,
        "SIGMA": 0.05,
        "ISYM": 0,
    }


def d_true_cm2_per_s(step_A: float, dt_fs: float) -> float:
    return step_A**2 / (6 * dt_fs) * 0.1  # Å^2/fs -> cm^2/s


def parse_like_atomate2(directory: Path):
    """What atomate2's VASP MD job does after VASP has run (jobs/base.py: get_vasp_task_document with the
    maker's task_document_kwargs)."""
    from atomate2.vasp.jobs.base import get_vasp_task_document

    maker = vasp.make_md_maker("vasp", temperature=300, steps=10, timestep=2.0)
    return get_vasp_task_document(directory, **maker.task_document_kwargs)


# --------------------------------------------------------------------------------------------------
# 1. A recorded VASP MD run gives back the D that was put in


POTIM = 1.5  # not DiffusionMaker's 2 fs: the frame time must come from the INCAR
TEBEG = 800.0
LI_STEP = 0.3  # Å rms per ionic step
S_STEP = 0.6  # S walks too, 4x faster: a D over all atoms would be ~2x the Li one


@pytest.fixture(scope="module")
def recorded_md(tmp_path_factory, li2s):
    cell = li2s.copy()
    cell.make_supercell([2, 1, 1])  # 16 Li, 8 S
    n = 1500
    frames = random_walk_frames(cell, n, {"Li": LI_STEP, "S": S_STEP}, 0.0, seed=11)
    rng = np.random.default_rng(12)
    temps = np.round(rng.normal(TEBEG + 25.0, 40.0, n), 1)  # OSZICAR T, mean about 825 K
    energies = -4.0 * len(cell) + rng.normal(0.0, 0.1, n)
    directory = write_vasp_md_outputs(
        tmp_path_factory.mktemp("vasp-md") / "run", cell, frames, md_incar(TEBEG, n, POTIM), temps, energies
    )
    old = PMG_SETTINGS.get("PMG_VASP_PSP_DIR")
    psp = tmp_path_factory.mktemp("psp")
    (psp / "POT_GGA_PAW_PBE").mkdir()
    PMG_SETTINGS["PMG_VASP_PSP_DIR"] = str(psp)  # make_md_maker("vasp") checks the configuration only
    try:
        task_doc = parse_like_atomate2(directory)
    finally:
        if old is None:
            PMG_SETTINGS.pop("PMG_VASP_PSP_DIR", None)
        else:
            PMG_SETTINGS["PMG_VASP_PSP_DIR"] = old
    return {"task_doc": task_doc, "cell": cell, "frames": frames, "temps": temps, "n": n, "dir": directory}


def test_parsed_like_atomate2_the_trajectory_is_in_vasp_objects(recorded_md):
    from pymatgen.core.trajectory import Trajectory

    doc = recorded_md["task_doc"]
    assert doc.task_type.value == "Molecular Dynamics" and doc.state.value == "successful"
    traj = doc.vasp_objects["trajectory"]  # what atomate2's job data routes to the data store
    assert isinstance(traj, Trajectory) and len(traj) == recorded_md["n"]
    assert doc.calcs_reversed[0].output.ionic_steps is None  # store_trajectory != "no"
    assert np.asarray(traj.coords).min() >= 0 and np.asarray(traj.coords).max() < 1  # wrapped, as VASP writes


@pytest.mark.parametrize("form", ["task_doc", "stored_dict"])
def test_vasp_md_recovers_the_diffusion_coefficient(recorded_md, form):
    from monty.json import jsanitize

    doc = recorded_md["task_doc"]
    if form == "stored_dict":  # as jobflow serialises a job output into the store
        doc = jsanitize(doc, strict=True, allow_bson=True, enum_values=True)
    eq_ps = 0.15
    point = diffusion_point(doc, species="Li", equilibration_ps=eq_ps, calculator=CalculatorSpec(name="vasp"))
    truth = d_true_cm2_per_s(LI_STEP, POTIM)
    d = point.diffusion
    assert not d.flagged
    assert abs(d.D_cm2_per_s - truth) < 2 * d.D_err_cm2_per_s, (d.D_cm2_per_s, d.D_err_cm2_per_s, truth)
    assert 0 < d.D_err_cm2_per_s < 0.2 * truth
    # temperature and frame time from the INCAR (TEBEG, POTIM), mean T from OSZICAR
    assert point.temperature_K == TEBEG
    assert point.mean_temperature_K == pytest.approx(float(np.mean(recorded_md["temps"])), abs=1e-6)
    assert abs(point.mean_temperature_K - TEBEG) > 10
    assert point.msd.time_step_fs == pytest.approx(POTIM)
    kept = recorded_md["n"] - round(eq_ps * 1000 / POTIM)
    assert point.msd.n_frames == kept
    assert point.production_ps == pytest.approx((kept - 1) * POTIM / 1000)
    # only Li: 16 of 24 atoms
    assert point.n_li == 16 and point.msd.n_atoms == 16
    assert point.volume_A3 == pytest.approx(recorded_md["cell"].volume)
    assert point.md_key.startswith("vasp:") and point.md_key.endswith(str(recorded_md["dir"]))
    assert point.sigma_S_per_cm is not None and point.sigma_S_per_cm > 0


def test_vasp_md_result_unwraps_and_the_species_mask_matters(recorded_md):
    from interchem.analysis import diffusion as diff
    from interchem.calculators.vasp.md import vasp_md_result
    from interchem.workflows.md import cartesian_frames

    res = vasp_md_result(recorded_md["task_doc"])
    assert res.settings["timestep_fs"] == POTIM and res.settings["temperature_K"] == TEBEG
    assert res.settings["steps"] == recorded_md["n"] and res.steps_done == recorded_md["n"]
    assert res.trajectory.time_step == POTIM
    pos, _ = cartesian_frames(res.trajectory)
    # unwrapped: every step is the small random-walk step, never a jump across the cell
    assert np.abs(np.diff(pos, axis=0)).max() < 3.0
    assert np.ptp(np.asarray(res.trajectory.coords)) > 1.0
    # the analysis over all atoms would see the fast S walkers: the Li mask is what gives the Li D
    all_atoms = diff.diffusion_coefficient(diff.msd(pos, time_step_fs=POTIM))
    assert all_atoms.D_cm2_per_s > 1.5 * d_true_cm2_per_s(LI_STEP, POTIM)
    # an MDResult (or its stored dict) still takes the MDResult path and gives the same point
    from_doc = diffusion_point(recorded_md["task_doc"], equilibration_ps=0.15, calculator=CalculatorSpec(name="vasp"))
    for md in (res, res.model_dump()):
        again = diffusion_point(md, equilibration_ps=0.15)
        assert again.diffusion.D_cm2_per_s == pytest.approx(from_doc.diffusion.D_cm2_per_s, rel=1e-9)


def test_without_oszicar_temperatures_the_kinetic_temperature_is_used(recorded_md):
    """Ballistic frames (x = x0 + v t, exact central differences): T = sum m v^2 / ((3N - 3) k_B)."""
    from monty.json import jsanitize
    from pymatgen.core import Element
    from pymatgen.core.trajectory import Trajectory

    from interchem.calculators.vasp.md import vasp_md_result

    cell = recorded_md["cell"]
    rng = np.random.default_rng(3)
    v = rng.normal(scale=0.01, size=(len(cell), 3))  # Å/fs
    cart = cell.cart_coords[None] + v[None] * (POTIM * np.arange(40))[:, None, None]
    frac = (cart @ np.linalg.inv(cell.lattice.matrix)) % 1.0
    traj = Trajectory(
        species=cell.species, coords=frac, lattice=cell.lattice.matrix, frame_properties=[{"energy": -1.0}] * 40
    )
    stored = jsanitize(recorded_md["task_doc"], strict=True, allow_bson=True, enum_values=True)
    stored["vasp_objects"] = {"trajectory": traj.as_dict()}
    masses = np.array([Element(s.species_string).atomic_mass for s in cell])
    expected = np.sum(masses[:, None] * v**2) * 103.642691 / ((3 * len(cell) - 3) * K_B)
    res = vasp_md_result(stored)
    assert res.mean_temperature_K == pytest.approx(expected, rel=1e-6)
    assert res.trajectory.frame_properties[0]["temperature"] is None


def test_trajectory_left_in_the_data_store_or_missing_is_a_clear_error(recorded_md):
    from monty.json import jsanitize

    stored = jsanitize(recorded_md["task_doc"], strict=True, allow_bson=True, enum_values=True)
    stored["vasp_objects"] = {"trajectory": {"@class": "Trajectory", "blob_uuid": "abc", "store": "data"}}
    with pytest.raises(DiffusionInputError, match="data-store reference"):
        diffusion_point(stored, calculator=CalculatorSpec(name="vasp"))
    stored["vasp_objects"] = {}
    with pytest.raises(DiffusionInputError, match="store_trajectory"):
        diffusion_point(stored, calculator=CalculatorSpec(name="vasp"))
    stored["input"]["incar"]["IBRION"] = 2
    stored["input"]["parameters"]["IBRION"] = 2
    with pytest.raises(DiffusionInputError, match="not a VASP MD run"):
        diffusion_point(stored, calculator=CalculatorSpec(name="vasp"))


# --------------------------------------------------------------------------------------------------
# 2. The DiffusionMaker flow with VASP


TEMPS = (600.0, 800.0, 1000.0)


def _md_jobs_and_points(flow):
    md = [j for j in flow.jobs if j.name.startswith("VASP MD")]
    points = [j for j in flow.jobs if j.name.startswith("diffusion Li2S")]
    reports = [j for j in flow.jobs if j.name.startswith("diffusion report")]
    return md, points, reports


def _check_flow_shape(flow, maker_cls, steps: int, timestep: float):
    md, points, reports = _md_jobs_and_points(flow)
    assert len(md) == len(TEMPS) and len(points) == len(TEMPS) and len(reports) == 1
    assert len(flow.jobs) == 2 * len(TEMPS) + 1
    for t, md_job, point in zip(TEMPS, md, points):
        maker = md_job.function.__self__
        assert isinstance(maker, maker_cls)
        gen = maker.input_set_generator
        assert gen.start_temp == t and gen.end_temp == t and gen.nsteps == steps and gen.time_step == timestep
        assert gen.ensemble == "nvt"
        # the point reads this MD job's output
        assert {ref.uuid for ref in point.input_references} == {md_job.uuid}
    assert {ref.uuid for ref in reports[0].input_references} == {p.uuid for p in points}
    assert flow.output.uuid == reports[0].uuid
    return md


def test_write_only_flow_has_one_vasp_md_job_per_temperature(li2s):
    maker_cls = vasp.WriteOnlyVaspMaker
    flow = DiffusionMaker(
        calculator=WRITE_ONLY, temperatures_K=TEMPS, steps=300, timestep_fs=2.0, equilibration_ps=0.1
    ).make(li2s, phase="Li2S")
    _check_flow_shape(flow, maker_cls, 300, 2.0)


def test_flow_with_potcars_is_atomate2_md_and_inputs_ask_for_what_parsing_needs(li2s, fake_potcar_library, tmp_path):
    from atomate2.vasp.jobs.md import MDMaker
    from emmet.core.types.enums import StoreTrajectoryOption

    flow = DiffusionMaker(
        calculator="vasp", temperatures_K=TEMPS, steps=400, timestep_fs=1.5, equilibration_ps=0.1
    ).make(li2s, phase="Li2S")
    md = _check_flow_shape(flow, MDMaker, 400, 1.5)
    maker = md[0].function.__self__
    # every ionic step kept as a trajectory (what vasp_md reads), routed to the data store by the job
    assert StoreTrajectoryOption(maker.task_document_kwargs["store_trajectory"]) == StoreTrajectoryOption.PARTIAL
    from pymatgen.core.trajectory import Trajectory

    data = md[0]._kwargs["data"]  # jobflow's job(data=...): output objects routed to the data store
    assert Trajectory in data or "trajectory" in data
    cell = md[0].function_args[0]
    assert len(cell) == len(diffusion_supercell(li2s, 10.0)) == 96
    vasp.write_inputs(maker, cell, tmp_path, potcar_spec=True)  # what the job writes for 600 K
    incar, kpoints = Incar.from_file(tmp_path / "INCAR"), Kpoints.from_file(tmp_path / "KPOINTS")
    poscar = Poscar.from_file(tmp_path / "POSCAR")
    assert incar["IBRION"] == 0 and incar["NSW"] == 400
    assert (
        incar["POTIM"] == pytest.approx(1.5)
        and incar["TEBEG"] == pytest.approx(600)
        and incar["TEEND"] == pytest.approx(600)
    )
    assert incar["MDALGO"] == 2 and incar["ISIF"] == 2  # fixed cell: the minimum-image unwrapping holds
    assert "ML_LMLFF" not in incar  # every step is an ab initio step written to vasprun.xml
    assert kpoints.kpts == [(1, 1, 1)] and sum(poscar.natoms) == 96
    assert sorted((tmp_path / "POTCAR.spec").read_text().split()) == ["Li_sv", "S"]


def test_vasp_diffusion_flow_end_to_end_with_atomate2_md_jobs(
    li2s, fake_potcar_library, isolated_settings, tmp_path, monkeypatch
):
    """The real atomate2 VASP MD jobs run (VASP replaced by atomate2's test double, which checks the
    written INCAR/KPOINTS/POSCAR/POTCAR.spec against a reference and copies recorded-style outputs in),
    their TaskDocs go through interchem's store (trajectory in the data store) into the diffusion points
    and the Arrhenius report, which recovers the activation energy put into the random walks."""
    from atomate2.utils.testing.vasp import monkeypatch_vasp

    from interchem.runner import run_flow
    from interchem.store import make_job_store

    ea, steps, dt = 0.2, 600, 2.0
    step_1000 = 0.3
    cell = diffusion_supercell(li2s, 5.0)
    assert len(cell) == 12  # the conventional cell: 8 Li, 4 S
    refs, truths = {}, {}
    for i, t in enumerate(TEMPS):
        d_ratio = np.exp(-ea / K_B * (1 / t - 1 / 1000.0))
        step = step_1000 * np.sqrt(d_ratio)
        truths[t] = d_true_cm2_per_s(step, dt)
        ref = tmp_path / "refs" / f"md{t:.0f}"
        # reference inputs, written by hand: what the job must ask VASP for
        (ref / "inputs").mkdir(parents=True)
        Incar(md_incar(t, steps, dt)).write_file(ref / "inputs" / "INCAR")
        Kpoints.gamma_automatic().write_file(ref / "inputs" / "KPOINTS")
        Poscar(cell).write_file(ref / "inputs" / "POSCAR")
        potcars = {"Li": "Li_sv", "S": "S"}  # MPRelaxSet's choices
        (ref / "inputs" / "POTCAR.spec").write_text("\n".join(potcars[e] for e in Poscar(cell).site_symbols) + "\n")
        rng = np.random.default_rng(100 + i)
        frames = random_walk_frames(cell, steps, {"Li": step}, 0.05, seed=200 + i)
        write_vasp_md_outputs(
            ref / "outputs",
            cell,
            frames,
            md_incar(t, steps, dt),
            np.round(rng.normal(t, 0.05 * t, steps), 1),
            -4.0 * len(cell) + rng.normal(0, 0.1, steps),
        )
        refs[f"VASP MD nvt {t:g} K"] = ref
    flow = DiffusionMaker(
        calculator="vasp",
        temperatures_K=TEMPS,
        steps=steps,
        timestep_fs=dt,
        equilibration_ps=0.1,
        supercell_min_length=5.0,
    ).make(li2s, phase="Li2S")
    fake = monkeypatch_vasp(monkeypatch, tmp_path / "refs")
    mock = next(fake)
    try:
        check = {"incar_settings": ["IBRION", "NSW", "POTIM", "TEBEG", "TEEND", "MDALGO", "ISIF"]}
        mock(refs, {name: check for name in refs})
        report = run_flow(flow, isolated_settings, what="vasp diffusion")
    finally:
        next(fake, None)

    report = report if isinstance(report, dict) else report.model_dump()
    assert [p["temperature_K"] for p in report["points"]] == list(TEMPS)
    for p in report["points"]:
        d = p["diffusion"]
        assert not d["flagged"] and p["n_li"] == 8
        assert abs(d["D_cm2_per_s"] - truths[p["temperature_K"]]) < 2.5 * d["D_err_cm2_per_s"], (p["temperature_K"], d)
        assert p["msd"]["time_step_fs"] == dt and p["md_key"].startswith("vasp:")
        assert abs(p["mean_temperature_K"] - p["temperature_K"]) < 0.02 * p["temperature_K"]
    assert not report["flagged"]
    assert abs(report["activation_energy_eV"] - ea) < 3 * report["activation_energy_err_eV"], report[
        "activation_energy_eV"
    ]
    assert report["calculator"]["name"] == "vasp"
    # the trajectories went to the data store, not inline into the job documents
    store = make_job_store(isolated_settings)
    store.connect()
    try:
        md_uuids = [j.uuid for j in flow.jobs if j.name.startswith("VASP MD")]
        blobs = list(store.additional_stores["data"].query({"job_uuid": {"$in": md_uuids}}))
        assert len(blobs) == len(TEMPS)
        raw = store.docs_store.query_one({"uuid": md_uuids[0]})
        assert "blob_uuid" in raw["output"]["vasp_objects"]["trajectory"]
    finally:
        store.close()


# --------------------------------------------------------------------------------------------------
# 3. Bad input and write-only runs


def test_write_only_flow_run_stops_at_the_md_jobs_with_the_write_only_error(li2s, isolated_settings, tmp_path):
    from interchem.runner import run_flow

    flow = DiffusionMaker(
        calculator=WRITE_ONLY,
        temperatures_K=TEMPS,
        steps=100,
        timestep_fs=2.0,
        equilibration_ps=0.05,
        supercell_min_length=5.0,
    ).make(li2s, phase="Li2S")
    with pytest.raises(InterchemError, match="write_only=true: inputs written") as err:
        run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs", what="interchem diffusion Li2S")
    assert "VASP MD nvt 600 K" in str(err.value)
    incars = sorted((tmp_path / "jobs").glob("*/INCAR"))
    assert len(incars) == len(TEMPS)  # each MD job wrote its inputs; nothing downstream ran
    assert sorted(Incar.from_file(p)["TEBEG"] for p in incars) == list(TEMPS)


@pytest.mark.parametrize("calculator", [WRITE_ONLY, "vasp"])
def test_bad_input_gives_the_clear_errors_with_vasp(li2s, calculator, fake_potcar_library):
    with pytest.raises(DiffusionInputError, match="at least 3 temperatures"):
        DiffusionMaker(calculator=calculator, temperatures_K=(600.0, 800.0)).make(li2s, phase="Li2S")
    no_li = resolve_phase("Si", primitive=False)[1]
    with pytest.raises(NoMobileSpeciesError):
        DiffusionMaker(calculator=calculator, temperatures_K=TEMPS).make(no_li, phase="Si")
