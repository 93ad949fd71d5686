"""Single points of many small cells with CHGNet: batched inference vs one structure at a time.

Cells: every card of the phase library whose primitive cell has <= 40 atoms (``--max-atoms``), as
built (no perturbation). Three ways, each giving energy, forces and stress of every cell:

* ``one_by_one_ase``: the ASE calculator (``ase_calculator("chgnet")``), one ``atoms.calc`` per cell:
  what ``evaluate_many`` does for calculators without batching (CHGNetCalculator runs task "efsm");
* ``one_by_one_model``: ``evaluate_many(..., batch_size=1)``: the batched path, one cell per model call
  (task "efs"): separates the gain of batching from the ASE wrapper's own cost;
* ``batched``: ``evaluate_many(cells, "chgnet", batch_size=B)`` for B in ``--batch-sizes``.

Everything runs in this one process after a warm-up; the cases alternate ``--repeat`` times (default
3); medians and the ratios one_by_one_ase / batched are the numbers to read. The largest deviation of
batched results from the one-by-one ASE results is recorded too.

    .venv/bin/python benchmarks/batched_evaluation.py [--repeat 3] [--batch-sizes 16 32]

Writes benchmarks/results/batched_evaluation.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np  # noqa: E402
from _record import write_result


def library_cells(max_atoms: int) -> dict:
    from interchem.structures.library import cards

    out = {}
    for name, card in sorted(cards().items()):
        s = card.build(primitive=True)
        if len(s) <= max_atoms:
            out[name] = s
    return out


def one_by_one_ase(structures: list) -> list[dict]:
    from pymatgen.io.ase import AseAtomsAdaptor

    from interchem.calculators import ase_calculator

    calc = ase_calculator("chgnet")
    out = []
    for s in structures:
        atoms = AseAtomsAdaptor.get_atoms(s)
        atoms.calc = calc
        e = float(atoms.get_potential_energy())
        out.append(
            {"energy": e, "energy_per_atom": e / len(atoms), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-atoms", type=int, default=40)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 16, 32])
    args = parser.parse_args()

    from interchem.calculators import CalculatorSpec, evaluate_many

    spec = CalculatorSpec(name="chgnet")
    cells = library_cells(args.max_atoms)
    structures = list(cells.values())
    # Warm-up: model load, graph converter, torch kernels for every path.
    evaluate_many(structures[:4], spec, batch_size=4)
    one_by_one_ase(structures[:4])

    cases = {
        "one_by_one_ase": lambda: one_by_one_ase(structures),
        "one_by_one_model": lambda: evaluate_many(structures, spec, batch_size=1),
        **{f"batched_{b}": (lambda b=b: evaluate_many(structures, spec, batch_size=b)) for b in args.batch_sizes},
    }
    times: dict[str, list[float]] = {case: [] for case in cases}
    results: dict[str, list[dict]] = {}
    for i in range(args.repeat):
        order = list(cases) if i % 2 == 0 else list(reversed(cases))
        for case in order:
            start = time.perf_counter()
            results[case] = cases[case]()
            times[case].append(time.perf_counter() - start)
            print(i, case, round(times[case][-1], 3), flush=True)

    reference = results["one_by_one_ase"]
    deviations = {}
    for case, res in results.items():
        if case == "one_by_one_ase":
            continue
        deviations[case] = {
            "energy_eV_per_atom": float(
                max(abs(a["energy_per_atom"] - b["energy_per_atom"]) for a, b in zip(res, reference))
            ),
            "forces_eV_per_A": float(max(np.abs(a["forces"] - b["forces"]).max() for a, b in zip(res, reference))),
            "stress_eV_per_A3": float(max(np.abs(a["stress"] - b["stress"]).max() for a, b in zip(res, reference))),
        }
    medians = {case: statistics.median(ts) for case, ts in times.items()}
    base = medians["one_by_one_ase"]
    out = {
        "benchmark": "batched_evaluation",
        "what": (
            "CHGNet energy+forces+stress of every library card's primitive cell with <= "
            f"{args.max_atoms} atoms: one-by-one via the ASE calculator vs evaluate_many batched; "
            "median wall seconds for the whole set"
        ),
        "n_structures": len(structures),
        "n_atoms_total": sum(len(s) for s in structures),
        "atoms_per_cell": {name: len(s) for name, s in cells.items()},
        "repeat": args.repeat,
        "median_s": {case: round(t, 4) for case, t in medians.items()},
        "speedup_over_one_by_one_ase": {case: round(base / t, 3) for case, t in medians.items()},
        "runs_s": {case: [round(t, 4) for t in ts] for case, ts in times.items()},
        "max_deviation_from_one_by_one_ase": deviations,
    }
    write_result("batched_evaluation", out)
    print(json.dumps({k: v for k, v in out.items() if k not in ("runs_s", "atoms_per_cell")}, indent=2))


if __name__ == "__main__":
    main()
