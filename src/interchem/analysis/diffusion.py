"""Li diffusion from MD trajectories: MSD, diffusion coefficient, Nernst-Einstein conductivity, Arrhenius.

Pure functions on numpy arrays (positions in Å, times in fs/ps); results are pydantic models with the
unit in each field name. No I/O.

Method (``diffusion_coefficient``): **block averaging**. The trajectory is cut into ``n_blocks``
non-overlapping segments of equal length; each segment gives its own windowed MSD (all time origins
inside the segment) and its own D from an ordinary least-squares line MSD = 2 d D t + c over the same
lag window. D is the mean of the block values and its uncertainty the standard error of that mean,
std(D_blocks, ddof=1) / sqrt(n_blocks). Segments that share no frames are statistically independent
for a random walk (and for MD once a segment is much longer than the velocity-correlation time), so
the scatter of the block values measures the true variance of the estimator, including the strong
correlation between MSD values at neighbouring lags and overlapping origins that makes the naive
least-squares error of a windowed-MSD fit far too small. This replaces kinisi's Bayesian fit with the
random-walk MSD covariance (not installed here); both give an honest sigma, block averaging assumes
less and wastes a little efficiency.

Block count: default ``DEFAULT_N_BLOCKS`` = 8. The standard error is itself estimated from n blocks,
so it carries a relative uncertainty of about 1/sqrt(2(n-1)) (27 % for 8 blocks, 50 % for 3) and
(D - D_true)/sigma follows Student's t with n-1 dof: P(|t| < 2) is 0.88 for 5 blocks, 0.91 for 8,
0.94 for 20. More blocks make each block shorter, so the fitted lags (up to half a block) move toward
the short-time, non-diffusive regime of real MD. Eight is the usual compromise; use fewer, longer
blocks for slow diffusers. The 95 % interval uses the t quantile (``D_ci95_halfwidth_cm2_per_s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy import stats

from interchem.errors import DiffusionInputError, NoDiffusionError

# Boltzmann constant (eV/K), elementary charge (C), Boltzmann constant (J/K); CODATA 2018, exact.
K_B_EV_PER_K = 8.617333262e-5
ELEMENTARY_CHARGE_C = 1.602176634e-19
K_B_J_PER_K = 1.380649e-23

# 1 Å^2/fs = 1e-16 cm^2 / 1e-15 s = 0.1 cm^2/s.
_A2_PER_FS_TO_CM2_PER_S = 0.1

DEFAULT_N_BLOCKS = 8
MIN_N_BLOCKS = 3
# Fewest frames in one block: the fit window (lags up to half a block) must hold a few points.
MIN_FRAMES_PER_BLOCK = 8
# Below this MSD (Å^2) at the longest lag no diffusion is claimed: a vibrating ion alone reaches ~0.1-1 Å^2.
MIN_DIFFUSIVE_MSD_A2 = 1.0


class MSDResult(BaseModel):
    """Windowed MSD of the selected atoms, plus the same per non-overlapping block (for the error)."""

    time_step_fs: float
    n_frames: int
    n_atoms: int
    # Lag times (ps) and MSD (Å^2) of the whole trajectory, averaged over atoms and all time origins.
    time_ps: list[float]
    msd_A2: list[float]
    # Per lag: n_atoms * (n_frames - 1) // lag non-overlapping displacements (independent for a random
    # walk), and n_atoms * (n_frames - lag) time origins actually averaged (overlapping, correlated).
    n_independent_observations: list[int]
    n_origins: list[int]
    # Block averaging: block_msd_A2[i][j] is the windowed MSD of block i at lag block_time_ps[j];
    # lags go up to half a block.
    n_blocks: int
    frames_per_block: int
    block_time_ps: list[float]
    block_msd_A2: list[list[float]]


class DiffusionResult(BaseModel):
    D_cm2_per_s: float
    # Standard error of the mean of the block estimates.
    D_err_cm2_per_s: float
    # Half-width of the 95 % interval, t_{n_blocks-1, 0.975} * D_err.
    D_ci95_halfwidth_cm2_per_s: float
    D_blocks_cm2_per_s: list[float]
    fit_start_ps: float
    fit_end_ps: float
    n_blocks: int
    dims: int
    max_msd_A2: float
    method: str
    # True when no diffusion is seen; the numbers above are then not a diffusion coefficient.
    flagged: bool
    flag_reason: str | None = None


class ArrheniusResult(BaseModel):
    kind: Literal["D", "sigma"]
    # The fitted quantity: "ln(D)" or "ln(sigma*T)", versus 1/T.
    fitted: str
    temperatures_K: list[float]
    activation_energy_eV: float
    activation_energy_err_eV: float
    # D0 (cm^2/s) for kind "D"; A (S K/cm) in sigma*T = A exp(-Ea/kT) for kind "sigma".
    prefactor: float
    prefactor_err: float
    prefactor_units: str
    # Value at 300 K (cm^2/s or S/cm) from the fit, its linearised 1-sigma error and the ln-space error
    # (the interval exp(ln y +- ln_err) is the honest, asymmetric one).
    value_300K: float
    value_300K_err: float
    ln_value_300K_err: float
    value_units: str
    # chi^2 / dof of the weighted fit; when > 1 the covariance was scaled by it (Birge ratio).
    reduced_chi2: float | None
    weighted: bool


# ----------------------------------------------------------------------------------------------------
# MSD


def _lattice_matrix(lattice) -> np.ndarray:
    matrix = getattr(lattice, "matrix", lattice)
    m = np.asarray(matrix, dtype=float)
    if m.shape != (3, 3):
        raise DiffusionInputError(f"lattice must be a 3x3 matrix (rows = lattice vectors, Å), got shape {m.shape}")
    if abs(np.linalg.det(m)) < 1e-8:
        raise DiffusionInputError("lattice matrix is singular (zero volume)")
    return m


def unwrap_positions(positions, lattice, fractional: bool = False) -> np.ndarray:
    """Unwrap a trajectory wrapped into a fixed periodic cell; returns cartesian positions (Å).

    Between consecutive frames the fractional displacement is brought into [-0.5, 0.5) in each
    component (minimum image). Assumption: no atom moves more than half a lattice vector (in
    fractional terms, |d frac| < 0.5 per component) between two saved frames, and the cell is constant
    (NVT/NVE); save frames often enough, and do not use with NPT cells.
    """
    m = _lattice_matrix(lattice)
    x = np.asarray(positions, dtype=float)
    frac = x if fractional else x @ np.linalg.inv(m)
    step = np.diff(frac, axis=0)
    step -= np.round(step)
    unwrapped = np.concatenate([frac[:1], frac[:1] + np.cumsum(step, axis=0)], axis=0)
    return unwrapped @ m


def _windowed_msd(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Windowed MSD (all origins) for lags 0..max_lag of x (n_frames, n_atoms, 3), averaged over atoms.

    FFT algorithm (Calandrini et al., nMoldyn): MSD(m) = S1(m) - 2 S2(m), O(N log N) per atom.
    """
    n = x.shape[0]
    x = x - x.mean(axis=0)  # shift per atom: MSD is invariant, round-off is smaller
    sq = np.sum(x * x, axis=2)  # (n, atoms)
    # S1(m) = 1/(N-m) sum_{k=0}^{N-m-1} [r^2(k) + r^2(k+m)]
    csum = np.concatenate([np.zeros((1, sq.shape[1])), np.cumsum(sq, axis=0)], axis=0)
    lags = np.arange(max_lag + 1)
    counts = (n - lags)[:, None]
    head = csum[n - lags]  # sum_{k=0}^{N-m-1} r^2(k)
    tail = csum[n] - csum[lags]  # sum_{k=m}^{N-1} r^2(k)
    s1 = (head + tail) / counts
    # S2(m) = 1/(N-m) sum_k r(k).r(k+m), by zero-padded FFT autocorrelation.
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, n=nfft, axis=0)
    ac = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[: max_lag + 1].sum(axis=2)
    s2 = ac / counts
    out = (s1 - 2.0 * s2).mean(axis=1)
    out[0] = 0.0
    return np.maximum(out, 0.0)  # FFT round-off can give -1e-15 at tiny MSD


def _selected_atoms(species_mask, n_all: int) -> np.ndarray:
    """Indices of the atoms a boolean mask or an index list selects; DiffusionInputError if none or out of range."""
    sel = np.asarray(species_mask)
    if sel.dtype == bool:
        if sel.shape != (n_all,):
            raise DiffusionInputError(f"species_mask has {sel.shape} entries for {n_all} atoms")
        idx = np.flatnonzero(sel)
    else:
        idx = sel.astype(int).ravel()
        if idx.size and (idx.min() < -n_all or idx.max() >= n_all):
            raise DiffusionInputError(f"species_mask indices out of range for {n_all} atoms")
    if idx.size == 0:
        raise DiffusionInputError("species_mask selects no atoms")
    return idx


def required_frames(n_blocks: int = DEFAULT_N_BLOCKS) -> int:
    """Fewest production frames the MSD analysis accepts: ``n_blocks`` blocks of ``MIN_FRAMES_PER_BLOCK``."""
    return max(n_blocks * MIN_FRAMES_PER_BLOCK, 2 * n_blocks + 2)


def check_run_length(frame_times_ps: Sequence[float], equilibration_ps: float, n_blocks: int = DEFAULT_N_BLOCKS) -> int:
    """The number of frames kept after ``equilibration_ps``; DiffusionInputError if the MSD analysis would
    refuse them. The same rule before any MD runs (from the planned frame times) and after (from the
    trajectory), so a run that is too short fails at once, not after every temperature has run."""
    times = np.asarray(frame_times_ps, dtype=float)
    kept = int((times >= equilibration_ps - 1e-9).sum())
    need = required_frames(n_blocks)
    if kept < need:
        run = f"{times[-1]:g} ps" if len(times) else "no frames"
        raise DiffusionInputError(
            f"only {kept} frames after {equilibration_ps:g} ps of equilibration (run {run}, {len(times)} frames); "
            f"the MSD analysis needs at least {need} ({n_blocks} blocks of {MIN_FRAMES_PER_BLOCK} frames): "
            "run longer, equilibrate less or sample more often"
        )
    return kept


def _frames_per_block(n_frames: int, n_blocks: int) -> int:
    if not isinstance(n_blocks, int | np.integer) or n_blocks < MIN_N_BLOCKS:
        raise DiffusionInputError(f"n_blocks must be an integer >= {MIN_N_BLOCKS}, got {n_blocks}")
    frames_per_block = n_frames // n_blocks
    if frames_per_block < MIN_FRAMES_PER_BLOCK:
        raise DiffusionInputError(
            f"trajectory of {n_frames} frames is too short for {n_blocks} blocks of at least "
            f"{MIN_FRAMES_PER_BLOCK} frames; run longer or lower n_blocks"
        )
    return frames_per_block


def msd(
    positions,
    lattice=None,
    species_mask=None,
    *,
    time_step_fs: float,
    max_lag: int | None = None,
    fractional: bool = False,
    n_blocks: int = DEFAULT_N_BLOCKS,
) -> MSDResult:
    """Mean-squared displacement of the selected atoms, averaged over all time origins.

    positions: (n_frames, n_atoms, 3). Without ``lattice`` they must be unwrapped cartesian Å. With
    ``lattice`` (3x3 rows = vectors in Å, or a pymatgen Lattice) they may be wrapped, cartesian or
    (``fractional=True``) fractional, and are unwrapped first by minimum image between consecutive
    frames: this assumes no atom moves more than half a cell between frames (see ``unwrap_positions``).
    species_mask: boolean mask over atoms or integer indices (e.g. the Li atoms); None = all atoms.
    time_step_fs: time between saved frames. max_lag (frames): longest lag of the whole-trajectory MSD,
    default half the trajectory. n_blocks: non-overlapping blocks whose own MSDs give the error of D
    (see module docstring for the default).
    """
    x = np.asarray(positions, dtype=float)
    if x.ndim != 3 or x.shape[2] != 3:
        raise DiffusionInputError(f"positions must have shape (n_frames, n_atoms, 3), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DiffusionInputError("positions contain NaN or infinite values")
    if not (np.isfinite(time_step_fs) and time_step_fs > 0):
        raise DiffusionInputError(f"time_step_fs must be positive, got {time_step_fs}")
    n_frames, n_all, _ = x.shape
    if fractional and lattice is None:
        raise DiffusionInputError("fractional positions need the lattice")
    if species_mask is not None:
        x = x[:, _selected_atoms(species_mask, n_all), :]
    if lattice is not None:
        x = unwrap_positions(x, lattice, fractional=fractional)
    n_atoms = x.shape[1]

    frames_per_block = _frames_per_block(n_frames, n_blocks)
    if max_lag is None:
        max_lag = n_frames // 2
    if not 1 <= max_lag <= n_frames - 1:
        raise DiffusionInputError(f"max_lag must be between 1 and n_frames - 1 = {n_frames - 1}, got {max_lag}")

    lags = np.arange(max_lag + 1)
    full = _windowed_msd(x, max_lag)
    block_max_lag = frames_per_block // 2
    blocks = [
        _windowed_msd(x[i * frames_per_block : (i + 1) * frames_per_block], block_max_lag).tolist()
        for i in range(n_blocks)
    ]
    dt_ps = time_step_fs * 1e-3
    n_indep = [0] + [int(n_atoms * ((n_frames - 1) // k)) for k in lags[1:]]
    return MSDResult(
        time_step_fs=float(time_step_fs),
        n_frames=n_frames,
        n_atoms=n_atoms,
        time_ps=(lags * dt_ps).tolist(),
        msd_A2=full.tolist(),
        n_independent_observations=n_indep,
        n_origins=[int(n_atoms * (n_frames - k)) for k in lags],
        n_blocks=n_blocks,
        frames_per_block=frames_per_block,
        block_time_ps=(np.arange(block_max_lag + 1) * dt_ps).tolist(),
        block_msd_A2=blocks,
    )


# ----------------------------------------------------------------------------------------------------
# Diffusion coefficient


def diffusion_coefficient(msd_result: MSDResult, fit_start_fraction: float = 0.1, dims: int = 3) -> DiffusionResult:
    """D from the linear regime MSD = 2 d D t + c, with a block-averaging uncertainty.

    Each of the ``msd_result.n_blocks`` non-overlapping blocks is fitted by ordinary least squares over
    lags from ``fit_start_fraction`` of its longest lag (half a block) to that lag; D = mean of the block
    values, D_err = std(ddof=1)/sqrt(n_blocks) (see the module docstring for why this is honest and how
    it stands in for kinisi's correlated-covariance Bayesian fit). ``dims``: dimensionality of the
    motion; the MSD sums all three cartesian components, so dims < 3 is only right for motion confined
    to a plane/line.

    Flagged (``flagged=True`` with ``flag_reason``, never a silent number) when no diffusion is seen:
    the MSD at the longest lag stays below 1 Å^2, or D is not positive beyond 2 sigma.
    """
    if not 0.0 <= fit_start_fraction < 1.0:
        raise DiffusionInputError(f"fit_start_fraction must be in [0, 1), got {fit_start_fraction}")
    if dims not in (1, 2, 3):
        raise DiffusionInputError(f"dims must be 1, 2 or 3, got {dims}")
    t = np.asarray(msd_result.block_time_ps) * 1e3  # fs
    last = len(t) - 1
    first = max(1, int(np.floor(fit_start_fraction * last)))
    if last - first + 1 < 3:
        raise DiffusionInputError(
            f"blocks of {msd_result.frames_per_block} frames leave fewer than 3 lags to fit; "
            "run longer, use fewer blocks or a smaller fit_start_fraction"
        )
    window = slice(first, last + 1)
    d_blocks = []
    for block in msd_result.block_msd_A2:
        slope = np.polyfit(t[window], np.asarray(block)[window], 1)[0]  # Å^2/fs
        d_blocks.append(slope / (2 * dims) * _A2_PER_FS_TO_CM2_PER_S)
    d_blocks_arr = np.asarray(d_blocks)
    n = len(d_blocks)
    d_mean = float(d_blocks_arr.mean())
    d_err = float(d_blocks_arr.std(ddof=1) / np.sqrt(n))
    max_msd = float(max(msd_result.msd_A2))

    reasons = []
    if max_msd < MIN_DIFFUSIVE_MSD_A2:
        reasons.append(
            f"MSD stays below {MIN_DIFFUSIVE_MSD_A2:g} Å^2 (max {max_msd:.3g} Å^2 over "
            f"{msd_result.time_ps[-1]:.3g} ps): atoms vibrate but do not diffuse"
        )
    if not d_mean > 2.0 * d_err:
        reasons.append(
            f"slope consistent with zero: D = {d_mean:.3g} ± {d_err:.3g} cm^2/s is not positive beyond 2 sigma"
        )
    return DiffusionResult(
        D_cm2_per_s=d_mean,
        D_err_cm2_per_s=d_err,
        D_ci95_halfwidth_cm2_per_s=float(stats.t.ppf(0.975, n - 1) * d_err),
        D_blocks_cm2_per_s=d_blocks_arr.tolist(),
        fit_start_ps=float(msd_result.block_time_ps[first]),
        fit_end_ps=float(msd_result.block_time_ps[last]),
        n_blocks=n,
        dims=dims,
        max_msd_A2=max_msd,
        method=(
            f"block averaging: {n} non-overlapping blocks of {msd_result.frames_per_block} frames, "
            f"OLS fit of each block's windowed MSD over {msd_result.block_time_ps[first]:.4g}-"
            f"{msd_result.block_time_ps[last]:.4g} ps; D = mean, err = std/sqrt(n)"
        ),
        flagged=bool(reasons),
        flag_reason="; ".join(reasons) if reasons else None,
    )


# ----------------------------------------------------------------------------------------------------
# Conductivity


def nernst_einstein_conductivity(
    D_cm2_per_s: float | DiffusionResult,
    n_carriers: int,
    volume_A3: float,
    temperature_K: float,
    charge: int = 1,
    haven_ratio: float = 1.0,
    D_err_cm2_per_s: float | None = None,
) -> tuple[float, float]:
    """Nernst-Einstein conductivity sigma = n (z e)^2 D / (k_B T H_R), in S/cm, with its 1-sigma error.

    n = n_carriers / volume; D is the tracer (self-) diffusion coefficient and H_R = D_tracer / D_sigma
    the Haven ratio (1 = uncorrelated hops). Pass a DiffusionResult to take D and its error from it (a
    flagged one is refused), or a float with ``D_err_cm2_per_s`` (default 0: no error propagated).
    sigma is linear in D, so err = sigma * D_err / D (the other inputs are taken as exact).
    """
    if isinstance(D_cm2_per_s, DiffusionResult):
        if D_cm2_per_s.flagged:
            raise NoDiffusionError(f"no conductivity from a flagged diffusion coefficient: {D_cm2_per_s.flag_reason}")
        d, d_err = D_cm2_per_s.D_cm2_per_s, D_cm2_per_s.D_err_cm2_per_s
    else:
        d, d_err = float(D_cm2_per_s), float(D_err_cm2_per_s or 0.0)
    for name, value in (
        ("D_cm2_per_s", d),
        ("n_carriers", n_carriers),
        ("volume_A3", volume_A3),
        ("temperature_K", temperature_K),
        ("haven_ratio", haven_ratio),
    ):
        if not (np.isfinite(value) and value > 0):
            raise DiffusionInputError(f"{name} must be positive, got {value}")
    if charge == 0:
        raise DiffusionInputError("charge must be non-zero")
    if d_err < 0:
        raise DiffusionInputError(f"D_err_cm2_per_s must be >= 0, got {d_err}")
    density_per_cm3 = n_carriers / (volume_A3 * 1e-24)
    q = charge * ELEMENTARY_CHARGE_C
    sigma = density_per_cm3 * q * q * d / (K_B_J_PER_K * temperature_K * haven_ratio)
    return float(sigma), float(sigma * d_err / d)


# ----------------------------------------------------------------------------------------------------
# Arrhenius


def _checked_temperatures(temperatures_K: Sequence[float], n_values: int, errors: Sequence[float] | None) -> np.ndarray:
    """The temperatures as an array; DiffusionInputError for too few, duplicate, non-positive or mismatched ones."""
    temps = np.asarray(temperatures_K, dtype=float).ravel()
    if len(temps) != n_values:
        raise DiffusionInputError(f"{len(temps)} temperatures but {n_values} values")
    if errors is not None and len(errors) != len(temps):
        raise DiffusionInputError(f"{len(temps)} temperatures but {len(errors)} errors")
    if len(temps) < 3:
        raise DiffusionInputError(
            f"an Arrhenius fit needs at least 3 temperatures (2 parameters plus one to test them), got {len(temps)}"
        )
    if not np.all(np.isfinite(temps) & (temps > 0)):
        raise DiffusionInputError(f"temperatures must be positive and finite, got {temps.tolist()}")
    uniq, counts = np.unique(temps, return_counts=True)
    if np.any(counts > 1):
        raise DiffusionInputError(f"duplicate temperatures: {uniq[counts > 1].tolist()} K; merge them first")
    return temps


def _values_and_errors(
    temps: np.ndarray, D_or_sigma: Sequence[float | DiffusionResult], errors: Sequence[float] | None, kind: str
) -> tuple[list[float], list[float | None]]:
    """The values to fit and their absolute errors (None: unknown); refuses flagged or non-positive ones."""
    name = "D" if kind == "D" else "sigma"
    values, errs = [], []
    for i, (t, item) in enumerate(zip(temps, D_or_sigma)):
        if isinstance(item, DiffusionResult):
            if kind != "D":
                raise DiffusionInputError("DiffusionResults can only be fitted with kind='D'")
            if item.flagged:
                raise NoDiffusionError(f"no diffusion seen at {t:g} K: {item.flag_reason}")
            v, e = item.D_cm2_per_s, item.D_err_cm2_per_s
            if errors is not None:
                e = float(errors[i])
        else:
            v = float(item)
            e = float(errors[i]) if errors is not None else None
        if not (np.isfinite(v) and v > 0):
            raise NoDiffusionError(f"no diffusion seen at {t:g} K: {name} = {v:g} is not positive")
        if e is not None and not (np.isfinite(e) and e > 0):
            raise DiffusionInputError(f"error of {name} at {t:g} K must be positive, got {e:g}")
        values.append(v)
        errs.append(e)
    return values, errs


def _weighted_line(temps: np.ndarray, values: list[float], errs: list[float | None], kind: str):
    """(intercept, slope), their covariance, the reduced chi^2 (None unweighted) and whether it was weighted,
    of ln y (ln(sigma T) for sigma) against 1/T (see ``arrhenius_fit``)."""
    y_raw = np.asarray(values)
    y = np.log(y_raw * temps) if kind == "sigma" else np.log(y_raw)
    x = 1.0 / temps
    weighted = all(e is not None for e in errs)
    design = np.column_stack([np.ones_like(x), x])
    dof = len(x) - 2
    if weighted:
        s = np.asarray(errs) / y_raw  # error of ln y (sigma*T has the same relative error as sigma)
        w = 1.0 / s**2
        a_mat = design.T @ (design * w[:, None])
        cov = np.linalg.inv(a_mat)
        beta = cov @ (design.T @ (w * y))
        chi2 = float(np.sum(w * (y - design @ beta) ** 2))
        red = chi2 / dof
        if red > 1.0:
            cov = cov * red
        reduced_chi2: float | None = red
    else:
        a_mat = design.T @ design
        beta = np.linalg.solve(a_mat, design.T @ y)
        resid = y - design @ beta
        cov = np.linalg.inv(a_mat) * float(resid @ resid) / dof
        reduced_chi2 = None
    return beta, cov, reduced_chi2, weighted


def arrhenius_fit(
    temperatures_K: Sequence[float],
    D_or_sigma: Sequence[float | DiffusionResult],
    errors: Sequence[float] | None = None,
    kind: Literal["D", "sigma"] = "D",
) -> ArrheniusResult:
    """Weighted Arrhenius fit: ln(D) = ln(D0) - Ea/(k_B T), or for conductivity the usual
    ln(sigma T) = ln(A) - Ea/(k_B T) (sigma T, not sigma, is Arrhenius for hopping conduction).

    Weights are 1/s_i^2 with s_i = err_i/y_i, the error of ln y_i. The parameter covariance is the
    weighted least-squares one with the given errors as absolute, scaled by chi^2/dof when that exceeds 1
    (Birge ratio: the points scatter more than their errors say). Without errors the fit is unweighted and
    the covariance comes from the residuals. Elements of D_or_sigma may be DiffusionResults (kind "D"):
    their D and D_err are used, and a flagged one is refused. The 300 K value and its error come from the
    full covariance of (intercept, slope): var ln y(300) = J C J^T with J = (1, 1/300).
    """
    if kind not in ("D", "sigma"):
        raise DiffusionInputError(f"kind must be 'D' or 'sigma', got {kind!r}")
    temps = _checked_temperatures(temperatures_K, len(D_or_sigma), errors)
    values, errs = _values_and_errors(temps, D_or_sigma, errors, kind)
    beta, cov, reduced_chi2, weighted = _weighted_line(temps, values, errs, kind)
    intercept, slope = beta
    ea = -slope * K_B_EV_PER_K
    ea_err = float(np.sqrt(cov[1, 1])) * K_B_EV_PER_K
    prefactor = float(np.exp(intercept))
    prefactor_err = prefactor * float(np.sqrt(cov[0, 0]))
    jac = np.array([1.0, 1.0 / 300.0])
    ln300 = float(jac @ beta)
    ln300_err = float(np.sqrt(jac @ cov @ jac))
    value300 = float(np.exp(ln300))
    if kind == "sigma":
        value300 /= 300.0
    return ArrheniusResult(
        kind=kind,
        fitted="ln(D)" if kind == "D" else "ln(sigma*T)",
        temperatures_K=temps.tolist(),
        activation_energy_eV=float(ea),
        activation_energy_err_eV=ea_err,
        prefactor=prefactor,
        prefactor_err=prefactor_err,
        prefactor_units="cm^2/s" if kind == "D" else "S K/cm",
        value_300K=value300,
        value_300K_err=value300 * ln300_err,
        ln_value_300K_err=ln300_err,
        value_units="cm^2/s" if kind == "D" else "S/cm",
        reduced_chi2=reduced_chi2,
        weighted=weighted,
    )
