"""Fine-tuning CHGNet on the user's own labels with the trainer in the chgnet wheel, and the model file
with its training record (how ``chgnet:model=PATH`` knows what a model was trained on).

A model file is chgnet's own format (``{"model": CHGNet.as_dict()}``, what ``CHGNet.from_file`` reads);
its *training record* is a JSON file next to it (``<model file>.json``: base model, level of theory of the
labels, number of labels, split, epochs, losses, per-element reference energies, the file's SHA-256).

Energy scale. DFT codes other than MP's VASP setup put total energies on their own absolute scale (CP2K's
GTH valence energies: ~ -107 eV/atom for Si, against ~ -5.4 eV/atom for CHGNet's MPtrj scale): a per-element
offset of ~100 eV/atom that gradient descent on a few labels would take thousands of steps to absorb and
that would wreck the pretrained weights on the way. CHGNet's prediction is ``AtomRef(composition) + graph
part``; the AtomRef is a linear per-element term, so it is refitted first (``refit_atom_reference``): the
label minus the base model's graph part, least squares over the elements of the labels. Then training
(graph weights) only learns the chemistry-dependent difference. The base model with refitted references is
also the fair "before" in the validation table (the raw base model is off by the offsets alone).

Which layers train: as in chgnet's fine-tuning example (``examples/fine_tuning.ipynb``), the embeddings, the
basis expansions and the first three atom convolutions are frozen with few labels (``freeze_lower=True``);
the last convolution and the readout MLP learn. Early stopping on the validation loss, keeping the best epoch;
the seed fixes the data order and the initialisation of nothing else (all weights start from the base).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import random
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from interchem.errors import CalculatorSettingsError, FineTuneError

RECORD_SUFFIX = ".json"
SHIPPED_CHGNET = ("0.3.0", "0.2.0")
FROZEN_MODULES = (
    "atom_embedding",
    "bond_embedding",
    "angle_embedding",
    "bond_basis_expansion",
    "angle_basis_expansion",
)


# ---------------------------------------------------------------------------------------------------
# Model files and their records


def is_model_file(model: Any) -> bool:
    """``model`` names a file rather than one of the models shipped in the chgnet wheel."""
    return str(model) not in SHIPPED_CHGNET


def record_path(model_path: str | Path) -> Path:
    return Path(str(model_path) + RECORD_SUFFIX)


def read_record(model_path: str | Path) -> dict[str, Any] | None:
    """The training record next to a model file, or None (a model file trained elsewhere)."""
    path = record_path(model_path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CalculatorSettingsError(f"training record {str(path)!r} of a model file is unreadable: {exc}") from exc


def file_sha256(path: str | Path) -> str:
    p = Path(path)
    st = p.stat()
    return _sha256(str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=32)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_chgnet(model: str | Path, device: str = "cpu"):
    """A CHGNet from the wheel (``"0.3.0"``, ``"0.2.0"``) or from a model file; a file that is not a CHGNet
    model raises ``CalculatorSettingsError`` naming it."""
    from chgnet.model import CHGNet

    with contextlib.redirect_stdout(io.StringIO()):  # chgnet prints banners
        if not is_model_file(model):
            return CHGNet.load(model_name=str(model), verbose=False, use_device=device)
        path = Path(str(model)).expanduser()
        if not path.is_file():
            raise CalculatorSettingsError(f"CHGNet model file {str(path)!r} does not exist")
        return _load_file(str(path.resolve()), *_stamp(path)).to(device)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=8)
def _load_file(path: str, mtime_ns: int, size: int):
    from chgnet.model import CHGNet

    try:
        return CHGNet.from_file(path)
    except Exception as exc:  # noqa: BLE001  (torch raises many kinds for a file that is not a model)
        raise CalculatorSettingsError(
            f"CHGNet model file {path!r} could not be loaded ({type(exc).__name__}: {exc})"
        ) from exc


def save_model(model, path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write the model (chgnet's file format) and its record next to it; returns the record with the
    file's SHA-256."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.as_dict()}, path)
    record = {**record, "model_path": str(path.resolve()), "model_sha256": file_sha256(path)}
    record_path(path).write_text(json.dumps(record, indent=1, default=float))
    return record


# ---------------------------------------------------------------------------------------------------
# Labels -> chgnet's dataset


def stress_gpa(voigt_ev_a3: Any) -> np.ndarray:
    """ASE Voigt stress (eV/A^3, tensile positive) as a 3x3 matrix in GPa (CHGNet's prediction units)."""
    from ase import units
    from ase.stress import voigt_6_to_full_3x3_stress

    return voigt_6_to_full_3x3_stress(np.asarray(voigt_ev_a3, dtype=float)) / units.GPa


def _dataset(labels: list[dict[str, Any]], use_stress: bool):
    from chgnet.data.dataset import StructureData

    with contextlib.redirect_stdout(io.StringIO()):
        return StructureData(
            structures=[lab["structure"] for lab in labels],
            energies=[lab["energy_eV"] / len(lab["structure"]) for lab in labels],
            forces=[np.asarray(lab["forces"], dtype=float).tolist() for lab in labels],
            # StructureData expects VASP's convention (kBar, compressive positive) and multiplies by -0.1.
            stresses=[(-10.0 * stress_gpa(lab["stress"])).tolist() for lab in labels] if use_stress else None,
            structure_ids=[lab.get("id", str(i)) for i, lab in enumerate(labels)],
            shuffle=False,
        )


def _loader(labels: list[dict[str, Any]], use_stress: bool, batch_size: int, shuffle: bool):
    # chgnet's get_train_val_test_loader splits at random; the split here is interchem's (stratified by
    # phase, recorded for the held-out validation), so each part gets its own loader with chgnet's collate.
    from chgnet.data.dataset import collate_graphs
    from torch.utils.data import DataLoader

    return DataLoader(_dataset(labels, use_stress), batch_size=batch_size, shuffle=shuffle, collate_fn=collate_graphs)


# ---------------------------------------------------------------------------------------------------
# Reference energies, predictions, errors


def _composition_features(structures: list) -> tuple[np.ndarray, list[int]]:
    zs = sorted({site.specie.Z for s in structures for site in s})
    x = np.zeros((len(structures), len(zs)))
    for i, s in enumerate(structures):
        for site in s:
            x[i, zs.index(site.specie.Z)] += 1.0 / len(s)
    return x, zs


def predict(model, structures: list, batch_size: int = 16) -> list[dict[str, np.ndarray]]:
    """Energy per atom (eV), forces (eV/A) and stress (3x3, GPa) of ``structures`` with a CHGNet."""
    with contextlib.redirect_stdout(io.StringIO()):
        preds = model.predict_structure(structures, task="efs", batch_size=batch_size)
    if isinstance(preds, dict):
        preds = [preds]
    out = [
        {"e": float(np.asarray(p["e"]).reshape(())), "f": np.asarray(p["f"]), "s": np.asarray(p["s"])} for p in preds
    ]
    return out


def refit_atom_reference(model, labels: list[dict[str, Any]]) -> dict[str, float]:
    """Refit the per-element AtomRef of ``model`` (in place) to the labels' energy scale (module docstring):
    least squares of (label - base graph part) per atom on the composition fractions of the labels'
    elements; other elements keep their weights. Returns the new offsets, eV/atom by element."""
    import torch
    from pymatgen.core import Element

    structures = [lab["structure"] for lab in labels]
    x, zs = _composition_features(structures)
    weight = model.composition_model.fc.weight.detach().clone()
    base_ref = x @ weight[0, [z - 1 for z in zs]].numpy()
    graph_part = np.array([p["e"] for p in predict(model, structures)]) - base_ref
    target = np.array([lab["energy_eV"] / len(lab["structure"]) for lab in labels]) - graph_part
    offsets, *_ = np.linalg.lstsq(x, target, rcond=None)
    for z, value in zip(zs, offsets):
        weight[0, z - 1] = float(value)
    with torch.no_grad():
        model.composition_model.fc.weight.copy_(weight)
    return {Element.from_Z(z).symbol: float(v) for z, v in zip(zs, offsets)}


def error_metrics(model, labels: list[dict[str, Any]]) -> dict[str, float | None]:
    """MAE of energy (eV/atom), forces (eV/A) and stress (GPa) of ``model`` against ``labels``."""
    return prediction_errors(predict(model, [lab["structure"] for lab in labels]), labels)


def prediction_errors(preds: list[dict[str, Any]], labels: list[dict[str, Any]]) -> dict[str, float | None]:
    """MAE of predictions (``predict``'s dicts: e eV/atom, f eV/A, s 3x3 GPa) against ``labels`` (shared by
    every trainable base, so their test errors are computed alike)."""
    e = [abs(p["e"] - lab["energy_eV"] / len(lab["structure"])) for p, lab in zip(preds, labels)]
    f = np.concatenate([np.abs(p["f"] - np.asarray(lab["forces"])).ravel() for p, lab in zip(preds, labels)])
    with_s = [(p, lab) for p, lab in zip(preds, labels) if lab.get("stress") is not None]
    s = [np.abs(p["s"] - stress_gpa(lab["stress"])).mean() for p, lab in with_s]
    return {
        "energy_mae_eV_per_atom": float(np.mean(e)),
        "force_mae_eV_per_A": float(f.mean()),
        "stress_mae_GPa": float(np.mean(s)) if s else None,
        "n": len(labels),
    }


# ---------------------------------------------------------------------------------------------------
# Training


def _freeze_lower(model) -> list[str]:
    frozen = []
    for name in FROZEN_MODULES:
        for p in getattr(model, name).parameters():
            p.requires_grad = False
        frozen.append(name)
    for i, layer in enumerate(model.atom_conv_layers[:-1]):
        for p in layer.parameters():
            p.requires_grad = False
        frozen.append(f"atom_conv_layers.{i}")
    return frozen


# The validation loss of every fine-tuning (CHGNet's trainer weights: energy 1, force 1, stress 0.1) on the
# validation MAEs, so that the numbers of different base models compare.
VAL_LOSS_WEIGHTS = {"e": 1.0, "f": 1.0, "s": 0.1}


def val_loss(mae: dict[str, float], targets: str | None = None) -> float:
    """The weighted sum of the validation MAEs ``mae`` ({"e", "f", "s"}), over ``targets`` (default: all)."""
    return float(sum(VAL_LOSS_WEIGHTS[k] * mae[k] for k in (targets or mae)))


def train_chgnet(  # long: one training run, step by step, with the record it writes
    base_model: str,
    train: list[dict[str, Any]],
    val: list[dict[str, Any]],
    epochs: int,
    patience: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    freeze_lower: bool = True,
    device: str = "cpu",
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune ``base_model`` on ``train``, early-stopped on ``val``; returns (best model, record)."""
    import torch
    from chgnet.trainer import Trainer

    random.seed(seed)
    torch.manual_seed(seed)
    model = load_chgnet(base_model, device="cpu")
    model = copy.deepcopy(model)  # the loaded model is cached: never train the cached object
    atom_ref = refit_atom_reference(model, train)
    frozen = _freeze_lower(model) if freeze_lower else []
    use_stress = all(lab.get("stress") is not None for lab in [*train, *val])
    targets = "efs" if use_stress else "ef"
    with contextlib.redirect_stdout(io.StringIO()) as log:
        trainer = Trainer(
            model=model,
            targets=targets,
            optimizer="Adam",
            scheduler="CosLR",
            criterion="MSE",
            epochs=epochs,
            learning_rate=learning_rate,
            torch_seed=seed,
            data_seed=seed,
            use_device=device,
            print_freq=10**6,
        )
        train_loader = _loader(train, use_stress, batch_size, shuffle=True)
        val_loader = _loader(val, use_stress, batch_size, shuffle=False)
        # chgnet's Trainer.train has no early stopping; run it one epoch at a time (the cosine schedule
        # was sized for ``epochs`` at construction) and stop after ``patience`` epochs without a better
        # validation loss. ``_validate`` is chgnet's own validation pass, the same one train() runs.
        before = trainer._validate(val_loader)
        best_loss, best_epoch, best_state, times = val_loss(before, targets), -1, None, []
        initial_loss = best_loss
        for epoch in range(epochs):
            t0 = time.perf_counter()
            trainer.starting_epoch, trainer.epochs = epoch, epoch + 1
            trainer.train(train_loader, val_loader, save_dir="")
            times.append(time.perf_counter() - t0)
            val_mae = {k: trainer.training_history[k]["val"][-1] for k in targets}
            loss = val_loss(val_mae, targets)
            if not np.isfinite(loss):
                break
            if best_state is None or loss < best_loss:
                best_loss, best_epoch, best_state = loss, epoch, copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= patience:
                break
    if best_state is None:
        raise FineTuneError(f"CHGNet training diverged (validation loss {loss}); lower the learning rate")
    model.load_state_dict(best_state)
    model.eval()
    history = {k: {kind: list(v) for kind, v in trainer.training_history[k].items()} for k in targets}
    record = {
        "base_model": str(base_model),
        "targets": targets,
        "epochs_max": epochs,
        "epochs_run": len(times),
        "best_epoch": best_epoch + 1,
        "patience": patience,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "seed": seed,
        "frozen": frozen,
        "atom_reference_eV_per_atom": atom_ref,
        "val_mae_before": before,
        "val_loss_before": initial_loss,
        "val_loss_per_epoch": [
            val_loss({k: history[k]["val"][i] for k in targets}, targets) for i in range(len(times))
        ],
        "best_val_loss": best_loss,
        "history_mae": history,
        "seconds_per_epoch": times,
        "trainer_log_tail": log.getvalue()[-2000:],
    }
    return model, record
