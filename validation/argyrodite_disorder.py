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
import time
from pathlib import Path

import numpy as np

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
    energy = {r["phase"]: r["energy_per_atom_eV"] for r in result.relaxations}
    ehull = analysis["e_above_hull"]
    # All four variants share one hull; each one's E_hull against the competing phases alone is that of
    # the lowest variant plus its energy above that variant.
    lowest = min(plan.electrolytes, key=lambda n: energy[n])
    rows = []
    for name in plan.electrolytes:
        w = analysis["windows"].get(name) or {}
        rows.append(
            {
                "phase": name,
                "energy_per_atom_eV": energy[name],
                "e_above_hull_meV_per_atom": 1000.0 * (ehull[lowest] + energy[name] - energy[lowest]),
                "e_above_hull_in_shared_hull_meV_per_atom": 1000.0 * ehull[name],
                "reduction_V": w.get("reduction_V"),
                "oxidation_V": w.get("oxidation_V"),
                "reduction_products": w.get("reduction_products"),
                "oxidation_products": w.get("oxidation_products"),
                "placement_shift_eV_per_atom": w.get("energy_shift_eV_per_atom"),
            }
        )
        print(json.dumps(rows[-1], default=str))
    return {"what": "E_hull and window (on-hull placement) in the Li-P-S-Cl system", "rows": rows}


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


def _md_structure(args, settings):
    """The MD cell: the lowest ordering of the disordered card at --exchange, or with --ordered the ordered
    card's conventional cell (the comparison the README table makes)."""
    from interchem.runner import order_phase
    from interchem.structures.library import resolve_phase

    if args.ordered:
        return resolve_phase(ORDERED, primitive=False)
    name, disordered = resolve_phase(f"{CARD}@{args.exchange:g}", allow_disordered=True)
    return name, order_phase(disordered, name, args.calculator, settings, n_candidates=args.candidates).lowest.structure


def stage_md_point(args) -> dict:
    """One temperature's MD alone (the same settings as the md stage's DiffusionMaker, so the md stage
    resumes it from its finished checkpoint): lets the temperatures run side by side as processes."""
    from interchem.runner import run_flow
    from interchem.workflows.diffusion import DiffusionMaker, diffusion_supercell
    from interchem.workflows.md import MDMaker

    settings = _settings()
    name, structure = _md_structure(args, settings)
    ref = DiffusionMaker(calculator=args.calculator)
    md_settings = {"timestep_fs": ref.timestep_fs, "sample_interval": ref.sample_interval, "seed": ref.seed}
    (t,) = (float(x) for x in args.temperatures.split(","))
    maker = MDMaker(calculator=args.calculator, temperature_K=t, steps=args.steps, md_settings=md_settings)
    t0 = time.perf_counter()
    run_flow(maker.make(diffusion_supercell(structure, 9.5), label=name), settings, what=f"MD {name} {t:.0f} K")
    return {"phase": name, "temperature_K": t, "steps": args.steps, "wall_time_s": round(time.perf_counter() - t0, 1)}


# The Li6 cages of the argyrodite surround the 4d anion sites (the card's S on 4d; its 48h Li sit 2.5 A
# from the cage centre); long-range conduction needs jumps between cages, while the doublet and
# intra-cage jumps only move Li around one centre. In the conventional cell: (1/4,1/4,3/4) + fcc.
CAGE_CENTRES = np.array([[0.25, 0.25, 0.75], [0.25, 0.75, 0.25], [0.75, 0.25, 0.25], [0.75, 0.75, 0.75]])


def cage_hops(positions: np.ndarray, lattice: np.ndarray, hold_frames: int = 5) -> tuple[int, np.ndarray]:
    """Inter-cage jumps of Li: each Li's nearest cage centre (minimum image) per frame; a jump counts when
    the new cage is then held for ``hold_frames`` frames (100 fs at 20 fs per frame), so an atom passing
    between two cages, or rattling at a cage's edge, is not counted. Written here because no library
    assigns argyrodite cages; returns (jumps, the cage index per frame and Li)."""
    frac = positions @ np.linalg.inv(lattice)  # (frames, Li, 3)
    d = frac[:, :, None, :] - CAGE_CENTRES[None, None, :, :]
    d -= np.round(d)
    dist = np.linalg.norm(d @ lattice, axis=-1)  # (frames, Li, cages)
    cage = np.argmin(dist, axis=-1)
    jumps = 0
    for li in range(cage.shape[1]):
        current = cage[0, li]
        for f in range(1, cage.shape[0] - hold_frames + 1):
            new = cage[f, li]
            if new != current and np.all(cage[f : f + hold_frames, li] == new):
                jumps, current = jumps + 1, new
    return jumps, cage


def stage_md_partial(args) -> dict:
    """What the md-point runs have reached so far, read from their checkpoints (frames every 20 fs):
    Li, S and Cl MSD and D after ``--equilibration-ps``, per temperature, and an Arrhenius fit over the
    temperatures where Li diffuses. For a run cut short by the time at hand; the runs resume from the
    same checkpoints when the md-point commands are started again."""
    import numpy as np

    from interchem.analysis import diffusion as diff
    from interchem.calculators import CalculatorSpec
    from interchem.workflows.diffusion import DiffusionMaker, diffusion_supercell
    from interchem.workflows.md import MDMaker, checkpoint_path, md_key

    settings = _settings()
    name, structure = _md_structure(args, settings)
    cell = diffusion_supercell(structure, 9.5)
    ref = DiffusionMaker(calculator=args.calculator)
    md_settings = {"timestep_fs": ref.timestep_fs, "sample_interval": ref.sample_interval, "seed": ref.seed}
    spec = CalculatorSpec.parse(args.calculator)
    species = np.array([site.specie.symbol for site in cell])
    points, li_points = [], []
    for t in (float(x) for x in args.temperatures.split(",")):
        maker = MDMaker(calculator=args.calculator, temperature_K=t, steps=args.steps, md_settings=md_settings)
        # where run_flow (md-point) put them: checkpoints/ beside its job folders
        path = checkpoint_path(md_key(cell, spec, maker.settings()), Path(settings.output_dir) / "jobs" / "checkpoints")
        if not path.exists():
            points.append({"T_K": t, "steps_done": 0})
            continue
        ck = np.load(path, allow_pickle=True)
        t_ps = ck["frame_steps"] * ref.timestep_fs / 1000.0
        keep = (t_ps >= args.equilibration_ps) & (ck["frame_steps"] <= (args.max_step or args.steps))
        pos, lat = ck["frame_positions"][keep], ck["frame_cells"][keep]
        row = {"T_K": t, "steps_done": int(ck["step"]), "production_ps": float(np.ptp(t_ps[keep])) if keep.any() else 0}
        row["mean_T_K"] = float(np.mean(ck["frame_temperatures"][keep])) if keep.any() else None
        if len(pos) < 3 * 8:  # the block average needs 3 blocks of 8 frames
            points.append({**row, "too_short": f"{len(pos)} frames after equilibration"})
            continue
        n_li = int((species == "Li").sum())
        jumps, cage = cage_hops(pos[:, species == "Li"], lat[0])
        row["cage_hops"] = {
            "li_per_cage_first_frame": np.bincount(cage[0], minlength=len(CAGE_CENTRES)).tolist(),  # 6 each
            "jumps": jumps,
            "per_li_per_ps": jumps / n_li / row["production_ps"] if row["production_ps"] else None,
        }
        for el in ("Li", "S", "Cl"):
            m = diff.msd(pos, lat[0], species == el, time_step_fs=ref.timestep_fs * ref.sample_interval, n_blocks=3)
            d = diff.diffusion_coefficient(m)
            row[el] = {
                "msd_final_A2": float(m.msd_A2[-1]),
                "D_cm2_per_s": d.D_cm2_per_s,
                "D_err_cm2_per_s": d.D_err_cm2_per_s,
                "flagged": d.flagged,
                "flag_reason": d.flag_reason,
            }
            if el == "Li":
                li_points.append((t, d))
                if not d.flagged:  # Nernst-Einstein, Haven ratio 1, the cell's Li density
                    sigma, err = diff.nernst_einstein_conductivity(d, int((species == "Li").sum()), cell.volume, t)
                    row["Li"] |= {"sigma_S_per_cm": sigma, "sigma_err_S_per_cm": err}
        points.append(row)
    out = {"phase": name, "n_atoms": len(cell), "steps_planned": args.steps, "points": points}
    good = [(t, d) for t, d in li_points if not d.flagged]
    if len(good) >= 3:
        fit = diff.arrhenius_fit([t for t, _ in good], [d for _, d in good], kind="D")
        out["arrhenius_D"] = fit.model_dump()
        rows = [p for p in points if "Li" in p and "sigma_S_per_cm" in p["Li"]]
        sigma_fit = diff.arrhenius_fit(
            [p["T_K"] for p in rows],
            [p["Li"]["sigma_S_per_cm"] for p in rows],
            errors=[p["Li"]["sigma_err_S_per_cm"] for p in rows],
            kind="sigma",
        )
        out["arrhenius_sigma"] = sigma_fit.model_dump()
    out["cage_hop_estimate"] = cage_hop_estimate(points, cell, species)
    caged = [p["T_K"] for p in points if (p.get("cage_hops") or {}).get("jumps") == 0 and "Li" in p]
    if caged and "arrhenius_D" in out:
        out["arrhenius_note"] = (
            f"no inter-cage jump at {caged} K: the Li MSD there is motion within the Li6 cages, so the MSD "
            "Arrhenius fit measures cage rattling, not conduction; see cage_hop_estimate"
        )
    out["published"] = PUBLISHED
    return out


def cage_hop_estimate(points: list[dict], cell, species) -> dict:
    """Ea from the inter-cage jump rate of the two hottest temperatures with jumps (Poisson errors), and
    the random-walk D = rate L^2 / 6 (L: the 4d-4d cage distance, a/sqrt 2) taken to 300 K with that Ea,
    then Nernst-Einstein sigma; the interval follows Ea's 1-sigma error. Two points and a handful of
    jumps: an order-of-magnitude estimate, reported as such."""
    from interchem.analysis import diffusion as diff

    hot = [p for p in points if (p.get("cage_hops") or {}).get("jumps")][-2:]
    if len(hot) < 2:
        return {"estimate": None, "why": "fewer than two temperatures with inter-cage jumps"}
    (t1, n1, r1), (t2, n2, r2) = ((p["T_K"], p["cage_hops"]["jumps"], p["cage_hops"]["per_li_per_ps"]) for p in hot)
    k_b = diff.K_B_EV_PER_K
    inv = 1 / t1 - 1 / t2
    ea = k_b * np.log(r2 / r1) / inv
    ea_err = k_b * np.sqrt(1 / n1 + 1 / n2) / inv
    hop_cm = cell.lattice.a / np.sqrt(2) * 1e-8
    d1 = r1 * 1e12 * hop_cm**2 / 6
    n_li, vol = int((species == "Li").sum()), cell.volume

    def sigma300(e):
        return diff.nernst_einstein_conductivity(d1 * np.exp(-e / k_b * (1 / 300 - 1 / t1)), n_li, vol, 300.0)[0]

    return {
        "temperatures_K": [t1, t2],
        "jumps": [n1, n2],
        "Ea_eV": float(ea),
        "Ea_err_eV": float(ea_err),
        "D_hop_cm2_per_s_at_T1": float(d1),
        "sigma_300K_S_per_cm": float(sigma300(ea)),
        "sigma_300K_interval_S_per_cm": sorted([float(sigma300(ea + ea_err)), float(sigma300(max(ea - ea_err, 0.0)))]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", choices=["order", "hull", "md", "md-point", "md-partial"], required=True)
    parser.add_argument("--calculator", default="chgnet")
    parser.add_argument("--exchanges", default="0,0.25,0.5")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--exchange", type=float, default=0.25, help="md: the anion exchange of the MD cell")
    parser.add_argument("--temperatures", default="400,500,600")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--equilibration-ps", type=float, default=1.0)
    parser.add_argument("--ordered", action="store_true", help="md-point/md-partial: the ordered card instead")
    parser.add_argument("--max-step", type=int, default=None, help="md-partial: frames up to this step only")
    args = parser.parse_args()
    args.exchanges = [float(x) for x in args.exchanges.split(",")]
    stages = {
        "order": stage_order,
        "hull": stage_hull,
        "md": stage_md,
        "md-point": stage_md_point,
        "md-partial": stage_md_partial,
    }
    out = stages[args.stage](args)
    out["calculator"] = args.calculator
    RESULTS.mkdir(exist_ok=True)
    stem = f"{args.stage}_{args.temperatures}K" if args.stage == "md-point" else args.stage
    stem += "_ordered" if args.ordered else ""
    stem += f"_to{args.max_step}" if args.stage == "md-partial" and args.max_step else ""
    path = RESULTS / f"argyrodite_disorder_{stem}_{args.calculator.split(':')[0]}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(path)


if __name__ == "__main__":
    main()
