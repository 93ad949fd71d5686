"""Interface build time and the cost of relaxing one interface: interchem's relax job vs a bare ASE loop.

* build: ``InterfaceBuilder(...).build()`` (terminations, ZSL match, stacking, StructureMatcher dedupe)
  for anode|electrolyte pairs with the CLI's default limits (max_area 400 A^2, strain 5 %, 400 atoms,
  6 A slabs), timed from the bulk structures to the ranked candidates.
* relax: one interface (default Si(111)|Li6PS5Cl(100), thin slabs: ~80 atoms) at the gap-scan
  optimum, relaxed with CHGNet (BFGS, fmax 0.05 eV/A, <= 150 steps, positions only):
  - workflow: ``relax_positions`` job through ``jobflow.run_locally`` on a fresh embedded store;
  - bare: ASE BFGS on the same calculator object and structure.
  Per-evaluation time (wall / calculator calls) is compared, as in workflow_overhead.py; the two cases
  alternate ``--repeat`` times in this process. The ratio is the number to read.

    .venv/bin/python benchmarks/interface_build.py [--repeat 2]

Writes benchmarks/results/interface_build.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from _record import write_result
from workflow_overhead import CountingCalculator  # noqa: E402

PAIRS = [
    ("Si", (1, 0, 0), "Li6PS5Cl", (1, 0, 0)),
    ("Si", (1, 1, 1), "Li6PS5Cl", (1, 0, 0)),
    ("Li15Si4", (1, 0, 0), "Li6PS5Cl", (1, 0, 0)),
    ("Si", (1, 0, 0), "Li7La3Zr2O12", (0, 0, 1)),
    ("Si", (1, 0, 0), "Li2PO2N", (0, 1, 0)),
]
FMAX, STEPS = 0.05, 150


def time_builds() -> list[dict]:
    from interchem.errors import NoInterfaceMatchError
    from interchem.structures.interfaces import InterfaceBuilder, InterfaceLimits
    from interchem.structures.library import resolve_phase

    rows = []
    for a, ma, e, me in PAIRS:
        an, A = resolve_phase(a)
        en, E = resolve_phase(e)
        t0 = time.perf_counter()
        try:
            cands = InterfaceBuilder(
                A,
                E,
                ma,
                me,
                limits=InterfaceLimits(max_area=400, max_atoms=400),
                anode_thickness_A=6.0,
                electrolyte_thickness_A=6.0,
            ).build()
            best = cands[0]
            row = {
                "n_candidates": len(cands),
                "best": best.label(),
                "best_atoms": best.n_atoms,
                "best_area_A2": round(best.area_A2, 1),
                "best_strain_percent": round(100 * best.strain, 2),
            }
        except NoInterfaceMatchError as exc:
            row = {"n_candidates": 0, "error": str(exc)}
        row = {"pair": f"{an}{ma}|{en}{me}", "build_s": round(time.perf_counter() - t0, 2), **row}
        print(row, flush=True)
        rows.append(row)
    return rows


def relax_case():
    from interchem.structures.interfaces import InterfaceBuilder, InterfaceLimits, set_gap
    from interchem.structures.library import resolve_phase

    si, arg = resolve_phase("Si")[1], resolve_phase("Li6PS5Cl")[1]
    c = InterfaceBuilder(
        si,
        arg,
        (1, 1, 1),
        (1, 0, 0),
        limits=InterfaceLimits(max_area=200, max_atoms=120, max_candidates=1),
        anode_thickness_A=3.0,
        electrolyte_thickness_A=4.0,
        anode_termination=0,
        electrolyte_termination=0,
    ).build()[0]
    return set_gap(c.structure, 2.5)


def run_workflow(structure, counter) -> dict:
    from jobflow import run_locally

    from interchem.store import embedded_store
    from interchem.workflows.relax import relax_positions

    with tempfile.TemporaryDirectory() as tmp:
        store = embedded_store(Path(tmp) / "store")
        counter.take()
        t0 = time.perf_counter()
        job = relax_positions(structure, {"name": "chgnet", "settings": {}}, FMAX, STEPS, label="bench")
        run_locally(job, store=store, create_folders=True, root_dir=Path(tmp) / "jobs", log=False, ensure_success=True)
        wall = time.perf_counter() - t0
        n = counter.take()
        store.connect()
        out = store.get_output(job.uuid, load=True)
    return {"wall_s": wall, "evaluations": n, "optimizer_steps": out["n_steps"], "energy_eV": out["energy_eV"]}


def run_bare(structure, calc, counter) -> dict:
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    plain = structure.copy()
    plain.remove_site_property("interface_side")
    counter.take()
    t0 = time.perf_counter()
    atoms = AseAtomsAdaptor.get_atoms(plain)
    atoms.calc = calc
    opt = BFGS(atoms, logfile=None)
    opt.run(fmax=FMAX, steps=STEPS)
    e = float(atoms.get_potential_energy())
    return {
        "wall_s": time.perf_counter() - t0,
        "evaluations": counter.take(),
        "optimizer_steps": int(opt.nsteps),
        "energy_eV": e,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("jobflow").setLevel(logging.WARNING)
    from interchem.calculators import ase_calculator

    builds = time_builds()
    structure = relax_case()
    calc = ase_calculator("chgnet")
    counter = CountingCalculator(calc)
    run_bare(structure, calc, counter)  # warm-up: model, graphs, imports
    runs: dict[str, list[dict]] = {"workflow": [], "bare": []}
    for i in range(args.repeat):
        for case in ("workflow", "bare") if i % 2 == 0 else ("bare", "workflow"):
            r = run_workflow(structure, counter) if case == "workflow" else run_bare(structure, calc, counter)
            r["per_evaluation_s"] = r["wall_s"] / max(r["evaluations"], 1)
            runs[case].append(r)
            print(case, {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}, flush=True)
    med = {c: statistics.median(r["per_evaluation_s"] for r in rs) for c, rs in runs.items()}
    out = {
        "benchmark": "interface_build",
        "what": __doc__.split("\n\n")[0],
        "builds": builds,
        "relax_structure": {"formula": structure.composition.formula, "n_atoms": len(structure)},
        "relax_median_per_evaluation_s": {c: round(v, 5) for c, v in med.items()},
        "relax_ratio_per_evaluation_workflow_over_bare": round(med["workflow"] / med["bare"], 3),
        "relax_ratio_wall_workflow_over_bare": round(
            statistics.median(r["wall_s"] for r in runs["workflow"])
            / statistics.median(r["wall_s"] for r in runs["bare"]),
            3,
        ),
        "runs": {
            c: [{k: round(v, 5) if isinstance(v, float) else v for k, v in r.items()} for r in rs]
            for c, rs in runs.items()
        },
    }
    write_result("interface_build", out)
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
