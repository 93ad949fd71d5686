"""Overhead of interchem's relaxation workflow over a bare ASE loop with the same calculator and cell.

Case: one library phase (default Li2SiO3, primitive cell), cell strained (seeded ~2 % random
deformation) and atoms displaced 0.05 A (seeded), so that it needs a few tens of optimizer steps.

* workflow: ``RelaxPhaseMaker(calculator=CalculatorSpec(name="chgnet")).make(structure)`` run by
  ``jobflow.run_locally`` on a fresh temporary embedded store (``interchem.store.embedded_store``):
  store lookup, Response replace, atomate2's ForceFieldRelaxMaker (BFGS on FrechetCellFilter), the
  record job, job folders, documents written to the SQLite store. Timed from ``make`` to the return
  of ``run_locally``.
* bare: the same calculator object (``interchem.calculators.ase_calculator("chgnet")``, cached), ASE
  ``FrechetCellFilter`` + ``BFGS``, same fmax (0.05 eV/A) and max steps (300).

Per-step time = wall time / number of calculator evaluations (counted by wrapping the calculator's
``calculate``), so different step counts cannot bias the comparison; optimizer steps are reported too.
The calculator is warmed first; the two cases alternate ``--repeat`` times (default 3) in this one
process; medians and the ratio workflow/bare are the numbers to read (machine load affects both).

    .venv/bin/python benchmarks/workflow_overhead.py [--phase Li2SiO3] [--repeat 3]

Writes benchmarks/results/workflow_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np  # noqa: E402
from _record import write_result
from pymatgen.core import Structure  # noqa: E402

FMAX = 0.05
STEPS = 300


def strained(phase: str, seed: int = 3) -> Structure:
    from interchem.structures.library import cards

    s = cards()[phase].build(primitive=True)
    rng = np.random.default_rng(seed)
    lattice = s.lattice.matrix @ (np.eye(3) + rng.normal(scale=0.02, size=(3, 3)))
    coords = s.cart_coords + rng.normal(scale=0.05, size=(len(s), 3))
    return Structure(lattice, s.species, coords, coords_are_cartesian=True, properties={"phase": phase})


class CountingCalculator:
    """Counts model evaluations of one calculator object by wrapping its ``calculate`` method."""

    def __init__(self, calc):
        self.calc = calc
        self.count = 0
        original = calc.calculate

        def calculate(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        calc.calculate = calculate

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


def run_workflow(structure: Structure, counter: CountingCalculator) -> dict:
    from jobflow import run_locally

    from interchem.calculators import CalculatorSpec
    from interchem.store import embedded_store
    from interchem.workflows.thermo import RelaxPhaseMaker

    with tempfile.TemporaryDirectory() as tmp:
        store = embedded_store(Path(tmp) / "store")
        counter.take()
        start = time.perf_counter()
        flow = RelaxPhaseMaker(calculator=CalculatorSpec(name="chgnet"), fmax=FMAX, steps=STEPS).make(
            structure, phase="bench"
        )
        run_locally(flow, store=store, create_folders=True, root_dir=Path(tmp) / "jobs", log=False, ensure_success=True)
        wall = time.perf_counter() - start
        evaluations = counter.take()
        store.connect()
        try:
            out = store.get_output(flow.uuid, which="last", load=True)
        finally:
            store.close()
    if hasattr(out, "model_dump"):
        out = out.model_dump()
    return {
        "wall_s": wall,
        "evaluations": evaluations,
        "optimizer_steps": out["n_steps"],
        "energy_eV": out["energy_eV"],
        "converged": out["converged"],
        "reused": out["reused"],
    }


def run_bare(structure: Structure, calc, counter: CountingCalculator) -> dict:
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    counter.take()
    start = time.perf_counter()
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    converged = opt.run(fmax=FMAX, steps=STEPS)
    energy = float(atoms.get_potential_energy())
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "evaluations": counter.take(),
        "optimizer_steps": int(opt.nsteps),
        "energy_eV": energy,
        "converged": bool(converged),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", default="Li2SiO3")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("jobflow").setLevel(logging.WARNING)

    from interchem.calculators import ase_calculator

    structure = strained(args.phase)
    calc = ase_calculator("chgnet")  # the cached object the workflow's jobs get too
    counter = CountingCalculator(calc)
    # Warm up: model, graph converter, torch kernels, and one tiny workflow run (imports of jobflow,
    # atomate2, maggma, montydb happen here, not inside the timed runs).
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    for _ in range(3):
        atoms.get_potential_energy()
        atoms.positions += 0.001
    run_workflow(structure, counter)

    runs: dict[str, list[dict]] = {"workflow": [], "bare": []}
    for i in range(args.repeat):
        order = ("workflow", "bare") if i % 2 == 0 else ("bare", "workflow")
        for case in order:
            record = run_workflow(structure, counter) if case == "workflow" else run_bare(structure, calc, counter)
            record["per_evaluation_s"] = record["wall_s"] / record["evaluations"]
            runs[case].append(record)
            print(case, {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()}, flush=True)

    def median(case: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[case])

    summary = {
        case: {
            "median_wall_s": round(median(case, "wall_s"), 4),
            "median_per_evaluation_s": round(median(case, "per_evaluation_s"), 5),
            "evaluations": sorted({r["evaluations"] for r in runs[case]}),
            "optimizer_steps": sorted({r["optimizer_steps"] for r in runs[case]}),
        }
        for case in runs
    }
    ratio = summary["workflow"]["median_per_evaluation_s"] / summary["bare"]["median_per_evaluation_s"]
    # Fixed cost of the workflow per relaxation: its wall time minus its evaluations at the bare rate.
    fixed = (
        median("workflow", "wall_s") - median("workflow", "evaluations") * summary["bare"]["median_per_evaluation_s"]
    )
    energies = [r["energy_eV"] for case in runs for r in runs[case]]
    out = {
        "benchmark": "workflow_overhead",
        "what": (
            "CHGNet relaxation (BFGS + FrechetCellFilter, fmax 0.05 eV/A, <= 300 steps) of one strained cell: "
            "interchem RelaxPhaseMaker via jobflow.run_locally on a fresh embedded store vs a bare ASE loop "
            "with the same calculator object; per-evaluation time = wall / calculator evaluations"
        ),
        "phase": args.phase,
        "n_atoms": len(structure),
        "repeat": args.repeat,
        "summary": summary,
        "ratio_per_evaluation_workflow_over_bare": round(ratio, 3),
        "ratio_wall_workflow_over_bare": round(
            summary["workflow"]["median_wall_s"] / summary["bare"]["median_wall_s"], 3
        ),
        "workflow_fixed_overhead_s_estimate": round(fixed, 3),
        "final_energy_spread_eV": round(max(energies) - min(energies), 6),
        "note_steps": (
            "optimizer_steps: ASE opt.nsteps for bare; atomate2's output.n_steps (trajectory frames, which "
            "count the initial and a final observation) for the workflow; evaluations are the comparable count"
        ),
        "runs": {
            case: [{k: round(v, 5) if isinstance(v, float) else v for k, v in r.items()} for r in rs]
            for case, rs in runs.items()
        },
    }
    write_result("workflow_overhead", out)
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
