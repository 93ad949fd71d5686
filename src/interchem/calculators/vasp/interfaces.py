"""Slabs and interfaces with VASP: the makers and task-document readers behind ``VaspMakers``'
``for_interfaces()`` route (``calculators.vasp.makers``).

The flow itself is code-independent and lives once in ``workflows.interfaces`` (bulk references, gap
scan, fixed-cell relaxation, split, single points and relaxations of the parts, adhesion, ranking). With
VASP each single point is one VASP job (``single_point_maker``, named as the flow names it: "single point
bulk Li", "single point Li|LiCl ... gap 2.5 A", ...) and each positions-only relaxation is a VASP job
(``relax_maker``) followed by ``vasp_relaxed``, which reads the task document back into a
``RelaxedStructure``.

Every VASP job is atomate2's ``MPGGARelaxMaker`` on ``MPRelaxSet`` (``calculators.vasp.inputs.make_relax_maker``) with
ISIF 2 (atoms move, the cell stays: the in-plane cell is the substrate's and the vacuum must stay),
EDIFFG = -fmax, NSW = steps; single points are the same maker with NSW 0. Fixed bottom layers are the
structure's ``selective_dynamics`` site property, which pymatgen writes into the POSCAR ("Selective
dynamics", F F F for fixed atoms). An unconverged relaxation does not stop the flow
(``handle_unsuccessful=False``): the result carries ``converged=False``, as the ASE route does.

One electronic footing for every energy that is subtracted (``INTERFACE_ELECTRONIC_INCAR``): W_ad and
W_sep subtract single points from relaxations, and the surface energies subtract bulk single points
from slab energies, so bulk cells, interfaces and slabs all use one input set (MPRelaxSet: PBE(+U),
ENCUT 520, PREC Accurate, LREAL Auto, MP's POTCARs, Gamma-centred k-points at 64 per A^-3, one
k-point along the vacuum of a slab) with Gaussian smearing ISMEAR 0 / SIGMA 0.05 in all of them:
MPRelaxSet's tetrahedron method (ISMEAR -5) is wrong for the metallic slabs (Li, lithiated Si) and
needs >= 4 k-points, which slabs with vacuum do not have along c; MP's static set (``MPStaticSet``:
LREAL False, 100 k-points per A^-3, ISMEAR -5) is not used for the bulk references for the same reason,
it would put the bulk on another footing than the slabs. No dipole correction (LDIPOL/IDIPOL unset):
the MLIP and CP2K routes have none, and a correction switched on for the asymmetric interface would
have to be on for the split parts and off for the bulk, i.e. not one footing; with the builder's
12 A of vacuum the spurious dipole interaction of these neutral, mostly metallic models is small. A
spec's ``user_incar_settings`` (e.g. ``{"LDIPOL": true, "IDIPOL": 3}``) apply to every job alike.

Atom order: VASP input sets sort the atoms by electronegativity, so interfaces and slabs are sorted
here first (site properties follow), and the relaxed structure read back from the task document is in
the same order: ``interface_side`` and ``selective_dynamics`` are put back on it by index.

``write_only=true``: the first VASP jobs (bulk single points, gap single points) write their inputs
with POTCAR.spec and stop the flow with the write-only error; the relax inputs of a given structure are
written with ``calculators.vasp.inputs.write_inputs(relax_maker(spec, fmax, steps), structure, folder)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from jobflow import job

from interchem.calculators.registry import CalculatorSpec, get_backend
from interchem.calculators.vasp.inputs import make_relax_maker, user_incar
from interchem.errors import InterfaceError
from interchem.schemas import RelaxedStructure, task_field

if TYPE_CHECKING:
    from pymatgen.core import Structure

# Same electronic settings for bulk cells, interfaces and slabs (module docstring).
INTERFACE_ELECTRONIC_INCAR: dict[str, Any] = {"ISMEAR": 0, "SIGMA": 0.05}


def interface_spec(spec: CalculatorSpec | str | dict) -> CalculatorSpec:
    """The spec with ``INTERFACE_ELECTRONIC_INCAR`` under its own INCAR settings: what every job of the
    VASP interface and slab flows runs with (and the ``calculator`` their results report)."""
    spec = CalculatorSpec.parse(spec)
    settings = {**spec.settings, "user_incar_settings": {**INTERFACE_ELECTRONIC_INCAR, **user_incar(spec)}}
    return CalculatorSpec(name=spec.name, settings=settings)


def relax_maker(spec: CalculatorSpec | str | dict, fmax: float, steps: int):
    """Fixed-cell (ISIF 2) relaxation on the interface footing; ``steps=0``: a single point (NSW 0).
    An unconverged run is reported (``converged=False``) instead of stopping the flow."""
    maker = make_relax_maker(interface_spec(spec), fmax=fmax, steps=steps, relax_cell=False)
    maker.name = "VASP single point" if steps == 0 else "VASP relax (fixed cell)"
    if steps == 0:  # NSW 0: no ionic criterion to write
        maker.input_set_generator.user_incar_settings.pop("EDIFFG", None)
    if hasattr(maker, "stop_children_kwargs"):  # not on the write-only maker
        maker.stop_children_kwargs = {"handle_unsuccessful": False}
    return maker


def single_point_maker(spec: CalculatorSpec | str | dict):
    return relax_maker(spec, fmax=0.05, steps=0)


def sort_like_vasp(structure: Structure) -> Structure:
    """The structure in the order the VASP input sets write it (pymatgen's stable electronegativity
    sort), site properties and properties kept: sorting again is a no-op, so indices match the POSCAR."""
    return structure.get_sorted_structure()


# --------------------------------------------------------------------------------------------------
# Task documents -> interchem models


def _structure(value: Any) -> Structure:
    from pymatgen.core import Structure

    if isinstance(value, Structure):
        return value
    if value is None:
        raise InterfaceError("the VASP task document has no output.structure")
    return Structure.from_dict(dict(value))


def task_energy(doc: Any) -> float:
    """``output.energy`` of an atomate2 VASP task document (model or stored dict)."""
    energy = task_field(doc, "output", "energy")
    if energy is None:
        raise InterfaceError("the VASP task document has no output.energy")
    return float(energy)


def relaxed_from_task_doc(
    task_doc: Any, initial: Structure, calculator: CalculatorSpec, label: str = ""
) -> RelaxedStructure:
    """``RelaxedStructure`` from an atomate2 VASP relax task document and the structure the job was given
    (sorted as VASP writes it): final energy and structure, with the initial structure's site properties
    (``interface_side``, ``selective_dynamics``) and properties put back by index; first ionic step's
    energy; ``converged`` from the document's state."""
    spec = calculator if isinstance(calculator, CalculatorSpec) else CalculatorSpec.model_validate(calculator)
    final = _structure(task_field(task_doc, "output", "structure"))
    if [s.species_string for s in final] != [s.species_string for s in initial]:
        raise InterfaceError(
            f"{label or 'relaxation'}: the VASP output holds the atoms in another order than the input "
            "(was the structure sorted as the input set writes it?)"
        )
    out = final.copy()
    for key in list(out.site_properties):
        out.remove_site_property(key)
    for key, values in initial.site_properties.items():
        out.add_site_property(key, values)
    out.properties = dict(initial.properties or {})
    calcs = task_field(task_doc, "calcs_reversed") or []
    steps = [step for calc in reversed(list(calcs)) for step in (task_field(calc, "output", "ionic_steps") or [])]
    first = task_field(steps[0], "e_0_energy") if steps else None
    energy = task_energy(task_doc)
    state = task_field(task_doc, "state")
    state = None if state is None else str(getattr(state, "value", state))
    sd = initial.site_properties.get("selective_dynamics") or []
    elapsed = task_field(task_field(task_doc, "run_stats") or {}, "overall", "elapsed_time")
    return RelaxedStructure(
        label=label,
        structure=out,
        energy_eV=energy,
        initial_energy_eV=float(first) if first is not None else math.nan,
        converged=state == "successful",
        n_steps=len(steps),
        n_fixed=sum(1 for f in sd if not any(f)),
        calculator=spec.model_dump(mode="json"),
        level_of_theory=get_backend(spec).level_of_theory(spec),
        wall_time_s=float(elapsed) if elapsed is not None else 0.0,
    )


@job(name="relaxed structure")
def vasp_relaxed(task_doc: Any, initial: Structure, calculator: CalculatorSpec, label: str = "") -> RelaxedStructure:
    return relaxed_from_task_doc(task_doc, initial, calculator, label)
