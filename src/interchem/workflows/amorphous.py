"""Melt-quench of amorphous phases with any registry calculator, as a jobflow Flow.

    random packing at a start density (in ``make``: bad input fails before any job exists)
      -> melt        NVT Langevin at the melt temperature            (interchem MD job, restartable)
      -> quench      NPT Berendsen, linear ramp melt T -> anneal T    (the volume follows the liquid/glass)
      -> anneal      NPT Berendsen at the anneal temperature (300 K): frames for the 300 K g(r)
      -> relax       atomate2 ForceFieldRelaxMaker, cell + positions: the 0 K density is the calculator's
      -> analyse     density, partial g(r), coordination numbers, comparison with the published density

Why not atomate2's MPMorph makers (``atomate2.forcefields.flows.mpmorph``): MPMorph finds the
volume by fitting an equation of state to the pressures of >= 4 NVT runs at different volumes and
refits until the volume is bracketed, then runs a production MD; each of those runs is an
atomate2 ``ForceFieldMDMaker`` job, which cannot resume a killed run and takes its calculator by
force-field name. For a glass quenched to 300 K, an NPT quench followed by a cell relaxation gives
the calculator's density in one pass (2-3x fewer MD steps), and our MD job resumes from checkpoints.
The final 0 K step is what MPMorph's ``FastQuenchMaker`` does (atomate2 relaxation), and is
atomate2's relax maker here too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel, Field
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from interchem.analysis.structure import PairRDF, density_g_cm3, partial_rdfs
from interchem.calculators import (
    CalculatorSpec,
    calculator_makers,
    check_calculator,
    get_backend,
    relax_maker,
)
from interchem.schemas import task_field
from interchem.structures.amorphous import (
    AmorphousTarget,
    amorphous_target,
    random_packing,
)
from interchem.workflows.common import resolve_calculator
from interchem.workflows.md import MDSettings, md_job

logger = logging.getLogger(__name__)


class AmorphousResult(BaseModel):
    """Output document of a melt-quench: the 0 K amorphous cell and its structure analysis."""

    label: str
    target: dict[str, Any]
    formula: str
    n_atoms: int
    calculator: dict[str, Any]
    level_of_theory: str
    schedule: dict[str, Any]
    start_density: float
    density_after_quench: float
    density_anneal_mean: float
    density: float = Field(description="0 K density after the cell relaxation (g/cm^3)")
    density_sane: bool
    reference_density: tuple[float, float] | None = None
    reference_source: str = ""
    density_deviation_percent: float | None = Field(default=None, description="vs the middle of the published range")
    volume_per_atom_A3: float
    rdf_300K: dict[str, PairRDF]
    rdf_0K: dict[str, PairRDF]
    relax_converged: bool | None = None
    mean_temperatures_K: dict[str, float]
    md_wall_time_s: float
    structure: Structure
    versions: dict[str, str] = Field(default_factory=dict)


@dataclass
class MeltQuenchMaker(Maker):
    """Melt-quench one amorphous phase (see the module docstring for the schedule).

    ``make(target_or_name, seed=...)`` accepts an ``AmorphousTarget`` or a preset/composition name
    (``"a-Si"``, ``"a-LiPON"``, ``"Li2.9PO3.3N0.46"``, ``"a-Li3.75Si"``). Defaults are a production
    schedule (~10 ps for 64 atoms); tests and quick looks shorten the steps.
    """

    name: str = "melt-quench"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, in __post_init__
    melt_steps: int = 3000
    quench_steps: int = 5000
    anneal_steps: int = 2000
    melt_timestep_fs: float = 1.0  # hot Li-rich liquids: 2 fs loses energy conservation
    anneal_timestep_fs: float = 2.0
    anneal_temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    taup_fs: float = 500.0
    compressibility_per_GPa: float = 0.02  # 1 / (50 GPa): between a-Si (~0.01) and Li15Si4 (~0.03)
    sample_interval: int = 20
    relax_fmax: float = 0.05  # eV/A; the density converges well before the forces do
    relax_steps: int = 500
    rdf_r_max: float = 6.0

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def _settings(self, seed: int) -> dict[str, dict[str, Any]]:
        common = {"seed": seed, "sample_interval": self.sample_interval, "checkpoint_interval": 200}
        npt = {
            "ensemble": "npt-berendsen",
            "pressure_GPa": self.pressure_GPa,
            "taup_fs": self.taup_fs,
            "compressibility_per_GPa": self.compressibility_per_GPa,
        }
        return {
            "melt": {
                **common,
                "ensemble": "nvt-langevin",
                "friction_per_fs": 0.02,
                "timestep_fs": self.melt_timestep_fs,
                "steps": self.melt_steps,
            },
            # Berendsen's velocity scaling lags a ramp by (rate x taut): with ASE's default 100 fs a
            # 500-step test quench from 3000 K ended at 970 K instead of 300 K; 20 fs keeps the lag
            # at ~100 K there and ~10 K for the default 5000-step quench.
            "quench": {
                **common,
                **npt,
                "taut_fs": 20.0,
                "timestep_fs": self.melt_timestep_fs,
                "steps": self.quench_steps,
                "end_temperature_K": self.anneal_temperature_K,
            },
            "anneal": {
                **common,
                **npt,
                "taut_fs": 50.0,
                "timestep_fs": self.anneal_timestep_fs,
                "steps": self.anneal_steps,
                "temperature_K": self.anneal_temperature_K,
            },
        }

    def schedule(self, target: AmorphousTarget, seed: int = 0) -> dict[str, dict[str, Any]]:
        """Validated MD settings of the three segments (raises on nonsense before any job exists)."""
        s = self._settings(seed)
        s["melt"]["temperature_K"] = target.melt_temperature_K
        s["quench"]["temperature_K"] = target.melt_temperature_K
        return {k: MDSettings.model_validate(v).model_dump(mode="json") for k, v in s.items()}

    def make(self, target: AmorphousTarget | str, seed: int = 0, structure: Structure | None = None) -> Flow:
        if isinstance(target, str):
            target = amorphous_target(target)
        spec = self.calculator
        check_calculator(spec, set(target.counts), context=f"melt-quench of {target.label}")
        calculator_makers(spec, "melt_quench")  # chained MD segments: interchem's ASE MD only
        schedule = self.schedule(target, seed)
        initial = structure if structure is not None else random_packing(target, seed=seed)
        calc = spec
        melt = md_job(initial, calc, schedule["melt"], label=f"{target.label} melt")
        melt.name = f"melt {target.label} {target.melt_temperature_K:.0f} K"
        quench = md_job(melt.output.final_structure, calc, schedule["quench"], label=f"{target.label} quench")
        quench.name = f"quench {target.label}"
        anneal = md_job(quench.output.final_structure, calc, schedule["anneal"], label=f"{target.label} anneal")
        anneal.name = f"anneal {target.label} {self.anneal_temperature_K:.0f} K"
        relax = relax_maker(spec, fmax=self.relax_fmax, steps=self.relax_steps, relax_cell=True).make(
            anneal.output.final_structure
        )
        relax.name = f"relax {target.label}"
        analyse = analyse_melt_quench(
            target.model_dump(mode="json"),
            calc,
            schedule,
            initial,
            [melt.output.mean_temperature_K, quench.output.mean_temperature_K, anneal.output.mean_temperature_K],
            [melt.output.wall_time_s, quench.output.wall_time_s, anneal.output.wall_time_s],
            quench.output.final_structure,
            anneal.output.trajectory,
            relax.output,
            self.rdf_r_max,
        )
        analyse.name = f"analyse {target.label}"
        return Flow([melt, quench, anneal, relax, analyse], output=analyse.output, name=f"{self.name} {target.label}")


def _frame_densities(traj: Trajectory) -> np.ndarray:
    from interchem.workflows.md import cartesian_frames

    _, lattices = cartesian_frames(traj)
    from pymatgen.core import Element

    weight = sum(float(Element(s).atomic_mass) for s in traj.species)
    volumes = np.abs(np.linalg.det(lattices))
    return float(weight) / 6.02214076e23 / (volumes * 1e-24)


@job(name="analyse melt-quench", data=Structure)
def analyse_melt_quench(
    target: dict,
    calculator: CalculatorSpec,
    schedule: dict,
    initial: Structure,
    mean_temperatures: list[float],
    wall_times: list[float],
    quenched: Structure,
    anneal_trajectory: Trajectory,
    relax_doc: Any,
    rdf_r_max: float = 6.0,
) -> AmorphousResult:
    return amorphous_result(
        target,
        calculator,
        schedule,
        initial,
        mean_temperatures,
        wall_times,
        quenched,
        anneal_trajectory,
        relax_doc,
        rdf_r_max,
    )


def amorphous_result(
    target,
    calculator,
    schedule,
    initial,
    mean_temperatures,
    wall_times,
    quenched,
    anneal_trajectory,
    relax_doc,
    rdf_r_max=6.0,
) -> AmorphousResult:
    """Assemble the result document (plain function: the job above and tests call it)."""
    target = AmorphousTarget.model_validate(target)
    spec = calculator if isinstance(calculator, CalculatorSpec) else CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    final = task_field(relax_doc, "output", "structure")
    if isinstance(final, dict):
        final = Structure.from_dict(final)
    if final is None:
        raise ValueError(f"relaxation of {target.label} returned no structure")
    density = density_g_cm3(final)
    lo, hi = target.density_bounds
    deviation = None
    if target.reference_density is not None:
        mid = 0.5 * (target.reference_density[0] + target.reference_density[1])
        deviation = 100.0 * (density / mid - 1.0)
    frames = anneal_trajectory
    if len(frames) > 1:
        frames = frames[len(frames) // 2 :]  # second half of the anneal: equilibrated at 300 K
    rdf_300K = partial_rdfs(frames, r_max=rdf_r_max)
    return AmorphousResult(
        label=target.label,
        target=target.model_dump(mode="json"),
        formula=final.composition.formula.replace(" ", ""),
        n_atoms=len(final),
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        schedule=schedule,
        start_density=density_g_cm3(initial),
        density_after_quench=density_g_cm3(quenched),
        density_anneal_mean=float(np.mean(_frame_densities(frames))),
        density=density,
        density_sane=bool(lo <= density <= hi),
        reference_density=target.reference_density,
        reference_source=target.reference_source,
        density_deviation_percent=deviation,
        volume_per_atom_A3=final.volume / len(final),
        rdf_300K=rdf_300K,
        # One 0 K frame is too noisy to locate a minimum: count neighbours up to the 300 K minima.
        rdf_0K=partial_rdfs(final, r_max=rdf_r_max, cutoffs={p: r.first_minimum_A for p, r in rdf_300K.items()}),
        relax_converged=task_field(relax_doc, "is_force_converged"),
        mean_temperatures_K=dict(zip(("melt", "quench", "anneal"), (float(t) for t in mean_temperatures))),
        md_wall_time_s=float(sum(wall_times)),
        structure=final,
        versions=backend.versions(),
    )
