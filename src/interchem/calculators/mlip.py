"""Machine-learned potentials (and ASE's EMT for plumbing): CHGNet and SevenNet with weights inside
their wheels (offline), MACE from a model file, and a tiny random MACE builder for CI plumbing.

Each backend is one ``register(CalculatorBackend(...))`` entry; nothing else in the project names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from interchem.calculators.chgnet_train import file_sha256, is_model_file, load_chgnet, read_record
from interchem.calculators.registry import (
    CalculatorBackend,
    CalculatorSpec,
    ase_calculator,
    register,
)
from interchem.calculators.sevennet_train import (
    DEFAULT_SEVENNET,
    SHIPPED_SEVENNET,
    checkpoint_species,
    listed_trusted,
    load_sevennet,
)
from interchem.calculators.sevennet_train import is_model_file as sevennet_is_file
from interchem.calculators.torch_trust import trusted_torch_load
from interchem.errors import CalculatorSettingsError

# --------------------------------------------------------------------------------------------------
# CHGNet: weights ship inside the chgnet wheel (works offline); ``model=PATH`` loads a fine-tuned file.

_CHGNET_MAX_Z = 94  # CHGNet 0.3.0 is trained on MPtrj, which covers H..Pu


def _chgnet_elements(spec: CalculatorSpec) -> frozenset[str]:
    from pymatgen.core import Element

    return frozenset(Element.from_Z(z).symbol for z in range(1, _CHGNET_MAX_Z + 1)) - {"He", "Ne", "Ar"}


def _make_chgnet(spec: CalculatorSpec):
    from chgnet.model.dynamics import CHGNetCalculator

    name = spec.settings.get("model", "0.3.0")
    if is_model_file(name):  # a user's (fine-tuned) file: torch's safe, weights-only loading
        model = load_chgnet(name, device="cpu")
    else:
        with trusted_torch_load():  # weights inside the chgnet wheel
            model = load_chgnet(name, device="cpu")
    return CHGNetCalculator(model=model, use_device=spec.settings.get("device", "cpu"), on_isolated_atoms="ignore")


def _chgnet_evaluate_batch(spec: CalculatorSpec, structures: list, batch_size: int) -> list[dict[str, Any]]:
    """CHGNet's own batched inference on the cached calculator's model (same weights, device and
    isolated-atom setting as the ASE path). CHGNet predicts energy per atom (``is_intensive``) and
    stress in GPa as a 3x3 matrix; converted here exactly as ``CHGNetCalculator`` does (x n atoms,
    x ``stress_weight`` = ase.units.GPa) and to ASE's Voigt order."""
    import numpy as np
    from ase.stress import full_3x3_to_voigt_6_stress

    calc = ase_calculator(spec)
    model = calc.model
    predictions = model.predict_structure(structures, task="efs", batch_size=batch_size)
    if isinstance(predictions, dict):  # chgnet returns a bare dict for a single structure
        predictions = [predictions]
    out = []
    for structure, pred in zip(structures, predictions, strict=True):
        n = len(structure)
        e = float(np.asarray(pred["e"]).reshape(()))
        energy = e * n if model.is_intensive else e
        stress = full_3x3_to_voigt_6_stress(np.asarray(pred["s"], dtype=float).reshape(3, 3) * calc.stress_weight)
        out.append(
            {
                "energy": energy,
                "energy_per_atom": energy / n,
                "forces": np.asarray(pred["f"], dtype=float).reshape(n, 3),
                "stress": np.asarray(stress, dtype=float),
            }
        )
    return out


def _validate_chgnet(spec: CalculatorSpec) -> None:
    model = spec.settings.get("model", "0.3.0")
    if not is_model_file(model):
        return
    if not Path(str(model)).expanduser().is_file():
        raise CalculatorSettingsError(
            f"chgnet model {str(model)!r} is neither a model shipped in the chgnet wheel (0.3.0, 0.2.0) "
            "nor an existing model file (e.g. one written by interchem finetune)"
        )
    load_chgnet(model)  # a file that is not a CHGNet model fails here, before any work
    read_record(model)


# A model file (``chgnet:model=PATH``, e.g. written by ``interchem finetune``): its training record next to
# it says what it was trained on. Its energies are on the labels' scale, so its convention is the labels'
# (CP2K: "none", never mixed with MP2020 entries); a file without a record is "none" too (unknown scale).
def _chgnet_record(spec: CalculatorSpec) -> dict | None:
    model = spec.settings.get("model", "0.3.0")
    return read_record(Path(str(model)).expanduser()) if is_model_file(model) else None


def _chgnet_convention(spec: CalculatorSpec) -> str:
    if not is_model_file(spec.settings.get("model", "0.3.0")):
        return "mp2020_corrected"
    return (_chgnet_record(spec) or {}).get("energy_convention", "none")


def _chgnet_level_of_theory(spec: CalculatorSpec) -> str:
    model = spec.settings.get("model", "0.3.0")
    if not is_model_file(model):
        return f"CHGNet {model} (MPtrj PBE/PBE+U, MP2020-corrected)"
    path = Path(str(model)).expanduser()
    tag = f"[model {file_sha256(path)[:8]}]" if path.is_file() else "[model file missing]"
    record = _chgnet_record(spec)
    if record is None:
        return f"CHGNet model file {path.name} (no training record) {tag}"
    return f"{record['level_of_theory']} {tag}"


def _chgnet_identity(spec: CalculatorSpec) -> str | None:
    model = spec.settings.get("model", "0.3.0")
    path = Path(str(model)).expanduser()
    return f"sha256:{file_sha256(path)}" if is_model_file(model) and path.is_file() else None


def _chgnet_supported(spec: CalculatorSpec) -> frozenset[str]:
    record = _chgnet_record(spec)
    if record and record.get("elements"):  # fine-tuned: references refitted only for these elements
        return frozenset(record["elements"])
    return _chgnet_elements(spec)


register(
    CalculatorBackend(
        name="chgnet",
        description="CHGNet universal potential (weights in the chgnet wheel; MPtrj PBE/PBE+U), or a fine-tuned "
        "CHGNet file (model=PATH)",
        energy_convention=_chgnet_convention,
        level_of_theory=_chgnet_level_of_theory,
        supported_elements=_chgnet_supported,
        make_ase_calculator=_make_chgnet,
        validate=_validate_chgnet,
        packages=("chgnet", "torch"),
        allowed_settings=frozenset({"model", "device"}),
        evaluate_batch=_chgnet_evaluate_batch,
        identity=_chgnet_identity,
    )
)

# --------------------------------------------------------------------------------------------------
# MACE: any model file (a downloaded MACE-MP foundation model, a fine-tuned model, the tiny random CI
# model). Foundation weights cannot be downloaded at run time on air-gapped machines, so a path is
# required.


def _mace_model_path(spec: CalculatorSpec) -> Path:
    model = spec.settings.get("model")
    if not model:
        raise CalculatorSettingsError(
            "calculator 'mace' needs settings.model = path to a MACE model file "
            "(e.g. --calculator mace:model=/path/mace-mp-0-medium.model); foundation models are not downloaded"
        )
    path = Path(str(model)).expanduser()
    if not path.is_file():
        raise CalculatorSettingsError(f"MACE model file {str(path)!r} does not exist")
    return path


def mace_model_trusted(spec: CalculatorSpec) -> bool:
    """A MACE file is unpickled in full only when the spec says ``trusted=true`` or the file is listed in
    the ``trusted_models`` setting (INTERCHEM_TRUSTED_MODELS)."""
    if spec.settings.get("trusted") is True:
        return True
    from interchem.settings import get_settings

    path = _mace_model_path(spec).resolve()
    return any(Path(p).expanduser().resolve() == path for p in get_settings().trusted_models)


@lru_cache(maxsize=8)
def _load_mace_model(path: str, mtime: float, trusted: bool):
    with trusted_torch_load():  # mace and e3nn import (e3nn's constants.pt ships in its wheel)
        import mace.modules  # noqa: F401  (the classes a pickled model refers to)
        import torch

    try:
        if trusted:
            with trusted_torch_load():
                model = torch.load(path, map_location="cpu", weights_only=False)
        else:
            model = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if not trusted and "Unsupported global" in str(exc):  # a pickled object, not tensors
            raise CalculatorSettingsError(
                f"MACE model file {path!r} is a pickled Python object, which torch will not load safely "
                "(weights_only): unpickling it can run any code it holds. If you trust the file (you made it, "
                f"or it comes from a source you trust), mark it: mace:model={path},trusted=true "
                "(or list it in the trusted_models setting, INTERCHEM_TRUSTED_MODELS)"
            ) from None
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise CalculatorSettingsError(f"MACE model file {path!r} could not be loaded: {first}") from exc
    if not hasattr(model, "atomic_numbers") or not isinstance(model, torch.nn.Module):
        raise CalculatorSettingsError(f"file {path!r} is not a MACE model (no atomic_numbers)")
    return model


def _mace_elements(spec: CalculatorSpec) -> frozenset[str]:
    from pymatgen.core import Element

    path = _mace_model_path(spec)
    model = _load_mace_model(str(path), path.stat().st_mtime, mace_model_trusted(spec))
    return frozenset(Element.from_Z(int(z)).symbol for z in model.atomic_numbers)


def _make_mace(spec: CalculatorSpec):
    path = _mace_model_path(spec)
    _load_mace_model(str(path), path.stat().st_mtime, mace_model_trusted(spec))  # refuses an untrusted pickle
    # MACECalculator loads the file again with torch's default; it is trusted by now (checked just above).
    with trusted_torch_load():
        from mace.calculators import MACECalculator

        return MACECalculator(
            model_paths=str(path),
            device=spec.settings.get("device", "cpu"),
            default_dtype=spec.settings.get("dtype", "float64"),
        )


def _validate_mace(spec: CalculatorSpec) -> None:
    _mace_elements(spec)  # loads the model: a file that is not a model fails here, before any work
    if spec.settings.get("dtype", "float64") not in ("float32", "float64"):
        raise CalculatorSettingsError(f"MACE dtype must be float32 or float64, not {spec.settings['dtype']!r}")
    if spec.settings.get("energy_convention", "gga_raw") not in ("mp2020_corrected", "gga_raw", "none"):
        raise CalculatorSettingsError(f"unknown energy_convention {spec.settings['energy_convention']!r}")
    if spec.settings.get("trusted", False) not in (True, False):
        raise CalculatorSettingsError(f"MACE trusted must be true or false, not {spec.settings['trusted']!r}")


register(
    CalculatorBackend(
        name="mace",
        description="MACE model from a file (settings: model=path, dtype, device, energy_convention)",
        # MACE-MP foundation models are trained on raw MPtrj PBE/PBE+U energies (mace PR #342), so
        # MP2020 is applied unless the user says the model was trained otherwise.
        energy_convention=lambda spec: spec.settings.get("energy_convention", "gga_raw"),
        level_of_theory=lambda spec: f"MACE {Path(str(spec.settings.get('model', '?'))).name}",
        supported_elements=_mace_elements,
        make_ase_calculator=_make_mace,
        validate=_validate_mace,
        packages=("mace-torch", "e3nn", "torch"),
        allowed_settings=frozenset({"model", "dtype", "device", "energy_convention", "trusted"}),
    )
)

# --------------------------------------------------------------------------------------------------
# SevenNet: the pretrained SevenNet-0 models, weights inside the sevenn wheel (GPL-3.0), offline. Optional
# extra ``interchem[sevennet]`` pinned to sevenn 0.10.4: later releases require e3nn >= 0.5, which
# breaks mace-torch (it pins e3nn 0.4.4); 0.10.4 co-installs with it. SevenNet-0 is trained on raw
# MPtrj PBE/PBE+U energies: measured here, Li2S / Li2O / LiCl come out 0.15 / 0.19 / 0.29 eV/atom above
# CHGNet's MP2020-corrected values, the size of the S / O / Cl anion corrections, so MP2020 is applied.
# ``model=PATH`` loads a checkpoint file, e.g. one written by ``interchem finetune --base sevennet``: as for
# CHGNet files, its training record says what it was trained on and its scale (CP2K: "none", never mixed
# with MP2020 entries), its hash enters every key, and it loads with torch's safe weights-only loading
# unless marked trusted (a checkpoint of sevenn's own CLI holds numpy arrays: sevennet_train).

SEVENNET_MODELS = SHIPPED_SEVENNET


def _sevennet_model(spec: CalculatorSpec) -> str:
    return str(spec.settings.get("model", DEFAULT_SEVENNET))


def _sevennet_trusted(spec: CalculatorSpec) -> bool:
    return spec.settings.get("trusted") is True or listed_trusted(_sevennet_model(spec))


def _validate_sevennet(spec: CalculatorSpec) -> None:
    import importlib.util

    if importlib.util.find_spec("sevenn") is None:
        raise CalculatorSettingsError(
            "calculator 'sevennet' needs the optional package sevenn 0.10.4: pip install 'interchem[sevennet]' "
            "(later sevenn releases need e3nn >= 0.5 and break mace-torch); SevenNet-0 is the main job's default "
            "model: without sevenn, give -c chgnet (or INTERCHEM_CALCULATOR=chgnet)"
        )
    if spec.settings.get("trusted", False) not in (True, False):
        raise CalculatorSettingsError(f"sevennet trusted must be true or false, not {spec.settings['trusted']!r}")
    model = _sevennet_model(spec)
    if not sevennet_is_file(model):
        return
    if not Path(model).expanduser().is_file():
        raise CalculatorSettingsError(
            f"sevennet model {model!r} is neither one shipped in the sevenn wheel ({', '.join(SEVENNET_MODELS)}) "
            "nor an existing checkpoint file (e.g. one written by interchem finetune --base sevennet)"
        )
    load_sevennet(model, _sevennet_trusted(spec))  # a file that is not a checkpoint fails here, before any work
    read_record(model)


def _make_sevennet(spec: CalculatorSpec):
    model = _sevennet_model(spec)
    with trusted_torch_load():  # sevenn, its e3nn, and the weights inside the sevenn wheel
        from sevenn.sevennet_calculator import SevenNetCalculator

        if not sevennet_is_file(model):
            return SevenNetCalculator(model, device=spec.settings.get("device", "cpu"))
    # A file: built from its checkpoint (weights-only unless trusted), not re-read by sevenn's loader.
    network = load_sevennet(model, _sevennet_trusted(spec)).module
    return SevenNetCalculator(network, device=spec.settings.get("device", "cpu"))


def _sevennet_record(spec: CalculatorSpec) -> dict | None:
    model = _sevennet_model(spec)
    return read_record(Path(model).expanduser()) if sevennet_is_file(model) else None


def _sevennet_elements(spec: CalculatorSpec) -> frozenset[str]:
    _validate_sevennet(spec)
    record = _sevennet_record(spec)
    if record and record.get("elements"):  # fine-tuned: shifts refitted only for these elements
        return frozenset(record["elements"])
    return checkpoint_species(_sevennet_model(spec), _sevennet_trusted(spec))


def _sevennet_convention(spec: CalculatorSpec) -> str:
    if not sevennet_is_file(_sevennet_model(spec)):
        return "gga_raw"
    return (_sevennet_record(spec) or {}).get("energy_convention", "none")


def _sevennet_level_of_theory(spec: CalculatorSpec) -> str:
    model = _sevennet_model(spec)
    if not sevennet_is_file(model):
        return f"SevenNet {model} (MPtrj PBE/PBE+U, raw)"
    path = Path(model).expanduser()
    tag = f"[model {file_sha256(path)[:8]}]" if path.is_file() else "[model file missing]"
    record = _sevennet_record(spec)
    if record is None:
        return f"SevenNet checkpoint {path.name} (no training record) {tag}"
    return f"{record['level_of_theory']} {tag}"


def _sevennet_identity(spec: CalculatorSpec) -> str | None:
    model = _sevennet_model(spec)
    path = Path(model).expanduser()
    return f"sha256:{file_sha256(path)}" if sevennet_is_file(model) and path.is_file() else None


register(
    CalculatorBackend(
        name="sevennet",
        description="SevenNet-0 universal potential (weights in the sevenn wheel; optional extra, MPtrj raw "
        "PBE/PBE+U), or a fine-tuned SevenNet checkpoint (model=PATH)",
        energy_convention=_sevennet_convention,
        level_of_theory=_sevennet_level_of_theory,
        supported_elements=_sevennet_elements,
        make_ase_calculator=_make_sevennet,
        validate=_validate_sevennet,
        packages=("sevenn", "e3nn", "torch"),
        allowed_settings=frozenset({"model", "device", "trusted"}),
        identity=_sevennet_identity,
    )
)

# --------------------------------------------------------------------------------------------------
# EMT: ASE's effective-medium toy potential, for plumbing tests on metals only.


def _emt_elements(spec: CalculatorSpec) -> frozenset[str]:
    from ase.calculators.emt import parameters

    return frozenset(parameters)


def _make_emt(spec: CalculatorSpec):
    from ase.calculators.emt import EMT

    return EMT()


register(
    CalculatorBackend(
        name="emt",
        description="ASE EMT toy potential (H, C, N, O, Al, Ni, Cu, Pd, Ag, Pt, Au only)",
        energy_convention=lambda spec: "none",
        level_of_theory=lambda spec: "ASE EMT",
        supported_elements=_emt_elements,
        make_ase_calculator=_make_emt,
    )
)


# --------------------------------------------------------------------------------------------------
# A tiny randomly initialised MACE for plumbing tests (never for science: its energies are noise).


def build_tiny_mace(path: str | Path, elements: Iterable[str], seed: int = 0, r_max: float = 4.0) -> Path:
    """Write a small random ScaleShiftMACE covering ``elements`` to ``path`` and return the path."""
    import numpy as np
    from pymatgen.core import Element

    with trusted_torch_load():  # e3nn's constants.pt, from its wheel
        import torch
        from e3nn import o3
        from mace import modules

    torch.manual_seed(seed)
    zs = sorted(Element(e).Z for e in set(elements))
    model = modules.ScaleShiftMACE(
        r_max=r_max,
        num_bessel=4,
        num_polynomial_cutoff=5,
        max_ell=1,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=1,
        num_elements=len(zs),
        hidden_irreps=o3.Irreps("8x0e"),
        MLP_irreps=o3.Irreps("8x0e"),
        # Cohesive-energy-like references keep relaxations of the random model bounded.
        atomic_energies=np.full(len(zs), -3.0),
        avg_num_neighbors=10.0,
        atomic_numbers=zs,
        correlation=2,
        gate=torch.nn.functional.silu,
        atomic_inter_scale=0.1,
        atomic_inter_shift=0.0,
    ).to(torch.float64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model, path)
    return path
