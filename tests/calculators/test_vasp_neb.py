"""VASP NEB barriers (interchem.calculators.vasp.neb): BarrierMaker(calculator="vasp") builds endpoints -> two
fixed-cell relaxations -> IDPP images -> atomate2 NebFromImagesMaker -> collate -> barrier report; the
NEB inputs are MP's set with the band settings; recorded-style outputs become flagged/unflagged
``NEBResult``s; missing POTCARs fail before any job.

Fast and offline: no VASP binary and no POTCAR library (inputs are written with POTCAR.spec).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from jobflow import Flow, Job, run_locally
from pymatgen.io.vasp import Incar, Kpoints, Poscar
from vasp_recorded import flow_jobs, job_maker

from interchem.calculators import CalculatorSpec
from interchem.calculators.vasp import inputs as vasp
from interchem.calculators.vasp import neb as vasp_neb
from interchem.errors import CalculatorSettingsError, InterchemError
from interchem.structures.hops import enumerate_li_hops
from interchem.structures.library import resolve_phase
from interchem.workflows.neb import BarrierMaker, NEBResult, NEBSettings, barrier_report

WRITE_ONLY = CalculatorSpec(name="vasp", settings={"write_only": True})
N_IMAGES = 3


@pytest.fixture(scope="module")
def li2s():
    return resolve_phase("Li2S", primitive=False)[1]


@pytest.fixture(scope="module")
def hop(li2s):
    """The shortest Li vacancy hop of Li2S (2.85 A, Li 8c -> 8c)."""
    return enumerate_li_hops(li2s, cutoff=4.0, mechanism="vacancy")[0].model_dump()


@pytest.fixture(scope="module")
def endpoints(li2s, hop):
    return vasp_neb.sorted_endpoints(li2s, hop, supercell_min_length=8.0)


@pytest.fixture(scope="module")
def images(endpoints):
    return vasp_neb.interpolate_images(*endpoints, N_IMAGES)


# --------------------------------------------------------------------------------------------------
# 1. The flow


@pytest.mark.parametrize("mode", ["write_only", "potcars"])
def test_barrier_flow_is_endpoints_relaxes_interpolation_neb_collate_report(mode, li2s, request):
    from atomate2.vasp.jobs.mp import MPGGARelaxMaker
    from atomate2.vasp.jobs.neb import NebFromImagesMaker

    if mode == "potcars":
        request.getfixturevalue("fake_potcar_library")
        spec, relax_cls, neb_cls = "vasp", MPGGARelaxMaker, NebFromImagesMaker
    else:
        spec, relax_cls, neb_cls = WRITE_ONLY, vasp.WriteOnlyVaspMaker, vasp_neb.WriteOnlyVaspNebMaker
    settings = {"n_images": N_IMAGES, "fmax": 0.04, "steps": 120, "endpoint_fmax": 0.02, "endpoint_steps": 80}
    flow = BarrierMaker(calculator=spec, max_hops=1, neb_settings=settings).make(li2s, phase="Li2S")
    jobs = flow_jobs(flow)
    names = [j.name for j in jobs]
    assert names == [
        "neb endpoints Li2S vacancy hop 0",
        "relax initial endpoint Li2S vacancy hop 0",
        "relax final endpoint Li2S vacancy hop 0",
        "neb interpolation Li2S vacancy hop 0",
        "vasp neb Li2S vacancy hop 0",
        "neb Li2S vacancy hop 0",
        "barrier report Li2S",
    ]
    ends, relax_i, relax_f, interp, neb, collect, report = jobs

    # each job reads the outputs of the one(s) before it
    def parents(j):
        return {ref.uuid for ref in j.input_references}

    assert parents(relax_i) == parents(relax_f) == {ends.uuid}
    assert parents(interp) == {relax_i.uuid, relax_f.uuid}
    assert parents(neb) == {interp.uuid}
    assert parents(collect) == {neb.uuid, relax_i.uuid, relax_f.uuid}
    assert parents(report) == {collect.uuid}
    assert flow.output.uuid == report.uuid

    # fixed-cell endpoint relaxations on the NEB's electronic footing
    for relax in (relax_i, relax_f):
        maker = job_maker(relax)
        assert type(maker) is relax_cls
        incar = maker.input_set_generator.user_incar_settings
        assert incar["ISIF"] == 2 and incar["NSW"] == 80 and incar["EDIFFG"] == pytest.approx(-0.02)
        assert incar["ISMEAR"] == 0 and incar["PREC"] == "Accurate" and incar["EDIFF"] == pytest.approx(1e-6)
    neb_maker = job_maker(neb)
    assert type(neb_maker) is neb_cls
    assert neb_maker.input_set_generator.user_incar_settings["NSW"] == 120
    if mode == "potcars":  # an unconverged relax or band is flagged by the collate job, not a crash
        assert neb_maker.stop_children_kwargs == {"handle_unsuccessful": False}
        assert job_maker(relax_i).stop_children_kwargs == {"handle_unsuccessful": False}
        assert neb_maker.run_vasp_kwargs["job_type"] == "neb"
    # the flow travels as JSON to a jobflow-remote worker and comes back with the same makers
    from monty.json import MontyDecoder, jsanitize

    as_json = json.dumps(jsanitize(flow, strict=True, enum_values=True))  # as jobflow stores it
    back = MontyDecoder().process_decoded(json.loads(as_json))
    back_jobs = flow_jobs(back)
    assert [j.name for j in back_jobs] == names
    assert type(job_maker(back_jobs[4])).__name__ == neb_cls.__name__
    assert (
        job_maker(back_jobs[4]).input_set_generator.user_incar_settings
        == neb_maker.input_set_generator.user_incar_settings
    )


def test_relax_endpoints_false_single_points_with_the_same_maker(li2s, fake_potcar_library):
    flow = BarrierMaker(calculator="vasp", max_hops=1, neb_settings={"relax_endpoints": False}).make(li2s)
    relax = [j for j in flow_jobs(flow) if j.name.startswith("relax ")]
    assert len(relax) == 2
    assert all(job_maker(j).input_set_generator.user_incar_settings["NSW"] == 0 for j in relax)


def test_write_only_neb_job_survives_serialisation(images):
    job = vasp_neb.make_neb_maker(WRITE_ONLY, N_IMAGES).make(images)
    back = Job.from_dict(json.loads(json.dumps(job.as_dict(), default=lambda o: o.as_dict())))
    assert type(back.function.__self__).__name__ == "WriteOnlyVaspNebMaker"
    assert back.function.__self__.input_set_generator.num_images == N_IMAGES


# --------------------------------------------------------------------------------------------------
# 2. NEB inputs for a real hop


def _moving(structure) -> int:
    return structure.properties["neb_moving_index"]


def test_endpoints_and_idpp_images_follow_the_hop(endpoints, images, hop):
    initial, final = endpoints
    k = _moving(initial)
    assert _moving(final) == k
    assert len(images) == N_IMAGES + 2
    assert all([s.species_string for s in im] == [s.species_string for s in initial] for im in images)
    d = vasp_neb._displacements(initial, final)
    assert d[k] == pytest.approx(hop["distance_A"], abs=1e-6)  # only the moving Li moves
    assert np.delete(d, k).max() < 1e-6
    mid = images[(N_IMAGES + 1) // 2]
    to_start, to_end = vasp_neb._displacements(initial, mid)[k], vasp_neb._displacements(mid, final)[k]
    assert to_start == pytest.approx(hop["distance_A"] / 2, abs=0.15) and to_end == pytest.approx(to_start, abs=0.05)


def test_neb_inputs_written_by_atomate2_maker(tmp_path, li2s, images, endpoints, fake_potcar_library, monkeypatch):
    """What atomate2's NebFromImagesMaker.make writes before it runs VASP (run_vasp replaced by a stop)."""
    import atomate2.vasp.jobs.neb as a2neb

    settings = {"n_images": N_IMAGES, "fmax": 0.04, "steps": 120}
    flow = BarrierMaker(calculator="vasp", max_hops=1, neb_settings=settings).make(li2s, phase="Li2S")
    neb_job = next(j for j in flow_jobs(flow) if j.name.startswith("vasp neb"))
    maker = job_maker(neb_job)
    maker.write_input_set_kwargs["potcar_spec"] = True  # the fake library has no POTCARs to concatenate

    class Stop(Exception):
        pass

    def stop(**kwargs):
        raise Stop

    monkeypatch.setattr(a2neb, "run_vasp", stop)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    with pytest.raises(Stop):
        type(maker).make.original(maker, images)

    incar = Incar.from_file(run_dir / "INCAR")
    assert incar["IMAGES"] == N_IMAGES
    assert incar["LCLIMB"] is True and incar["IOPT"] == 1 and incar["IBRION"] == 3 and incar["POTIM"] == 0  # VTST
    assert incar["SPRING"] == -5
    assert incar["EDIFFG"] == pytest.approx(-0.04) and incar["NSW"] == 120
    assert incar["ENCUT"] == 520 and incar["PREC"] == "Accurate" and incar["ISIF"] == 2 and incar["ISYM"] == 0
    assert incar["ISMEAR"] == 0 and incar["SIGMA"] == pytest.approx(0.05) and incar["ISPIN"] == 2
    assert "LDAU" not in incar and "GGA" not in incar  # PBE as MP, no U for Li-S
    assert (run_dir / "POTCAR.spec").read_text().split() == ["Li_sv", "S"]

    folders = sorted(p.name for p in run_dir.iterdir() if p.is_dir())
    assert folders == [f"{i:02d}" for i in range(N_IMAGES + 2)]
    head_kpoints = Kpoints.from_file(run_dir / "KPOINTS")
    posc = [Poscar.from_file(run_dir / f / "POSCAR") for f in folders]
    assert all(p.site_symbols == ["Li", "S"] and p.natoms == [63, 32] for p in posc)
    assert all(Kpoints.from_file(run_dir / f / "KPOINTS").kpts == head_kpoints.kpts for f in folders)
    for ref, p in ((endpoints[0], posc[0]), (endpoints[1], posc[-1])):
        assert vasp_neb._displacements(ref, p.structure).max() < 1e-5
    k = _moving(endpoints[0])
    mid = posc[(N_IMAGES + 1) // 2].structure
    half = vasp_neb._displacements(endpoints[0], mid)[k]
    assert half == pytest.approx(vasp_neb._displacements(mid, endpoints[1])[k], abs=0.05)

    # the endpoint relaxations use the same k-mesh as the band (energies on one footing)
    relax = job_maker(next(j for j in flow_jobs(flow) if j.name.startswith("relax initial")))
    relax_kpoints = relax.input_set_generator.get_input_set(endpoints[0], potcar_spec=True).kpoints
    assert relax_kpoints.kpts == head_kpoints.kpts and head_kpoints.style == Kpoints.supported_modes.Gamma

    # write_neb_inputs writes the same files (used by the write-only job)
    other = vasp_neb.write_neb_inputs(
        vasp_neb.make_neb_maker("vasp", N_IMAGES, 0.04, 120), images, tmp_path / "w", potcar_spec=True
    )
    assert Incar.from_file(other / "INCAR") == incar


def test_plain_band_without_climbing_image_needs_no_vtst(tmp_path, images):
    maker = vasp_neb.make_neb_maker(WRITE_ONLY, N_IMAGES, fmax=0.05, steps=50, climb=False)
    incar = Incar.from_file(vasp_neb.write_neb_inputs(maker, images, tmp_path) / "INCAR")
    assert incar["IBRION"] == 2 and "LCLIMB" not in incar and "IOPT" not in incar and incar["NSW"] == 50


def test_user_incar_settings_reach_band_but_not_nsw(tmp_path, images):
    spec = CalculatorSpec(
        name="vasp", settings={"write_only": True, "user_incar_settings": {"ENCUT": 600, "SIGMA": 0.1}}
    )
    incar = Incar.from_file(
        vasp_neb.write_neb_inputs(vasp_neb.make_neb_maker(spec, N_IMAGES), images, tmp_path) / "INCAR"
    )
    assert incar["ENCUT"] == 600 and incar["SIGMA"] == pytest.approx(0.1)
    with pytest.raises(CalculatorSettingsError, match="NSW"):
        vasp_neb.make_neb_maker(
            CalculatorSpec(name="vasp", settings={"write_only": True, "user_incar_settings": {"NSW": 3}}), 3
        )


# --------------------------------------------------------------------------------------------------
# 3. Write-only runs stop clearly and leave the inputs


def test_write_only_neb_job_writes_inputs_and_stops(tmp_path, images):
    job = vasp_neb.make_neb_maker(WRITE_ONLY, N_IMAGES, fmax=0.05, steps=77).make(images)
    responses = run_locally(job, create_folders=True, root_dir=tmp_path / "run", log=False)
    assert job.uuid not in responses  # the job failed: no output
    (folder,) = [p for p in (tmp_path / "run").iterdir() if p.is_dir()]
    assert (folder / "POTCAR.spec").read_text().split() == ["Li_sv", "S"]
    assert Incar.from_file(folder / "INCAR")["NSW"] == 77
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [f"{i:02d}" for i in range(N_IMAGES + 2)]

    # the job itself (not only the runner's log) says what happened
    direct = tmp_path / "direct"
    direct.mkdir()
    cwd = os.getcwd()
    os.chdir(direct)
    try:
        maker = vasp_neb.make_neb_maker(WRITE_ONLY, N_IMAGES)
        with pytest.raises(InterchemError, match="write_only=true: NEB inputs for 3 images written"):
            type(maker).make.original(maker, images)
    finally:
        os.chdir(cwd)
    assert (direct / "04" / "POSCAR").is_file() and (direct / "INCAR").is_file()


def test_write_only_barrier_flow_stops_at_the_endpoint_relaxations(tmp_path, li2s):
    flow = BarrierMaker(calculator=WRITE_ONLY, max_hops=1, neb_settings={"n_images": N_IMAGES}).make(li2s, phase="Li2S")
    responses = run_locally(flow, create_folders=True, root_dir=tmp_path, log=False)
    jobs = flow_jobs(flow)
    assert jobs[0].uuid in responses  # the endpoints were built
    assert all(j.uuid not in responses for j in jobs[1:])  # nothing after the write-only relaxations ran
    incars = [Incar.from_file(p) for p in tmp_path.glob("*/INCAR")]
    assert len(incars) == 2 and all(i["ISIF"] == 2 and i["ISMEAR"] == 0 for i in incars)
    assert sorted(len(Poscar.from_file(p).structure) for p in tmp_path.glob("*/POSCAR")) == [95, 95]


# --------------------------------------------------------------------------------------------------
# 4. Recorded-style outputs -> NEBResult -> barrier report


def _endpoint_doc(structure, energy: float, state: str = "successful"):
    from emmet.core.tasks import OutputDoc, TaskDoc

    return TaskDoc(output=OutputDoc(structure=structure, energy=energy), state=state)


def _neb_doc(images, energies, state: str = "successful"):
    from emmet.core.neb import NebIntermediateImagesDoc

    return NebIntermediateImagesDoc(images=images[1:-1], energies=list(energies), state=state, completed_at=None)


def _collect(neb, ends, hop, label="Li2S vacancy hop 0", relax_endpoints=True):
    settings = NEBSettings(n_images=N_IMAGES).model_dump(mode="json")
    return vasp_neb.collect_vasp_neb(
        neb, ends, hop, WRITE_ONLY.model_dump(mode="json"), settings, label, relax_endpoints
    )


E0 = -395.0  # made-up total energies of the 95-atom supercell


def test_symmetric_recorded_profile_gives_the_barrier_put_in(images, hop):
    """Documents built directly (emmet NebIntermediateImagesDoc and TaskDoc with made-up energies on the
    real IDPP images), as the NEB job and the relax jobs would return them; parsing whole VASP folders
    would need OUTCARs for every image. Checked as models and as the stored JSON dicts."""
    ends = [_endpoint_doc(images[0], E0), _endpoint_doc(images[-1], E0)]
    neb = _neb_doc(images, [E0 + 0.21, E0 + 0.37, E0 + 0.21])
    for n, e in ((neb, ends), (neb.model_dump(mode="json"), [d.model_dump(mode="json") for d in ends])):
        res = _collect(n, e, hop)
        assert res.barrier_eV == pytest.approx(0.37) and res.forward_barrier_eV == pytest.approx(0.37)
        assert res.backward_barrier_eV == pytest.approx(0.37) and res.reaction_energy_eV == pytest.approx(0.0)
        assert res.energies_eV == pytest.approx([0.0, 0.21, 0.37, 0.21, 0.0])
        assert res.saddle_index == 2 and res.converged and not res.flagged and res.flag_reason is None
        x = res.reaction_coordinate_A
        assert x[0] == 0 and x[2] == pytest.approx(x[-1] / 2, abs=0.05) and x[-1] >= hop["distance_A"] - 1e-6
        assert res.level_of_theory.startswith("VASP PBE(+U)") and res.n_atoms == 95
        assert res.endpoint_energies_eV == [E0, E0] and len(res.images) == N_IMAGES + 2


def test_asymmetric_profile_barriers(images, hop):
    ends = [_endpoint_doc(images[0], E0), _endpoint_doc(images[-1], E0 + 0.10)]
    res = _collect(_neb_doc(images, [E0 + 0.2, E0 + 0.45, E0 + 0.3]), ends, hop)
    assert res.forward_barrier_eV == pytest.approx(0.45) and res.backward_barrier_eV == pytest.approx(0.35)
    assert res.barrier_eV == pytest.approx(0.45) and res.reaction_energy_eV == pytest.approx(0.10)
    assert not res.flagged


@pytest.mark.parametrize(
    ("neb_energies", "neb_state", "end_state", "final_index", "reason"),
    [
        ([0.2, 0.35, 0.2], "failed", "successful", -1, "NEB not converged in 300 steps"),
        ([-0.1, -0.05, 0.1], "successful", "successful", -1, "highest image is an endpoint"),
        ([0.1, -0.2, 0.1], "successful", "successful", -1, "lies 0.20 eV below both endpoints"),
        ([0.2, 0.35, 0.2], "successful", "failed", -1, "initial endpoint not relaxed to 0.03 eV/A"),
        ([0.01, 0.02, 0.01], "successful", "successful", 0, "relaxed into the same minimum"),
    ],
)
def test_bad_profiles_are_flagged_with_a_reason(images, hop, neb_energies, neb_state, end_state, final_index, reason):
    ends = [
        _endpoint_doc(images[0], E0, end_state),
        _endpoint_doc(images[final_index], E0 + (0.2 if final_index == -1 and reason.startswith("highest") else 0.0)),
    ]
    res = _collect(_neb_doc(images, [E0 + e for e in neb_energies], neb_state), ends, hop)
    assert res.flagged and reason in res.flag_reason
    assert res.converged == (neb_state == "successful")


def test_collate_job_and_barrier_report_take_vasp_results(tmp_path, li2s, images, hop):
    """The collate job through jobflow (images to the data store), then the barrier report on its output."""
    ends = [_endpoint_doc(images[0], E0), _endpoint_doc(images[-1], E0)]
    settings = NEBSettings(n_images=N_IMAGES).model_dump(mode="json")
    calc = WRITE_ONLY.model_dump(mode="json")
    good = vasp_neb.collect_vasp_neb_job(
        _neb_doc(images, [E0 + 0.2, E0 + 0.3, E0 + 0.2]), ends, hop, calc, settings, "Li2S vacancy hop 0"
    )
    bad = vasp_neb.collect_vasp_neb_job(
        _neb_doc(images, [E0 + 0.2, E0 + 0.6, E0 + 0.2], "failed"), ends, hop, calc, settings, "Li2S vacancy hop 1"
    )
    hops = enumerate_li_hops(li2s, cutoff=4.5, mechanism="vacancy")[:2]
    assert len(hops) == 2
    report = barrier_report("Li2S", li2s, {"vacancy": [h.model_dump() for h in hops]}, [good.output, bad.output], calc)
    responses = run_locally(Flow([good, bad, report]), create_folders=False, log=False, ensure_success=True)
    out = responses[report.uuid][1].output
    assert out.level_of_theory == "VASP PBE(+U) (MP input set MPRelaxSet, POTCAR PBE)"
    assert out.calculator["name"] == "vasp"
    rows = {r["hop"]: r for r in out.hops}
    assert rows[0]["barrier_eV"] == pytest.approx(0.3) and not rows[0]["flagged"]
    assert rows[1]["flagged"] and "NEB not converged" in rows[1]["flag_reason"] and not rows[1]["converged"]
    assert out.flagged_hops == 1
    assert any(v == pytest.approx(0.3) for v in out.percolation_eV["vacancy"].values() if v is not None)
    assert 0.6 not in [v for v in out.percolation_eV["vacancy"].values()]  # a flagged barrier opens no path
    assert NEBResult.model_validate(responses[good.uuid][1].output).images  # stored with its images


# --------------------------------------------------------------------------------------------------
# 5. Bad input fails before any job


def test_vasp_barriers_without_potcars_fail_before_any_job(li2s, no_potcars):
    with pytest.raises(CalculatorSettingsError, match="POTCAR") as err:
        BarrierMaker(calculator="vasp", max_hops=1).make(li2s, phase="Li2S")
    assert "PMG_VASP_PSP_DIR" in str(err.value) and "write_only" in str(err.value)
    BarrierMaker(calculator=WRITE_ONLY, max_hops=1).make(li2s, phase="Li2S")  # inputs only: fine


def test_cli_vasp_barriers_without_potcars(tmp_path, isolated_settings, monkeypatch, no_potcars):
    from typer.testing import CliRunner

    from interchem.cli import app

    monkeypatch.setenv("INTERCHEM_STORE_PATH", str(tmp_path / "store"))
    result = CliRunner().invoke(app, ["barriers", "Li2S", "-c", "vasp", "--max-hops", "1", "-o", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output  # refused before any job: an input error
    assert "POTCAR" in result.output and "PMG_VASP_PSP_DIR" in result.output
    assert not (tmp_path / "out").exists()
