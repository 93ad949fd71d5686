"""VASP in the calculator registry, through atomate2's Materials-Project-compatible VASP makers.

``-c vasp`` relaxes with atomate2's ``MPGGARelaxMaker`` (pymatgen ``MPRelaxSet``: PBE / PBE+U, ENCUT
520 eV, MP's POTCAR choices and U values), single points with ``MPGGAStaticMaker`` (``MPStaticSet``) and
molecular dynamics with atomate2's ``MDMaker`` on MP's settings (``make_md_maker``). Energies from these
sets are raw GGA(+U) energies on MP's footing, so ``interchem.entries`` applies MP2020 to them
(energy convention ``gga_raw``) and they combine with Materials Project data.

Spec settings (anything else is rejected by the registry):

* ``input_set`` -- ``"MPRelaxSet"`` (the only one: MP's GGA/GGA+U set, what MP2020 was fitted on).
* ``potcar_functional`` -- POTCAR family; default ``"PBE"``, which is what ``MPRelaxSet`` uses (MP's
  legacy PBE POTCARs). ``PBE_52`` / ``PBE_54`` / ``PBE_64`` are accepted and recorded in the level of
  theory (they are not MP's set: small energy shifts against MP data).
* ``user_incar_settings`` -- dict (or JSON text) of INCAR overrides applied on top of the set; settings
  that change energies are recorded in the level of theory. ``NSW`` / ``EDIFFG`` are not allowed here:
  they come from the workflow's ``steps`` / ``fmax`` (EDIFFG = -fmax, NSW = steps).
* ``user_kpoints_settings`` -- dict (or JSON text), e.g. ``{"reciprocal_density": 100}``.
* ``run_vasp_kwargs`` -- dict for atomate2's ``run_vasp`` (``vasp_cmd``, ``vasp_gamma_cmd``,
  ``max_errors``, ``handlers`` as custodian handler names or MSON dicts, ``custodian_kwargs``, ...).
* ``write_only`` -- ``True``: no POTCARs needed; jobs write their inputs with ``POTCAR.spec`` (symbols)
  instead of ``POTCAR`` and stop with a clear error instead of running VASP (see ``write_inputs``).

Where what is needed: building flows and validating specs needs POTCAR configuration only
(``PMG_VASP_PSP_DIR``, checked before any work unless ``write_only``); the VASP binary (``vasp_std``,
``vasp_gam`` or ``run_vasp_kwargs["vasp_cmd"]``) is needed only where the jobs run, i.e. on the
cluster worker (docs/vasp_on_clusters.md). There is no ASE calculator for this backend.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interchem.calculators.registry import CalculatorBackend, CalculatorSpec
from interchem.errors import CalculatorSettingsError, InterchemError

if TYPE_CHECKING:
    from pymatgen.core import Structure

INPUT_SETS = ("MPRelaxSet",)
DEFAULT_INPUT_SET = "MPRelaxSet"
# MPRelaxSet.yaml: POTCAR_FUNCTIONAL: PBE (MP's legacy PBE POTCARs, on which MP2020 was fitted).
DEFAULT_POTCAR_FUNCTIONAL = "PBE"
POTCAR_FUNCTIONALS = ("PBE", "PBE_52", "PBE_54", "PBE_64")
ALLOWED_SETTINGS = frozenset(
    {"input_set", "user_incar_settings", "user_kpoints_settings", "potcar_functional", "run_vasp_kwargs", "write_only"}
)
# Set by the workflow (fmax, steps), never by user_incar_settings.
_WORKFLOW_INCAR_KEYS = frozenset({"NSW", "EDIFFG"})
# INCAR keys that change cost, output or parallelisation but not the energy: left out of the level of theory.
_NON_ENERGY_INCAR_KEYS = frozenset(
    {
        "NCORE",
        "NPAR",
        "KPAR",
        "NSIM",
        "LPLANE",
        "LSCALU",
        "LWAVE",
        "LCHARG",
        "LAECHG",
        "LORBIT",
        "LVTOT",
        "LVHAR",
        "LELF",
        "NELM",
        "NELMIN",
        "NWRITE",
        "ISTART",
        "ICHARG",
        "ALGO",
        "LREAL",
        "KBLOCK",
        "NBLOCK",
        "MAXMIX",
        "LDAUPRINT",
    }
)


# --------------------------------------------------------------------------------------------------
# Settings


def dict_setting(spec: CalculatorSpec, name: str) -> dict[str, Any]:
    value = spec.settings.get(name)
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # from the command line: vasp:user_incar_settings={"ENCUT":600}
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise CalculatorSettingsError(f"vasp setting {name} is not a JSON object: {value!r} ({exc})") from None
    if not isinstance(value, dict):
        raise CalculatorSettingsError(f"vasp setting {name} must be a dict, not {type(value).__name__}")
    return dict(value)


def _input_set(spec: CalculatorSpec) -> str:
    return str(spec.settings.get("input_set", DEFAULT_INPUT_SET))


def potcar_functional(spec: CalculatorSpec) -> str:
    return str(spec.settings.get("potcar_functional", DEFAULT_POTCAR_FUNCTIONAL))


def user_incar(spec: CalculatorSpec) -> dict[str, Any]:
    return {str(k).upper(): v for k, v in dict_setting(spec, "user_incar_settings").items()}


def write_only(spec: CalculatorSpec) -> bool:
    value = spec.settings.get("write_only", False)
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.lower(), value)
    if not isinstance(value, bool):
        raise CalculatorSettingsError(f"vasp setting write_only must be true or false, not {value!r}")
    return value


def psp_dir() -> str | None:
    """POTCAR directory as pymatgen sees it (~/.pmgrc.yaml, loaded at import) or the environment."""
    from pymatgen.core import SETTINGS

    return SETTINGS.get("PMG_VASP_PSP_DIR") or os.environ.get("PMG_VASP_PSP_DIR") or None


def _check_potcars(spec: CalculatorSpec) -> None:
    from pymatgen.core import SETTINGS
    from pymatgen.io.vasp.inputs import POTCAR_FUNCTIONAL_MAP

    folder = psp_dir()
    hint = (
        "configure pymatgen's POTCAR library first (`pmg config -p <VASP POTCAR folders> <target>` then "
        "`pmg config --add PMG_VASP_PSP_DIR <target>`, or export PMG_VASP_PSP_DIR=<target>), "
        "or use the setting write_only=true to only write inputs with POTCAR.spec"
    )
    if not folder:
        raise CalculatorSettingsError(f"calculator 'vasp' needs POTCARs but PMG_VASP_PSP_DIR is not set: {hint}")
    root = Path(os.path.expandvars(str(folder))).expanduser()
    if not root.is_dir():
        raise CalculatorSettingsError(f"PMG_VASP_PSP_DIR={str(root)!r} is not a folder: {hint}")
    functional = potcar_functional(spec)
    sub = SETTINGS.get("PMG_VASP_PSP_SUB_DIRS", {}).get(functional, POTCAR_FUNCTIONAL_MAP[functional])
    if not (root / sub).is_dir():
        raise CalculatorSettingsError(
            f"PMG_VASP_PSP_DIR={str(root)!r} has no {sub}/ folder for potcar_functional={functional!r}: {hint}"
        )


def validate(spec: CalculatorSpec) -> None:
    """Check every setting, and (unless write_only) that POTCARs are configured, before any work."""
    if _input_set(spec) not in INPUT_SETS:
        raise CalculatorSettingsError(
            f"vasp input_set {_input_set(spec)!r} is not supported; use one of {', '.join(INPUT_SETS)} "
            "(MP's GGA/GGA+U set, which MP2020 corrections are fitted to)"
        )
    if potcar_functional(spec) not in POTCAR_FUNCTIONALS:
        raise CalculatorSettingsError(
            f"vasp potcar_functional {potcar_functional(spec)!r} is not one of {', '.join(POTCAR_FUNCTIONALS)}"
        )
    clash = sorted(_WORKFLOW_INCAR_KEYS & set(user_incar(spec)))
    if clash:
        raise CalculatorSettingsError(
            f"vasp user_incar_settings may not set {', '.join(clash)}: the workflow sets EDIFFG = -fmax and "
            "NSW = steps (use --fmax / --steps)"
        )
    dict_setting(spec, "user_kpoints_settings")
    _run_vasp_kwargs(spec)
    if not write_only(spec):
        _check_potcars(spec)


def supported_elements(spec: CalculatorSpec) -> frozenset[str]:
    """Elements with a POTCAR symbol in the input set's mapping (MPRelaxSet.yaml POTCAR)."""
    from pymatgen.io.vasp.sets import MPRelaxSet

    return frozenset(MPRelaxSet.CONFIG["POTCAR"])


def level_of_theory(spec: CalculatorSpec) -> str:
    """E.g. ``VASP PBE(+U) (MP input set MPRelaxSet, POTCAR PBE)``; energy-relevant overrides are appended
    so that entries of different set-ups never share a hull."""
    extras = []
    energy_incar = {k: v for k, v in sorted(user_incar(spec).items()) if k not in _NON_ENERGY_INCAR_KEYS}
    if energy_incar:
        extras.append("INCAR " + json.dumps(energy_incar, sort_keys=True, separators=(",", ":"), default=str))
    kpoints = dict_setting(spec, "user_kpoints_settings")
    if kpoints:
        extras.append("KPOINTS " + json.dumps(kpoints, sort_keys=True, separators=(",", ":"), default=str))
    tail = "".join(f"; {e}" for e in extras)
    return f"VASP PBE(+U) (MP input set {_input_set(spec)}, POTCAR {potcar_functional(spec)}{tail})"


# --------------------------------------------------------------------------------------------------
# run_vasp kwargs: JSON in the spec -> custodian objects for atomate2


def _run_vasp_kwargs(spec: CalculatorSpec) -> dict[str, Any]:
    import inspect

    from atomate2.vasp.run import run_vasp
    from monty.json import MontyDecoder

    kwargs = dict_setting(spec, "run_vasp_kwargs")
    allowed = set(inspect.signature(run_vasp).parameters)
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise CalculatorSettingsError(
            f"vasp run_vasp_kwargs has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    for key, module in (("handlers", "custodian.vasp.handlers"), ("validators", "custodian.vasp.validators")):
        if key in kwargs and kwargs[key] is not None:
            kwargs[key] = [_custodian_object(item, module) for item in kwargs[key]]
    return MontyDecoder().process_decoded(kwargs)


def _custodian_object(item: Any, module: str) -> Any:
    import importlib

    from monty.json import MontyDecoder

    if isinstance(item, str):  # a class name, e.g. "VaspErrorHandler"
        cls = getattr(importlib.import_module(module), item, None)
        if cls is None:
            raise CalculatorSettingsError(f"{module} has no {item!r}")
        return cls()
    if isinstance(item, dict):
        return MontyDecoder().process_decoded(item)
    return item


# --------------------------------------------------------------------------------------------------
# Makers


def _set_kwargs(spec: CalculatorSpec, incar: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments shared by the input sets (as in atomate2's MP makers)."""
    return {
        "user_incar_settings": {**(incar or {}), **user_incar(spec)},
        "user_kpoints_settings": dict_setting(spec, "user_kpoints_settings"),
        "user_potcar_functional": potcar_functional(spec),
    }


def maker_kwargs(spec: CalculatorSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    run_kwargs = _run_vasp_kwargs(spec)
    if run_kwargs:
        kwargs["run_vasp_kwargs"] = run_kwargs
    if write_only(spec):
        kwargs["write_input_set_kwargs"] = {"potcar_spec": True}
    return kwargs


def make_relax_maker(spec: CalculatorSpec, fmax: float = 0.05, steps: int = 300, relax_cell: bool = True):
    """atomate2 ``MPGGARelaxMaker`` on ``MPRelaxSet``: IBRION 2, ISIF 3 (2 without cell relaxation),
    EDIFFG = -fmax (eV/Å), NSW = steps."""
    from atomate2.vasp.jobs.mp import MPGGARelaxMaker
    from pymatgen.io.vasp.sets import MPRelaxSet

    validate(spec)
    incar = {"EDIFFG": -abs(float(fmax)), "NSW": int(steps), "IBRION": 2, "ISIF": 3 if relax_cell else 2}
    generator = MPRelaxSet(force_gamma=True, auto_metal_kpoints=True, inherit_incar=False, **_set_kwargs(spec, incar))
    cls = _write_only_cls() if write_only(spec) else MPGGARelaxMaker
    return cls(name="MP GGA relax", input_set_generator=generator, **maker_kwargs(spec))


def make_static_maker(spec: CalculatorSpec):
    """atomate2 ``MPGGAStaticMaker`` on ``MPStaticSet`` (NSW 0, ISMEAR -5, reciprocal density 100)."""
    from atomate2.vasp.jobs.mp import MPGGAStaticMaker
    from pymatgen.io.vasp.sets import MPStaticSet

    validate(spec)
    generator = MPStaticSet(force_gamma=True, auto_metal_kpoints=True, inherit_incar=False, **_set_kwargs(spec))
    cls = _write_only_cls() if write_only(spec) else MPGGAStaticMaker
    return cls(name="MP GGA static", input_set_generator=generator, **maker_kwargs(spec))


def make_md_maker(
    spec: CalculatorSpec | str | dict,
    temperature: float = 300.0,
    steps: int = 1000,
    timestep: float = 2.0,
    *,
    ensemble: str = "nvt",
    end_temperature: float | None = None,
    user_incar_settings: dict[str, Any] | None = None,
    user_kpoints_settings: dict[str, Any] | None = None,
):
    """atomate2 ``MDMaker`` on MP's PBE(+U) settings (MPRelaxSet's INCAR, POTCARs and U values, ENCUT 520).

    atomate2's ``MDSetGenerator`` sets IBRION 0, NSW = steps, POTIM = timestep (fs), TEBEG = temperature,
    TEEND = end_temperature (default: temperature), ISYM 0, PREC Normal and, for ``nvt``, MDALGO 2
    (Nosé-Hoover) with SMASS 0. On top: Gaussian smearing ISMEAR 0 / SIGMA 0.05 (the tetrahedron method
    of the relax set needs >= 4 k-points) and a Gamma-only k-mesh (MD cells are supercells) unless the
    ``user_kpoints_settings`` argument says otherwise (the spec's k-point setting is for bulk relax/static
    cells and is not used here). ``user_incar_settings`` here are applied after the spec's. ``ensemble``:
    ``nvt`` (default), ``nve`` or ``npt`` (atomate2's Langevin NPT, ISIF 3).
    """
    # Long by intent (~60 lines): one atomate2 input-set generator, its settings spelled out in one place.
    from atomate2.vasp.jobs.md import MDMaker
    from atomate2.vasp.sets.core import MDSetGenerator
    from pymatgen.io.vasp.inputs import Kpoints
    from pymatgen.io.vasp.sets import MPRelaxSet

    from interchem.calculators.registry import check_calculator

    spec = CalculatorSpec.parse(spec)
    check_calculator(spec)
    if spec.name != "vasp":
        raise CalculatorSettingsError(f"make_md_maker needs a vasp spec, not {spec.name!r}")
    if ensemble.lower() not in ("nvt", "nve", "npt"):
        raise CalculatorSettingsError(f"VASP MD ensemble {ensemble!r} is not one of nvt, nve, npt")
    extra = {k.upper(): v for k, v in (user_incar_settings or {}).items()}
    incar = {"ISMEAR": 0, "SIGMA": 0.05, **user_incar(spec), **extra}
    kpoints = user_kpoints_settings or Kpoints.gamma_automatic()
    generator = MDSetGenerator(
        config_dict=MPRelaxSet.CONFIG,
        ensemble=ensemble.lower(),
        start_temp=float(temperature),
        end_temp=float(temperature if end_temperature is None else end_temperature),
        nsteps=int(steps),
        time_step=float(timestep),
        user_incar_settings=incar,
        user_kpoints_settings=kpoints,
        user_potcar_functional=potcar_functional(spec),
        auto_ismear=False,
        inherit_incar=False,
    )
    kwargs = maker_kwargs(spec)
    if "run_vasp_kwargs" in kwargs:  # keep MDMaker's MD-safe handler list unless the spec names handlers
        kwargs["run_vasp_kwargs"] = {**MDMaker().run_vasp_kwargs, **kwargs["run_vasp_kwargs"]}
    if not write_only(spec):
        # Every ionic step as a pymatgen Trajectory (positions, lattice, energies, forces, stress, OSZICAR T)
        # in the task doc's vasp_objects, routed to the job store's data store (GridFS on MongoDB): what
        # the diffusion analysis reads (calculators.vasp.md). "full" would add every ionic step's electronic
        # steps, which nothing here uses; set explicitly so that an atomate2 default change cannot drop it.
        from emmet.core.types.enums import StoreTrajectoryOption

        kwargs["task_document_kwargs"] = {"store_trajectory": StoreTrajectoryOption.PARTIAL}
    cls = _write_only_cls() if write_only(spec) else MDMaker
    return cls(name=f"VASP MD {ensemble.lower()} {temperature:g} K", input_set_generator=generator, **kwargs)


def write_inputs(maker: Any, structure: Structure, directory: str | Path, potcar_spec: bool | None = None) -> Path:
    """Write the inputs a VASP maker's job would write (INCAR, KPOINTS, POSCAR, POTCAR or POTCAR.spec) to
    ``directory`` without running anything. ``potcar_spec`` defaults to True when no POTCAR library is
    configured (or the maker is a write-only maker)."""
    from atomate2 import SETTINGS as ATOMATE2_SETTINGS

    if potcar_spec is None:
        potcar_spec = bool(maker.write_input_set_kwargs.get("potcar_spec")) or not psp_dir()
    directory = Path(directory)
    inputs = maker.input_set_generator.get_input_set(structure, potcar_spec=potcar_spec)
    inputs["INCAR"].update(ATOMATE2_SETTINGS.VASP_INCAR_UPDATES)  # as atomate2's write_vasp_input_set
    inputs.write_input(str(directory))
    return directory


def _write_only_maker_class() -> type:
    """``WriteOnlyVaspMaker``: stand-in for an atomate2 VASP maker when ``write_only=true``. Same input set
    generator and job name, but the job writes the inputs with POTCAR.spec into its folder and stops with
    a clear error instead of running VASP without POTCARs.

    Built on first use (module ``__getattr__``) so that importing the registry imports neither jobflow
    nor atomate2.vasp (seconds); ``interchem.calculators.vasp.inputs.WriteOnlyVaspMaker`` resolves it, so monty/jobflow
    serialisation by module and class name works."""
    from jobflow import Maker, job

    @dataclass
    class WriteOnlyVaspMaker(Maker):
        name: str = "VASP inputs only"
        input_set_generator: Any = None
        write_input_set_kwargs: dict = field(default_factory=lambda: {"potcar_spec": True})
        run_vasp_kwargs: dict = field(default_factory=dict)  # kept for inspection; never used

        @job
        def make(self, structure: Structure, prev_dir: str | Path | None = None):
            directory = write_inputs(self, structure, Path.cwd(), potcar_spec=True)
            raise InterchemError(
                f"vasp write_only=true: inputs written to {directory} (POTCAR.spec instead of POTCAR); VASP "
                "was not run. Run with write_only=false where POTCARs and VASP are available."
            )

    return publish_maker_class(WriteOnlyVaspMaker, __name__, "WriteOnlyVaspMaker")


def publish_maker_class(cls: type, module: str, name: str) -> type:
    """Name a Maker class built at run time after the module that serves it (``module.name``, resolved by
    that module's ``__getattr__``), and its ``make`` job function too: jobflow and monty serialise both by
    module and qualified name."""
    cls.__module__, cls.__qualname__ = module, name
    for fn in (cls.make, getattr(cls.make, "original", None)):
        if fn is not None:
            fn.__module__, fn.__qualname__ = module, f"{name}.make"
    return cls


def _write_only_cls() -> type:
    if "WriteOnlyVaspMaker" not in globals():
        globals()["WriteOnlyVaspMaker"] = _write_only_maker_class()
    return globals()["WriteOnlyVaspMaker"]


def __getattr__(name: str) -> Any:
    if name == "WriteOnlyVaspMaker":
        return _write_only_cls()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Registered by ``calculators.vasp`` together with its makers (``makers.VaspMakers``).
BACKEND = CalculatorBackend(
    name="vasp",
    description="VASP via atomate2's MP makers (MPRelaxSet/MPStaticSet PBE(+U); POTCARs, VASP on the worker)",
    energy_convention=lambda spec: "gga_raw",
    level_of_theory=level_of_theory,
    supported_elements=supported_elements,
    make_ase_calculator=None,
    validate=validate,
    packages=("custodian", "emmet-core"),
    allowed_settings=ALLOWED_SETTINGS,
    is_dft=True,
    make_relax_maker=make_relax_maker,
    make_static_maker=make_static_maker,
)
