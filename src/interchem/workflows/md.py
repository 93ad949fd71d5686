"""Molecular dynamics through the calculator registry, restartable from a checkpoint.

Why not atomate2's ``ForceFieldMDMaker``: it cannot resume a killed run. Long MLIP-MD and AIMD on
shared clusters are killed (walltime, pre-emption, ``scancel``), so this job drives ASE's integrators
itself and writes an atomic checkpoint every ``checkpoint_interval`` steps holding everything the
integrator depends on: positions, momenta, cell, step count, the thermostat's random-number-generator
state and the frames sampled so far. A rerun of the same job (same structure, calculator spec and MD
settings, hence the same checkpoint key) resumes from it and produces the same trajectory as an
uninterrupted run with the same seed.

This is interchem's ASE route for MD (``workflows.routes``); ``MDMaker`` asks the calculator's makers
for the MD job, so a backend with its own MD (VASP: atomate2's VASP MD maker, which restarts from its
own files) gets that instead, with no code path here.

The trajectory (pymatgen ``Trajectory``) goes to the job store's ``data`` store, never inline in the
output document.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from jobflow import Maker, job
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from interchem.calculators import (
    CalculatorSpec,
    ase_calculator,
    calculator_makers,
    check_calculator,
)
from interchem.errors import InterchemError
from interchem.progress import Tracker, note
from interchem.schemas import Ensemble, MDResult, MDSettings  # noqa: F401  (re-exported: the MD documents)
from interchem.structures.cards import check_structure
from interchem.workflows.common import cache_key, resolve_calculator

logger = logging.getLogger(__name__)

# Bump when a stored trajectory's meaning changes. 2: the key is ``common.cache_key`` (one rounding rule).
MD_PROTOCOL = "md-2"


class MDError(InterchemError):
    """MD settings or state that cannot give a meaningful run."""


def md_key(structure: Structure, spec: CalculatorSpec, settings: MDSettings) -> str:
    """Cache (and checkpoint) key of one MD run (``common.cache_key``)."""
    return cache_key(spec, structure, settings.model_dump(mode="json"), MD_PROTOCOL)


# Where checkpoints go when the ``checkpoint_dir`` setting is unset: the local runner sets it to one folder
# beside its job folders (``checkpoints_in``), so a killed command run again resumes; any other job
# (jobflow-remote, FireWorks) uses ``checkpoints/`` in its own working folder, which a rerun of the same
# job reuses. Never the home directory unless the user says so.
_DEFAULT_CHECKPOINT_DIR: ContextVar[Path | None] = ContextVar("interchem_md_checkpoints", default=None)


@contextmanager
def checkpoints_in(folder: str | Path) -> Iterator[None]:
    """MD checkpoints of the jobs run inside the block go to ``folder`` unless the setting names one."""
    token = _DEFAULT_CHECKPOINT_DIR.set(Path(folder))
    try:
        yield
    finally:
        _DEFAULT_CHECKPOINT_DIR.reset(token)


def checkpoint_path(key: str, checkpoint_dir: str | Path | None = None) -> Path:
    """The checkpoint file of an MD run: ``checkpoint_dir``, else the ``checkpoint_dir`` setting, else the
    runner's checkpoint folder (``checkpoints_in``), else ``checkpoints/`` in the working folder."""
    if checkpoint_dir is None:
        from interchem.settings import get_settings

        checkpoint_dir = get_settings().checkpoint_dir
    if checkpoint_dir is None:
        checkpoint_dir = _DEFAULT_CHECKPOINT_DIR.get() or Path.cwd() / "checkpoints"
    return Path(checkpoint_dir).expanduser().resolve() / f"md-{key[:20]}.npz"


# --- integrators -----------------------------------------------------------------------------


def _make_dynamics(atoms, settings: MDSettings, rng: np.random.Generator):
    from ase import units

    dt = settings.timestep_fs * units.fs
    t0 = settings.temperature_K
    if settings.ensemble == "nvt-langevin":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=t0, friction=settings.friction_per_fs / units.fs, fixcm=False, rng=rng)
    if settings.ensemble == "nvt-bussi":
        from ase.md.bussi import Bussi

        return Bussi(atoms, dt, temperature_K=t0, taut=settings.taut_fs * units.fs, rng=rng)
    if settings.ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, dt)
    from ase.md.nptberendsen import NPTBerendsen

    return NPTBerendsen(
        atoms,
        dt,
        temperature_K=t0,
        taut=settings.taut_fs * units.fs,
        pressure_au=settings.pressure_GPa * units.GPa,
        taup=settings.taup_fs * units.fs,
        compressibility_au=settings.compressibility_per_GPa / units.GPa,
        fixcm=False,
    )


def _set_target(dyn, settings: MDSettings, temperature_K: float) -> None:
    """Move the thermostat target (temperature ramps for melt-quench)."""
    from ase import units

    if settings.ensemble == "nvt-langevin":
        dyn.set_temperature(temperature_K=temperature_K)
    elif settings.ensemble == "nvt-bussi":
        dyn.temp = temperature_K * units.kB
        dyn.target_kinetic_energy = 0.5 * dyn.temp * dyn.ndof
    elif settings.ensemble == "npt-berendsen":
        dyn.set_temperature(temperature_K=temperature_K)


# --- checkpoint ------------------------------------------------------------------------------


class _Frames:
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.positions: list[np.ndarray] = []
        self.cells: list[np.ndarray] = []
        self.energies: list[float] = []
        self.temperatures: list[float] = []

    def add(self, step: int, atoms, energy: float) -> None:
        if self.steps and step <= self.steps[-1]:
            return  # a resumed run calls its observers at the checkpoint step again
        self.steps.append(step)
        self.positions.append(atoms.get_positions().copy())
        self.cells.append(np.array(atoms.get_cell()))
        self.energies.append(float(energy))
        self.temperatures.append(float(atoms.get_temperature()))

    def arrays(self) -> dict[str, np.ndarray]:
        n = len(self.steps)
        return {
            "frame_steps": np.array(self.steps, dtype=int),
            "frame_positions": np.array(self.positions).reshape(n, -1, 3),
            "frame_cells": np.array(self.cells).reshape(n, 3, 3),
            "frame_energies": np.array(self.energies),
            "frame_temperatures": np.array(self.temperatures),
        }

    @classmethod
    def from_arrays(cls, data) -> _Frames:
        frames = cls()
        frames.steps = [int(s) for s in data["frame_steps"]]
        frames.positions = list(data["frame_positions"])
        frames.cells = list(data["frame_cells"])
        frames.energies = [float(e) for e in data["frame_energies"]]
        frames.temperatures = [float(t) for t in data["frame_temperatures"]]
        return frames


def _write_checkpoint(path: Path, key: str, step: int, atoms, rng: np.random.Generator, frames: _Frames) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(
        tmp,
        key=np.array(key),
        step=np.array(step),
        positions=atoms.get_positions(),
        momenta=atoms.get_momenta(),
        cell=np.array(atoms.get_cell()),
        rng_state=np.array(json.dumps(rng.bit_generator.state)),
        **frames.arrays(),
    )
    os.replace(tmp, path)  # atomic: a kill leaves either the old or the new checkpoint, never half of one


def _read_checkpoint(path: Path, key: str, n_atoms: int):
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key or data["positions"].shape != (n_atoms, 3):
                raise MDError(f"checkpoint {path} belongs to another run (key mismatch); remove it or change the seed")
            state = {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError) as exc:
        raise MDError(f"checkpoint {path} is unreadable ({exc}); remove it to start the run afresh") from exc
    return state


# --- the run ---------------------------------------------------------------------------------


def run_md(
    structure: Structure,
    calculator: CalculatorSpec | str | dict | None,
    settings: MDSettings | dict,
    checkpoint: str | Path | None = None,
    stop_after_step: int | None = None,
) -> MDResult:
    """Run (or resume) MD and return the result with the sampled trajectory.

    ``checkpoint``: the checkpoint file (default: settings' checkpoint_dir / key). ``stop_after_step``
    ends the run early at that step after writing a checkpoint, as a kill would (used to test and to
    split long runs across allocations).
    """
    # Long by intent (~90 lines): one integrator loop whose state (positions, momenta, RNG, frames)
    # must be read and checkpointed in one place for a resumed run to equal an uninterrupted one.
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from pymatgen.io.ase import AseAtomsAdaptor

    spec = CalculatorSpec.parse(calculator)
    settings = MDSettings.model_validate(settings)
    backend = check_calculator(spec, {el.symbol for el in structure.composition}, context="MD")
    if backend.make_ase_calculator is None:
        raise MDError(f"calculator {spec.name!r} has no ASE calculator; use its own MD maker (vasp.make_md_maker)")
    check_structure(structure, label=structure.composition.reduced_formula)
    if settings.ensemble == "npt-berendsen" and "stress" not in _implemented(spec):
        raise MDError(f"npt-berendsen needs stresses, which calculator {spec.name!r} does not give")

    key = md_key(structure, spec, settings)
    path = Path(checkpoint) if checkpoint is not None else checkpoint_path(key)
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = ase_calculator(spec)
    rng = np.random.default_rng(settings.seed)
    frames = _Frames()
    start = 0
    if path.exists():
        state = _read_checkpoint(path, key, len(atoms))
        start = int(state["step"])
        atoms.set_cell(state["cell"])
        atoms.set_positions(state["positions"])
        atoms.set_momenta(state["momenta"])
        rng.bit_generator.state = json.loads(str(state["rng_state"]))
        frames = _Frames.from_arrays(state)
        note(f"resuming MD from step {start} of {settings.steps} from {path}")
    else:
        note(f"MD checkpoints every {settings.checkpoint_interval} steps in {path}", show=False)
        t_init = (
            settings.initial_temperature_K if settings.initial_temperature_K is not None else settings.temperature_K
        )
        MaxwellBoltzmannDistribution(atoms, temperature_K=t_init, rng=np.random.default_rng(settings.seed + 7919))
        Stationary(atoms)

    dyn = _make_dynamics(atoms, settings, rng)
    dyn.nsteps = start
    last = settings.steps if stop_after_step is None else min(settings.steps, stop_after_step)

    def observe() -> None:
        step = dyn.nsteps
        if step % settings.sample_interval == 0 or step == settings.steps:
            frames.add(step, atoms, atoms.get_potential_energy())
        if step > start and (step % settings.checkpoint_interval == 0 or step == last):
            _write_checkpoint(path, key, step, atoms, rng, frames)
        if step < settings.steps:
            _set_target(dyn, settings, settings.target_temperature(step + 1))

    dyn.attach(observe, interval=1)
    tracker = Tracker("md", settings.steps, start=start)  # live progress (runner's bar, the job's log)
    dyn.attach(lambda: tracker.update(dyn.nsteps), interval=1)
    t0 = time.perf_counter()
    if last > start:
        dyn.run(last - start)
    else:
        observe()
    wall = time.perf_counter() - t0
    if last < settings.steps:
        raise MDInterrupted(f"MD stopped at step {last} of {settings.steps}; checkpoint {path}", path=path, step=last)
    tracker.finish(settings.steps)

    final = AseAtomsAdaptor.get_structure(atoms)
    traj = _trajectory(structure, frames, settings)
    return MDResult(
        md_key=key,
        formula=structure.composition.reduced_formula,
        n_atoms=len(structure),
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        settings=settings.model_dump(mode="json"),
        steps_done=settings.steps,
        resumed_from_step=start,
        final_structure=final,
        trajectory=traj,
        mean_temperature_K=float(np.mean(frames.temperatures)),
        mean_potential_energy_eV=float(np.mean(frames.energies)),
        wall_time_s=wall,
        seconds_per_step=wall / max(last - start, 1),
        versions=backend.versions(),
    )


class MDInterrupted(MDError):
    def __init__(self, message: str, path: Path, step: int):
        super().__init__(message)
        self.path = path
        self.step = step


def _implemented(spec: CalculatorSpec) -> tuple[str, ...]:
    return tuple(getattr(ase_calculator(spec), "implemented_properties", ()))


def _trajectory(structure: Structure, frames: _Frames, settings: MDSettings) -> Trajectory:
    """Frames as a pymatgen Trajectory with *unwrapped* fractional coordinates (ASE does not wrap
    positions during MD), per-frame lattices and energies/temperatures/steps as frame properties."""
    cells = np.array(frames.cells)
    positions = np.array(frames.positions)
    frac = np.einsum("fij,fjk->fik", positions, np.linalg.inv(cells))
    constant = bool(np.allclose(cells, cells[0], atol=1e-8))
    return Trajectory(
        species=[s.species_string for s in structure],
        coords=frac,
        lattice=cells[0] if constant else cells,
        constant_lattice=constant,
        time_step=settings.timestep_fs * settings.sample_interval,
        frame_properties=[
            {"step": s, "energy": e, "temperature": t}
            for s, e, t in zip(frames.steps, frames.energies, frames.temperatures)
        ],
    )


def trajectory_times_fs(traj: Trajectory, timestep_fs: float) -> np.ndarray:
    return np.array([p["step"] for p in traj.frame_properties], dtype=float) * timestep_fs


def cartesian_frames(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(frames, atoms, 3) Cartesian positions and (frames, 3, 3) lattices from a Trajectory."""
    frac = np.asarray(traj.coords)
    n = len(frac)
    if traj.constant_lattice:
        lat = np.repeat(np.asarray(traj.lattice)[None], n, axis=0)
    else:
        lat = np.asarray(traj.lattice)
    return np.einsum("fij,fjk->fik", frac, lat), lat


# --- jobflow ---------------------------------------------------------------------------------


@job(name="md", data=Trajectory)
def md_job(structure: Structure, calculator: CalculatorSpec, settings: MDSettings, label: str = "") -> MDResult:
    result = run_md(structure, calculator, settings)
    result.label = label
    return result


@dataclass
class MDMaker(Maker):
    """One MD run with any registry calculator, made by the calculator's makers (``md`` capability):
    interchem's restartable ASE MD (reruns resume from the checkpoint) or the backend's own (VASP:
    atomate2's VASP MD job on MP settings)."""

    name: str = "md"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    temperature_K: float = 300.0
    steps: int = 1000
    md_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def settings(self) -> MDSettings:
        return MDSettings.model_validate({"temperature_K": self.temperature_K, "steps": self.steps, **self.md_settings})

    def make(self, structure: Structure, label: str = ""):
        settings = self.settings()
        makers = calculator_makers(self.calculator, "md")
        check_calculator(self.calculator, {el.symbol for el in structure.composition}, context="MD")
        name = f"{self.name} {label or structure.composition.reduced_formula} {settings.temperature_K:.0f} K"
        return makers.md(structure, settings, label=label, name=name)
