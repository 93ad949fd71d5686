"""Li migration barriers of the 14 phases issue 4 names (electrolytes, Li_xSi, interphase products),
by the same BarrierMaker flow as ``interchem barriers --standard``, one phase at a time so that a
phase that fails does not lose the others, with the results written after each phase.

This is a production run, not a comparison: published NEB values for these phases are spread over
several functionals and charge states (neutral vs charged vacancies), so no tolerance is claimed here;
the literature checks with stated tolerances are in li_migration.py (Li2PO2N, Li in Si). The percolation
thresholds are over the hops actually computed (``--max-hops`` shortest per phase): an upper bound on
the true threshold when hops were left out, and "none" means "not within the hops computed".

    OMP_NUM_THREADS=1 .venv/bin/python validation/standard_barriers.py [--max-hops 2] [--fmax 0.1] [--only Li2S,LiCl]

Writes validation/results/standard_barriers_<calculator>.json and one report folder per phase under
validation-output/barriers/.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
# Small cells first, so an interrupted run has covered the most phases.
ORDER = [
    "Li2S",
    "LiCl",
    "Li3N",
    "Li2O",
    "Li3P",
    "Si",
    "LiSi",
    "Li3PS4",
    "Li6PS5Cl",
    "Li2PO2N",
    "Li15Si4",
    "Li13Si4",
    "Li12Si7",
    "Li7La3Zr2O12",
]


def main() -> None:
    from interchem.workflows.pipelines import STANDARD_BARRIER_PHASES

    assert sorted(ORDER) == sorted(STANDARD_BARRIER_PHASES)
    parser = argparse.ArgumentParser()
    parser.add_argument("--calculator", default="chgnet")
    parser.add_argument("--max-hops", type=int, default=2)
    parser.add_argument("--fmax", type=float, default=0.1)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--supercell", type=float, default=8.0)
    parser.add_argument("--only", default=None, help="comma-separated phases")
    parser.add_argument("--rattle", type=float, default=0.0, help="NEB endpoint_rattle_A (split-site phases)")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results JSON (default validation/results/standard_barriers_<calc>.json)",
    )
    args = parser.parse_args()

    from interchem.reports.kinetics import write_barrier_report
    from interchem.runner import run_flow
    from interchem.settings import get_settings
    from interchem.structures.library import resolve_phase
    from interchem.workflows.neb import BarrierMaker

    settings = get_settings(
        store_path=Path("validation-store").resolve(), output_dir=Path("validation-output").resolve()
    )
    path = args.results or RESULTS / f"standard_barriers_{args.calculator.split(':')[0]}.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    out.update(
        {
            "what": (
                "CI-NEB Li barriers of the standard phases (vacancy; interstitial for Si) and percolation thresholds"
            ),
            "calculator": args.calculator,
            "max_hops_per_mechanism": args.max_hops,
            "fmax_eV_per_A": args.fmax,
            "n_images": args.images,
            "supercell_min_length_A": args.supercell,
            "cutoff_A": 4.0,
        }
    )
    out.setdefault("phases", {})
    phases = args.only.split(",") if args.only else ORDER
    done_here: dict[str, dict] = {}
    for phase in phases:
        t0 = time.perf_counter()
        name, structure = resolve_phase(phase, primitive=False)
        mechs = ("vacancy",) if "Li" in {el.symbol for el in structure.composition} else ("interstitial",)
        try:
            flow = BarrierMaker(
                calculator=args.calculator,
                mechanisms=mechs,
                cutoff=4.0,
                max_hops=args.max_hops,
                neb_settings={
                    "n_images": args.images,
                    "fmax": args.fmax,
                    "supercell_min_length": args.supercell,
                    "endpoint_rattle_A": args.rattle,
                },
            ).make(structure, phase=name)
            report = run_flow(flow, settings, what=f"barriers {name}")
            write_barrier_report(report, Path("validation-output/barriers") / name)
            entry = {
                "n_atoms_cell": len(structure),
                "endpoint_rattle_A": args.rattle,
                "hops": [
                    {
                        k: h[k]
                        for k in (
                            "mechanism",
                            "hop",
                            "distance_A",
                            "start_wyckoff",
                            "end_wyckoff",
                            "barrier_eV",
                            "converged",
                            "flagged",
                            "flag_reason",
                        )
                    }
                    for h in report["hops"]
                ],
                "percolation_eV": report["percolation_eV"],
                "interstitial_minima": (report.get("interstitial_sites") or {}).get("minima"),
            }
        except Exception as exc:  # recorded, and the next phase goes on
            entry = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
        entry["wall_time_s"] = round(time.perf_counter() - t0, 1)
        RESULTS.mkdir(exist_ok=True)
        done_here[name] = entry
        if path.exists():  # another run may have written other phases meanwhile: keep them
            out["phases"] = {**json.loads(path.read_text()).get("phases", {}), **done_here}
        out["phases"][name] = entry
        path.write_text(json.dumps(out, indent=2, default=str))
        if "error" in entry:
            print(f"{name}: FAILED {entry['error']}", flush=True)
        else:
            hops = ", ".join(
                f"{h['distance_A']:.2f} A: {'-' if h['barrier_eV'] is None else round(h['barrier_eV'], 3)}"
                + (" (flagged)" if h["flagged"] else "")
                for h in entry["hops"]
            )
            print(f"{name}: {hops}; percolation {entry['percolation_eV']} ({entry['wall_time_s']} s)", flush=True)
    print(path)


if __name__ == "__main__":
    main()
