"""Li migration barriers with VASP: climbing-image NEB through atomate2's ``NebFromImagesMaker``.

``BarrierMaker(calculator="vasp")`` (and ``interchem barriers PHASE -c vasp``) builds, per hop::

    endpoints -> fixed-cell relax (initial) + fixed-cell relax (final) -> IDPP images -> VASP NEB -> collate

* endpoints: ``interchem.structures.hops.build_neb_endpoints`` (the same supercells as the ASE route),
  species grouped in pymatgen's sort order so that one POTCAR order fits every image;
* relaxations: ``calculators.vasp.inputs.make_relax_maker(relax_cell=False)`` (MPRelaxSet, ISIF 2, EDIFFG =
  -endpoint_fmax, NSW = endpoint_steps); with ``relax_endpoints=False`` the same maker with NSW 0
  (a single point on the same footing, so the endpoint energies match the images');
* images: ASE's IDPP interpolation between the relaxed endpoints (as ``run_neb``);
* NEB: atomate2 ``NebFromImagesMaker`` with a ``NebSetGenerator`` on MP's footing (see
  ``make_neb_maker``); atomate2 0.1.5's ``NebFromEndpointsMaker`` is not used (broken in that release);
* collate: ``collect_vasp_neb`` turns the NEB document (emmet ``NebIntermediateImagesDoc``) and the two
  endpoint task documents into interchem's ``NEBResult``, flagged with the same reasons as ``run_neb``.

Electronic settings shared by the endpoints and the images (``NEB_ELECTRONIC_INCAR``): the barrier is a
difference between endpoint energies (relax jobs) and image energies (NEB job), so both use the same
PREC, smearing and EDIFF; Gaussian smearing (ISMEAR 0, SIGMA 0.05) because NEB supercells have few
k-points (the tetrahedron method of MPRelaxSet needs >= 4) and a neutral vacancy leaves a partly filled
band. The spec's ``user_incar_settings`` still win over these.

``write_only=true``: the NEB job writes the head INCAR/KPOINTS/POTCAR.spec and the 00..NN image folders
and stops with a clear error (``WriteOnlyVaspNebMaker``), as the other VASP makers do. Note that with
write-only makers the endpoint relaxations stop the flow first, so a write-only barrier flow run as a
whole writes the endpoint relaxation inputs; write the NEB inputs for given images with
``write_neb_inputs``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import job

from interchem.calculators.registry import CalculatorSpec
from interchem.calculators.vasp.inputs import (
    make_relax_maker,
    maker_kwargs,
    potcar_functional,
    psp_dir,
    user_incar,
    validate,
    write_only,
)
from interchem.errors import CalculatorSettingsError, HopError, InterchemError
from interchem.schemas import NEBResult, NEBSettings, band_energetics, task_field

if TYPE_CHECKING:
    from jobflow import Flow
    from pymatgen.core import Structure


# Same electronic footing for the endpoint relaxations and the NEB images (see the module docstring).
# PREC Accurate is MPRelaxSet's (atomate2's NebSetGenerator sets Normal: overridden, or the endpoint and
# image energies would come from different FFT grids); EDIFF 1e-6 is NebSetGenerator's (tight SCF for
# the NEB forces), used for the endpoints too.
NEB_ELECTRONIC_INCAR: dict[str, Any] = {"PREC": "Accurate", "ISMEAR": 0, "SIGMA": 0.05, "EDIFF": 1e-6}


def _endpoint_spec(spec: CalculatorSpec) -> CalculatorSpec:
    """The spec with ``NEB_ELECTRONIC_INCAR`` under its own INCAR settings (for the endpoint relaxes)."""
    settings = {**spec.settings, "user_incar_settings": {**NEB_ELECTRONIC_INCAR, **user_incar(spec)}}
    return CalculatorSpec(name=spec.name, settings=settings)


def neb_incar(spec: CalculatorSpec, fmax: float, steps: int) -> dict[str, Any]:
    """INCAR settings put on top of atomate2's ``NebSetGenerator.incar_updates``.

    NebSetGenerator sets ISIF 2, SPRING -5, IMAGES, PREC Normal, NSW 99, LCHARG False, EDIFF 1e-6,
    IBRION 2 and, with ``climbing_image``, LCLIMB True, IOPT 1, IBRION 3, POTIM 0. Kept: LCLIMB and
    IOPT 1 / IBRION 3 / POTIM 0 are the VTST settings for a climbing-image band (VTST's L-BFGS moves the
    images; VASP's own optimiser is switched off by POTIM 0). Climbing images need a VASP built with the
    VTST tools, as does IOPT; with ``climb=False`` atomate2 leaves IBRION 2 (conjugate gradient, plain
    VASP NEB, no VTST needed). Changed: NSW = steps, EDIFFG = -fmax (force criterion on the band),
    ``NEB_ELECTRONIC_INCAR`` (PREC Accurate as the endpoint relaxations), ISYM 0 (images have lower
    symmetry than the endpoints; symmetrised forces could hold the moving atom). SPRING stays VASP's
    -5 eV/A^2: NEBSettings.spring_constant is ASE's k (0.1 eV/A^2 by default) and is not carried over
    (pymatgen also writes SPRING as an integer, so -0.1 would become 0, i.e. no nudging). The spec's
    ``user_incar_settings`` are applied last (they may not set NSW / EDIFFG).
    """
    incar: dict[str, Any] = {**NEB_ELECTRONIC_INCAR, "ISYM": 0}
    incar.update(user_incar(spec))
    incar.update({"NSW": int(steps), "EDIFFG": -abs(float(fmax))})
    return incar


def make_neb_maker(
    spec: CalculatorSpec | str | dict,
    n_images: int,
    fmax: float = 0.05,
    steps: int = 300,
    climb: bool = True,
):
    """atomate2 ``NebFromImagesMaker`` on MP's footing: ``NebSetGenerator`` with MPRelaxSet's config
    (ENCUT 520, MP POTCARs and U values, k-point density 64 per A^-3, Gamma-centred) plus ``neb_incar``.

    An unconverged band does not stop the flow (``handle_unsuccessful=False``): the collate job flags it,
    as ``run_neb`` does. With ``write_only=true`` a ``WriteOnlyVaspNebMaker`` with the same generator."""
    from atomate2.vasp.jobs.neb import NebFromImagesMaker
    from atomate2.vasp.sets.core import NebSetGenerator
    from pymatgen.io.vasp.sets import MPRelaxSet

    spec = CalculatorSpec.parse(spec)
    if spec.name != "vasp":
        raise CalculatorSettingsError(f"make_neb_maker needs a vasp spec, not {spec.name!r}")
    validate(spec)
    generator = NebSetGenerator(
        config_dict=MPRelaxSet.CONFIG,
        num_images=int(n_images),
        climbing_image=bool(climb),
        user_incar_settings=neb_incar(spec, fmax, steps),
        user_kpoints_settings=_dict_kpoints(spec),
        user_potcar_functional=potcar_functional(spec),
        force_gamma=True,
        sort_structure=False,  # image POSCARs are written as given: the head must keep their order
        auto_ismear=False,
        inherit_incar=False,
    )
    kwargs = maker_kwargs(spec)
    name = f"VASP NEB ({'climbing image' if climb else 'plain'})"
    if write_only(spec):
        return _write_only_neb_cls()(name=name, input_set_generator=generator, **kwargs)
    base_run = NebFromImagesMaker().run_vasp_kwargs  # job_type NEB and atomate2's file names
    kwargs["run_vasp_kwargs"] = {**base_run, **kwargs.get("run_vasp_kwargs", {})}
    return NebFromImagesMaker(
        name=name, input_set_generator=generator, stop_children_kwargs={"handle_unsuccessful": False}, **kwargs
    )


def _dict_kpoints(spec: CalculatorSpec) -> dict[str, Any]:
    from interchem.calculators.vasp.inputs import dict_setting

    return dict_setting(spec, "user_kpoints_settings")


def write_neb_inputs(
    maker: Any, images: list[Structure], directory: str | Path, potcar_spec: bool | None = None
) -> Path:
    """Write what the NEB job writes before running VASP: the head INCAR/KPOINTS/POSCAR/POTCAR (or
    POTCAR.spec) from ``images[0]`` and one folder per image (00 .. NN) with its POSCAR and a copy of
    the KPOINTS (atomate2's ``kpoints_kludge`` for VASP 6). ``potcar_spec`` defaults to True when no
    POTCAR library is configured or the maker is write-only."""
    from atomate2.vasp.files import write_vasp_input_set
    from pymatgen.io.vasp import Kpoints

    if potcar_spec is None:
        potcar_spec = bool(maker.write_input_set_kwargs.get("potcar_spec")) or not psp_dir()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    maker.input_set_generator.num_images = len(images) - 2
    write_vasp_input_set(
        images[0], maker.input_set_generator, directory=directory, potcar_spec=potcar_spec, clean_prev=False
    )
    kpoints = Kpoints.from_file(directory / "KPOINTS") if (directory / "KPOINTS").exists() else None
    for i, image in enumerate(images):
        folder = directory / f"{i:02d}"
        folder.mkdir(exist_ok=True)
        image.to(filename=str(folder / "POSCAR"), fmt="poscar")
        if kpoints is not None and getattr(maker, "kpoints_kludge", True) is not False:
            kpoints.write_file(folder / "KPOINTS")
    return directory


def _write_only_neb_maker_class() -> type:
    """``WriteOnlyVaspNebMaker``: the NEB job of ``write_only=true``. Writes the NEB inputs into its folder
    and stops with a clear error. Resolves as ``interchem.calculators.vasp.neb.WriteOnlyVaspNebMaker`` (module
    ``__getattr__``) so that jobs serialise by module and class name (see calculators.vasp.inputs)."""
    from jobflow import Maker, job

    @dataclass
    class WriteOnlyVaspNebMaker(Maker):
        name: str = "VASP NEB inputs only"
        input_set_generator: Any = None
        write_input_set_kwargs: dict = field(default_factory=lambda: {"potcar_spec": True})
        run_vasp_kwargs: dict = field(default_factory=dict)  # kept for inspection; never used
        kpoints_kludge: bool = True

        @job
        def make(self, images: list[Structure], prev_dir: str | Path | None = None):
            directory = write_neb_inputs(self, images, Path.cwd(), potcar_spec=True)
            raise InterchemError(
                f"vasp write_only=true: NEB inputs for {len(images) - 2} images written to {directory} "
                "(INCAR, KPOINTS, POTCAR.spec and the 00..NN image folders); VASP was not run. Run with "
                "write_only=false where POTCARs and a VTST-enabled VASP are available."
            )

    from interchem.calculators.vasp.inputs import publish_maker_class

    return publish_maker_class(WriteOnlyVaspNebMaker, __name__, "WriteOnlyVaspNebMaker")


def _write_only_neb_cls() -> type:
    if "WriteOnlyVaspNebMaker" not in globals():
        globals()["WriteOnlyVaspNebMaker"] = _write_only_neb_maker_class()
    return globals()["WriteOnlyVaspNebMaker"]


def __getattr__(name: str) -> Any:
    if name == "WriteOnlyVaspNebMaker":
        return _write_only_neb_cls()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------
# Jobs


def sorted_endpoints(structure: Structure, hop: dict, supercell_min_length: float) -> list[Structure]:
    """``build_neb_endpoints`` with the sites of both endpoints put in pymatgen's sort order (the order
    VASP input sets write), by one permutation, so that the moving atom keeps one index and every image
    has the same species order (interstitial hops append the extra Li last)."""
    from interchem.structures.hops import Hop, build_neb_endpoints

    initial, final = build_neb_endpoints(structure, Hop.model_validate(hop), supercell_min_length=supercell_min_length)
    perm = sorted(range(len(initial)), key=lambda i: initial[i])  # Site order: electronegativity, stable
    ends = []
    for st in (initial, final):
        props = dict(st.properties)
        if "neb_moving_index" in props:
            props["neb_moving_index"] = perm.index(props["neb_moving_index"])
        new = st.__class__.from_sites([st[i] for i in perm])
        new.properties = props
        ends.append(new)
    return ends


def interpolate_images(initial: Structure | dict, final: Structure | dict, n_images: int) -> list[Structure]:
    """``n_images`` IDPP images between two endpoints (ASE ``NEB.interpolate(method="idpp")``), endpoints
    included. The final endpoint is first unwrapped to the periodic image of each atom nearest to its
    initial position (a relaxation may wrap atoms back into the cell)."""
    from ase.mep import NEB
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    initial = initial if isinstance(initial, Structure) else Structure.from_dict(initial)
    final = final if isinstance(final, Structure) else Structure.from_dict(final)
    if [s.species_string for s in initial] != [s.species_string for s in final]:
        raise HopError("NEB endpoints must hold the same atoms in the same order")
    df = final.frac_coords - initial.frac_coords
    unwrapped = initial.frac_coords + df - np.round(df)
    final = Structure(final.lattice, final.species, unwrapped, site_properties=final.site_properties)
    ends = [AseAtomsAdaptor.get_atoms(s) for s in (initial, final)]
    images = [ends[0]] + [ends[0].copy() for _ in range(int(n_images))] + [ends[1]]
    NEB(images, method="improvedtangent").interpolate(method="idpp", mic=False)
    out = []
    for atoms in images:
        st = AseAtomsAdaptor.get_structure(atoms)
        st.properties = dict(initial.properties)
        out.append(st)
    return out


def _state(doc: Any) -> str | None:
    state = task_field(doc, "state")
    return None if state is None else str(getattr(state, "value", state))


def _structure(value: Any) -> Structure | None:
    from pymatgen.core import Structure

    if value is None or isinstance(value, Structure):
        return value
    return Structure.from_dict(value)


def collect_vasp_neb(
    neb: Any,
    endpoints: list[Any],
    hop: dict | None,
    calculator: dict,
    settings: dict,
    label: str,
    relax_endpoints: bool = True,
) -> NEBResult:
    """``NEBResult`` from the VASP NEB document (``NebIntermediateImagesDoc`` or its dict: energies, images
    and state of the intermediate images) and the two endpoint task documents (``output.energy``,
    ``output.structure``, ``state``). Energies, barriers, saddle index and flags as in ``run_neb``."""
    # Long by intent (~80 lines): a linear read of the NEB and endpoint documents with their flags.
    from interchem.calculators.registry import get_backend

    t0 = time.perf_counter()
    spec = CalculatorSpec.model_validate(calculator)
    if len(endpoints) != 2:
        raise HopError(f"a VASP NEB needs two endpoint documents, got {len(endpoints)}")
    flags: list[str] = []
    end_energies = []
    end_structures = []
    for name, doc in zip(("initial", "final"), endpoints):
        energy = task_field(doc, "output", "energy")
        if energy is None:
            raise HopError(f"the {name} endpoint task document has no output.energy")
        end_energies.append(float(energy))
        end_structures.append(_structure(task_field(doc, "output", "structure")))
        if relax_endpoints and _state(doc) not in (None, "successful"):
            flags.append(
                f"{name} endpoint not relaxed to {settings.get('endpoint_fmax')} eV/A in "
                f"{settings.get('endpoint_steps')} steps (VASP state {_state(doc)})"
            )
    image_energies = [float(e) for e in (task_field(neb, "energies") or [])]
    images = [_structure(s) for s in (task_field(neb, "images") or [])]
    if not image_energies or len(images) != len(image_energies):
        raise HopError(
            f"the VASP NEB document has {len(image_energies)} image energies and {len(images)} image structures"
        )
    if None in end_structures:
        raise HopError("an endpoint task document has no output.structure")
    converged = _state(neb) == "successful"
    if not converged:
        flags.append(
            f"NEB not converged in {settings.get('steps')} steps (VASP state {_state(neb)}; force threshold "
            f"{settings.get('fmax')} eV/A)"
        )

    path_structures = [end_structures[0], *images, end_structures[1]]
    moved = _displacements(end_structures[0], end_structures[1]).max()
    if moved < 0.3:
        flags.append(f"the endpoints relaxed into the same minimum (largest displacement {moved:.2f} A)")
    energies = [end_energies[0], *image_energies, end_energies[1]]
    energetics, path_flags = band_energetics(_band_atoms(path_structures, energies))
    flags += path_flags
    path = [0.0]
    for a, b in zip(path_structures[:-1], path_structures[1:]):
        path.append(path[-1] + float(np.linalg.norm(_displacements(a, b))))

    max_force, n_steps = _band_forces_and_steps(neb)
    return NEBResult(
        label=label,
        hop=hop,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=get_backend(spec).level_of_theory(spec),
        settings=settings,
        n_atoms=len(end_structures[0]),
        **energetics,
        reaction_coordinate_A=path,
        converged=converged,
        max_force_eV_per_A=max_force,
        n_steps=n_steps,
        endpoint_energies_eV=end_energies,
        wall_time_s=time.perf_counter() - t0,  # collation only: VASP's wall time is in the task documents
        image_evaluation="one-by-one",
        flagged=bool(flags),
        flag_reason="; ".join(flags) or None,
        images=path_structures,
    )


def _band_atoms(structures: list[Structure], energies: list[float]) -> list:
    """The band as ASE images holding their energies (the forces are not read: ``fit=False``)."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    images = []
    for structure, energy in zip(structures, energies):
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = SinglePointCalculator(atoms, energy=float(energy), forces=np.zeros((len(atoms), 3)))
        images.append(atoms)
    return images


def _displacements(a: Structure, b: Structure) -> np.ndarray:
    """Per-atom Cartesian displacement a -> b under the minimum-image convention (cell of a)."""
    df = b.frac_coords - a.frac_coords
    return np.linalg.norm(a.lattice.get_cartesian_coords(df - np.round(df)), axis=1)


def _band_forces_and_steps(neb: Any) -> tuple[float, int]:
    """Largest atomic force of the last ionic step over the images (as VASP wrote it), and the number of
    ionic steps, from the per-image calculations when the document holds them; NaN and 0 otherwise."""
    forces, steps = [], 0
    for calc in task_field(neb, "calculations") or []:
        ionic = task_field(calc, "output", "ionic_steps") or []
        steps = max(steps, len(ionic))
        last = task_field(ionic[-1], "forces") if ionic else None
        if last is not None:
            forces.append(float(np.linalg.norm(np.asarray(last, float), axis=1).max()))
    return (max(forces) if forces else float("nan")), steps


@job(name="neb endpoints")
def endpoints_job(structure: Structure, hop: dict, supercell_min_length: float) -> list[Structure]:
    return sorted_endpoints(structure, hop, supercell_min_length)


@job(name="neb interpolation")
def interpolate_job(initial: Any, final: Any, n_images: int) -> list[Structure]:
    return interpolate_images(initial, final, n_images)


@job(name="collect vasp neb", data=["images"])
def collect_vasp_neb_job(
    neb: Any,
    endpoints: list,
    hop: dict | None,
    calculator: dict,
    settings: dict,
    label: str,
    relax_endpoints: bool = True,
) -> NEBResult:
    return collect_vasp_neb(neb, endpoints, hop, calculator, settings, label, relax_endpoints)


def vasp_neb_flow(
    structure: Structure, hop: dict, spec: CalculatorSpec | str | dict, settings: NEBSettings | dict, label: str
) -> Flow:
    """One hop: endpoints -> two fixed-cell VASP relaxations -> IDPP images -> VASP NEB -> ``NEBResult``."""
    from jobflow import Flow

    spec = CalculatorSpec.parse(spec)
    settings = NEBSettings.model_validate(settings)
    calc = spec.model_dump(mode="json")
    ends = endpoints_job(structure, hop, settings.supercell_min_length)
    ends.name = f"neb endpoints {label}"
    if settings.relax_endpoints:
        relax = make_relax_maker(
            _endpoint_spec(spec), fmax=settings.endpoint_fmax, steps=settings.endpoint_steps, relax_cell=False
        )
    else:  # NSW 0: a single point with the relaxation's settings
        relax = make_relax_maker(_endpoint_spec(spec), fmax=settings.endpoint_fmax, steps=0, relax_cell=False)
    if hasattr(relax, "stop_children_kwargs"):  # an unrelaxed endpoint is flagged by the collate job
        relax.stop_children_kwargs = {"handle_unsuccessful": False}
    relaxes = []
    for i, which in enumerate(("initial", "final")):
        r = relax.make(ends.output[i])
        r.name = f"relax {which} endpoint {label}"
        relaxes.append(r)
    images = interpolate_job(relaxes[0].output.structure, relaxes[1].output.structure, settings.n_images)
    images.name = f"neb interpolation {label}"
    neb_maker = make_neb_maker(spec, settings.n_images, fmax=settings.fmax, steps=settings.steps, climb=settings.climb)
    neb = neb_maker.make(images.output)
    neb.name = f"vasp neb {label}"
    collect = collect_vasp_neb_job(
        neb.output,
        [r.output for r in relaxes],
        {k: v for k, v in hop.items() if k != "members"},
        calc,
        settings.model_dump(mode="json"),
        label,
        settings.relax_endpoints,
    )
    collect.name = f"neb {label}"
    return Flow([ends, *relaxes, images, neb, collect], output=collect.output, name=f"vasp neb {label}")
