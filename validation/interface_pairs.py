"""Anode|electrolyte interfaces run end to end as a user runs them (``interchem interface A E``), timed.

Issue 15 asks that every seed pair runs with defaults on 2 cores in under 30 minutes, and that the central
pairs (Li15Si4|Li6PS5Cl with the disordered argyrodite, Si|Li6PS5Cl, Li15Si4|LLZO) report a converged
interface, positive surface energies for both partners and a gamma_int whose sign the report explains.
This script runs the CLI itself (one process per pair, its own embedded store under --work), measures the
wall time and keeps what summary.json says: convergence, the largest residual force, the surface energies,
W_sep, W_ad, gamma_int, refusals, the MD verdict.

    OMP_NUM_THREADS=1 .venv/bin/python validation/interface_pairs.py \
        --pairs Li15Si4:Li6PS5Cl-disordered@0.5,Si:Li6PS5Cl-disordered@0.5 [--calculator chgnet] [-- --top 1]

``--matches`` only builds the candidates of every seed pair (Si, LiSi, Li15Si4 against Li6PS5Cl, LLZO,
Li2PO2N; ordered cards; no calculator) with the command's default limits and with 100/110/111 on both
sides, and records the smallest candidate of each plane pair or why there is none (seconds per pair):
which pairs the defaults can run at all, and at what size.

Arguments after ``--`` go to ``interchem interface`` unchanged (default ``--top 1``). Results are merged
into validation/results/interface_pairs_<calculator name>.json, one entry per pair, so pairs can be run in
separate processes (two at a time on 2 cores) and collected in one file.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "validation" / "results"
GOAL_S = 30 * 60  # issue 15: each pair end to end with defaults on 2 cores in under 30 minutes


def run_pair(anode: str, electrolyte: str, calculator: str, work: Path, extra: list[str]) -> dict:
    """One ``interchem interface`` run in its own store and output folder; its summary, timed."""
    tag = f"{anode}_{electrolyte}".replace("@", "at").replace("/", "_")
    out, store = work / tag / "report", work / tag / "store"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "interchem.cli", "interface", anode, electrolyte, "-c", calculator]
    cmd += ["-o", str(out), "-s", str(store), "--create", *extra]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    start = time.perf_counter()
    with open(work / tag / "log.txt", "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    wall = time.perf_counter() - start
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    rows = summary.get("interfaces", [])
    return {
        "anode": anode,
        "electrolyte": electrolyte,
        "command": " ".join(["interchem", *cmd[3:]]),
        "exit_code": proc.returncode,
        "wall_time_s": round(wall, 1),
        "under_30_min": wall < GOAL_S,
        "log_tail": (work / tag / "log.txt").read_text().splitlines()[-15:],
        "interfaces": rows,
        "md": summary.get("md", []),
        "orderings": summary.get("orderings", {}),
        "verdict": verdict(rows),
    }


def verdict(rows: list[dict]) -> str:
    """Issue 15's test of one pair: converged, both surface energies positive, gamma_int a number."""
    if not rows:
        return "no interface result"
    best = rows[0]
    problems = []
    if not best.get("converged"):
        problems.append("not converged")
    for side in ("anode", "electrolyte"):
        gamma = best.get(f"surface_energy_{side}_J_m2")
        if gamma is None or gamma <= 0:
            problems.append(f"gamma({side}) = {gamma}")
    if best.get("problems"):
        problems.append("refused: " + "; ".join(map(str, best["problems"])))
    return "PASS" if not problems else "FAIL: " + ", ".join(problems)


SEED_ANODES = ("Si", "LiSi", "Li15Si4")
SEED_ELECTROLYTES = ("Li6PS5Cl", "LLZO", "Li2PO2N")
PLANES = ((1, 0, 0), (1, 1, 0), (1, 1, 1))


def matches(anode: str, electrolyte: str) -> dict:
    """The smallest candidate (atoms, area, strain) per plane pair with the command's default limits."""
    from interchem.errors import InterchemError
    from interchem.structures.library import resolve_phase
    from interchem.workflows.pipelines import InterfacePipelineMaker

    (a_name, a), (e_name, e) = resolve_phase(anode), resolve_phase(electrolyte)
    rows = {}
    for ma in PLANES:
        for me in PLANES:
            key = f"{''.join(map(str, ma))}|{''.join(map(str, me))}"
            maker = InterfacePipelineMaker.with_calculator("chgnet", miller_anode=ma, miller_electrolyte=me)
            start = time.perf_counter()
            try:
                found = maker.candidates(a, e, a_name, e_name)
            except InterchemError as exc:
                rows[key] = {"candidates": 0, "why": str(exc).split(":")[-1].strip()[:160]}
                continue
            best = min(found, key=lambda c: c.n_atoms)
            rows[key] = {
                "candidates": len(found),
                "smallest_atoms": best.n_atoms,
                "area_A2": round(best.area_A2, 1),
                "strain_percent": round(100 * best.strain, 2),
                "build_s": round(time.perf_counter() - start, 1),
            }
    defaults = rows["100|100"]
    return {"anode": a_name, "electrolyte": e_name, "planes": rows, "runs_with_defaults": defaults["candidates"] > 0}


def merge(path: Path, key: str, entry: dict, calculator: str) -> None:
    """Add one pair to the results file under a lock: pairs run in parallel processes share the file."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(path.read_text()) if path.exists() else {"calculator": calculator, "pairs": {}}
        results["pairs"][key] = entry
        results["date"] = time.strftime("%Y-%m-%d")
        path.write_text(json.dumps(results, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else ["--top", "1"]
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", help="ANODE:ELECTROLYTE[,ANODE:ELECTROLYTE...]")
    p.add_argument("--matches", action="store_true", help="only the lattice matches of every seed pair")
    p.add_argument("--calculator", default="chgnet")
    p.add_argument("--work", type=Path, default=ROOT / "validation-output" / "interface_pairs")
    args = p.parse_args(own)
    if args.matches:
        out = {"limits": "interchem interface defaults (max area 400 A^2, strain 5 %, 400 atoms, 6 A slabs)"}
        out["pairs"] = {f"{a}|{e}": matches(a, e) for a in SEED_ANODES for e in SEED_ELECTROLYTES}
        out["date"] = time.strftime("%Y-%m-%d")
        (RESULTS / "interface_matches.json").write_text(json.dumps(out, indent=1) + "\n")
        for key, row in out["pairs"].items():
            ok = {k: v.get("smallest_atoms") for k, v in row["planes"].items() if v["candidates"]}
            print(key, "defaults:", row["runs_with_defaults"], ok, flush=True)
        return 0
    if not args.pairs:
        p.error("--pairs or --matches")
    name = args.calculator.split(":")[0]
    path = RESULTS / f"interface_pairs_{name}.json"
    for pair in args.pairs.split(","):
        anode, electrolyte = pair.split(":")
        entry = run_pair(anode, electrolyte, args.calculator, args.work, extra)
        print(json.dumps({k: entry[k] for k in ("anode", "electrolyte", "wall_time_s", "verdict")}), flush=True)
        merge(path, f"{anode}|{electrolyte}", entry, args.calculator)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
