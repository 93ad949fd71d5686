"""NEB image evaluation: all moving images in one batched CHGNet call versus image by image.

Two measurements on the same band (a Li vacancy hop, IDPP-interpolated, ``--images`` moving images):
* evaluation: energies and forces of the moving images, batched (``calculators.evaluate_many``, one
  model call) vs one by one through the ASE calculator; alternated ``--repeat`` times, medians.
* full NEB: ``workflows.neb.run_neb`` with ``batched=True`` vs ``False`` (same settings; the
  optimiser path can differ slightly because batched and single predictions differ by ~1e-6 eV).

    .venv/bin/python benchmarks/neb_batching.py [--phase Li2S] [--images 7] [--repeat 5]

Writes benchmarks/results/neb_batching.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _record import write_result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", default="Li2S")
    parser.add_argument("--images", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--supercell", type=float, default=8.0)
    args = parser.parse_args()

    from ase.mep import NEB
    from pymatgen.io.ase import AseAtomsAdaptor

    from interchem.calculators import ase_calculator, evaluate_many
    from interchem.structures.hops import build_neb_endpoints, enumerate_li_hops
    from interchem.structures.library import resolve_phase
    from interchem.workflows.neb import run_neb

    _, structure = resolve_phase(args.phase, primitive=False)
    hop = enumerate_li_hops(structure, cutoff=4.0)[0]
    initial, final = build_neb_endpoints(structure, hop, supercell_min_length=args.supercell)
    ends = [AseAtomsAdaptor.get_atoms(s) for s in (initial, final)]
    images = [ends[0]] + [ends[0].copy() for _ in range(args.images)] + [ends[1]]
    NEB(images).interpolate(method="idpp", mic=False)
    moving = images[1:-1]
    calc = ase_calculator("chgnet")

    def one_by_one() -> float:
        t = time.perf_counter()
        for img in moving:
            a = img.copy()
            a.calc = calc
            a.get_forces()
        return time.perf_counter() - t

    def batched() -> float:
        t = time.perf_counter()
        evaluate_many(moving, "chgnet", batch_size=len(moving))
        return time.perf_counter() - t

    one_by_one(), batched()  # warm-up
    ev: dict[str, list[float]] = {"one_by_one": [], "batched": []}
    for i in range(args.repeat):
        for case in ("batched", "one_by_one") if i % 2 else ("one_by_one", "batched"):
            ev[case].append(one_by_one() if case == "one_by_one" else batched())
    ev_med = {k: statistics.median(v) for k, v in ev.items()}

    full = {}
    for b in (False, True):
        res = run_neb(initial, final, "chgnet", {"n_images": args.images, "batched": b})
        full["batched" if b else "one_by_one"] = {
            "wall_s": round(res.wall_time_s, 2),
            "steps": res.n_steps,
            "barrier_eV": round(res.barrier_eV, 4),
            "converged": res.converged,
        }
        print(full, flush=True)
    out = {
        "benchmark": "neb_batching",
        "what": (
            f"CHGNet energies+forces of {args.images} moving NEB images ({len(initial)} atoms each): "
            "one batched call vs image by image; and full CI-NEB runs"
        ),
        "phase": args.phase,
        "hop_distance_A": round(hop.distance_A, 3),
        "n_atoms": len(initial),
        "images": args.images,
        "evaluation_median_s": {k: round(v, 4) for k, v in ev_med.items()},
        "evaluation_speedup_batched": round(ev_med["one_by_one"] / ev_med["batched"], 3),
        "full_neb": full,
        "full_neb_speedup_batched_per_step": round(
            (full["one_by_one"]["wall_s"] / max(full["one_by_one"]["steps"], 1))
            / (full["batched"]["wall_s"] / max(full["batched"]["steps"], 1)),
            3,
        ),
        "runs_s": {k: [round(x, 4) for x in v] for k, v in ev.items()},
    }
    write_result("neb_batching", out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
