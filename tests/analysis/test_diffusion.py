"""interchem.analysis.diffusion on synthetic data: 3D random walks of known D, wrapped trajectories,
frozen atoms, Arrhenius data of known Ea, and bad input. All seeded, all fast."""

from __future__ import annotations

import numpy as np
import pytest

from interchem.analysis import (
    DiffusionInputError,
    NoDiffusionError,
    arrhenius_fit,
    diffusion_coefficient,
    msd,
    nernst_einstein_conductivity,
)
from interchem.errors import InterchemError

STEP_A = 0.5  # rms step length (Å) per frame
DT_FS = 2.0
D_TRUE_CM2_PER_S = STEP_A**2 / (6 * DT_FS) * 0.1  # a^2/(6 dt), Å^2/fs -> cm^2/s
K_B = 8.617333262e-5


def random_walk(seed: int, n_frames: int = 3000, n_atoms: int = 16, step: float = STEP_A) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=step / np.sqrt(3), size=(n_frames - 1, n_atoms, 3))
    start = rng.uniform(0, 10, size=(1, n_atoms, 3))
    return np.concatenate([start, start + np.cumsum(steps, axis=0)])


def test_msd_matches_direct_windowed_average():
    pos = random_walk(1, n_frames=120, n_atoms=4)
    res = msd(pos, time_step_fs=DT_FS, max_lag=50)
    direct = [0.0] + [np.mean(np.sum((pos[k:] - pos[:-k]) ** 2, axis=2)) for k in range(1, 51)]
    assert np.allclose(res.msd_A2, direct, rtol=1e-10, atol=1e-10)
    assert res.time_ps[1] == pytest.approx(DT_FS * 1e-3)
    assert res.n_origins[10] == 4 * 110
    assert res.n_independent_observations[10] == 4 * (119 // 10)


def test_random_walk_recovers_D_within_error():
    res = diffusion_coefficient(msd(random_walk(0), time_step_fs=DT_FS))
    assert not res.flagged and res.flag_reason is None
    assert res.n_blocks == 8
    assert abs(res.D_cm2_per_s - D_TRUE_CM2_PER_S) < 2 * res.D_err_cm2_per_s
    assert 0 < res.D_err_cm2_per_s < 0.2 * D_TRUE_CM2_PER_S
    assert 0 < res.fit_start_ps < res.fit_end_ps
    assert "block averaging" in res.method


def test_error_bar_is_honest_over_seeds():
    z = []
    for seed in range(100, 120):
        res = diffusion_coefficient(msd(random_walk(seed), time_step_fs=DT_FS))
        z.append((res.D_cm2_per_s - D_TRUE_CM2_PER_S) / res.D_err_cm2_per_s)
    z = np.asarray(z)
    assert np.mean(np.abs(z) < 2) >= 0.8, z
    # Not over-cautious either: the spread of z is about 1 (Student t with 7 dof: sd 1.18).
    assert 0.6 < np.std(z) < 1.8, z


def test_species_mask_selects_atoms():
    pos = random_walk(3, n_frames=800, n_atoms=6)
    pos[:, 3:] = pos[0, 3:]  # last three atoms frozen
    mask = np.array([True, True, True, False, False, False])
    by_mask = msd(pos, species_mask=mask, time_step_fs=DT_FS)
    by_index = msd(pos, species_mask=[0, 1, 2], time_step_fs=DT_FS)
    assert by_mask.n_atoms == 3
    assert np.allclose(by_mask.msd_A2, by_index.msd_A2)
    assert np.allclose(by_mask.msd_A2, msd(pos[:, :3], time_step_fs=DT_FS).msd_A2)


@pytest.mark.parametrize("fractional", [False, True])
def test_wrapped_trajectory_gives_same_D(fractional):
    pos = random_walk(4, n_frames=1600, n_atoms=8)
    # small triclinic box; steps (~0.3 Å rms per component) stay well below half a cell
    lattice = np.array([[6.0, 0.0, 0.0], [1.0, 5.5, 0.0], [0.5, 0.8, 7.0]])
    frac = pos @ np.linalg.inv(lattice)
    wrapped_frac = frac % 1.0
    wrapped = wrapped_frac if fractional else wrapped_frac @ lattice
    assert np.ptp(wrapped @ (np.eye(3) if fractional else np.linalg.inv(lattice))) <= 1.0
    ref = msd(pos, time_step_fs=DT_FS)
    got = msd(wrapped, lattice=lattice, time_step_fs=DT_FS, fractional=fractional)
    assert np.allclose(got.msd_A2, ref.msd_A2, rtol=1e-8, atol=1e-8)
    d_ref, d_got = diffusion_coefficient(ref), diffusion_coefficient(got)
    assert d_got.D_cm2_per_s == pytest.approx(d_ref.D_cm2_per_s, rel=1e-8)
    assert d_got.D_err_cm2_per_s == pytest.approx(d_ref.D_err_cm2_per_s, rel=1e-6)
    # without the lattice the wrapped jumps would be taken as real displacements
    assert not np.allclose(msd(wrapped, time_step_fs=DT_FS).msd_A2, ref.msd_A2)


def test_frozen_and_vibrating_atoms_are_flagged():
    rng = np.random.default_rng(5)
    sites = rng.uniform(0, 10, size=(1, 8, 3))
    frozen = np.repeat(sites, 400, axis=0)
    res = diffusion_coefficient(msd(frozen, time_step_fs=DT_FS))
    assert res.flagged and "1 Å^2" in res.flag_reason
    # thermal vibration about fixed sites: MSD saturates at ~3 * 0.1^2 Å^2, no drift
    vib = sites + rng.normal(scale=0.1, size=(400, 8, 3))
    res = diffusion_coefficient(msd(vib, time_step_fs=DT_FS))
    assert res.flagged
    with pytest.raises(NoDiffusionError):
        nernst_einstein_conductivity(res, 8, 1000.0, 600.0)


def test_nernst_einstein():
    # n = 1 per 100 Å^3 = 1e22 cm^-3, D = 1e-5 cm^2/s, T = 300 K:
    # sigma = 1e22 * (1.602e-19)^2 * 1e-5 / (1.380649e-23 * 300) = 0.6197 S/cm
    sigma, err = nernst_einstein_conductivity(1e-5, 10, 1000.0, 300.0, D_err_cm2_per_s=1e-6)
    assert sigma == pytest.approx(0.61975, rel=1e-4)
    assert err == pytest.approx(0.1 * sigma)
    s2, _ = nernst_einstein_conductivity(1e-5, 10, 1000.0, 300.0, charge=2, haven_ratio=0.5)
    assert s2 == pytest.approx(8 * sigma)
    res = diffusion_coefficient(msd(random_walk(0), time_step_fs=DT_FS))
    s, e = nernst_einstein_conductivity(res, 16, 2000.0, 600.0)
    assert e / s == pytest.approx(res.D_err_cm2_per_s / res.D_cm2_per_s)
    with pytest.raises(DiffusionInputError):
        nernst_einstein_conductivity(-1e-5, 10, 1000.0, 300.0)


@pytest.mark.parametrize("kind", ["D", "sigma"])
def test_arrhenius_recovers_activation_energy(kind):
    rng = np.random.default_rng(6)
    ea, d0 = 0.30, 1e-3
    temps = np.array([500.0, 600.0, 700.0, 800.0, 900.0, 1000.0])
    d = d0 * np.exp(-ea / (K_B * temps))
    rel = 0.1
    if kind == "sigma":
        y = 50.0 * np.exp(-ea / (K_B * temps)) / temps  # sigma*T Arrhenius
    else:
        y = d
    y_noisy = y * np.exp(rng.normal(scale=rel, size=y.size))
    res = arrhenius_fit(temps, y_noisy, y_noisy * rel, kind=kind)
    assert res.weighted
    assert abs(res.activation_energy_eV - ea) < 2 * res.activation_energy_err_eV
    assert 0 < res.activation_energy_err_eV < 0.05
    true300 = d0 * np.exp(-ea / (K_B * 300)) if kind == "D" else 50.0 * np.exp(-ea / (K_B * 300)) / 300
    assert abs(np.log(res.value_300K / true300)) < 2 * res.ln_value_300K_err
    # extrapolation to 300 K is less certain than any fitted point (10 %)
    assert res.ln_value_300K_err > rel
    # exact data: exact fit
    exact = arrhenius_fit(temps, y, y * rel, kind=kind)
    assert exact.activation_energy_eV == pytest.approx(ea, rel=1e-9)
    assert exact.value_300K == pytest.approx(true300, rel=1e-8)


def test_arrhenius_accepts_diffusion_results_and_unweighted():
    results = []
    for i, t in enumerate([600.0, 800.0, 1000.0]):
        step = STEP_A * np.exp(-0.1 / (2 * K_B * t)) / np.exp(-0.1 / (2 * K_B * 1000.0))
        results.append(diffusion_coefficient(msd(random_walk(10 + i, n_frames=1600, step=step), time_step_fs=DT_FS)))
    res = arrhenius_fit([600, 800, 1000], results)
    assert abs(res.activation_energy_eV - 0.1) < 3 * res.activation_energy_err_eV
    unweighted = arrhenius_fit([600, 800, 1000], [r.D_cm2_per_s for r in results])
    assert not unweighted.weighted and unweighted.reduced_chi2 is None


def test_bad_input_raises():
    ok_t, ok_d, ok_e = [600.0, 800.0, 1000.0], [1e-6, 1e-5, 5e-5], [1e-7, 1e-6, 5e-6]
    with pytest.raises(DiffusionInputError, match="at least 3"):
        arrhenius_fit([600, 800], [1e-6, 1e-5], [1e-7, 1e-6])
    with pytest.raises(DiffusionInputError, match="duplicate"):
        arrhenius_fit([600, 800, 800], ok_d, ok_e)
    with pytest.raises(NoDiffusionError, match="no diffusion seen at 600 K"):
        arrhenius_fit(ok_t, [0.0, 1e-5, 5e-5], ok_e)
    with pytest.raises(NoDiffusionError, match="no diffusion seen at 600 K"):
        arrhenius_fit(ok_t, [-1e-7, 1e-5, 5e-5])
    frozen = diffusion_coefficient(msd(np.zeros((400, 4, 3)), time_step_fs=DT_FS))
    good = diffusion_coefficient(msd(random_walk(0, n_frames=800, n_atoms=4), time_step_fs=DT_FS))
    with pytest.raises(NoDiffusionError, match="no diffusion seen at 600 K"):
        arrhenius_fit(ok_t, [frozen, good, good])
    with pytest.raises(DiffusionInputError):
        arrhenius_fit(ok_t, ok_d, [1e-7, 0.0, 1e-6])
    with pytest.raises(DiffusionInputError):
        arrhenius_fit(ok_t, ok_d, ok_e, kind="conductivity")
    # MSD input
    with pytest.raises(DiffusionInputError, match="shape"):
        msd(np.zeros((100, 3)), time_step_fs=1.0)
    with pytest.raises(DiffusionInputError, match="too short"):
        msd(np.zeros((20, 2, 3)), time_step_fs=1.0)
    with pytest.raises(DiffusionInputError, match="no atoms"):
        msd(np.zeros((100, 2, 3)), species_mask=[False, False], time_step_fs=1.0)
    with pytest.raises(DiffusionInputError, match="time_step_fs"):
        msd(np.zeros((100, 2, 3)), time_step_fs=0.0)
    with pytest.raises(DiffusionInputError, match="lattice"):
        msd(np.zeros((100, 2, 3)), lattice=np.eye(2), time_step_fs=1.0)
    assert issubclass(DiffusionInputError, InterchemError) and issubclass(NoDiffusionError, InterchemError)
