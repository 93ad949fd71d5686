"""MD throughput through interchem's workflow against a bare ASE MD loop (same calculator and cell).

* workflow: ``MDMaker(calculator="chgnet", ...).make(cell)`` run by ``jobflow.run_locally`` on a fresh
  temporary embedded store: the restartable MD job (checkpoint every 50 steps, frames every 10), the
  Trajectory routed to the data store, job folders, documents written.
* bare: ASE ``Langevin`` with the same calculator object, timestep, friction, seed and step count,
  nothing stored.

Both are timed end to end; the two cases alternate ``--repeat`` times in one process (machine load
affects both) and the ratio of the medians is the number to read (goal: within a few per cent).

    .venv/bin/python benchmarks/md_overhead.py [--phase Li6PS5Cl] [--steps 200] [--repeat 3]

Writes benchmarks/results/md_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from _record import write_result


def run_workflow(structure, steps: int) -> float:
    from jobflow import run_locally

    from interchem.store import embedded_store
    from interchem.workflows.md import MDMaker

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INTERCHEM_CHECKPOINT_DIR"] = str(Path(tmp) / "ck")
        store = embedded_store(Path(tmp) / "store")
        start = time.perf_counter()
        job = MDMaker(calculator="chgnet", temperature_K=600.0, steps=steps, md_settings={"seed": 1}).make(structure)
        run_locally(job, store=store, create_folders=True, root_dir=Path(tmp) / "jobs", log=False, ensure_success=True)
        return time.perf_counter() - start


def run_bare(structure, calc, steps: int) -> float:
    import numpy as np
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from pymatgen.io.ase import AseAtomsAdaptor

    start = time.perf_counter()
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(atoms, temperature_K=600.0, rng=np.random.default_rng(1))
    Stationary(atoms)
    dyn = Langevin(
        atoms, 2.0 * units.fs, temperature_K=600.0, friction=0.01 / units.fs, fixcm=False, rng=np.random.default_rng(1)
    )
    dyn.run(steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", default="Li6PS5Cl")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("jobflow").setLevel(logging.WARNING)

    from interchem.calculators import ase_calculator
    from interchem.structures.library import resolve_phase

    _, structure = resolve_phase(args.phase, primitive=False)
    calc = ase_calculator("chgnet")
    run_bare(structure, calc, 5)  # warm-up: model, kernels
    run_workflow(structure, 5)  # warm-up: jobflow, maggma, montydb imports
    runs: dict[str, list[float]] = {"workflow": [], "bare": []}
    for i in range(args.repeat):
        for case in ("workflow", "bare") if i % 2 == 0 else ("bare", "workflow"):
            wall = run_workflow(structure, args.steps) if case == "workflow" else run_bare(structure, calc, args.steps)
            runs[case].append(wall)
            print(case, round(wall, 3), flush=True)
    med = {case: statistics.median(v) for case, v in runs.items()}
    out = {
        "benchmark": "md_overhead",
        "what": (
            "CHGNet NVT Langevin MD, 2 fs: interchem MDMaker via run_locally on a fresh embedded store "
            "vs a bare ASE Langevin loop"
        ),
        "phase": args.phase,
        "n_atoms": len(structure),
        "steps": args.steps,
        "repeat": args.repeat,
        "median_wall_s": {k: round(v, 3) for k, v in med.items()},
        "steps_per_s": {k: round(args.steps / v, 2) for k, v in med.items()},
        "ratio_wall_workflow_over_bare": round(med["workflow"] / med["bare"], 3),
        "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
    }
    write_result("md_overhead", out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
