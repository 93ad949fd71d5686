"""What fine-tuning costs here: CP2K labels per hour for the cells used, CHGNet training time per epoch, and
the fine-tuned model's MD/relaxation step time as a ratio to the base model's.

* Labels per hour: each label is its own job, so each pays a cp2k_shell start (the runner closes external
  calculators after every job); timed exactly so: ``evaluate_many`` + ``release_calculators`` per cell,
  for rattled Si8, Si8+Li (Td) and Li2 (bcc) with the SZV (CI) and DZVP (validation) settings.
* Training: ``train_chgnet`` on labels made with CHGNet itself (cheap; the cost of an epoch depends on the
  number and size of structures, not on where the labels came from), ``--labels`` structures of Si8,
  seconds per epoch from the trainer's own loop.
* Step time: energy+forces+stress of a rattled Si64 with base CHGNet and with a fine-tuned file (same
  architecture, so the ratio should be ~1: the refitted references and new weights cost nothing extra).

    .venv/bin/python benchmarks/finetune_cost.py [--repeat 3] [--labels 16] [--skip-dzvp]

Writes benchmarks/results/finetune_cost.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np  # noqa: E402
from _record import write_result
from ase.build import bulk  # noqa: E402
from pymatgen.io.ase import AseAtomsAdaptor  # noqa: E402

from interchem.calculators import evaluate_many, release_calculators  # noqa: E402

SETTINGS = {
    "SZV 200 Ry (CI)": "basis=SZV-MOLOPT-SR-GTH,cutoff=200,rel_cutoff=40,kpoints=2x2x2,omp_threads=1",
    "DZVP 400 Ry (validation)": "basis=DZVP-MOLOPT-SR-GTH,cutoff=400,rel_cutoff=50,kpoints=2x2x2,omp_threads=1",
}


def cells() -> dict:
    si8 = bulk("Si", "diamond", a=5.43, cubic=True)
    si8.rattle(0.03, seed=1)
    lisi = si8.copy()
    lisi.append("Li")
    lisi.positions[-1] = [0.5 * 5.43, 0.5 * 5.43, 0.5 * 5.43]  # tetrahedral interstitial site (8b)
    li2 = bulk("Li", "bcc", a=3.44, cubic=True)
    li2.rattle(0.03, seed=2)
    return {name: AseAtomsAdaptor.get_structure(a) for name, a in {"Si8": si8, "Si8+Li": lisi, "Li2": li2}.items()}


def label_times(repeat: int, skip_dzvp: bool) -> dict:
    out = {}
    for label, settings in SETTINGS.items():
        if skip_dzvp and "DZVP" in label:
            continue
        for name, structure in cells().items():
            times = []
            for k in range(repeat):
                s = structure.copy()
                s.perturb(0.01 * (k + 1))  # a new configuration each time, as labels are
                t0 = time.perf_counter()
                evaluate_many([s], f"cp2k:{settings}")
                release_calculators()  # what the runner does after each label job
                times.append(time.perf_counter() - t0)
            out[f"{label} {name}"] = {
                "seconds_per_label": float(np.mean(times)),
                "labels_per_hour": 3600 / np.mean(times),
            }
            print(label, name, out[f"{label} {name}"], flush=True)
    return out


def training(n_labels: int, epochs: int, model_dir: Path) -> tuple[dict, Path]:
    from interchem.calculators.chgnet_train import save_model, train_chgnet

    si = cells()["Si8"]
    structures = []
    for k in range(n_labels):
        s = si.copy()
        s.perturb(0.05 + 0.01 * k)
        structures.append(s)
    labels = [
        {"structure": s, "energy_eV": r["energy"], "forces": r["forces"], "stress": r["stress"], "id": str(i)}
        for i, (s, r) in enumerate(zip(structures, evaluate_many(structures, "chgnet")))
    ]
    n_val = max(1, n_labels // 5)
    t0 = time.perf_counter()
    model, record = train_chgnet(
        "0.3.0",
        labels[n_val:],
        labels[:n_val],
        epochs=epochs,
        patience=epochs,
        learning_rate=1e-4,
        batch_size=4,
        seed=0,
    )
    wall = time.perf_counter() - t0
    record = save_model(
        model, model_dir / "bench.pth.tar", {**record, "level_of_theory": "benchmark", "elements": ["Si"]}
    )
    per_epoch = record["seconds_per_epoch"]
    return {
        "n_train": n_labels - n_val,
        "n_val": n_val,
        "atoms_per_structure": len(si),
        "epochs": len(per_epoch),
        "seconds_per_epoch": float(np.mean(per_epoch)),
        "seconds_per_epoch_all": per_epoch,
        "train_call_wall_s": wall,
    }, Path(record["model_path"])


def step_time(model_path: Path, repeat: int) -> dict:
    si64 = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))
    si64.rattle(0.02, seed=3)
    s = AseAtomsAdaptor.get_structure(si64)
    out = {}
    for name, spec in {"base": "chgnet", "finetuned": f"chgnet:model={model_path}"}.items():
        evaluate_many([s], spec, batch_size=1)  # load
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            evaluate_many([s], spec, batch_size=1)
            times.append(time.perf_counter() - t0)
        out[name] = float(np.mean(times))
    out["ratio_finetuned_to_base"] = out["finetuned"] / out["base"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--labels", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-dzvp", action="store_true")
    args = parser.parse_args()
    record = {"cp2k_labels": label_times(args.repeat, args.skip_dzvp)}
    with tempfile.TemporaryDirectory() as tmp:
        record["training"], model_path = training(args.labels, args.epochs, Path(tmp))
        print("training", record["training"], flush=True)
        record["step_time_si64_s"] = step_time(model_path, args.repeat)
    print("step time", record["step_time_si64_s"])
    print(write_result("finetune_cost", record))


if __name__ == "__main__":
    main()
