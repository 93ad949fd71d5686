"""The calculator registry: a small spec (name + settings) -> ASE calculator and atomate2 makers.

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
  or VASP makers here instead of the force-field maker);
* its *capabilities* and the *makers* that provide them (atomate2's composition pattern).

Capabilities and makers. A backend names what it can do (``CAPABILITIES``: ``relax`` and ``static``
(atomate2 makers for a cell relaxation and a single point), ``single_points`` (energies of many
structures), ``positions_relax`` (atoms move, cell and fixed atoms stay: slabs and interfaces),
``md``, ``neb``, and those only interchem's ASE route has: ``phonons`` and ``elastic`` (atomate2's
force-field flows on the ASE calculator), ``interstitial_sites`` (relaxed candidate sites), ``melt_quench``
(chained restartable MD segments)) and provides a ``CalculatorMakers`` object for a spec:
``makers = backend.makers(spec)`` (or ``calculator_makers(spec)``), with ``makers.relax(...)``,
``makers.static()``, ``makers.single_points(...)``, ``makers.positions_relax(...)``, ``makers.md(...)``,
``makers.read_md(...)``, ``makers.neb(...)``, ``makers.input_order(...)`` and
``makers.for_interfaces()``. Each returns jobs whose outputs are the shared documents of
``interchem.schemas`` (``RelaxedStructure``, ``MDResult``, ``NEBResult``, energies in eV), so a workflow
composes them without asking which code runs: the code-independent flow logic (gap scan -> relax ->
split -> adhesion; MD -> analysis; hops -> NEB -> report) lives once in ``workflows``. A capability a
backend lacks fails at ``make()`` with ``MissingCapabilityError`` naming calculator and capability.

Two implementations exist. Backends with an ASE calculator (CHGNet, MACE, SevenNet, EMT, CP2K through
ASE) share interchem's ASE route: ``make_makers`` is None and the default factory, registered by
``interchem.workflows.routes`` (checkpointed MD, fixed-atom BFGS, batched NEB: workflow algorithms
driving the ASE calculator, which this layer must not import), is used. VASP passes
``make_makers=calculators.vasp.makers.VaspMakers``: atomate2's VASP makers plus the task-document
readers that turn their output into the same documents.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interchem.calculators.tracked import TrackedBFGS
from interchem.errors import (
    CalculatorSettingsError,
    MissingCapabilityError,
    UnknownCalculatorError,
    UnsupportedElementsError,
)

logger = logging.getLogger(__name__)

EnergyConvention = Literal["mp2020_corrected", "gga_raw", "none"]

CAPABILITIES = frozenset(
    {
        "relax",
        "static",
        "single_points",
        "positions_relax",
        "md",
        "neb",
        "phonons",
        "elastic",
        "interstitial_sites",
        "melt_quench",
    }
)
# Spec settings that say how to load, not what to compute: left out of ``CalculatorSpec.key``.
NOT_IN_KEY = frozenset({"trusted"})
# What interchem's ASE route gives every backend with an ASE calculator.
ASE_CAPABILITIES = CAPABILITIES


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
        """Stable hash of the spec (part of the cache key of every stored calculation). ``trusted`` (how a
        model file may be loaded) does not change results, so it is not part of the key. A backend's
        ``identity`` (e.g. the SHA-256 of a model file named by path) enters it, so a different file at the
        same path is a different calculator; specs of backends without one hash as before."""
        data = self.model_dump(mode="json")
        data["settings"] = {k: v for k, v in data["settings"].items() if k not in NOT_IN_KEY}
        backend = _REGISTRY.get(self.name)
        identity = backend.identity(self) if backend is not None and backend.identity is not None else None
        if identity:
            data = {**data, "identity": identity}
        payload = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        """monty's form (how jobflow serialises a job's arguments, also with ``strict=False``)."""
        return {"@module": type(self).__module__, "@class": type(self).__name__, **self.model_dump(mode="json")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CalculatorSpec:
        return cls.model_validate({k: v for k, v in d.items() if not k.startswith("@")})

    def label(self) -> str:
        if not self.settings:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))

    def file_tag(self) -> str:
        """The name plus its model, for file names of per-model results: ``chgnet``, ``sevennet-7net-l3i5``,
        ``chgnet-finetuned`` (a model file by its stem); other settings are left out."""
        model = self.settings.get("model")
        return self.name if model is None else f"{self.name}-{PurePath(str(model)).stem}"


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
    # The calculator drives an external process (CP2K's shell): it is closed when the job that used it
    # ends (``release_calculators``), not kept for the life of the Python process.
    external_process: bool = False
    # Code-specific atomate2 makers (VASP, CP2K through atomate2, ...). None: atomate2's force-field
    # makers driving ``make_ase_calculator`` (MLIPs and any ASE calculator, DFT through ASE included).
    make_relax_maker: Callable[..., Any] | None = None
    make_static_maker: Callable[..., Any] | None = None
    # Batched single points: (spec, list of pymatgen Structures, batch_size) -> list of result dicts
    # in ``evaluate_many``'s format. None: ``evaluate_many`` evaluates one by one through ASE.
    evaluate_batch: Callable[[CalculatorSpec, list, int], list[dict[str, Any]]] | None = None
    # What the backend can do (module docstring); None: ASE_CAPABILITIES with an ASE calculator.
    capabilities: frozenset[str] | None = None
    # spec -> CalculatorMakers; None: interchem's ASE route (``interchem.workflows.routes``).
    make_makers: Callable[[CalculatorSpec], CalculatorMakers] | None = None
    # What identifies the calculator beyond its settings (a model file's content hash); enters ``key()``.
    identity: Callable[[CalculatorSpec], str | None] | None = None

    def can(self) -> frozenset[str]:
        """The capabilities this backend declares."""
        if self.capabilities is not None:
            return self.capabilities
        return ASE_CAPABILITIES if self.make_ase_calculator is not None else frozenset({"relax", "static"})

    def makers(self, spec: CalculatorSpec) -> CalculatorMakers:
        """The makers of every capability for ``spec`` (module docstring)."""
        if self.make_makers is not None:
            return self.make_makers(spec)
        if _DEFAULT_MAKERS is None:
            raise MissingCapabilityError(spec.name, "any workflow", "import interchem.workflows (the ASE route)")
        return _DEFAULT_MAKERS(spec)

    def versions(self) -> dict[str, str]:
        out = {}
        for pkg in ("interchem", "ase", "pymatgen", "atomate2", "jobflow", *self.packages):
            try:
                out[pkg] = version(pkg)
            except PackageNotFoundError:
                out[pkg] = "not installed"
        return out


_REGISTRY: dict[str, CalculatorBackend] = {}
_DEFAULT_MAKERS: Callable[[CalculatorSpec], CalculatorMakers] | None = None


class CalculatorMakers:
    """The makers of one backend for one spec (module docstring). This base raises
    ``MissingCapabilityError`` for every capability; a backend's subclass provides the ones it declares.

    Conventions: ``names`` / ``name`` set the jobs' names (they identify the calculations in the store
    and in recorded reference runs); the returned ``(jobs, output)`` pairs give every job to put in the
    flow and the reference to the document the next step reads.
    """

    def __init__(self, spec: CalculatorSpec):
        self.spec = spec

    def _missing(self, capability: str):
        raise MissingCapabilityError(self.spec.name, capability)

    def require(self, capability: str) -> CalculatorMakers:
        """Raise unless the backend declares ``capability`` (call in ``make()``, before any job exists)."""
        if capability not in get_backend(self.spec).can():
            raise MissingCapabilityError(self.spec.name, capability)
        return self

    def relax(self, fmax: float = 0.05, steps: int = 300, relax_cell: bool = True):
        """atomate2 Maker: a relaxation (cell and positions unless ``relax_cell=False``)."""
        return relax_maker(self.spec, fmax=fmax, steps=steps, relax_cell=relax_cell)

    def static(self):
        """atomate2 Maker: a single point."""
        return static_maker(self.spec)

    def input_order(self, structure):
        """The structure in the order the code writes its atoms (site indices of the outputs match it)."""
        return structure

    def for_interfaces(self) -> CalculatorMakers:
        """The makers on the electronic footing of slab and interface work (default: the same)."""
        return self

    def single_points(self, structures: list, names: list[str], label: str = "") -> tuple[list, Any]:
        """Jobs for the energies (eV) of ``structures``; output: a list of floats (or references)."""
        self._missing("single_points")

    def positions_relax(self, structure, fmax: float, steps: int, label: str = "", name: str = "") -> tuple[list, Any]:
        """Atoms move, cell and ``selective_dynamics``-fixed atoms stay; output: ``RelaxedStructure``."""
        self._missing("positions_relax")

    def md(self, structure, settings, label: str = "", name: str = ""):
        """One MD job (``MDSettings``); its output is read by ``read_md``."""
        self._missing("md")

    def read_md(self, output: Any, label: str = ""):
        """An ``MDResult`` from the output of ``md`` (run inside a job)."""
        self._missing("md")

    def md_frame_steps(self, steps: int, sample_interval: int) -> list[int]:
        """The MD steps whose frames the trajectory of ``md`` will hold, known before it runs (a run-length
        check needs them). The ASE route saves every ``sample_interval``-th step and the last one."""
        return sorted({*range(0, steps + 1, max(1, sample_interval)), steps})

    def neb(self, structure, hop: dict, settings, label: str):
        """A job or flow for one hop of ``structure`` (``NEBSettings``); output: ``NEBResult``."""
        self._missing("neb")


def set_default_makers(factory: Callable[[CalculatorSpec], CalculatorMakers]) -> None:
    """Register the shared route of backends with ``make_makers=None`` (done by ``interchem.workflows.routes``)."""
    global _DEFAULT_MAKERS
    _DEFAULT_MAKERS = factory


def calculator_makers(spec: CalculatorSpec, capability: str | None = None) -> CalculatorMakers:
    """``get_backend(spec).makers(spec)``, checked for ``capability`` when given."""
    makers = get_backend(spec).makers(spec)
    return makers.require(capability) if capability else makers


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
_CACHE_SIZE = 8
_CACHE: dict[tuple[str, int], Any] = {}  # (spec JSON, thread id) -> calculator, oldest first


def _cached_calculator(spec_json: str, thread_id: int) -> Any:
    """The cached calculator (call with the lock held); the oldest is closed when the cache is full."""
    key = (spec_json, thread_id)
    if key not in _CACHE:
        spec = CalculatorSpec.model_validate_json(spec_json)
        if len(_CACHE) >= _CACHE_SIZE:
            _close(_CACHE.pop(next(iter(_CACHE))))
        # Model banners ("CHGNet v0.3.0 initialized ...") go to the log, not to stdout where results go.
        with contextlib.redirect_stdout(io.StringIO()) as banner:
            _CACHE[key] = get_backend(spec).make_ase_calculator(spec)
        if banner.getvalue().strip():
            logger.info("%s: %s", spec.name, " | ".join(banner.getvalue().split("\n")).strip(" |"))
    return _CACHE[key]


def _close(calc: Any) -> None:
    close = getattr(calc, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:  # noqa: BLE001  (a process that died already is closed)
            logger.debug("closing %s: %s", type(calc).__name__, exc)


def release_calculators(external_only: bool = True) -> int:
    """Close and forget cached calculators: those that drive an external process (``external_only``, what
    the runner does after every job) or all of them. Returns how many were closed."""
    with _CACHE_LOCK:
        keys = [
            key
            for key in _CACHE
            if not external_only or get_backend(CalculatorSpec.model_validate_json(key[0])).external_process
        ]
        calcs = [_CACHE.pop(key) for key in keys]
    for calc in calcs:
        _close(calc)
    return len(calcs)


atexit.register(release_calculators, False)  # no CP2K shell outlives the Python process that started it


def ase_calculator(spec: CalculatorSpec | dict | str | None = None, cached: bool = True) -> Any:
    """The ASE calculator for a spec. atomate2's force-field makers call this through
    ``force_field_name={"@module": "interchem.calculators", "@callable": "ase_calculator"}``."""
    spec = CalculatorSpec.parse(spec)
    backend = check_calculator(spec)
    if backend.make_ase_calculator is None:
        raise CalculatorSettingsError(
            f"calculator {spec.name!r} runs through its own atomate2 makers, not an ASE calculator"
        )
    if not cached:
        return backend.make_ase_calculator(spec)
    return cached_ase_calculator(spec)


def cached_ase_calculator(spec: CalculatorSpec) -> Any:
    """The per-thread cached calculator of a spec, without re-validating it (backends that read their
    own model, e.g. for its element list, call this from their validation)."""
    with _CACHE_LOCK:
        return _cached_calculator(spec.model_dump_json(), threading.get_ident())


def relax_maker(spec: CalculatorSpec, fmax: float = 0.05, steps: int = 300, relax_cell: bool = True):
    """An atomate2 Maker that relaxes positions (and cell) with this calculator.

    Force fields and ASE calculators go through atomate2's ForceFieldRelaxMaker with our registry as
    the calculator factory; DFT backends (later) return atomate2's code-specific makers here.
    """
    from atomate2.forcefields.jobs import ForceFieldRelaxMaker

    backend = get_backend(spec)  # the spec was checked where it entered (Maker or CLI)
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
        optimizer_kwargs={"optimizer": TrackedBFGS},
        # Only the final structure matters for the hull; the trajectory would bloat the store.
        store_trajectory="no",
        ionic_step_data=("energy",),
    )


def static_maker(spec: CalculatorSpec):
    """An atomate2 Maker for a single point (energy, forces, stress) with this calculator."""
    from atomate2.forcefields.jobs import ForceFieldStaticMaker

    backend = get_backend(spec)  # the spec was checked where it entered (Maker or CLI)
    if backend.make_static_maker is not None:
        return backend.make_static_maker(spec)
    return ForceFieldStaticMaker(
        name=f"static {spec.label()}",
        force_field_name={"@module": "interchem.calculators", "@callable": "ase_calculator"},
        calculator_kwargs={"spec": spec.model_dump(mode="json")},
        store_trajectory="no",
        ionic_step_data=("energy",),
    )


def evaluate_many(
    structures: Iterable[Any], spec: CalculatorSpec | dict | str | None = None, batch_size: int = 16
) -> list[dict[str, Any]]:
    """Single points (energy, forces, stress) of many structures with one calculator.

    ``structures``: pymatgen ``Structure`` or ASE ``Atoms`` objects (mixed is fine). Every element of
    every structure is checked against the calculator first, so an element it cannot treat raises
    ``UnsupportedElementsError`` before anything is evaluated. An empty input gives an empty list.

    Backends that declare ``evaluate_batch`` evaluate ``batch_size`` structures per model call: today
    only CHGNet, through ``CHGNet.predict_structure(..., task="efs", batch_size=...)`` on the same
    model object the ASE calculator holds, in calls of at most ``MAX_BATCH_ATOMS`` atoms (memory). Every
    other calculator (MACE, EMT, CP2K, ...) falls back to one-by-one ASE evaluation with
    ``ase_calculator(spec)``; ``batch_size`` is then ignored.

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
        results: list[dict[str, Any]] = []
        for chunk in atom_limited_chunks([_as_structure(item) for item in items], MAX_BATCH_ATOMS):
            results += backend.evaluate_batch(spec, chunk, batch_size)
        return results
    return [_evaluate_one_ase(spec, item) for item in items]


# Atoms per batched model call. CHGNet's graphs (bonds and three-body angles) take ~4 MB per atom of an
# oxide interface: nine 612-atom Li15Si4|LLZO gap-scan cells in one call were killed at 21 GB of 24.
MAX_BATCH_ATOMS = 1500


def atom_limited_chunks(structures: list, max_atoms: int) -> list[list]:
    """Consecutive chunks of ``structures`` of at most ``max_atoms`` atoms each (a larger structure alone)."""
    chunks: list[list] = []
    size = 0
    for s in structures:
        if not chunks or size + len(s) > max_atoms:
            chunks.append([])
            size = 0
        chunks[-1].append(s)
        size += len(s)
    return chunks


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
    stress = (
        np.array(atoms.get_stress(), dtype=float) if "stress" in getattr(calc, "implemented_properties", ()) else None
    )
    atoms.calc = None
    return {"energy": energy, "energy_per_atom": energy / len(atoms), "forces": forces, "stress": stress}


def registered_backends() -> dict[str, CalculatorBackend]:
    """Every registered backend by name (a copy: registration goes through ``register``)."""
    return dict(_REGISTRY)
