"""The argyrodite as it is: Li6PS5Cl with Li half on 48h and S/Cl exchange, next to the ordered card.

Stages (each writes validation/results/argyrodite_disorder_<stage>_<calculator>.json; every relaxation
and MD run is stored in validation-store/ and reused by the next stage or a longer re-run):

* ``order``: for each anion exchange x (0, 0.25, 0.5; card ``Li6PS5Cl-disordered``), the
  ``--candidates`` Ewald-lowest orderings of the 1x1x1 conventional cell (24 Li on the 48 48h sites,
  52 atoms), each relaxed with the calculator; the lowest is kept.
* ``hull``: one screen of the Li-P-S-Cl system with the ordered card and the disordered phases as
  electrolytes: E_hull of each, and its window with the electrolyte placed on the hull (products).
* ``md``: conduction of one disordered phase (``--exchange``): NVT MD at ``--temperatures``, Li MSD,
  D, sigma, Arrhenius Ea and sigma(300 K) with their fit errors; the same trajectories' S and Cl MSD
  (the framework) next to Li's, to tell a Li sublattice that "melts" from one that hops.

Published: Ea 0.3-0.4 eV, sigma(RT) ~1 mS/cm (A. Boulineau et al., Solid State Ionics 221, 1 (2012);
M. A. Kraft et al., J. Am. Chem. Soc. 139, 10909 (2017)). The ordered card's CHGNet numbers are in
validation/results/conduction_Li6PS5Cl_chgnet.json (Ea 0.058 eV, sigma 1.8 S/cm, liquid-like Li).

    .venv/bin/python validation/argyrodite_disorder.py --stage order
    .venv/bin/python validation/argyrodite_disorder.py --stage hull
    .venv/bin/python validation/argyrodite_disorder.py --stage md --exchange 0.25 --steps 2000 \\
        --temperatures 400,500,600 --equilibration-ps 1.0
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

CARD = "Li6PS5Cl-disordered"
ORDERED = "Li6PS5Cl"
RESULTS = Path(__file__).parent / "results"
PUBLISHED = {"Ea_eV": [0.3, 0.4], "sigma_300K_S_per_cm": 1.33e-3, "source": "Boulineau 2012; Kraft 2017"}


def _settings():
    from interchem.settings import get_settings

    return get_settings(store_path=Path("validation-store").resolve(), output_dir=Path("validation-output").resolve())


def stage_order(args) -> dict:
    from interchem.runner import order_phase
    from interchem.structures.library import resolve_phase

    rows = []
    for x in args.exchanges:
        label, structure = resolve_phase(f"{CARD}@{x:g}", allow_disordered=True)
        t0 = time.perf_counter()
        res = order_phase(structure, label, args.calculator, _settings(), n_candidates=args.candidates)
        rows.append(
            {
                "phase": label,
                "anion_exchange": x,
                "lowest_energy_per_atom_eV": res.lowest.energy_per_atom_eV,
                "n_atoms": res.lowest.n_atoms,
                "ranking": [r.model_dump() for r in res.ranking],
                "wall_time_s": round(time.perf_counter() - t0, 1),
            }
        )
        print(json.dumps(rows[-1], indent=1))
    return {"what": "calculator ranking of Ewald-lowest orderings", "candidates": args.candidates, "rows": rows}


def stage_hull(args) -> dict:
    from interchem.runner import plan_screen, run_screen

    settings = _settings()
    electrolytes = [ORDERED, *(f"{CARD}@{x:g}" for x in args.exchanges)]
    plan = plan_screen(electrolytes=electrolytes, anodes=[], calculator=args.calculator, settings=settings)
    result = run_screen(plan, settings)
    analysis = result.analysis
    rows = []
    for name in plan.electrolytes:
        window = next((w for w in analysis.get("windows", []) if w.get("electrolyte") == name), None)
        rows.append({"phase": name, "e_above_hull_meV_per_atom": _ehull(analysis, name), "window": window})
        print(json.dumps(rows[-1], indent=1, default=str))
    return {"what": "E_hull and window (on-hull placement) in the Li-P-S-Cl system", "rows": rows}


def _ehull(analysis: dict, name: str) -> float | None:
    e = analysis.get("e_above_hull", {})
    for system in e.values() if isinstance(e, dict) else []:
        if isinstance(system, dict) and name in system:
            value = system[name]
            return 1000.0 * value if value is not None and abs(value) < 5 else value
    return None


def stage_md(args) -> dict:
    from interchem.runner import order_phase, run_flow
    from interchem.structures.library import resolve_phase
    from interchem.workflows.diffusion import DiffusionMaker

    settings = _settings()
    name, disordered = resolve_phase(f"{CARD}@{args.exchange:g}", allow_disordered=True)
    structure = order_phase(disordered, name, args.calculator, settings, n_candidates=args.candidates).lowest.structure
    temps = tuple(float(t) for t in args.temperatures.split(","))
    out: dict = {"phase": name, "n_atoms": len(structure), "temperatures_K": list(temps), "steps": args.steps}
    t0 = time.perf_counter()
    for species in ("Li", "S", "Cl"):  # the MD runs once (keyed); S and Cl read the same trajectories
        maker = DiffusionMaker(
            calculator=args.calculator,
            temperatures_K=temps,
            steps=args.steps,
            equilibration_ps=args.equilibration_ps,
            supercell_min_length=9.5,
            species=species,
        )
        report = run_flow(maker.make(structure, phase=name), settings, what=f"diffusion {name} {species}")
        out[species] = {
            "points": [
                {
                    "T_K": p["temperature_K"],
                    "msd_final_A2": p["msd"]["msd_A2"][-1] if p["msd"].get("msd_A2") else None,
                    "D_cm2_per_s": p["diffusion"]["D_cm2_per_s"],
                    "D_err": p["diffusion"]["D_err_cm2_per_s"],
                    "flagged": p["diffusion"]["flagged"],
                    "sigma_S_per_cm": p["sigma_S_per_cm"],
                    "production_ps": p["production_ps"],
                }
                for p in report["points"]
            ],
            "Ea_eV": report.get("activation_energy_eV"),
            "Ea_err_eV": report.get("activation_energy_err_eV"),
            "sigma_300K_S_per_cm": report.get("sigma_300K_S_per_cm"),
            "sigma_300K_interval": report.get("sigma_300K_interval_S_per_cm"),
            "flag_reason": report.get("flag_reason"),
        }
    out["published"] = PUBLISHED
    out["wall_time_s"] = round(time.perf_counter() - t0, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", choices=["order", "hull", "md"], required=True)
    parser.add_argument("--calculator", default="chgnet")
    parser.add_argument("--exchanges", default="0,0.25,0.5")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--exchange", type=float, default=0.25, help="md: the anion exchange of the MD cell")
    parser.add_argument("--temperatures", default="400,500,600")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--equilibration-ps", type=float, default=1.0)
    args = parser.parse_args()
    args.exchanges = [float(x) for x in args.exchanges.split(",")]
    out = {"order": stage_order, "hull": stage_hull, "md": stage_md}[args.stage](args)
    out["calculator"] = args.calculator
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"argyrodite_disorder_{args.stage}_{args.calculator.split(':')[0]}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(path)


if __name__ == "__main__":
    main()
