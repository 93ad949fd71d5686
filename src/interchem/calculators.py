"""The one calculator registry: a small spec (name + settings) -> ASE calculator and atomate2 makers.

Every workflow takes a ``CalculatorSpec``; switching from CHGNet to MACE (or, through the seam below,
to CP2K or VASP) is one argument. A backend declares:

* which elements it can treat (checked before any work starts);
* its *energy convention*, which decides how energies become Materials-Project-compatible entries:
  - ``mp2020_corrected``: the model was trained on MP energies that already include the MP2020
    anion/U corrections (CHGNet 0.3.0 is trained on MPtrj ``corrected_total_energy``; CHGNet's own
    fine-tuning example applies MP2020 to labels first). Applying MP2020 again would double-count.
  - ``gga_raw``: raw PBE/PBE+U energies in MP's VASP setup (MACE-MP foundation models, VASP with MP
    input sets): MP2020 corrections are applied by ``interchem.entries``.
  - ``none``: energies on their own scale (EMT, other DFT set-ups): entries are only compared with
    entries of the same level of theory, never with MP data;
* its *level of theory* string, recorded in every entry so levels are never mixed in one hull;
* how to make an atomate2 relax maker (the seam for DFT codes: a DFT backend returns atomate2's CP2K
  or VASP makers here instead of the force-field maker).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interchem.errors import CalculatorSettingsError, UnknownCalculatorError, UnsupportedElementsError

EnergyConvention = Literal["mp2020_corrected", "gga_raw", "none"]


class CalculatorSpec(BaseModel):
    """What to compute with: a registry name and its settings (JSON-serialisable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = "chgnet"
    settings: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | CalculatorSpec | dict | None) -> CalculatorSpec:
        """Accept a spec, a dict, ``"chgnet"`` or ``"mace:model=/path/m.model,dtype=float64"``."""
        if text is None:
            return cls()
        if isinstance(text, CalculatorSpec):
            return text
        if isinstance(text, dict):
            return cls.model_validate(text)
        name, _, rest = text.partition(":")
        settings: dict[str, Any] = {}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise CalculatorSettingsError(f"calculator setting {item!r} in {text!r} is not key=value")
            settings[key.strip()] = _coerce(value.strip())
        return cls(name=name.strip().lower(), settings=settings)

    def key(self) -> str:
        """Stable hash of the spec (part of the cache key of every stored calculation)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def label(self) -> str:
        if not self.settings:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))


def _coerce(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


@dataclass(frozen=True)
class CalculatorBackend:
    """One registry entry. Functions receive the full spec so settings can change their behaviour."""

    name: str
    description: str
    energy_convention: Callable[[CalculatorSpec], EnergyConvention]
    level_of_theory: Callable[[CalculatorSpec], str]
    supported_elements: Callable[[CalculatorSpec], frozenset[str] | None]  # None: every element
    make_ase_calculator: Callable[[CalculatorSpec], Any] | None
    validate: Callable[[CalculatorSpec], None] = lambda spec: None
    packages: tuple[str, ...] = ()
    allowed_settings: frozenset[str] = frozenset()
    is_dft: bool = False
    # Code-specific atomate2 makers (VASP, CP2K through atomate2, ...). None: atomate2's force-field
    # makers driving ``make_ase_calculator`` (MLIPs and any ASE calculator, DFT through ASE included).
    make_relax_maker: Callable[..., Any] | None = None
    make_static_maker: Callable[..., Any] | None = None
    # Batched single points: (spec, list of pymatgen Structures, batch_size) -> list of result dicts
    # in ``evaluate_many``'s format. None: ``evaluate_many`` evaluates one by one through ASE.
    evaluate_batch: Callable[[CalculatorSpec, list, int], list[dict[str, Any]]] | None = None

    def versions(self) -> dict[str, str]:
        out = {}
        for pkg in ("interchem", "ase", "pymatgen", "atomate2", "jobflow", *self.packages):
            try:
                out[pkg] = version(pkg)
            except PackageNotFoundError:
                out[pkg] = "not installed"
        return out


_REGISTRY: dict[str, CalculatorBackend] = {}


def register(backend: CalculatorBackend) -> CalculatorBackend:
    _REGISTRY[backend.name] = backend
    return backend


def available() -> list[str]:
    return sorted(_REGISTRY)


def get_backend(spec: CalculatorSpec | str) -> CalculatorBackend:
    name = spec.name if isinstance(spec, CalculatorSpec) else spec
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCalculatorError(name, list(_REGISTRY)) from None


def check_calculator(spec: CalculatorSpec, elements: Iterable[str] = (), context: str = "") -> CalculatorBackend:
    """Validate a spec and that it can treat ``elements``; raise before any work starts."""
    backend = get_backend(spec)
    unknown = set(spec.settings) - backend.allowed_settings
    if unknown:
        raise CalculatorSettingsError(
            f"calculator {spec.name!r} has no setting(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(backend.allowed_settings)) or 'none'}"
        )
    backend.validate(spec)
    supported = backend.supported_elements(spec)
    if supported is not None:
        missing = sorted(set(elements) - supported)
        if missing:
            raise UnsupportedElementsError(spec.name, missing, context)
    return backend


# One calculator object per spec and thread: loading CHGNet or a MACE model costs ~1 s, and a screen
# relaxes dozens of phases in one process. ASE calculators reset their results when the atoms change.
_CACHE_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _cached_calculator(spec_json: str, thread_id: int) -> Any:
    spec = CalculatorSpec.model_validate_json(spec_json)
    return get_backend(spec).make_ase_calculator(spec)


def ase_calculator(spec: CalculatorSpec | dict | str | None = None, cached: bool = True) -> Any:
    """The ASE calculator for a spec. atomate2's force-field makers call this through
    ``force_field_name={"@module": "interchem.calculators", "@callable": "ase_calculator"}``."""
    spec = CalculatorSpec.parse(spec)
    backend = check_calculator(spec)
    if backend.make_ase_calculator is None:
        raise CalculatorSettingsError(f"calculator {spec.name!r} runs through its own atomate2 makers, not an ASE calculator")
    if not cached:
        return backend.make_ase_calculator(spec)
    with _CACHE_LOCK:
        return _cached_calculator(spec.model_dump_json(), threading.get_ident())


def relax_maker(spec: CalculatorSpec, fmax: float = 0.05, steps: int = 300, relax_cell: bool = True):
    """An atomate2 Maker that relaxes positions (and cell) with this calculator.

    Force fields and ASE calculators go through atomate2's ForceFieldRelaxMaker with our registry as
    the calculator factory; DFT backends (later) return atomate2's code-specific makers here.
    """
    from atomate2.forcefields.jobs import ForceFieldRelaxMaker

    backend = check_calculator(spec)
    if backend.make_relax_maker is not None:
        return backend.make_relax_maker(spec, fmax=fmax, steps=steps, relax_cell=relax_cell)
    return ForceFieldRelaxMaker(
        name=f"relax {spec.label()}",
        force_field_name={"@module": "interchem.calculators", "@callable": "ase_calculator"},
        calculator_kwargs={"spec": spec.model_dump(mode="json")},
        relax_cell=relax_cell,
        steps=steps,
        relax_kwargs={"fmax": fmax},
        # BFGS on the Frechet cell filter needs ~2x fewer steps than atomate2's default FIRE on these
        # cells for the same final energy (measured with CHGNet on 10 oxide/nitride cards).
        optimizer_kwargs={"optimizer": "BFGS"},
        # Only the final structure matters for the hull; the trajectory would bloat the store.
        store_trajectory="no",
        ionic_step_data=("energy",),
    )


def static_maker(spec: CalculatorSpec):
    """An atomate2 Maker for a single point (energy, forces, stress) with this calculator."""
    from atomate2.forcefields.jobs import ForceFieldStaticMaker

    backend = check_calculator(spec)
    if backend.make_static_maker is not None:
        return backend.make_static_maker(spec)
    return ForceFieldStaticMaker(
        name=f"static {spec.label()}",
        force_field_name={"@module": "interchem.calculators", "@callable": "ase_calculator"},
        calculator_kwargs={"spec": spec.model_dump(mode="json")},
        store_trajectory="no",
        ionic_step_data=("energy",),
    )


def evaluate_many(structures: Iterable[Any], spec: CalculatorSpec | dict | str | None = None, batch_size: int = 16) -> list[dict[str, Any]]:
    """Single points (energy, forces, stress) of many structures with one calculator.

    ``structures``: pymatgen ``Structure`` or ASE ``Atoms`` objects (mixed is fine). Every element of
    every structure is checked against the calculator first, so an element it cannot treat raises
    ``UnsupportedElementsError`` before anything is evaluated. An empty input gives an empty list.

    Backends that declare ``evaluate_batch`` evaluate ``batch_size`` structures per model call: today
    only CHGNet, through ``CHGNet.predict_structure(..., task="efs", batch_size=...)`` on the same
    model object the ASE calculator holds. Every other calculator (MACE, EMT, CP2K, ...) falls back to
    one-by-one ASE evaluation with ``ase_calculator(spec)``; ``batch_size`` is then ignored.

    Each result is a dict in ASE units and conventions, whichever path computed it:
    ``energy`` (total, eV), ``energy_per_atom`` (eV/atom), ``forces`` (array n x 3, eV/A),
    ``stress`` (Voigt 6-vector xx yy zz yz xz xy, eV/A^3, ASE sign; None if the calculator has none).
    """
    from pymatgen.core import Structure

    spec = CalculatorSpec.parse(spec)
    items = list(structures)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CalculatorSettingsError(f"batch_size must be a positive integer, not {batch_size!r}")
    for i, item in enumerate(items):
        if not isinstance(item, Structure) and not hasattr(item, "get_chemical_symbols"):
            raise TypeError(f"structure {i} is a {type(item).__name__}, not a pymatgen Structure or ASE Atoms")
    elements = {el for item in items for el in _element_symbols(item)}
    backend = check_calculator(spec, elements, context=f"evaluate_many ({len(items)} structures)")
    if not items:
        return []
    if backend.evaluate_batch is not None:
        return backend.evaluate_batch(spec, [_as_structure(item) for item in items], batch_size)
    return [_evaluate_one_ase(spec, item) for item in items]


def _element_symbols(item: Any) -> set[str]:
    if hasattr(item, "composition"):
        return {el.symbol for el in item.composition.elements}
    return set(item.get_chemical_symbols())


def _as_structure(item: Any):
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    return item if isinstance(item, Structure) else AseAtomsAdaptor.get_structure(item)


def _evaluate_one_ase(spec: CalculatorSpec, item: Any) -> dict[str, Any]:
    import numpy as np
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(item) if hasattr(item, "composition") else item.copy()
    calc = ase_calculator(spec)
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces(), dtype=float)
    stress = np.array(atoms.get_stress(), dtype=float) if "stress" in getattr(calc, "implemented_properties", ()) else None
    atoms.calc = None
    return {"energy": energy, "energy_per_atom": energy / len(atoms), "forces": forces, "stress": stress}


# --------------------------------------------------------------------------------------------------
# CHGNet: weights ship inside the chgnet wheel (works offline).

_CHGNET_MAX_Z = 94  # CHGNet 0.3.0 is trained on MPtrj, which covers H..Pu


def _chgnet_elements(spec: CalculatorSpec) -> frozenset[str]:
    from pymatgen.core import Element

    return frozenset(Element.from_Z(z).symbol for z in range(1, _CHGNET_MAX_Z + 1)) - {"He", "Ne", "Ar"}


def _make_chgnet(spec: CalculatorSpec):
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    model = CHGNet.load(model_name=str(spec.settings.get("model", "0.3.0")), verbose=False, use_device="cpu")
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
    model = str(spec.settings.get("model", "0.3.0"))
    if model not in ("0.3.0", "0.2.0"):
        raise CalculatorSettingsError(f"chgnet model {model!r} is not shipped in the chgnet wheel (0.3.0, 0.2.0)")


register(
    CalculatorBackend(
        name="chgnet",
        description="CHGNet universal potential (weights in the chgnet wheel; MPtrj PBE/PBE+U)",
        energy_convention=lambda spec: "mp2020_corrected",
        level_of_theory=lambda spec: f"CHGNet {spec.settings.get('model', '0.3.0')} (MPtrj PBE/PBE+U, MP2020-corrected)",
        supported_elements=_chgnet_elements,
        make_ase_calculator=_make_chgnet,
        validate=_validate_chgnet,
        packages=("chgnet", "torch"),
        allowed_settings=frozenset({"model", "device"}),
        evaluate_batch=_chgnet_evaluate_batch,
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


@lru_cache(maxsize=8)
def _load_mace_model(path: str, mtime: float):
    import os

    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # mace + torch 2.13, see notes
    import torch

    try:
        model = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CalculatorSettingsError(f"MACE model file {path!r} could not be loaded: {exc}") from exc
    if not hasattr(model, "atomic_numbers") or not isinstance(model, torch.nn.Module):
        raise CalculatorSettingsError(f"file {path!r} is not a MACE model (no atomic_numbers)")
    return model


def _mace_elements(spec: CalculatorSpec) -> frozenset[str]:
    from pymatgen.core import Element

    path = _mace_model_path(spec)
    model = _load_mace_model(str(path), path.stat().st_mtime)
    return frozenset(Element.from_Z(int(z)).symbol for z in model.atomic_numbers)


def _make_mace(spec: CalculatorSpec):
    import os

    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    from mace.calculators import MACECalculator

    path = _mace_model_path(spec)
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
        allowed_settings=frozenset({"model", "dtype", "device", "energy_convention"}),
    )
)

# --------------------------------------------------------------------------------------------------
# SevenNet: the pretrained SevenNet-0 models, weights inside the sevenn wheel (MIT), offline. Optional
# extra ``interchem[sevennet]`` pinned to sevenn 0.10.4: later releases require e3nn >= 0.5, which
# breaks mace-torch (it pins e3nn 0.4.4); 0.10.4 co-installs with it. SevenNet-0 is trained on raw
# MPtrj PBE/PBE+U energies: measured here, Li2S / Li2O / LiCl come out 0.15 / 0.19 / 0.29 eV/atom above
# CHGNet's MP2020-corrected values, the size of the S / O / Cl anion corrections, so MP2020 is applied.

SEVENNET_MODELS = ("7net-0", "7net-0_22May2024", "7net-l3i5")


def _validate_sevennet(spec: CalculatorSpec) -> None:
    import importlib.util

    if importlib.util.find_spec("sevenn") is None:
        raise CalculatorSettingsError(
            "calculator 'sevennet' needs the optional package sevenn 0.10.4: pip install 'interchem[sevennet]' "
            "(later sevenn releases need e3nn >= 0.5 and break mace-torch)"
        )
    model = str(spec.settings.get("model", "7net-0"))
    if model.lower() not in {m.lower() for m in SEVENNET_MODELS}:
        raise CalculatorSettingsError(f"sevennet model {model!r} is not one shipped in the sevenn wheel: {', '.join(SEVENNET_MODELS)}")


def _make_sevennet(spec: CalculatorSpec):
    import os

    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    from sevenn.sevennet_calculator import SevenNetCalculator

    return SevenNetCalculator(str(spec.settings.get("model", "7net-0")), device=spec.settings.get("device", "cpu"))


def _sevennet_elements(spec: CalculatorSpec) -> frozenset[str]:
    from pymatgen.core import Element

    _validate_sevennet(spec)
    with _CACHE_LOCK:  # the cached calculator (no check_calculator: that would call back here)
        calc = _cached_calculator(spec.model_dump_json(), threading.get_ident())
    return frozenset(Element.from_Z(int(z)).symbol for z in calc.type_map)


register(
    CalculatorBackend(
        name="sevennet",
        description="SevenNet-0 universal potential (weights in the sevenn wheel; optional extra, MPtrj raw PBE/PBE+U)",
        energy_convention=lambda spec: "gga_raw",
        level_of_theory=lambda spec: f"SevenNet {spec.settings.get('model', '7net-0')} (MPtrj PBE/PBE+U, raw)",
        supported_elements=_sevennet_elements,
        make_ase_calculator=_make_sevennet,
        validate=_validate_sevennet,
        packages=("sevenn", "e3nn", "torch"),
        allowed_settings=frozenset({"model", "device"}),
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
    import os

    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    import numpy as np
    import torch
    from e3nn import o3
    from mace import modules
    from pymatgen.core import Element

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


# DFT backends register themselves on import (kept last: they import this module).
from interchem.dft import cp2k as _cp2k  # noqa: E402,F401
from interchem.dft import vasp as _vasp  # noqa: E402,F401
