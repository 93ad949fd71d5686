"""atomate2's VASP MD output -> interchem's ``MDResult``, so that the diffusion analysis reads AIMD as it
reads MLIP MD.

What atomate2 0.1.5 stores for a VASP MD job (``atomate2.vasp.jobs.md.MDMaker``): the output is an emmet
``TaskDoc`` parsed with ``TaskDoc.from_directory(..., store_trajectory=...)``. With ``store_trajectory``
``"partial"`` (atomate2's default for MD, set explicitly by ``interchem.calculators.vasp.inputs.make_md_maker``) every
ionic step of vasprun.xml becomes one frame of a pymatgen ``Trajectory`` (positions, per-frame lattice,
energies, forces, stress and, from OSZICAR, the temperature ``T``) held in
``task_doc.vasp_objects["trajectory"]``; ``calcs_reversed[0].output.ionic_steps`` is then left empty.
The job's ``data`` argument routes that trajectory to the job store's ``data`` store (GridFS on MongoDB
in interchem's store), and jobflow loads it back when the next job's input is resolved. ``"full"`` adds
the electronic steps of every ionic step, which the diffusion analysis does not use. With ``"no"`` the
structures are in ``calcs_reversed[0].output.ionic_steps``, which is read as a fallback.

VASP writes wrapped fractional positions (in [0, 1)) at every ionic step, so frames are POTIM apart;
they are unwrapped here by minimum image between consecutive frames (no atom moves half a cell in one
MD step), and the resulting ``MDResult.trajectory`` holds unwrapped fractional coordinates like
interchem's own MD (``workflows.md._trajectory``). The time step (POTIM, fs) and the thermostat target
(TEBEG, K) are read from the task document's INCAR (``input.incar``, with vasprun's ``parameters`` as
defaults), never assumed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from interchem.errors import DiffusionInputError
from interchem.schemas import task_field

# amu * (Å/fs)^2 -> eV, and k_B in eV/K, for the kinetic temperature fallback.
_AMU_A2_PER_FS2_TO_EV = 103.642691
_K_B_EV_PER_K = 8.617333262e-5


def is_vasp_md_output(obj: Any) -> bool:
    """True for an emmet ``TaskDoc`` (or its dict, as jobflow passes or stores it); interchem's own
    ``MDResult`` (dict with ``md_key``) is not one."""
    if isinstance(obj, Mapping):
        if "md_key" in obj:
            return False
        return obj.get("@class") in ("TaskDoc", "CoreTaskDoc") or "calcs_reversed" in obj or "vasp_objects" in obj
    try:
        from emmet.core.tasks import CoreTaskDoc
    except ImportError:  # pragma: no cover - emmet-core is a dependency
        return False
    return isinstance(obj, CoreTaskDoc)


def md_incar(task_doc: Any) -> dict[str, Any]:
    """The run's INCAR as VASP used it: vasprun's ``parameters`` (every setting, defaults included)
    overridden by the INCAR the job wrote (``input.incar``); the last calculation's input if the task
    document has no ``input``."""
    incar: dict[str, Any] = {}
    for source in (task_field(task_doc, "input"), _first_calc(task_doc, "input")):
        if source is None:
            continue
        for part in ("parameters", "incar"):
            values = task_field(source, part)
            if isinstance(values, Mapping):
                incar.update({str(k).upper(): v for k, v in values.items()})
        if incar:
            break
    return incar


def _first_calc(task_doc: Any, *path: str) -> Any:
    calcs = task_field(task_doc, "calcs_reversed")
    if not calcs:
        return None
    return task_field(calcs[0], *path)


def _float(incar: Mapping[str, Any], key: str) -> float | None:
    value = incar.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DiffusionInputError(f"VASP MD INCAR {key}={value!r} is not a number") from None


def _pmg_trajectory(task_doc: Any):
    """The stored trajectory as a pymatgen ``Trajectory``, from whichever form the document holds."""
    from pymatgen.core.trajectory import Trajectory

    objects = task_field(task_doc, "vasp_objects") or {}
    traj = None
    for key, value in dict(objects).items():
        if getattr(key, "value", key) == "trajectory":
            traj = value
    if traj is not None:
        if isinstance(traj, Trajectory):
            return traj
        if isinstance(traj, Mapping) and "blob_uuid" in traj:
            raise DiffusionInputError(
                "the VASP MD trajectory is still a data-store reference (blob_uuid "
                f"{traj['blob_uuid']}): load the job output with load=True (jobflow does when it resolves a "
                "job input) so that the trajectory comes back from the data store"
            )
        if isinstance(traj, Mapping) and "cart_coords" in traj or hasattr(traj, "to_pmg"):
            from emmet.core.trajectory import (
                Trajectory as EmmetTrajectory,  # VASP_USE_EMMET_MODELS=True
            )

            model = traj if hasattr(traj, "to_pmg") else EmmetTrajectory.model_validate(dict(traj))
            return model.to_pmg()
        if isinstance(traj, Mapping):
            return Trajectory.from_dict(dict(traj))
        raise DiffusionInputError(f"unreadable VASP MD trajectory of type {type(traj).__name__}")
    steps = _first_calc(task_doc, "output", "ionic_steps")
    if steps:  # store_trajectory="no": the structures are in the ionic steps
        from pymatgen.core import Structure

        structures, props = [], []
        for step in steps:
            s = task_field(step, "structure")
            structures.append(s if isinstance(s, Structure) else Structure.from_dict(dict(s)))
            props.append({"energy": task_field(step, "e_0_energy")})
        return Trajectory.from_structures(structures, constant_lattice=False, frame_properties=props)
    raise DiffusionInputError(
        "the VASP MD task document has no trajectory: neither vasp_objects['trajectory'] nor ionic steps. "
        "Run atomate2's VASP MD with task_document_kwargs={'store_trajectory': 'partial'} "
        "(interchem.calculators.vasp.inputs.make_md_maker does) and a job store with a 'data' store"
    )


def _unwrap_frac(frac: np.ndarray) -> np.ndarray:
    step = np.diff(frac, axis=0)
    step -= np.round(step)
    return np.concatenate([frac[:1], frac[:1] + np.cumsum(step, axis=0)], axis=0)


def _kinetic_temperature(cart: np.ndarray, species: list[str], dt_fs: float) -> float:
    """Mean kinetic temperature from central-difference velocities (only when OSZICAR gave no T)."""
    from pymatgen.core import Element

    if len(cart) < 3:
        return float("nan")
    masses = np.array([Element(s).atomic_mass for s in species], dtype=float)
    v = (cart[2:] - cart[:-2]) / (2 * dt_fs)
    ke = 0.5 * np.einsum("a,fa->f", masses, np.sum(v * v, axis=2)) * _AMU_A2_PER_FS2_TO_EV
    dof = max(3 * len(species) - 3, 1)
    return float(np.mean(2 * ke / (dof * _K_B_EV_PER_K)))


def vasp_md_result(task_doc: Any, label: str = ""):
    """Turn the output of atomate2's VASP MD job (an emmet ``TaskDoc``, or its dict as stored or as
    jobflow passes it) into interchem's ``MDResult``.

    The result's trajectory holds unwrapped fractional coordinates of every stored ionic step, the
    per-frame lattices, and frame properties ``step`` (0 for the first stored frame), ``energy`` and
    ``temperature`` (OSZICAR's T when stored). ``settings`` carries ``timestep_fs`` = POTIM,
    ``temperature_K`` = TEBEG, ``end_temperature_K`` = TEEND, ``steps`` = NSW and ``sample_interval`` = 1
    (VASP writes every ionic step to vasprun.xml). ``md_key`` is ``vasp:`` plus the run folder (or the
    task id). Raises ``DiffusionInputError`` when the document is not a finished-or-partial MD run with
    a trajectory.
    """
    # Long by intent (~105 lines): a linear read of one task document (INCAR, trajectory, unwrap,
    # temperatures), each step validating what the next relies on.
    from pymatgen.core import Structure
    from pymatgen.core.trajectory import Trajectory

    from interchem.schemas import MDResult

    incar = md_incar(task_doc)
    if not incar:
        raise DiffusionInputError("the VASP task document has no INCAR (input.incar / input.parameters)")
    ibrion = incar.get("IBRION")
    if ibrion is None or int(ibrion) != 0:
        raise DiffusionInputError(f"not a VASP MD run: IBRION={ibrion!r} (MD has IBRION=0)")
    potim = _float(incar, "POTIM")
    tebeg = _float(incar, "TEBEG")
    if potim is None or potim <= 0:
        raise DiffusionInputError(f"VASP MD run without a positive POTIM (time step, fs): {potim!r}")
    if tebeg is None or tebeg <= 0:
        raise DiffusionInputError(f"VASP MD run without a positive TEBEG (temperature, K): {tebeg!r}")
    teend = _float(incar, "TEEND")
    nsw = int(incar.get("NSW") or 0)

    traj = _pmg_trajectory(task_doc)
    species = [getattr(sp, "symbol", None) or str(sp) for sp in traj.species]
    frac = np.asarray(traj.coords, dtype=float)
    n = len(frac)
    if n < 2:
        raise DiffusionInputError(f"the VASP MD trajectory has {n} frame(s); a diffusion analysis needs many")
    lattice = np.asarray(traj.lattice, dtype=float)
    lattices = np.repeat(lattice[None], n, axis=0) if traj.constant_lattice else lattice
    constant = bool(np.allclose(lattices, lattices[0], atol=1e-8))
    unwrapped = _unwrap_frac(frac)
    props = list(traj.frame_properties or [{}] * n)
    energies = [p.get("energy") for p in props]
    temps = [p.get("temperature") for p in props]
    has_t = all(t is not None for t in temps)
    cart = np.einsum("fij,fjk->fik", unwrapped, lattices)
    mean_t = float(np.mean(temps)) if has_t else _kinetic_temperature(cart, species, potim)
    has_e = all(e is not None for e in energies)
    frame_props = [
        {"step": i, "energy": float(energies[i]) if has_e else None, "temperature": float(temps[i]) if has_t else None}
        for i in range(n)
    ]
    trajectory = Trajectory(
        species=species,
        coords=unwrapped,
        lattice=lattices[0] if constant else lattices,
        constant_lattice=constant,
        time_step=potim,
        frame_properties=frame_props,
    )

    dir_name = task_field(task_doc, "dir_name")
    task_id = task_field(task_doc, "task_id")
    ident = str(dir_name or task_id or "")
    if not ident:
        ident = hashlib.sha256(
            np.ascontiguousarray(frac[:2]).tobytes() + repr(sorted(incar.items())).encode()
        ).hexdigest()
    final = task_field(task_doc, "output", "structure")
    if final is not None and not isinstance(final, Structure):
        final = Structure.from_dict(dict(final))
    if final is None:
        final = Structure(lattices[-1], species, frac[-1])
    run_stats = task_field(task_doc, "run_stats") or {}
    elapsed = (
        task_field(run_stats.get("overall") or run_stats.get("standard"), "elapsed_time")
        if isinstance(run_stats, Mapping)
        else None
    )
    wall = float(elapsed) if elapsed is not None else 0.0
    run_type = task_field(task_doc, "run_type") or _first_calc(task_doc, "run_type")
    run_type = getattr(run_type, "value", run_type)
    ensemble = {
        1: "nve (Andersen)" if not _float(incar, "ANDERSEN_PROB") else "nvt (Andersen)",
        2: "nvt (Nose-Hoover)",
        3: "langevin",
        5: "nvt (CSVR)",
    }.get(int(incar.get("MDALGO") or 0), f"MDALGO={incar.get('MDALGO', 0)}")
    settings = {
        "temperature_K": tebeg,
        "end_temperature_K": teend if teend is not None and teend > 0 and teend != tebeg else None,
        "steps": nsw,
        "timestep_fs": potim,
        "sample_interval": 1,
        "ensemble": f"vasp {ensemble}, ISIF={incar.get('ISIF', 2)}",
        "source": "vasp",
        "incar": {
            k: incar[k]
            for k in ("IBRION", "NSW", "POTIM", "TEBEG", "TEEND", "MDALGO", "SMASS", "ISIF", "ENCUT")
            if k in incar
        },
    }
    return MDResult(
        md_key=f"vasp:{ident}",
        formula=final.composition.reduced_formula,
        n_atoms=len(species),
        calculator={"name": "vasp", "settings": {}},
        level_of_theory=f"VASP {run_type or 'DFT'} (from the task document)",
        settings=settings,
        steps_done=n,
        resumed_from_step=0,
        final_structure=final,
        trajectory=trajectory,
        mean_temperature_K=mean_t,
        mean_potential_energy_eV=float(np.mean(energies)) if has_e else float("nan"),
        wall_time_s=wall,
        seconds_per_step=wall / n,
        versions={"vasp": str(task_field(task_doc, "vasp_version") or _first_calc(task_doc, "vasp_version") or "")},
        label=label or str(task_field(task_doc, "task_label") or ""),
    )
