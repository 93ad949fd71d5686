"""Positions-only relaxation on the ASE route (slabs, interfaces, their bulk references), in two stages.

atomate2's ``ForceFieldRelaxMaker`` does not read pymatgen's ``selective_dynamics`` into ASE constraints,
so this is a thin ASE job on the registry's calculator (the same object atomate2 would drive; its cost
against a bare ASE loop is measured in ``benchmarks/interface_build.py``). The cell never moves (the
in-plane cell is the substrate's, the vacuum must stay, and a bulk reference keeps the slab's lattice).

Why two optimisers: interfaces with Li-rich partners start far from a minimum (Li rearranges across the
contact) and BFGS alone, with its quadratic model, took the 282-atom Li15Si4|Li6PS5Cl interface past 200
steps without converging. FIRE (Bitzek et al., PRL 97, 170201, 2006) is robust far from the minimum but
slow close to it, BFGS the reverse; so FIRE runs down to a coarse threshold (3 x fmax, at least
0.15 eV/A) and BFGS finishes to ``fmax``, both within one step budget. ``converged`` is decided by the
final largest force on a free atom, which is also recorded (``max_force_eV_A``).
"""

from __future__ import annotations

import time

import numpy as np
from jobflow import job
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, ase_calculator, get_backend
from interchem.progress import Tracker
from interchem.schemas import RelaxedStructure


def coarse_fmax(fmax: float) -> float:
    """Where FIRE hands over to BFGS (eV/A)."""
    return max(3.0 * fmax, 0.15)


def max_free_force(atoms) -> float:
    """Largest force norm on an atom that may move (ASE applies FixAtoms to ``get_forces``)."""
    f = atoms.get_forces()
    return float(np.max(np.linalg.norm(f, axis=1))) if len(f) else 0.0


def relax_atoms(
    structure: Structure, spec: CalculatorSpec, fmax: float, steps: int, label: str = ""
) -> RelaxedStructure:
    """Positions-only FIRE then BFGS with the bottom layers held by ``FixAtoms`` (from ``selective_dynamics``)."""
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS, FIRE
    from pymatgen.io.ase import AseAtomsAdaptor

    backend = get_backend(spec)  # checked where the flow was made
    sd = structure.site_properties.get("selective_dynamics")
    plain = structure.copy()
    for key in list(plain.site_properties):
        plain.remove_site_property(key)
    atoms = AseAtomsAdaptor.get_atoms(plain)
    fixed = [i for i, flags in enumerate(sd or []) if not any(flags)]
    if fixed:
        atoms.set_constraint(FixAtoms(indices=fixed))
    atoms.calc = ase_calculator(spec)
    t0 = time.perf_counter()
    e0 = float(atoms.get_potential_energy())
    n_steps = 0
    tracker = Tracker("relax", max(steps, 1))  # live progress over both stages: the runner's bar, the job's log
    if steps > 0 and max_free_force(atoms) > coarse_fmax(fmax):
        fire = FIRE(atoms, logfile=None)
        fire.attach(lambda: tracker.update(fire.nsteps), interval=1)
        fire.run(fmax=coarse_fmax(fmax), steps=steps)
        n_steps += int(fire.nsteps)
    if steps - n_steps > 0 and max_free_force(atoms) > fmax:
        bfgs = BFGS(atoms, logfile=None)
        offset = n_steps
        bfgs.attach(lambda: tracker.update(offset + bfgs.nsteps), interval=1)
        bfgs.run(fmax=fmax, steps=steps - n_steps)
        n_steps += int(bfgs.nsteps)
    tracker.finish(n_steps)
    f_final = max_free_force(atoms)
    energy = float(atoms.get_potential_energy())
    wall = time.perf_counter() - t0
    atoms.calc = None
    atoms.set_constraint()
    final = AseAtomsAdaptor.get_structure(atoms)
    for key, values in structure.site_properties.items():
        final.add_site_property(key, values)
    final.properties = dict(structure.properties or {})
    return RelaxedStructure(
        label=label,
        structure=final,
        energy_eV=energy,
        initial_energy_eV=e0,
        converged=bool(f_final <= fmax),
        n_steps=n_steps,
        n_fixed=len(fixed),
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        wall_time_s=wall,
        max_force_eV_A=f_final,
        fmax_eV_A=fmax,
    )


@job(name="relax positions")
def relax_positions(
    structure: Structure, calculator: CalculatorSpec, fmax: float = 0.05, steps: int = 600, label: str = ""
) -> RelaxedStructure:
    return relax_atoms(structure, calculator, fmax, steps, label)
