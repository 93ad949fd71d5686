"""Diffusion and conductivity from MD: NVT MD (``interchem.workflows.md``, restartable) at several
temperatures on a supercell, Li MSD after an equilibration period, D with a block-averaging error
(``analysis.diffusion``), Nernst-Einstein conductivity and a weighted Arrhenius fit extrapolated to 300 K.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel
from pymatgen.core import Structure

from interchem.analysis import diffusion as diff
from interchem.calculators import (
    CalculatorSpec,
    calculator_makers,
    check_calculator,
    get_backend,
)
from interchem.errors import DiffusionInputError

logger = logging.getLogger(__name__)


class DiffusionPoint(BaseModel):
    temperature_K: float
    mean_temperature_K: float
    n_li: int
    volume_A3: float
    msd: diff.MSDResult
    diffusion: diff.DiffusionResult
    sigma_S_per_cm: float | None
    sigma_err_S_per_cm: float | None
    md_key: str
    production_ps: float


class DiffusionReport(BaseModel):
    phase: str
    formula: str
    calculator: dict[str, Any]
    level_of_theory: str
    points: list[DiffusionPoint]
    arrhenius_D: diff.ArrheniusResult | None = None
    arrhenius_sigma: diff.ArrheniusResult | None = None
    activation_energy_eV: float | None = None
    activation_energy_err_eV: float | None = None
    sigma_300K_S_per_cm: float | None = None
    sigma_300K_interval_S_per_cm: tuple[float, float] | None = None
    flagged: bool = False
    flag_reason: str | None = None
    haven_ratio: float = 1.0


def diffusion_point(
    md_result,
    species: str = "Li",
    equilibration_ps: float = 0.0,
    n_blocks: int = diff.DEFAULT_N_BLOCKS,
    haven_ratio: float = 1.0,
    calculator: CalculatorSpec | None = None,
) -> DiffusionPoint:
    """Li MSD, D and sigma of one MD result, discarding equilibration: an ``MDResult`` or its dict, or the
    output of the MD job of ``calculator``'s makers (read by their ``read_md``: e.g. atomate2's VASP task
    document with ``calculator=CalculatorSpec(name="vasp")``)."""
    from interchem.workflows.md import MDResult, cartesian_frames

    if isinstance(md_result, MDResult):
        res = md_result
    elif calculator is not None:
        res = calculator_makers(calculator).read_md(md_result)
    else:
        res = MDResult.model_validate(md_result)
    traj = res.trajectory
    dt_frame = float(traj.time_step)
    pos, lat = cartesian_frames(traj)
    steps = np.array([p["step"] for p in traj.frame_properties], dtype=float)
    t_ps = steps * res.settings["timestep_fs"] / 1000.0
    keep = t_ps >= equilibration_ps - 1e-9
    pos = pos[keep]
    diff.check_run_length(t_ps, equilibration_ps, n_blocks)
    mask = np.array([s == species for s in traj.species])
    m = diff.msd(pos, species_mask=mask, time_step_fs=dt_frame, n_blocks=n_blocks)
    d = diff.diffusion_coefficient(m)
    volume = float(abs(np.linalg.det(lat[keep].mean(axis=0))))
    sigma = err = None
    if not d.flagged:
        sigma, err = diff.nernst_einstein_conductivity(
            d, int(mask.sum()), volume, res.settings["temperature_K"], haven_ratio=haven_ratio
        )
    return DiffusionPoint(
        temperature_K=res.settings["temperature_K"],
        mean_temperature_K=res.mean_temperature_K,
        n_li=int(mask.sum()),
        volume_A3=volume,
        msd=m,
        diffusion=d,
        sigma_S_per_cm=sigma,
        sigma_err_S_per_cm=err,
        md_key=res.md_key,
        production_ps=float(t_ps[keep][-1] - t_ps[keep][0]),
    )


@job(name="diffusion point")
def diffusion_point_job(
    md_result: Any, species: str, equilibration_ps: float, haven_ratio: float, calculator: CalculatorSpec | None = None
) -> DiffusionPoint:
    return diffusion_point(
        md_result, species=species, equilibration_ps=equilibration_ps, haven_ratio=haven_ratio, calculator=calculator
    )


def diffusion_report(
    phase: str,
    formula: str,
    points: list[DiffusionPoint | dict],
    calculator: CalculatorSpec | dict,
    haven_ratio: float = 1.0,
) -> DiffusionReport:
    """Arrhenius analysis over the unflagged temperatures; flagged (with the reason) when fewer than 3
    temperatures show diffusion. Never extrapolates from points that saw no diffusion."""
    spec = calculator if isinstance(calculator, CalculatorSpec) else CalculatorSpec.model_validate(calculator)
    pts = sorted(
        (p if isinstance(p, DiffusionPoint) else DiffusionPoint.model_validate(p) for p in points),
        key=lambda p: p.temperature_K,
    )
    good = [p for p in pts if not p.diffusion.flagged]
    report = DiffusionReport(
        phase=phase,
        formula=formula,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=get_backend(spec).level_of_theory(spec),
        points=pts,
        haven_ratio=haven_ratio,
    )
    if len(good) < 3:
        missing = [f"{p.temperature_K:.0f} K ({p.diffusion.flag_reason})" for p in pts if p.diffusion.flagged]
        report.flagged = True
        report.flag_reason = (
            f"only {len(good)} of {len(pts)} temperatures show diffusion; an Arrhenius fit needs 3. "
            + (f"No diffusion at: {', '.join(missing)}. " if missing else "")
            + "Run longer or hotter."
        )
        return report
    temps = [p.temperature_K for p in good]
    report.arrhenius_D = diff.arrhenius_fit(temps, [p.diffusion for p in good], kind="D")
    report.arrhenius_sigma = diff.arrhenius_fit(
        temps, [p.sigma_S_per_cm for p in good], errors=[p.sigma_err_S_per_cm for p in good], kind="sigma"
    )
    a = report.arrhenius_sigma
    report.activation_energy_eV = a.activation_energy_eV
    report.activation_energy_err_eV = a.activation_energy_err_eV
    report.sigma_300K_S_per_cm = a.value_300K
    report.sigma_300K_interval_S_per_cm = (
        a.value_300K * math.exp(-a.ln_value_300K_err),
        a.value_300K * math.exp(a.ln_value_300K_err),
    )
    return report


@job(name="diffusion report")
def diffusion_report_job(
    phase: str, formula: str, points: list, calculator: CalculatorSpec, haven_ratio: float
) -> DiffusionReport:
    return diffusion_report(phase, formula, points, calculator, haven_ratio)


def diffusion_supercell(structure: Structure, min_length: float) -> Structure:
    scaling = [max(1, math.ceil(min_length / x - 1e-9)) for x in structure.lattice.abc]
    sc = structure.copy()
    sc.make_supercell(np.diag(scaling))
    return sc


@dataclass
class DiffusionMaker(Maker):
    """Li diffusion and conductivity: NVT MD at each temperature (restartable), MSD after equilibration,
    D with a block-averaging error, Nernst-Einstein sigma, Arrhenius fit and its 300 K extrapolation."""

    name: str = "li diffusion"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, in __post_init__
    temperatures_K: tuple[float, ...] = (600.0, 700.0, 800.0, 900.0)
    steps: int = 5000
    equilibration_ps: float = 1.0
    timestep_fs: float = 2.0
    sample_interval: int = 10
    supercell_min_length: float = 10.0
    seed: int = 0
    species: str = "Li"
    haven_ratio: float = 1.0
    md_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        from interchem.workflows.common import resolve_calculator

        self.calculator = resolve_calculator(self.calculator)

    def validate(self, structure: Structure) -> None:
        temps = list(self.temperatures_K)
        if len(temps) < 3:
            raise DiffusionInputError(f"an Arrhenius fit needs at least 3 temperatures, got {temps}")
        if len(set(temps)) != len(temps) or any(t <= 0 for t in temps):
            raise DiffusionInputError(f"temperatures must be positive and distinct, got {temps}")
        if self.species not in {el.symbol for el in structure.composition}:
            from interchem.errors import NoMobileSpeciesError

            raise NoMobileSpeciesError(structure.composition.reduced_formula, self.species)
        if self.equilibration_ps * 1000 >= self.steps * self.timestep_fs:
            raise DiffusionInputError(
                f"equilibration ({self.equilibration_ps} ps) is not shorter than the run "
                f"({self.steps * self.timestep_fs / 1000} ps)"
            )
        self.check_run_length()

    def check_run_length(self) -> None:
        """The frames each temperature will keep after equilibration, checked against what the MSD analysis
        needs, before any MD runs (the same rule ``diffusion_point`` applies to the finished trajectory);
        the error says how many steps would do."""
        settings = {"timestep_fs": self.timestep_fs, "sample_interval": self.sample_interval, **self.md_settings}
        dt, every = float(settings["timestep_fs"]), int(settings["sample_interval"])
        makers = calculator_makers(self.calculator)

        def frame_times(steps: int) -> list[float]:
            return [s * dt / 1000.0 for s in makers.md_frame_steps(steps, every)]

        def enough(steps: int) -> bool:
            kept = (np.asarray(frame_times(steps)) >= self.equilibration_ps - 1e-9).sum()
            return bool(kept >= diff.required_frames())

        try:
            diff.check_run_length(frame_times(self.steps), self.equilibration_ps)
        except DiffusionInputError as exc:
            lo, hi = self.steps, max(1, self.steps) * 2
            while not enough(hi) and hi < 10**9:
                lo, hi = hi, hi * 2
            while hi - lo > 1:  # the fewest steps that pass
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if enough(mid) else (mid, hi)
            raise DiffusionInputError(
                f"{self.steps} MD steps of {dt:g} fs, a frame every {every} step(s): {exc}; "
                f"with this equilibration and sampling, at least {hi} steps are needed"
            ) from None

    def make(self, structure: Structure, phase: str | None = None) -> Flow:
        from interchem.workflows.md import MDMaker

        spec = self.calculator
        check_calculator(spec, {el.symbol for el in structure.composition}, context="diffusion MD")
        self.validate(structure)
        phase = phase or structure.composition.reduced_formula
        cell = diffusion_supercell(structure, self.supercell_min_length)
        jobs, points = [], []
        for t in self.temperatures_K:
            md = MDMaker(
                calculator=spec,
                temperature_K=float(t),
                steps=self.steps,
                md_settings={
                    "timestep_fs": self.timestep_fs,
                    "sample_interval": self.sample_interval,
                    "seed": self.seed,
                    **self.md_settings,
                },
            ).make(cell, label=phase)
            point = diffusion_point_job(md.output, self.species, self.equilibration_ps, self.haven_ratio, spec)
            point.name = f"diffusion {phase} {t:.0f} K"
            jobs += [md, point]
            points.append(point.output)
        report = diffusion_report_job(phase, structure.composition.reduced_formula, points, spec, self.haven_ratio)
        report.name = f"diffusion report {phase}"
        return Flow([*jobs, report], output=report.output, name=f"{self.name} {phase}")
