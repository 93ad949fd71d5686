"""Wall time per energy+forces(+stress) evaluation of each registry calculator on the same cells.

Cells: Si8 (diamond, a = 5.43 A) and a 2x2x2 Si64 supercell, positions rattled by 0.02 A so nothing is
zero by symmetry. For each calculator and cell: the first evaluation (model load / cp2k start, force
environment, SCF from the atomic guess) and the mean of the next ``--repeat`` evaluations after small
displacements (what an ionic step of a relaxation or MD costs: CP2K reuses its wavefunction).
Everything runs in this one process, one after the other, so machine load affects all alike; the ratios
to CHGNet are the numbers to read.

    .venv/bin/python benchmarks/calculator_step_time.py [--repeat 2] [--skip-dzvp-si64]

CP2K runs at the backend defaults (400/50 Ry, Fermi-Dirac 300 K, k-spacing 0.25/A: 5x5x5 for Si8,
Gamma for Si64 whose plane spacings exceed 10 A) with the SZV and the DZVP MOLOPT-SR basis on 1 OpenMP thread, and
the SZV case once more with 2 threads (the omp_threads choice).
Writes benchmarks/results/calculator_step_time.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _record import write_result
from ase.build import bulk

from interchem.calculators import CalculatorSpec, build_tiny_mace, get_backend


def cells() -> dict:
    si8 = bulk("Si", "diamond", a=5.43, cubic=True)
    si64 = si8.repeat((2, 2, 2))
    out = {}
    for name, atoms in (("Si8", si8), ("Si64", si64)):
        atoms = atoms.copy()
        atoms.rattle(0.02, seed=1)
        out[name] = atoms
    return out


def time_calculator(spec: CalculatorSpec, atoms, repeat: int) -> dict:
    backend = get_backend(spec)
    start = time.perf_counter()
    calc = backend.make_ase_calculator(spec)
    atoms = atoms.copy()
    atoms.calc = calc
    atoms.get_potential_energy()
    atoms.get_forces()
    if "stress" in getattr(calc, "implemented_properties", ()):
        atoms.get_stress()
    first = time.perf_counter() - start
    rng = np.random.default_rng(0)
    steps = []
    for _ in range(repeat):
        atoms.positions += rng.normal(scale=0.01, size=atoms.positions.shape)
        t = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        if "stress" in getattr(calc, "implemented_properties", ()):
            atoms.get_stress()
        steps.append(time.perf_counter() - t)
    record = {"first_s": round(first, 3), "step_s": round(float(np.mean(steps)), 3), "steps_timed": repeat}
    mesh = getattr(calc, "kpoint_mesh", None)
    if mesh is not None:
        record["kpoint_mesh"] = list(mesh)
    if hasattr(calc, "close"):
        calc.close()
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-dzvp-si64", action="store_true", help="DZVP on Si64 is the slowest case")
    parser.add_argument(
        "--mlip-only",
        action="store_true",
        help="only the MLIPs (CHGNet kept as the reference of the ratios); CP2K rows of an earlier "
        "run are kept in the JSON, with the date of their own run",
    )
    args = parser.parse_args()
    structures = cells()
    with tempfile.TemporaryDirectory() as tmp:
        mace_path = build_tiny_mace(Path(tmp) / "tiny.model", ["Si"], seed=0)
        specs = {
            "tiny MACE": CalculatorSpec(name="mace", settings={"model": str(mace_path), "trusted": True}),  # made here
            "CHGNet 0.3.0": CalculatorSpec(name="chgnet"),
            "SevenNet-0": CalculatorSpec(name="sevennet"),
            "SevenNet-l3i5": CalculatorSpec(name="sevennet", settings={"model": "7net-l3i5"}),
            "CP2K SZV, 1 OMP thread": CalculatorSpec(
                name="cp2k", settings={"basis": "SZV-MOLOPT-SR-GTH", "omp_threads": 1}
            ),
            "CP2K SZV, 2 OMP threads": CalculatorSpec(
                name="cp2k", settings={"basis": "SZV-MOLOPT-SR-GTH", "omp_threads": 2}
            ),
            "CP2K DZVP, 1 OMP thread": CalculatorSpec(
                name="cp2k", settings={"basis": "DZVP-MOLOPT-SR-GTH", "omp_threads": 1}
            ),
        }
        results: dict[str, dict] = {}
        for cell, atoms in structures.items():
            results[cell] = {}
            for label, spec in specs.items():
                if cell == "Si64" and label.startswith("CP2K DZVP") and args.skip_dzvp_si64:
                    continue
                if args.mlip_only and label.startswith("CP2K"):
                    continue
                if label.startswith("SevenNet") and importlib.util.find_spec("sevenn") is None:
                    continue  # optional extra not installed
                record = time_calculator(spec, atoms, args.repeat)
                record["level_of_theory"] = get_backend(spec).level_of_theory(spec)
                results[cell][label] = record
                print(cell, label, record, flush=True)
            ref = results[cell]["CHGNet 0.3.0"]["step_s"]
            for record in results[cell].values():
                record["step_over_chgnet"] = round(record["step_s"] / ref, 2) if ref else None
    out = {
        "benchmark": "calculator_step_time",
        "what": "wall seconds per energy+forces(+stress) evaluation; step = mean over displaced repeats",
        "results": results,
    }
    previous = Path(__file__).parent / "results" / "calculator_step_time.json"
    if args.mlip_only and previous.exists():
        old = json.loads(previous.read_text())
        for cell, rows in old.get("results", {}).items():
            for label, record in rows.items():
                if label.startswith("CP2K") and label not in results.get(cell, {}):
                    # ratio to the CHGNet step of the run that timed it (ratios are only taken within one run)
                    results.setdefault(cell, {})[label] = {**record, "timed_in_run_of": old.get("date")}
        out["note"] = (
            "CP2K rows are from an earlier run (timed_in_run_of); "
            "their step_over_chgnet is relative to that run's CHGNet"
        )
    write_result("calculator_step_time", out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
