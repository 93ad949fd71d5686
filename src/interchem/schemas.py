"""The documents every calculator backend's makers produce, so that a workflow reads them without
knowing which code made them: MD (``MDSettings`` in, ``MDResult`` out), NEB (``NEBSettings`` in,
``NEBResult`` out), positions-only relaxations (``RelaxedStructure``) and interfacial-distance scans
(``GapScan``).

Why a module of its own, below ``calculators``: the backends (interchem's ASE route and atomate2's VASP
readers in ``calculators.vasp``) build these documents, and the workflows compose and analyse them. Had
they stayed in ``workflows``, ``calculators`` would import upwards (the break import-linter reported
before). Moving the schemas down, rather than having the VASP readers return neutral dicts that each
workflow wraps, keeps one typed document per concept and one validation of it, and the readers stay
testable on their own. Only data models and their small constructors live here: no jobs, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

__all__ = [
    "Ensemble",
    "GapScan",
    "MDResult",
    "MDSettings",
    "NEBResult",
    "NEBSettings",
    "RelaxedStructure",
    "band_energetics",
    "task_field",
]

Ensemble = Literal["nvt-langevin", "nvt-bussi", "nve", "npt-berendsen"]


class MDSettings(BaseModel):
    """What determines a trajectory. Everything here enters the checkpoint key except the sampling
    and checkpoint intervals' effect on cost (they do enter it: the frames stored depend on them)."""

    model_config = ConfigDict(extra="forbid")

    temperature_K: float = Field(gt=0, description="thermostat target (start of a ramp)")
    end_temperature_K: float | None = Field(default=None, gt=0, description="linear ramp target at the last step")
    steps: int = Field(gt=0)
    timestep_fs: float = Field(
        default=2.0, gt=0, le=5.0, description="2 fs is usual for Li with MLIPs; 1 fs for AIMD of hot melts"
    )
    ensemble: Ensemble = "nvt-langevin"
    friction_per_fs: float = Field(default=0.01, gt=0, description="Langevin friction (1/fs)")
    taut_fs: float = Field(default=100.0, gt=0, description="Bussi / Berendsen thermostat time constant")
    pressure_GPa: float = Field(default=0.0, description="npt-berendsen target pressure")
    taup_fs: float = Field(default=1000.0, gt=0, description="Berendsen barostat time constant")
    compressibility_per_GPa: float = Field(default=0.01, gt=0, description="Berendsen barostat compressibility")
    seed: int = 0
    sample_interval: int = Field(default=10, gt=0, description="steps between stored frames")
    checkpoint_interval: int = Field(default=50, gt=0)
    initial_temperature_K: float | None = Field(
        default=None, ge=0, description="Maxwell-Boltzmann velocities at this T (default: temperature_K)"
    )

    @model_validator(mode="after")
    def _check(self) -> MDSettings:
        for name in ("temperature_K", "end_temperature_K"):
            value = getattr(self, name)
            if value is not None and value > 10000:
                raise ValueError(f"{name}={value} K is not a sane MD temperature (> 10000 K)")
        return self

    def target_temperature(self, step: int) -> float:
        if self.end_temperature_K is None:
            return self.temperature_K
        frac = min(max(step / self.steps, 0.0), 1.0)
        return self.temperature_K + frac * (self.end_temperature_K - self.temperature_K)


class MDResult(BaseModel):
    """Output document of one MD job. The trajectory object is routed to the data store."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    md_key: str
    formula: str
    n_atoms: int
    calculator: dict[str, Any]
    level_of_theory: str
    settings: dict[str, Any]
    steps_done: int
    resumed_from_step: int
    final_structure: Structure
    trajectory: Trajectory
    mean_temperature_K: float
    mean_potential_energy_eV: float
    wall_time_s: float
    seconds_per_step: float
    versions: dict[str, str] = Field(default_factory=dict)
    label: str = ""


class NEBSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_images: int = Field(default=5, ge=3, le=15, description="intermediate images")
    fmax: float = Field(default=0.05, gt=0, description="NEB force threshold (eV/A)")
    steps: int = Field(default=300, gt=0)
    climb: bool = True
    spring_constant: float = Field(default=0.1, gt=0, description="eV/A^2")
    relax_endpoints: bool = True
    endpoint_fmax: float = Field(default=0.03, gt=0)
    endpoint_steps: int = Field(default=300, gt=0)
    endpoint_rattle_A: float = Field(
        default=0.0,
        ge=0,
        le=0.2,
        description="seeded random displacement (A, rms), the same in both endpoints, before the endpoint "
        "relaxation: atoms held on a saddle by symmetry (split sites such as Li on 24g in an ordered "
        "argyrodite) relax off it; 0: none",
    )
    supercell_min_length: float = Field(default=8.0, gt=0, description="A; periodic images of the hop kept apart")
    batched: bool | None = Field(
        default=None,
        description="evaluate the images in batched calls; None: only for small images (<= 24 atoms) of a "
        "calculator that batches (benchmarks/neb_batching.py: CHGNet batching was 0.55x as fast as one by one "
        "on 96-atom Li2S images, 1.1-1.2x on small cells)",
    )


class NEBResult(BaseModel):
    """One minimum-energy path. ``images`` (the structures) go to the data store."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    hop: dict[str, Any] | None = None
    calculator: dict[str, Any]
    level_of_theory: str
    settings: dict[str, Any]
    n_atoms: int
    energies_eV: list[float]  # relative to the initial endpoint
    reaction_coordinate_A: list[float]  # cumulative image-to-image distance
    forward_barrier_eV: float
    backward_barrier_eV: float
    barrier_eV: float  # max over the path of E - min(E_initial, E_final): what the percolation uses
    reaction_energy_eV: float
    saddle_index: int
    converged: bool
    max_force_eV_per_A: float
    n_steps: int
    endpoint_energies_eV: list[float]
    wall_time_s: float
    image_evaluation: Literal["batched", "one-by-one"]
    flagged: bool = False
    flag_reason: str | None = None
    images: list[Structure] = Field(default_factory=list)


class RelaxedStructure(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    structure: Structure
    energy_eV: float
    initial_energy_eV: float
    converged: bool
    n_steps: int
    n_fixed: int
    calculator: dict[str, Any]
    level_of_theory: str
    wall_time_s: float
    max_force_eV_A: float | None = Field(None, description="largest force on a free atom at the end")
    fmax_eV_A: float | None = Field(None, description="the force threshold asked for")


class GapScan(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    gaps_A: list[float]
    energies_eV: list[float]
    best_gap_A: float
    structure: Structure

    @classmethod
    def from_energies(cls, structure: Structure, gaps: Sequence[float], energies: Sequence[float]) -> GapScan:
        """The scan of ``structure`` (an interface) from single-point energies of ``set_gap(structure, g)``:
        the lowest energy wins."""
        from interchem.structures.interfaces import set_gap

        if len(gaps) != len(energies) or not gaps:
            from interchem.errors import InterfaceError

            raise InterfaceError(f"{len(gaps)} gaps but {len(energies)} single-point energies")
        energies = [float(e) for e in energies]
        k = int(np.argmin(energies))
        return cls(
            gaps_A=[float(g) for g in gaps],
            energies_eV=energies,
            best_gap_A=float(gaps[k]),
            structure=set_gap(structure, gaps[k]),
        )


def task_field(doc: Any, *path: str) -> Any:
    """``doc.a.b`` or ``doc["a"]["b"]``: an atomate2 task document (force-field, VASP, CP2K, phonon) is read
    alike whether it arrives as the model or as its stored dict; None where a field is missing."""
    from collections.abc import Mapping

    for name in path:
        if doc is None:
            return None
        doc = doc.get(name) if isinstance(doc, Mapping) else getattr(doc, name, None)
    return doc


def band_energetics(images: Sequence[Any]) -> tuple[dict[str, Any], list[str]]:
    """Energies along a band (ASE ``Atoms`` with energies and forces, endpoints included), relative to the
    first image, with the ``NEBResult`` barrier fields and the flags of a suspicious path.

    ASE's ``NEBTools.get_barrier(fit=False)`` gives the forward barrier (highest image minus the initial
    endpoint) and the reaction energy; the backward barrier and ``barrier_eV`` (highest image minus the
    lower endpoint: what the percolation uses) follow from them. Shared by interchem's ASE NEB and the
    VASP NEB collation, so both flag alike."""
    from ase.mep import NEBTools

    forward, reaction = (float(x) for x in NEBTools(list(images)).get_barrier(fit=False))
    energies = np.array([float(a.get_potential_energy()) for a in images])
    e = energies - energies[0]
    saddle = int(np.argmax(e))
    flags = []
    if saddle in (0, len(e) - 1):
        flags.append("the highest image is an endpoint: no barrier along this path (or a wrong endpoint)")
    if e.min() < min(e[0], e[-1]) - 0.05:
        flags.append(f"an intermediate image lies {min(e[0], e[-1]) - e.min():.2f} eV below both endpoints")
    fields = {
        "energies_eV": e.tolist(),
        "forward_barrier_eV": forward,
        "backward_barrier_eV": forward - reaction,
        "barrier_eV": forward - min(0.0, reaction),
        "reaction_energy_eV": reaction,
        "saddle_index": saddle,
    }
    return fields, flags
