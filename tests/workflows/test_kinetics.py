"""Kinetics flows: restartable MD, NEB barriers, diffusion reports, phonons.

Physics checks use CHGNet on cells of 15-16 atoms (seconds each); plumbing uses the tiny random MACE.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from jobflow import run_locally

from interchem.errors import DiffusionInputError, NoMobileSpeciesError
from interchem.structures.hops import build_neb_endpoints, enumerate_li_hops
from interchem.structures.library import resolve_phase
from interchem.workflows.md import MDInterrupted, MDMaker, MDSettings, md_key, run_md


@pytest.fixture(scope="module")
def li2s() -> object:
    return resolve_phase("Li2S", primitive=False)[1]


@pytest.fixture(scope="module")
def bcc_li_hop():
    li = resolve_phase("Li", primitive=False)[1]
    hop = enumerate_li_hops(li, cutoff=3.5)[0]
    return li, hop


# ---------------------------------------------------------------------------------- MD restart


def test_md_resumed_run_equals_uninterrupted(tmp_path, li2s, tiny_mace):
    """50 steps, stop (as a kill would, after the checkpoint), 50 more = 100 uninterrupted steps."""
    calc = f"mace:model={tiny_mace}"
    settings = MDSettings(temperature_K=500, steps=100, sample_interval=5, checkpoint_interval=10, seed=11)
    full = run_md(li2s, calc, settings, checkpoint=tmp_path / "full.npz")
    with pytest.raises(MDInterrupted) as info:
        run_md(li2s, calc, settings, checkpoint=tmp_path / "split.npz", stop_after_step=50)
    assert info.value.step == 50
    resumed = run_md(li2s, calc, settings, checkpoint=tmp_path / "split.npz")
    assert resumed.resumed_from_step == 50 and full.resumed_from_step == 0
    assert len(resumed.trajectory) == len(full.trajectory) == 21
    np.testing.assert_array_equal(np.asarray(resumed.trajectory.coords), np.asarray(full.trajectory.coords))
    assert [p["energy"] for p in resumed.trajectory.frame_properties] == [
        p["energy"] for p in full.trajectory.frame_properties
    ]
    # A different seed is a different trajectory (the comparison above could not pass by accident).
    other = run_md(li2s, calc, settings.model_copy(update={"seed": 12}), checkpoint=tmp_path / "other.npz")
    assert not np.allclose(np.asarray(other.trajectory.coords), np.asarray(full.trajectory.coords))


def test_md_killed_process_resumes_to_same_trajectory(tmp_path, li2s, tiny_mace):
    """A real SIGKILL at an arbitrary moment: the atomic checkpoint lets the rerun finish identically."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            from interchem.structures.library import resolve_phase
            from interchem.workflows.md import MDSettings, run_md
            s = resolve_phase("Li2S", primitive=False)[1]
            st = MDSettings(temperature_K=500, steps=400, sample_interval=5, checkpoint_interval=5, seed=3)
            run_md(s, "mace:model={tiny_mace}", st, checkpoint=sys.argv[1])
            print("done")
            """
        )
    )
    ck = tmp_path / "killed.npz"
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ck.exists(), "no checkpoint was written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = int(np.load(ck)["step"])
    assert 0 < step_at_kill < 400, "the run was not interrupted mid-way; the test proves nothing"
    settings = MDSettings(temperature_K=500, steps=400, sample_interval=5, checkpoint_interval=5, seed=3)
    resumed = run_md(li2s, f"mace:model={tiny_mace}", settings, checkpoint=ck)
    full = run_md(li2s, f"mace:model={tiny_mace}", settings, checkpoint=tmp_path / "full.npz")
    assert resumed.resumed_from_step == step_at_kill
    np.testing.assert_array_equal(np.asarray(resumed.trajectory.coords), np.asarray(full.trajectory.coords))


def test_md_checkpoint_of_another_run_is_refused(tmp_path, li2s, tiny_mace):
    from interchem.workflows.md import MDError

    calc = f"mace:model={tiny_mace}"
    st = MDSettings(temperature_K=300, steps=20, checkpoint_interval=10, seed=1)
    with pytest.raises(MDInterrupted):
        run_md(li2s, calc, st, checkpoint=tmp_path / "c.npz", stop_after_step=10)
    with pytest.raises(MDError, match="another run"):
        run_md(li2s, calc, st.model_copy(update={"temperature_K": 400}), checkpoint=tmp_path / "c.npz")


def test_md_settings_reject_nonsense():
    with pytest.raises(ValueError):
        MDSettings(temperature_K=-5, steps=10)
    with pytest.raises(ValueError, match="sane"):
        MDSettings(temperature_K=50000, steps=10)
    with pytest.raises(ValueError):
        MDSettings(temperature_K=300, steps=10, thermostat="magic")  # extra fields are refused


def test_md_job_trajectory_goes_to_data_store(tmp_path, li2s, tiny_mace, isolated_settings, monkeypatch):
    from interchem.store import make_job_store

    monkeypatch.setenv("INTERCHEM_CHECKPOINT_DIR", str(tmp_path / "ck"))
    store = make_job_store(isolated_settings)
    md = MDMaker(
        calculator=f"mace:model={tiny_mace}", temperature_K=400, steps=30, md_settings={"sample_interval": 5}
    ).make(li2s)
    run_locally(md, store=store, create_folders=True, root_dir=tmp_path, ensure_success=True, log=False)
    store.connect()
    doc = store.query_one({"uuid": md.uuid}, load=False)
    traj_field = doc["output"]["trajectory"]
    assert "@class" in traj_field and traj_field["@class"] == "Trajectory"  # a reference, not the frames
    assert "blob_uuid" in traj_field
    loaded = store.query_one({"uuid": md.uuid}, load=True)["output"]["trajectory"]
    assert len(loaded["coords"]) == 7
    assert list((tmp_path / "ck").glob("md-*.npz")), "checkpoint folder comes from settings"


def test_md_key_changes_with_inputs(li2s):
    from interchem.calculators import CalculatorSpec

    st = MDSettings(temperature_K=300, steps=10)
    k = md_key(li2s, CalculatorSpec.parse("chgnet"), st)
    assert k != md_key(li2s, CalculatorSpec.parse("chgnet"), st.model_copy(update={"seed": 1}))
    assert k != md_key(li2s, CalculatorSpec.parse("emt"), st)
    assert k == md_key(li2s.copy(), CalculatorSpec.parse("chgnet"), MDSettings(temperature_K=300, steps=10))


# ---------------------------------------------------------------------------------------- NEB


def test_neb_symmetric_hop_gives_symmetric_path(bcc_li_hop):
    """The nearest-neighbour vacancy hop in bcc Li maps onto itself by inversion through its midpoint:
    the path must be symmetric with the saddle in the middle image (CHGNet, 15 atoms, 5 images)."""
    from interchem.workflows.neb import run_neb

    li, hop = bcc_li_hop
    initial, final = build_neb_endpoints(li, hop, supercell_min_length=7.0)
    res = run_neb(initial, final, "chgnet", {"n_images": 5, "fmax": 0.03})
    e = np.array(res.energies_eV)
    assert res.converged and not res.flagged, res.flag_reason
    assert res.saddle_index == 3
    np.testing.assert_allclose(e, e[::-1], atol=0.01)
    # DFT gives ~0.05-0.15 eV for the Li monovacancy hop in bcc Li; a small positive barrier is physics.
    assert 0.02 < res.barrier_eV < 0.4
    assert abs(res.forward_barrier_eV - res.backward_barrier_eV) < 0.01
    assert len(res.images) == 7 and res.reaction_coordinate_A[-1] > 0.9 * hop.distance_A


def test_neb_batched_matches_one_by_one_and_flags_non_convergence(bcc_li_hop):
    from interchem.workflows.neb import run_neb

    li, hop = bcc_li_hop
    initial, final = build_neb_endpoints(li, hop, supercell_min_length=7.0)
    common = {"n_images": 3, "steps": 4, "relax_endpoints": False}
    a = run_neb(initial, final, "chgnet", {**common, "batched": True})
    b = run_neb(initial, final, "chgnet", {**common, "batched": False})
    assert a.image_evaluation == "batched" and b.image_evaluation == "one-by-one"
    np.testing.assert_allclose(a.energies_eV, b.energies_eV, atol=2e-3)
    # Four FIRE steps cannot converge this band: the barrier is reported but flagged, never silent.
    assert not a.converged and a.flagged and "not converged" in a.flag_reason


def test_barrier_flow_reports_percolation(tmp_path, bcc_li_hop, isolated_settings):
    from interchem.store import make_job_store
    from interchem.workflows.neb import BarrierMaker

    li, _ = bcc_li_hop
    flow = BarrierMaker(
        calculator="chgnet", cutoff=3.2, neb_settings={"n_images": 3, "supercell_min_length": 7.0}
    ).make(li, phase="Li")
    store = make_job_store(isolated_settings)
    out = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path, ensure_success=True, log=False)
    report = out[flow.output.uuid][1].output
    assert len(report.hops) == 1 and report.hops[0]["multiplicity"] == 8
    barrier = report.hops[0]["barrier_eV"]
    # The nearest-neighbour network of bcc connects in 1, 2 and 3 D at that one barrier.
    assert report.percolation_eV["vacancy"] == {"1": barrier, "2": barrier, "3": barrier}
    store.connect()
    neb_doc = store.query_one({"name": "neb Li vacancy hop 0"}, load=False)
    assert "blob_uuid" in str(neb_doc["output"]["images"])  # images live in the data store


def test_interstitial_candidates_relax_into_distinct_minima_in_si():
    """Diamond Si has two geometric interstitial candidates: the tetrahedral (8b) site, the Li minimum,
    and the hexagonal (16d) site, the saddle between two of them. Relaxed with CHGNet, the hexagonal
    candidate must be found on a saddle, pushed off and merged into the tetrahedral minimum."""
    from interchem.workflows.interstitials import relax_interstitial_sites

    si = resolve_phase("Si", primitive=False)[1]
    res = relax_interstitial_sites(si, "chgnet", {"supercell_min_length": 5.0})
    assert len(res.candidates) == 2 and {c.multiplicity for c in res.candidates} == {8, 16}
    hexagonal = next(c for c in res.candidates if c.multiplicity == 16)
    assert hexagonal.saddle_escapes >= 1 and hexagonal.displacement_A > 0.8  # it left the saddle (1.18 A to Td)
    assert len(res.minima) == 1 and res.minima[0]["multiplicity"] == 8
    assert all(c.kept_as == 0 for c in res.candidates)
    td = np.array(res.minima[0]["frac"])  # on the 8b orbit: (0, 0, 1/2) and its images, in this setting
    assert min(si.lattice.get_all_distances(td[None, :], np.array(res.sites_frac))[0]) < 1e-6
    assert all(abs(min(abs(x - k / 4) for k in range(5))) < 1e-6 for x in td)
    assert len(res.sites_frac) == 8


def test_interstitial_barrier_flow_hops_between_relaxed_minima(tmp_path, isolated_settings):
    """The interstitial mechanism through BarrierMaker: sites relaxed at run time, hops enumerated between
    the minima only (Td-Td, 2.35 A; no hop to the hexagonal saddle), one NEB each, sites in the report."""
    from interchem.store import make_job_store
    from interchem.workflows.neb import BarrierMaker

    si = resolve_phase("Si", primitive=False)[1]
    flow = BarrierMaker(
        calculator="chgnet",
        mechanisms=("interstitial",),
        cutoff=2.5,
        neb_settings={"n_images": 3, "supercell_min_length": 5.0, "fmax": 0.1},
    ).make(si, phase="Si")
    out = run_locally(
        flow,
        store=make_job_store(isolated_settings),
        create_folders=True,
        root_dir=tmp_path,
        ensure_success=True,
        log=False,
    )
    report = out[flow.output.uuid][1].output
    assert [round(h["distance_A"], 2) for h in report.hops] == [2.35]
    assert report.hops[0]["start_wyckoff"] == report.hops[0]["end_wyckoff"] == "8b"
    assert report.hops[0]["barrier_eV"] > 0.05 and not report.hops[0]["flagged"]
    assert report.interstitial_sites["minima"][0]["multiplicity"] == 8
    from interchem.reports.kinetics import write_barrier_report

    md = write_barrier_report(report, tmp_path / "report").read_text()
    assert "Interstitial sites, relaxed" in md and "| 0 | (" in md


def test_endpoint_rattle_moves_both_endpoints_alike(li2s):
    """endpoint_rattle_A displaces every atom of both endpoints by the same seeded vector, so the two
    stay images of each other along the hop (split-site phases need it to leave symmetric saddles)."""
    from interchem.workflows.neb import run_neb

    hop = enumerate_li_hops(li2s, cutoff=3.0)[0]
    initial, final = build_neb_endpoints(li2s, hop, supercell_min_length=5.0)
    res = run_neb(
        initial, final, "chgnet", {"n_images": 3, "steps": 2, "relax_endpoints": False, "endpoint_rattle_A": 0.1}
    )
    d0 = res.images[0].cart_coords - initial.cart_coords
    d1 = res.images[-1].cart_coords - final.cart_coords
    assert np.allclose(d0, d1, atol=1e-6)
    assert 0.03 < np.sqrt((d0**2).sum(axis=1).mean()) < 0.3  # ~0.1 A rms
    assert res.settings["endpoint_rattle_A"] == 0.1


def test_endpoints_closer_than_half_the_hop_are_flagged(li2s):
    """If the moving Li ends up near the same place in both relaxed endpoints (a split vacancy), the band
    does not describe the hop: flagged, even though no atom is within 0.3 A of 'the same minimum'."""
    from interchem.workflows.neb import run_neb

    hop = enumerate_li_hops(li2s, cutoff=3.0)[0]
    initial, final = build_neb_endpoints(li2s, hop, supercell_min_length=5.0)
    k = initial.properties["neb_moving_index"]
    squeezed = initial.copy()
    step = (final.cart_coords[k] - initial.cart_coords[k]) * 0.4 / hop.distance_A  # 0.4 A along the hop
    squeezed.translate_sites([k], step, frac_coords=False, to_unit_cell=False)
    res = run_neb(initial, squeezed, "chgnet", {"n_images": 3, "steps": 1, "relax_endpoints": False}, hop=hop)
    assert res.flagged and "only 0.40 A apart" in res.flag_reason


def test_barriers_refuse_phase_without_li():
    from interchem.workflows.neb import BarrierMaker

    si = resolve_phase("Si")[1]
    with pytest.raises(NoMobileSpeciesError, match="Si"):
        BarrierMaker(calculator="chgnet").make(si)


# ---------------------------------------------------------------------------------- diffusion


def test_diffusion_maker_refuses_bad_temperature_sets(li2s):
    from interchem.workflows.diffusion import DiffusionMaker

    with pytest.raises(DiffusionInputError, match="at least 3"):
        DiffusionMaker(temperatures_K=(600, 800)).make(li2s)
    with pytest.raises(DiffusionInputError, match="distinct"):
        DiffusionMaker(temperatures_K=(600, 600, 800)).make(li2s)
    with pytest.raises(DiffusionInputError, match="equilibration"):
        DiffusionMaker(temperatures_K=(600, 700, 800), steps=100, equilibration_ps=1.0).make(li2s)
    with pytest.raises(NoMobileSpeciesError):
        DiffusionMaker(temperatures_K=(600, 700, 800)).make(resolve_phase("Si")[1])


def test_diffusion_run_length_is_checked_before_any_md(tmp_path, monkeypatch):
    """The issue's case (`interchem diffusion LiCl --temperatures 600,800,1000 --steps 200 --equilibration 0.1
    --supercell 5`) used to fail in the analysis after every temperature had run; now the flow is refused at
    construction, by the command, before a job folder exists, and the error names the steps that would do."""
    from typer.testing import CliRunner

    from interchem.cli import app
    from interchem.workflows.diffusion import DiffusionMaker

    licl = resolve_phase("LiCl", primitive=False)[1]
    short = dict(temperatures_K=(600, 800, 1000), equilibration_ps=0.1, supercell_min_length=5.0)
    with pytest.raises(DiffusionInputError, match=r"only 16 frames after 0.1 ps.*at least (\d+) steps") as err:
        DiffusionMaker(steps=200, **short).make(licl)
    needed = int(re.search(r"at least (\d+) steps", str(err.value)).group(1))
    DiffusionMaker(steps=needed, **short).make(licl)  # the suggestion is enough ...
    with pytest.raises(DiffusionInputError):  # ... and the least that is
        DiffusionMaker(steps=needed - 1, **short).make(licl)

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    out_dir = tmp_path / "out"
    args = ["diffusion", "LiCl", "--temperatures", "600,800,1000", "--md-steps", "200", "--equilibration", "0.1"]
    store = ["-s", str(tmp_path / "store"), "--create"]
    result = CliRunner().invoke(app, [*args, "--supercell-length", "5", *store, "-o", str(out_dir)])
    assert result.exit_code == 3, result.output
    assert "only 16 frames" in result.output and "Traceback" not in result.output
    assert not (out_dir / "jobs").exists() and not (tmp_path / "store").exists()


def test_diffusion_flow_flags_when_nothing_diffuses(tmp_path, isolated_settings, monkeypatch):
    """Crystalline Li2S at 300-400 K in 0.3 ps: Li only rattles. The report must say so, not fit."""
    from interchem.store import make_job_store
    from interchem.workflows.diffusion import DiffusionMaker

    monkeypatch.setenv("INTERCHEM_CHECKPOINT_DIR", str(tmp_path / "ck"))
    li2s = resolve_phase("Li2S", primitive=False)[1]
    maker = DiffusionMaker(
        calculator="chgnet",
        temperatures_K=(300, 350, 400),
        steps=150,
        equilibration_ps=0.04,
        sample_interval=2,
        supercell_min_length=5.0,
    )
    flow = maker.make(li2s, phase="Li2S")
    out = run_locally(
        flow,
        store=make_job_store(isolated_settings),
        create_folders=True,
        root_dir=tmp_path,
        ensure_success=True,
        log=False,
    )
    report = out[flow.output.uuid][1].output
    assert report.flagged and "need" in report.flag_reason.lower() or "needs 3" in report.flag_reason
    assert report.arrhenius_sigma is None and report.sigma_300K_S_per_cm is None
    assert all(p.diffusion.flagged for p in report.points)
    assert all(abs(p.mean_temperature_K - p.temperature_K) < 0.5 * p.temperature_K for p in report.points)


def test_diffusion_report_fits_synthetic_points():
    """Points made from a known Arrhenius law are fitted back (report assembly, not the MD)."""
    from interchem.analysis import diffusion as diff
    from interchem.workflows.diffusion import DiffusionPoint, diffusion_report

    rng = np.random.default_rng(0)
    ea, d0, kb = 0.30, 1e-2, 8.617333262e-5
    points = []
    for t in (500.0, 600.0, 700.0, 800.0):
        d_true = d0 * np.exp(-ea / (kb * t))
        # Random-walk trajectory of 32 walkers with that D (1 fs frames, 3D) analysed for real.
        steps = rng.normal(0, np.sqrt(2 * d_true * 1e16 * 1e-15 * 10), size=(2000, 32, 3))
        pos = np.cumsum(steps, axis=0)
        m = diff.msd(pos, time_step_fs=10.0)
        d = diff.diffusion_coefficient(m)
        sigma, err = diff.nernst_einstein_conductivity(d, 32, 2000.0, t)
        points.append(
            DiffusionPoint(
                temperature_K=t,
                mean_temperature_K=t,
                n_li=32,
                volume_A3=2000.0,
                msd=m,
                diffusion=d,
                sigma_S_per_cm=sigma,
                sigma_err_S_per_cm=err,
                md_key="synthetic",
                production_ps=20.0,
            )
        )
    rep = diffusion_report("synthetic", "Li", points, {"name": "emt", "settings": {}})
    assert not rep.flagged
    assert abs(rep.arrhenius_D.activation_energy_eV - ea) < 3 * rep.arrhenius_D.activation_energy_err_eV + 0.02
    lo, hi = rep.sigma_300K_interval_S_per_cm
    assert lo < rep.sigma_300K_S_per_cm < hi


# ----------------------------------------------------------------------------------- phonons


def test_si_phonons_with_chgnet_are_stable(tmp_path, isolated_settings):
    from interchem.store import make_job_store
    from interchem.workflows.phonons import PhononsMaker

    si = resolve_phase("Si")[1]
    flow = PhononsMaker(calculator="chgnet", min_length=9.0).make(si, phase="Si")
    out = run_locally(
        flow,
        store=make_job_store(isolated_settings),
        create_folders=True,
        root_dir=tmp_path,
        ensure_success=True,
        log=False,
    )
    summary = out[flow.output.uuid][1].output
    assert not summary.has_imaginary_modes, summary.min_frequency_THz
    f = np.array(summary.free_energy_per_atom_eV)
    t = np.array(summary.temperatures_K)
    # F(0) is the zero-point energy: Si's is ~0.06 eV/atom (9/8 k_B Theta_D with Theta_D = 645 K gives 0.063).
    assert 0.04 < f[0] < 0.08
    assert np.all(np.diff(f[t <= 1000]) < 1e-6)  # dF/dT = -S <= 0
    assert summary.free_energy_at(333.0) < f[0]


def test_li_hop_across_a_built_interface(tiny_mace):
    """Li|Li2S(100) interface: the closest Li pair across the interface gives a vacancy hop whose
    moving atom starts on the anode side and ends on the electrolyte side (tiny MACE: plumbing)."""
    from interchem.structures.hops import interface_li_hop_endpoints
    from interchem.structures.interfaces import InterfaceBuilder, InterfaceLimits
    from interchem.workflows.neb import run_neb

    cands = InterfaceBuilder(
        resolve_phase("Li")[1],
        resolve_phase("Li2S")[1],
        (1, 0, 0),
        (1, 0, 0),
        limits=InterfaceLimits(max_area=120, max_strain=0.06, max_atoms=120),
        anode_thickness_A=4.0,
        electrolyte_thickness_A=4.0,
    ).build()
    interface = cands[0].structure
    initial, final, info = interface_li_hop_endpoints(interface)
    k = info["moving_index"]
    side = interface.site_properties["interface_side"]
    assert side[info["anode_li_index"]] == "anode" and side[info["electrolyte_li_index"]] == "electrolyte"
    assert len(initial) == len(final) == len(interface) - 1
    moved = np.linalg.norm(final.cart_coords - initial.cart_coords, axis=1)
    assert moved[k] == pytest.approx(info["distance_A"], abs=1e-6) and np.delete(moved, k).max() < 1e-9
    res = run_neb(initial, final, f"mace:model={tiny_mace}", {"n_images": 3, "steps": 5, "relax_endpoints": False})
    assert len(res.energies_eV) == 5 and res.reaction_coordinate_A[-1] >= info["distance_A"] - 1e-6
    with pytest.raises(NoMobileSpeciesError):
        interface_li_hop_endpoints(
            InterfaceBuilder(
                resolve_phase("Si")[1],
                resolve_phase("Li2S")[1],
                (1, 0, 0),
                (1, 0, 0),
                limits=InterfaceLimits(max_area=160, max_atoms=200),
                anode_thickness_A=4.0,
                electrolyte_thickness_A=4.0,
            )
            .build()[0]
            .structure
        )


# --------------------------------------------------------------------------------------- CLI


def test_cli_barriers_end_to_end_and_bad_input(tmp_path, isolated_settings, monkeypatch):
    from typer.testing import CliRunner

    from interchem.cli import app

    monkeypatch.setenv("INTERCHEM_STORE_PATH", str(tmp_path / "store"))
    out_dir = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["barriers", "Li", "--cutoff", "3.2", "--images", "3", "--supercell-length", "7", "-o", str(out_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "percolation (vacancy): 1D" in result.output
    assert (out_dir / "barriers.md").exists() and (out_dir / "figures" / "neb_profiles.png").stat().st_size > 1000
    import json

    data = json.loads((out_dir / "barriers.json").read_text())
    assert data["hops"][0]["multiplicity"] == 8 and data["calculator"]["name"] == "chgnet"
    # The report comes back from the store without recomputing (no NEB job runs in `results`).
    redraw = CliRunner().invoke(app, ["results", "--report", str(tmp_path / "redraw")])
    assert redraw.exit_code == 0, redraw.output
    again = json.loads((tmp_path / "redraw" / "barriers-Li" / "barriers.json").read_text())
    assert again["hops"] == data["hops"]

    store_before = sorted(p.name for p in (tmp_path / "store").iterdir())
    for args, message, code in (
        (["diffusion", "Li2S", "-T", "600,700"], "at least 3", 3),
        (["barriers", "NotAPhase"], "NotAPhase", 3),
        (["barriers", "Li2S", "--mechanism", "teleport"], "teleport", 2),  # not a choice: click's usage error
        (["phonons", "Li2S", "-c", "emt"], "Li", 3),  # EMT has no Li: refused before any job
    ):
        bad = CliRunner().invoke(app, args)
        assert bad.exit_code == code, (args, bad.output)
        assert message in bad.output
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == store_before  # nothing written
