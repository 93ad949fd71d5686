"""Fine-tuned CHGNet against CP2K for Li in crystalline Si: barrier, held-out errors, c-Si moduli.

The recipe (docs/finetune.md):
1. ``FineTuneMaker``: configurations of c-Si (conventional Si8) and bcc Li (Li2) from CHGNet MD at 300 and
   900 K, strained and rattled cells, and the CHGNet NEB images of the Li Td -> Hex -> Td hop in Si8+Li
   (a ``hops`` entry: the images become candidates); farthest-point selection; CP2K labels (PBE, GTH,
   MOLOPT basis), one job each; CHGNet 0.3.0 fine-tuned with references refitted; held-out errors.
2. The barrier in a larger cell (``--cell`` minimum length; 10 A: Si64+Li): CHGNet NEB (the base barrier),
   **CP2K single points on the CHGNet-relaxed path** (the reference, stated as such: not a CP2K NEB; a
   CP2K-relaxed path would lower the saddle, so the reference is an upper bound of CP2K's own barrier at
   this path), and the fine-tuned model's own NEB (and its single points on the CHGNet path).
3. c-Si bulk and shear moduli (Hill) before and after, atomate2's elastic flow through the registry.

References: Li in c-Si barrier 0.58 eV (PBE NEB, Wan, Zhang, Cui, Wang, J. Phys.: Condens. Matter 22,
415501 (2010)); experiment 0.57-0.66 eV (Pell 1960). c-Si moduli, PBE: K_VRH 88 GPa, G_VRH 62 GPa
(Materials Project mp-149, de Jong et al., Sci. Data 2, 150009 (2015); recalled, not re-checked
offline); experiment K 97.8, G 66.5 GPa (McSkimin & Andreatch 1964 via Hopcroft et al. 2010).
Target of issue 13: fine-tuned barrier within 0.1 eV of the CP2K one.

    .venv/bin/python validation/finetune_li_si.py            # full: DZVP, 400 Ry, 120 labels, Si64+Li path
    .venv/bin/python validation/finetune_li_si.py --quick    # SZV, 200 Ry, 24 labels, everything in Si8+Li

Cutoff: the full run first prints the CP2K energy of Si8 at 300/400/500 Ry (``cutoff_check``); 400 Ry is the
backend default and is kept when the 400 -> 500 Ry change is below 1 meV/atom (it is recorded in the JSON).
Writes validation/results/finetune_li_si_<quick|full>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PBE_BARRIER_EV = 0.58
PBE_MODULI_GPA = {"bulk_vrh": 88.0, "shear_vrh": 62.0}
EXP_MODULI_GPA = {"bulk_vrh": 97.8, "shear_vrh": 66.5}
TARGET_EV = 0.10
MODES = {
    "quick": {"basis": "SZV-MOLOPT-SR-GTH", "cutoff": 200, "rel_cutoff": 40, "samples": 24, "epochs": 20, "cell": 5.0},
    "full": {
        "basis": "DZVP-MOLOPT-SR-GTH",
        "cutoff": 400,
        "rel_cutoff": 50,
        "samples": 120,
        "epochs": 100,
        "cell": 10.0,
    },
}


def barrier(energies: list[float]) -> float:
    """max over the path of E - min(E_initial, E_final) (what interchem's NEBResult.barrier_eV reports)."""
    return max(energies) - min(energies[0], energies[-1])


def cp2k_spec(mode: dict, kpoints: str) -> str:
    return (
        f"cp2k:basis={mode['basis']},cutoff={mode['cutoff']},rel_cutoff={mode['rel_cutoff']},kpoints={kpoints},"
        "omp_threads=1"
    )


def cutoff_check(mode: dict, kpoints: str) -> dict:
    from interchem.calculators import evaluate_many, release_calculators
    from interchem.structures.library import resolve_phase

    si = resolve_phase("Si", primitive=False)[1]
    out = {}
    for cutoff in (300, 400, 500):
        spec = cp2k_spec({**mode, "cutoff": cutoff}, kpoints)
        out[cutoff] = evaluate_many([si], spec)[0]["energy_per_atom"]
        release_calculators()
    return {"energy_per_atom_eV": out, "change_400_500_meV_per_atom": 1000 * abs(out[500] - out[400])}


def td_hop():
    from interchem.structures.hops import enumerate_li_hops
    from interchem.structures.library import resolve_phase

    si = resolve_phase("Si", primitive=False)[1]
    hops = enumerate_li_hops(si, cutoff=2.5, mechanism="interstitial")
    return si, next(h for h in hops if h.start_wyckoff == h.end_wyckoff == "8b")


def finetune(mode: dict, label_spec: str, settings, model_dir: Path):
    from interchem.runner import run_flow
    from interchem.structures.library import resolve_phase
    from interchem.workflows.finetune import FineTuneResult, FineTuneSettings
    from interchem.workflows.finetune_maker import FineTuneMaker

    si, hop = td_hop()
    phases = {"Si": si, "Li": resolve_phase("Li", primitive=False)[1]}
    maker = FineTuneMaker(
        label_calculator=label_spec,
        settings=FineTuneSettings(samples=mode["samples"], epochs=mode["epochs"], md_steps=100),
        model_dir=str(model_dir),
        neb_settings={"n_images": 5, "supercell_min_length": 5.0},
    )
    flow = maker.make(phases, hops={"Si": [hop.model_dump()]})
    return FineTuneResult.model_validate(run_flow(flow, settings, what="fine-tune Li-Si"))


def path_barriers(mode: dict, label_spec: str, ft_spec: str) -> dict:
    """Base NEB, CP2K single points on its images, fine-tuned NEB and single points (one cell)."""
    from interchem.calculators import evaluate_many
    from interchem.structures.hops import build_neb_endpoints
    from interchem.workflows.neb import run_neb

    si, hop = td_hop()
    initial, final = build_neb_endpoints(si, hop, supercell_min_length=mode["cell"])
    neb = {"n_images": 5, "supercell_min_length": mode["cell"]}
    base = run_neb(initial, final, "chgnet", neb, label="Li in Si Td-Td (base)")
    t0 = time.perf_counter()
    e_cp2k = [r["energy"] for r in evaluate_many(base.images, label_spec)]
    cp2k_s = time.perf_counter() - t0
    e_ft_sp = [r["energy"] for r in evaluate_many(base.images, ft_spec)]
    ft = run_neb(initial, final, ft_spec, neb, label="Li in Si Td-Td (fine-tuned)")
    return {
        "n_atoms": len(initial),
        "base_chgnet_neb_eV": base.barrier_eV,
        "cp2k_single_points_on_base_path_eV": barrier(e_cp2k),
        "finetuned_single_points_on_base_path_eV": barrier(e_ft_sp),
        "finetuned_neb_eV": ft.barrier_eV,
        "finetuned_neb_flagged": ft.flagged,
        "cp2k_path_energies_eV": [e - e_cp2k[0] for e in e_cp2k],
        "cp2k_seconds_per_image": cp2k_s / len(e_cp2k),
    }


def moduli(spec: str, settings) -> dict:
    from pymatgen.analysis.elasticity import ElasticTensor

    from interchem.calculators import CalculatorSpec
    from interchem.runner import run_flow
    from interchem.structures.library import resolve_phase
    from interchem.workflows.mechanics import elastic_maker

    si = resolve_phase("Si", primitive=True)[1]
    doc = run_flow(elastic_maker(CalculatorSpec.parse(spec)).make(si), settings, what=f"elastic {spec}")
    tensor = doc["elastic_tensor"] if isinstance(doc, dict) else doc.elastic_tensor
    raw = tensor["ieee_format"] if isinstance(tensor, dict) else tensor.ieee_format
    et = ElasticTensor.from_voigt(raw)
    return {"bulk_vrh": float(et.k_vrh), "shear_vrh": float(et.g_vrh)}


def main() -> None:  # long: the recipe, step by step, with its table
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="SZV, 200 Ry, 24 labels, Si8+Li cell")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--kpoints", default="2x2x2", help="CP2K k-mesh of every cell (2x2x2: Si8 and Si64)")
    parser.add_argument("--cell", type=float, help="minimum length of the barrier cell (A)")
    parser.add_argument("--store", type=Path, default=Path("interchem-store-finetune"))
    parser.add_argument("--skip-moduli", action="store_true")
    args = parser.parse_args()

    from interchem.settings import get_settings

    name = "quick" if args.quick else "full"
    mode = dict(MODES[name])
    for key in ("samples", "epochs", "cell"):
        if getattr(args, key) is not None:
            mode[key] = getattr(args, key)
    settings = get_settings(store_path=args.store, output_dir=Path("interchem-output") / "finetune-li-si")
    label_spec = cp2k_spec(mode, args.kpoints)
    report: dict = {"mode": name, "settings": mode, "label_calculator": label_spec}
    t0 = time.perf_counter()
    if not args.quick:
        report["cutoff_check"] = cutoff_check(mode, args.kpoints)
        print("cutoff check (Si8):", report["cutoff_check"], flush=True)
    ft = finetune(mode, label_spec, settings, Path(settings.output_dir) / "models")
    report["finetune"] = ft.model_dump(mode="json")
    report["finetune_s"] = time.perf_counter() - t0
    print(f"fine-tuned: {ft.calculator} ({report['finetune_s']:.0f} s)", flush=True)
    report["barrier"] = path_barriers(mode, label_spec, ft.calculator)
    report["barrier"]["within_target"] = (
        abs(report["barrier"]["finetuned_neb_eV"] - report["barrier"]["cp2k_single_points_on_base_path_eV"])
        <= TARGET_EV
    )
    if not args.skip_moduli:
        report["moduli_GPa"] = {"base": moduli("chgnet", settings), "finetuned": moduli(ft.calculator, settings)}
        report["moduli_GPa"]["pbe_literature"] = PBE_MODULI_GPA
        report["moduli_GPa"]["experiment"] = EXP_MODULI_GPA
    report["wall_s"] = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"finetune_li_si_{name}.json"
    path.write_text(json.dumps(report, indent=1, default=float))
    b, m = report["barrier"], ft.test_metrics
    print(
        f"Li Td-Hex-Td barrier ({b['n_atoms']} atoms): "
        f"CP2K on CHGNet path {b['cp2k_single_points_on_base_path_eV']:.3f}"
    )
    print(f"  base CHGNet NEB {b['base_chgnet_neb_eV']:.3f}, fine-tuned NEB {b['finetuned_neb_eV']:.3f} eV")
    for key in ("base_refit", "finetuned"):
        print(
            f"  held-out {key}: E {1000 * m[key]['energy_mae_eV_per_atom']:.1f} meV/atom, "
            f"F {m[key]['force_mae_eV_per_A']:.3f} eV/A"
        )
    if "moduli_GPa" in report:
        print("  moduli (K, G) GPa:", report["moduli_GPa"])
    print(f"wrote {path} ({report['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
