"""Fine-tuning SevenNet on the user's own labels with the trainer in the sevenn wheel (0.10.4), and the
checkpoint with its training record (how ``sevennet:model=PATH`` knows what a model was trained on).

Thin on sevenn: the model is rebuilt from a checkpoint by ``sevenn.util.model_from_checkpoint``, labels
become sevenn graphs through ``sevenn.train.dataload.atoms_to_graph`` (its label conventions: energy eV,
forces eV/A, stress = -ASE stress in xx yy zz xy yz zx order), batches through torch_geometric's loader
(what ``sevenn.scripts.train`` builds), and each epoch is ``sevenn.train.trainer.Trainer.run_one_epoch``
with sevenn's loss functions and ``ErrorRecorder``, configured like sevenn's ``presets/fine_tune.yaml``
(Huber loss, delta 0.01; Adam; ExponentialLR, gamma 0.99; force weight 1, stress weight 0.01; shift and
scale not trained) with interchem's learning rate, batch size and epochs. What sevenn's ``sevenn`` CLI
adds around it (YAML input, files on disk, its own random split, checkpoint every N epochs) is replaced
by interchem's split (stratified by phase, recorded), early stopping on the validation loss (keeping the
best epoch) and a fixed seed (data order; no weight is initialised at random: all start from the base).

Energy scale. SevenNet's atomic energy is ``scale[element] * readout + shift[element]``
(``SpeciesWiseRescale``): the shift is a per-element energy per atom, the term that carries a DFT code's
absolute scale (CP2K's GTH energies are ~ -107 eV/atom for Si, MPtrj's ~ -5.4). sevenn fits exactly this
shift as ``elemwise_reference_energies`` (least squares of energy on composition) when it trains from
scratch, but keeps the checkpoint's when it continues from one. Here it is refitted to the labels before
training, keeping the pretrained graph part: least squares of (label - base graph part) per atom on the
composition fractions of the labels' elements (``refit_shift``; other elements keep MPtrj's shift, and a
fine-tuned model treats only the labels' elements). The scale stays. This is the same per-element
offset fit as CHGNet's AtomRef refit (``chgnet_train``), so the two bases' "before" numbers compare.

Which layers train with ``freeze_lower``: the edge (radial) embedding, the species embedding and every
interaction block but the last are frozen; the last block and the readout learn (as for CHGNet).

Checkpoint. ``{"model_state_dict", "config", "epoch"}`` with the config reduced to plain Python values:
sevenn's own tools read it (``SevenNetCalculator``, ``sevenn_get_model``), and torch loads it with its
safe ``weights_only=True``, so a fine-tuned file needs no trust. A checkpoint written by sevenn's CLI
holds numpy arrays (pickled objects): it loads only when the user marks it trusted.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from interchem.calculators.chgnet_train import file_sha256, prediction_errors, record_path, stress_gpa, val_loss
from interchem.calculators.torch_trust import trusted_torch_load
from interchem.errors import CalculatorSettingsError, FineTuneError

SHIPPED_SEVENNET = ("7net-0", "7net-0_22May2024", "7net-l3i5")
DEFAULT_SEVENNET = "7net-0"
# sevenn's presets/fine_tune.yaml, the settings sevenn recommends for fine-tuning SevenNet-0
SEVENN_FINE_TUNE = {
    "loss": "huber",
    "loss_param": {"delta": 0.01},
    "optimizer": "adam",
    "scheduler": "exponentiallr",
    "scheduler_param": {"gamma": 0.99},
    "force_loss_weight": 1.0,
    "stress_loss_weight": 0.01,
    "train_shift_scale": False,
}


@dataclass
class SevenNetModel:
    """A sevenn network (``AtomGraphSequential``) and the checkpoint config it was built from."""

    module: Any
    config: dict[str, Any]


# ---------------------------------------------------------------------------------------------------
# Checkpoints


def is_model_file(model: Any) -> bool:
    """``model`` names a file rather than one of the checkpoints shipped in the sevenn wheel."""
    return str(model).lower() not in {m.lower() for m in SHIPPED_SEVENNET}


def wheel_checkpoint(name: str) -> str:
    """The path of a checkpoint shipped in the sevenn wheel. sevenn.util.pretrained_name_to_path holds this
    mapping, but importing sevenn.util imports e3nn (seconds); callers check the names first."""
    from sevenn._const import SEVENNET_0_11Jul2024, SEVENNET_0_22May2024, SEVENNET_l3i5

    paths = {"7net-0": SEVENNET_0_11Jul2024, "7net-0_22may2024": SEVENNET_0_22May2024, "7net-l3i5": SEVENNET_l3i5}
    return paths[str(name).lower()]


def read_checkpoint(model: str | Path, trusted: bool = False) -> dict[str, Any]:
    """The checkpoint dict of a wheel model or a file: files with torch's safe weights-only loading unless
    ``trusted`` (module docstring); an unreadable file raises ``CalculatorSettingsError`` naming it."""
    import torch

    if not is_model_file(model):
        with trusted_torch_load():  # inside the sevenn wheel
            return torch.load(wheel_checkpoint(str(model)), map_location="cpu", weights_only=False)
    path = Path(str(model)).expanduser()
    if not path.is_file():
        raise CalculatorSettingsError(f"SevenNet checkpoint {str(path)!r} does not exist")
    try:
        if trusted:
            with trusted_torch_load():
                cp = torch.load(path, map_location="cpu", weights_only=False)
        else:
            cp = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises many kinds for a file that is not a checkpoint)
        if not trusted and "Unsupported global" in str(exc):
            raise CalculatorSettingsError(
                f"SevenNet checkpoint {str(path)!r} holds pickled Python objects (sevenn's CLI writes numpy "
                "arrays into its config), which torch will not load safely (weights_only). If you trust the file, "
                f"mark it: sevennet:model={path},trusted=true (or list it in the trusted_models setting)"
            ) from None
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise CalculatorSettingsError(f"SevenNet checkpoint {str(path)!r} could not be loaded: {first}") from exc
    if not isinstance(cp, dict) or "model_state_dict" not in cp or "config" not in cp:
        raise CalculatorSettingsError(f"file {str(path)!r} is not a SevenNet checkpoint (no model_state_dict/config)")
    return cp


def checkpoint_species(model: str | Path, trusted: bool = False) -> frozenset[str]:
    """The elements a checkpoint's network knows (its config's chemical_species), without building it."""
    return _species(*_cache_key(model, trusted))


@lru_cache(maxsize=16)
def _species(model: str, mtime_ns: int, size: int, trusted: bool) -> frozenset[str]:
    return frozenset(read_checkpoint(model, trusted)["config"]["chemical_species"])


def _cache_key(model: str | Path, trusted: bool) -> tuple[str, int, int, bool]:
    if not is_model_file(model):
        return str(model).lower(), 0, 0, True
    path = Path(str(model)).expanduser()
    if not path.is_file():
        raise CalculatorSettingsError(f"SevenNet checkpoint {str(path)!r} does not exist")
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size, trusted


def load_sevennet(model: str | Path = DEFAULT_SEVENNET, trusted: bool = False) -> SevenNetModel:
    """A SevenNet network from the wheel (``7net-0``, ...) or a checkpoint file, cached per file version;
    callers that change it (training, refits) copy it first."""
    return _load(*_cache_key(model, trusted))


@lru_cache(maxsize=8)
def _load(model: str, mtime_ns: int, size: int, trusted: bool) -> SevenNetModel:
    cp = read_checkpoint(model, trusted)
    sevenn_util = import_sevenn()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            module, config = sevenn_util.model_from_checkpoint(cp)
    except Exception as exc:  # noqa: BLE001  (a dict that is not a consistent sevenn checkpoint)
        raise CalculatorSettingsError(
            f"SevenNet checkpoint {model!r} could not be built into a model ({type(exc).__name__}: {exc})"
        ) from exc
    module.eval()
    return SevenNetModel(module=module, config=config)


def import_sevenn():
    """``sevenn.util``, imported with e3nn's ``constants.pt`` (from its wheel) trusted: e3nn 0.4.4 loads it
    at import without ``weights_only``. Every sevenn import here goes through this first."""
    with trusted_torch_load():
        import sevenn.util

    return sevenn.util


def _plain(value: Any) -> Any:
    """Config values as plain Python (lists, numbers, strings): torch's weights-only loader reads them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    return value


def save_model(model: SevenNetModel, path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write the checkpoint (module docstring) and its record next to it; returns the record with the
    file's SHA-256."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.module.state_dict()
    config = _plain({**model.config, "shift": state["rescale_atomic_energy.shift"], "device": "cpu"})
    torch.save({"model_state_dict": state, "config": config, "epoch": record.get("best_epoch", 0)}, path)
    record = {**record, "model_path": str(path.resolve()), "model_sha256": file_sha256(path)}
    record_path(path).write_text(json.dumps(record, indent=1, default=float))
    return record


# ---------------------------------------------------------------------------------------------------
# Predictions, reference energies, errors


def predict(model: SevenNetModel, structures: list, batch_size: int = 16) -> list[dict[str, np.ndarray]]:
    """Energy per atom (eV), forces (eV/A) and stress (3x3, GPa, ASE's sign) with sevenn's ASE calculator."""
    from pymatgen.io.ase import AseAtomsAdaptor

    import_sevenn()
    from sevenn.sevennet_calculator import SevenNetCalculator

    calc = SevenNetCalculator(model.module, device="cpu")  # the network itself: no file read, no copy
    out = []
    for s in structures:
        atoms = AseAtomsAdaptor.get_atoms(s)
        atoms.calc = calc
        n = len(atoms)
        e, f, v = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        out.append({"e": float(e) / n, "f": np.asarray(f), "s": stress_gpa(v)})
    return out


def error_metrics(model: SevenNetModel, labels: list[dict[str, Any]]) -> dict[str, float | None]:
    """MAE of energy (eV/atom), forces (eV/A) and stress (GPa) of ``model`` against ``labels``."""
    return prediction_errors(predict(model, [lab["structure"] for lab in labels]), labels)


def refit_shift(model: SevenNetModel, labels: list[dict[str, Any]]) -> dict[str, float]:
    """Refit the per-element shift of ``model`` (in place) to the labels' energy scale (module docstring).
    Returns the new shifts, eV/atom by element."""
    import torch

    structures = [lab["structure"] for lab in labels]
    symbols = sorted({el.symbol for s in structures for el in s.composition.elements})
    unknown = set(symbols) - set(model.config["chemical_species"])
    if unknown:
        raise FineTuneError(f"the SevenNet base model knows no {', '.join(sorted(unknown))}")
    x = np.array([[s.composition.get_atomic_fraction(el) for el in symbols] for s in structures])
    type_map = model.module.type_map  # atomic number -> index into the per-species shift
    from pymatgen.core import Element

    index = [type_map[Element(el).Z] for el in symbols]
    shift = model.module.rescale_atomic_energy.shift
    graph_part = np.array([p["e"] for p in predict(model, structures)]) - x @ shift.detach()[index].numpy()
    target = np.array([lab["energy_eV"] / len(lab["structure"]) for lab in labels]) - graph_part
    values, *_ = np.linalg.lstsq(x, target, rcond=None)
    with torch.no_grad():
        for i, v in zip(index, values):
            shift[i] = float(v)
    return {el: float(v) for el, v in zip(symbols, values)}


# ---------------------------------------------------------------------------------------------------
# Training


def _graphs(labels: list[dict[str, Any]], cutoff: float, use_stress: bool) -> list:
    from pymatgen.io.ase import AseAtomsAdaptor

    import_sevenn()
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.train.dataload import atoms_to_graph

    graphs = []
    for lab in labels:
        atoms = AseAtomsAdaptor.get_atoms(lab["structure"])
        atoms.info["y_energy"] = float(lab["energy_eV"])
        atoms.arrays["y_force"] = np.asarray(lab["forces"], dtype=float)
        if use_stress:  # sevenn's label: minus ASE's Voigt stress, xx yy zz xy yz zx (dataload._set_atoms_y)
            atoms.info["y_stress"] = -np.asarray(lab["stress"], dtype=float)[[0, 1, 2, 5, 3, 4]]
        graphs.append(AtomGraphData.from_numpy_dict(atoms_to_graph(atoms, cutoff, transfer_info=False)))
    return graphs


def _loader(graphs: list, batch_size: int, shuffle: bool, seed: int):
    import torch
    from torch_geometric.loader import DataLoader

    return DataLoader(graphs, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))


def _freeze_lower(model: SevenNetModel) -> list[str]:
    n_conv = int(model.config["num_convolution_layer"])
    frozen = []
    for name, child in model.module.named_children():
        block = name.split("_", 1)[0]
        if name in ("edge_embedding", "onehot_to_feature_x") or (block.isdigit() and int(block) < n_conv - 1):
            for p in child.parameters():
                p.requires_grad = False
            frozen.append(name)
    return frozen


def _epoch_mae(trainer, loader, recorder, is_train: bool) -> dict[str, float]:
    trainer.run_one_epoch(loader, is_train, recorder)
    current = recorder.get_current()
    recorder.epoch_forward()  # sevenn's per-epoch reset
    return {k[0].lower(): float(current[k]["value"]) for k in ("Energy_MAE", "Force_MAE", "Stress_MAE") if k in current}


def train_sevennet(  # long: one training run, step by step, with the record it writes
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
    trusted: bool = False,
) -> tuple[SevenNetModel, dict[str, Any]]:
    """Fine-tune ``base_model`` on ``train``, early-stopped on ``val``; returns (best model, record)."""
    import torch

    import_sevenn()
    from sevenn.error_recorder import ErrorRecorder
    from sevenn.train.trainer import Trainer

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = copy.deepcopy(load_sevennet(base_model, trusted))  # the loaded model is cached: never train it
    shifts = refit_shift(model, train)
    frozen = _freeze_lower(model) if freeze_lower else []
    use_stress = all(lab.get("stress") is not None for lab in [*train, *val])
    config = {
        **model.config,
        **SEVENN_FINE_TUNE,
        "optim_param": {"lr": learning_rate},
        "is_train_stress": use_stress,
        "device": device,
        "is_ddp": False,
        "error_record": [("Energy", "MAE"), ("Force", "MAE"), ("Stress_GPa", "MAE")],
    }
    cutoff = float(model.config["cutoff"])
    train_loader = _loader(_graphs(train, cutoff, use_stress), batch_size, True, seed)
    val_loader = _loader(_graphs(val, cutoff, use_stress), batch_size, False, seed)
    trainer = Trainer.from_config(model.module, config)
    recorder = ErrorRecorder.from_config(config)
    before = _epoch_mae(trainer, val_loader, recorder, is_train=False)
    best_loss, best_epoch, best_state = val_loss(before), -1, None
    initial_loss, history, times = best_loss, {"train": [], "val": []}, []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        history["train"].append(_epoch_mae(trainer, train_loader, recorder, is_train=True))
        history["val"].append(_epoch_mae(trainer, val_loader, recorder, is_train=False))
        trainer.scheduler_step()
        times.append(time.perf_counter() - t0)
        loss = val_loss(history["val"][-1])
        if not np.isfinite(loss):
            break
        if best_state is None or loss < best_loss:
            best_loss, best_epoch, best_state = loss, epoch, copy.deepcopy(model.module.state_dict())
        elif epoch - best_epoch >= patience:
            break
    if best_state is None:
        raise FineTuneError(f"SevenNet training diverged (validation loss {loss}); lower the learning rate")
    model.module.load_state_dict(best_state)
    model.module.set_is_batch_data(False)
    model.module.eval()
    record = {
        "base": "sevennet",
        "base_model": str(base_model),
        "targets": "efs" if use_stress else "ef",
        "trainer": "sevenn.train.trainer.Trainer (sevenn presets/fine_tune.yaml loss, optimizer, scheduler)",
        "epochs_max": epochs,
        "epochs_run": len(times),
        "best_epoch": best_epoch + 1,
        "patience": patience,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "seed": seed,
        "frozen": frozen,
        "energy_shift_method": "per-element shift (SpeciesWiseRescale) refitted by least squares to the labels",
        "atom_reference_eV_per_atom": shifts,
        "val_mae_before": before,
        "val_loss_before": initial_loss,
        "val_loss_per_epoch": [val_loss(m) for m in history["val"]],
        "best_val_loss": best_loss,
        "history_mae": history,
        "seconds_per_epoch": times,
    }
    return model, record


def listed_trusted(model: str | Path) -> bool:
    """A wheel checkpoint, or a file listed in the ``trusted_models`` setting (INTERCHEM_TRUSTED_MODELS)."""
    if not is_model_file(model):
        return True
    from interchem.settings import get_settings

    path = Path(str(model)).expanduser().resolve()
    return any(Path(p).expanduser().resolve() == path for p in get_settings().trusted_models)
