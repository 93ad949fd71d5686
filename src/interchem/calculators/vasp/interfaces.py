"""Interfaces and slabs with VASP: the interface workflow of ``workflows.interfaces`` as atomate2 jobs.

``InterfaceMaker(calculator="vasp")`` (and ``interchem interface A B -c vasp``) builds::

    bulk single points (anode, electrolyte) -> bulk references
    per candidate: gap single points (one per gap) -> gap scan -> fixed-cell relax -> relaxed interface
                   -> split -> single points of the two rigid parts (+ relaxes of the parts)
                   -> adhesion (``workflows.interfaces.interface_result``: the ASE route's arithmetic)
    rank interfaces

``SlabMaker(calculator="vasp")``: bulk single point -> per slab fixed-cell relax -> surface energy.

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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Flow, job

from interchem.calculators import CalculatorSpec, get_backend
from interchem.calculators.vasp.inputs import _user_incar, make_relax_maker
from interchem.calculators.vasp.md import (
    _get,  # one reader of task documents (model or stored dict)
)
from interchem.errors import InterfaceError

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from interchem.structures.interfaces import InterfaceCandidate
    from interchem.structures.surfaces import Miller, SlabInfo
    from interchem.workflows.interfaces import GapScan, RelaxedStructure

# Same electronic settings for bulk cells, interfaces and slabs (module docstring).
INTERFACE_ELECTRONIC_INCAR: dict[str, Any] = {"ISMEAR": 0, "SIGMA": 0.05}


def interface_spec(spec: CalculatorSpec | str | dict) -> CalculatorSpec:
    """The spec with ``INTERFACE_ELECTRONIC_INCAR`` under its own INCAR settings: what every job of the
    VASP interface and slab flows runs with (and the ``calculator`` their results report)."""
    spec = CalculatorSpec.parse(spec)
    settings = {**spec.settings, "user_incar_settings": {**INTERFACE_ELECTRONIC_INCAR, **_user_incar(spec)}}
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
    energy = _get(doc, "output", "energy")
    if energy is None:
        raise InterfaceError("the VASP task document has no output.energy")
    return float(energy)


def relaxed_from_task_doc(task_doc: Any, initial: Structure, calculator: dict, label: str = "") -> RelaxedStructure:
    """``RelaxedStructure`` from an atomate2 VASP relax task document and the structure the job was given
    (sorted as VASP writes it): final energy and structure, with the initial structure's site properties
    (``interface_side``, ``selective_dynamics``) and properties put back by index; first ionic step's
    energy; ``converged`` from the document's state."""
    from interchem.workflows.interfaces import RelaxedStructure

    spec = CalculatorSpec.model_validate(calculator)
    final = _structure(_get(task_doc, "output", "structure"))
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
    calcs = _get(task_doc, "calcs_reversed") or []
    steps = [step for calc in reversed(list(calcs)) for step in (_get(calc, "output", "ionic_steps") or [])]
    first = _get(steps[0], "e_0_energy") if steps else None
    energy = task_energy(task_doc)
    state = _get(task_doc, "state")
    state = None if state is None else str(getattr(state, "value", state))
    sd = initial.site_properties.get("selective_dynamics") or []
    elapsed = _get(_get(task_doc, "run_stats") or {}, "overall", "elapsed_time")
    return RelaxedStructure(
        label=label, structure=out, energy_eV=energy, initial_energy_eV=float(first) if first is not None else math.nan,
        converged=state == "successful", n_steps=len(steps), n_fixed=sum(1 for f in sd if not any(f)),
        calculator=spec.model_dump(mode="json"), level_of_theory=get_backend(spec).level_of_theory(spec),
        wall_time_s=float(elapsed) if elapsed is not None else 0.0,
    )


@job(name="bulk reference")
def vasp_bulk_reference(task_doc: Any, structure: Structure, label: str = "") -> dict[str, Any]:
    """Energy per atom of the bulk cell (the VASP single point's ``output.energy``), as ``bulk_reference``."""
    return {"label": label, "energy_per_atom_eV": task_energy(task_doc) / len(structure), "n_atoms": len(structure),
            "formula": structure.composition.reduced_formula}


def gap_scan(structure: Structure, gaps: Sequence[float], energies: Sequence[float]) -> GapScan:
    """The ``GapScan`` of ``scan_gap`` from VASP single-point energies of ``set_gap(structure, g)``."""
    from interchem.structures.interfaces import set_gap
    from interchem.workflows.interfaces import GapScan

    if len(gaps) != len(energies) or not gaps:
        raise InterfaceError(f"{len(gaps)} gaps but {len(energies)} single-point energies")
    energies = [float(e) for e in energies]
    k = int(np.argmin(energies))
    return GapScan(gaps_A=[float(g) for g in gaps], energies_eV=energies, best_gap_A=float(gaps[k]),
                   structure=set_gap(structure, gaps[k]))


@job(name="interfacial distance scan")
def vasp_gap_scan(structure: Structure, gaps: list[float], task_docs: list) -> GapScan:
    return gap_scan(structure, gaps, [task_energy(d) for d in task_docs])


@job(name="relaxed interface")
def vasp_relaxed(task_doc: Any, initial: Structure, calculator: dict, label: str = "") -> RelaxedStructure:
    return relaxed_from_task_doc(task_doc, initial, calculator, label)


@job(name="split interface")
def split_job(relaxed: RelaxedStructure) -> list[Structure]:
    """The relaxed interface's two partners, each alone in the same cell with vacuum (``split_interface``)."""
    from interchem.structures.interfaces import split_interface

    return list(split_interface(relaxed.structure))


@job(name="adhesion")
def vasp_adhesion(
    relaxed: RelaxedStructure, scan: GapScan, candidate: dict, anode_bulk: dict, electrolyte_bulk: dict, calculator: dict,
    rigid: list, separated: list | None = None,
) -> Any:
    """``InterfaceResult`` from the VASP documents: single points of the rigid parts (W_sep) and, when
    given, relaxations of the parts (W_ad); the arithmetic is ``workflows.interfaces.interface_result``."""
    from interchem.workflows.interfaces import interface_result

    spec = CalculatorSpec.model_validate(calculator)
    e_rigid = (task_energy(rigid[0]), task_energy(rigid[1]))
    if separated:
        sep = (task_energy(separated[0]), task_energy(separated[1]),
               _structure(_get(separated[0], "output", "structure")), _structure(_get(separated[1], "output", "structure")))
    else:
        sep = (*e_rigid, _structure(_get(rigid[0], "output", "structure")), _structure(_get(rigid[1], "output", "structure")))
    return interface_result(relaxed, scan, candidate, anode_bulk, electrolyte_bulk, spec, e_rigid, sep)


# --------------------------------------------------------------------------------------------------
# Flows


def _bulk_jobs(bulk: Structure, label: str, spec: CalculatorSpec) -> tuple[list, Any]:
    bulk = sort_like_vasp(bulk)
    sp = single_point_maker(spec).make(bulk)
    sp.name = f"single point bulk {label}"
    ref = vasp_bulk_reference(sp.output, bulk, label=label)
    ref.name = f"bulk reference {label}"
    return [sp, ref], ref.output


def vasp_interface_flow(
    candidates: list[InterfaceCandidate], anode_bulk: Structure, electrolyte_bulk: Structure, spec: CalculatorSpec | str | dict,
    gaps: Sequence[float], fmax: float, steps: int, relax_separated: bool = True, name: str = "interfaces",
) -> Flow:
    """The VASP version of ``InterfaceMaker.make`` (see the module docstring); output: ``InterfaceSummary``."""
    from interchem.workflows.interfaces import _candidate_meta, rank_interfaces

    spec = interface_spec(spec)
    calc = spec.model_dump(mode="json")
    static, relax = single_point_maker(spec), relax_maker(spec, fmax, steps)  # validates the spec (POTCARs)
    jobs_a, ref_a = _bulk_jobs(anode_bulk, candidates[0].anode, spec)
    jobs_e, ref_e = _bulk_jobs(electrolyte_bulk, candidates[0].electrolyte, spec)
    jobs = [*jobs_a, *jobs_e]
    results = []
    from interchem.structures.interfaces import set_gap

    for c in candidates:
        meta = _candidate_meta(c)
        label = meta["label"]
        start = sort_like_vasp(c.structure)
        points = []
        for g in gaps:
            sp = static.make(set_gap(start, g))
            sp.name = f"single point {label} gap {g:g} A"
            points.append(sp)
        scan = vasp_gap_scan(start, [float(g) for g in gaps], [p.output for p in points])
        scan.name = f"gap scan {label}"
        rlx = relax.make(scan.output.structure)
        rlx.name = f"relax interface {label}"
        relaxed = vasp_relaxed(rlx.output, scan.output.structure, calc, label=label)
        relaxed.name = f"relaxed interface {label}"
        split = split_job(relaxed.output)
        split.name = f"split interface {label}"
        rigid, sep = [], []
        for i, part in enumerate(("anode", "electrolyte")):
            r = static.make(split.output[i])
            r.name = f"single point {part} part {label}"
            rigid.append(r)
            if relax_separated:
                s = relax.make(split.output[i])
                s.name = f"relax {part} part {label}"
                sep.append(s)
        adh = vasp_adhesion(relaxed.output, scan.output, meta, ref_a, ref_e, calc, [r.output for r in rigid],
                            [s.output for s in sep] or None)
        adh.name = f"adhesion {label}"
        jobs += [*points, scan, rlx, relaxed, split, *rigid, *sep, adh]
        results.append(adh.output)
    ranked = rank_interfaces(results, calc)
    return Flow([*jobs, ranked], output=ranked.output, name=name)


@job(name="relaxed slab")
def vasp_relaxed_slab(task_doc: Any, initial: Structure, calculator: dict, label: str = "") -> RelaxedStructure:
    return relaxed_from_task_doc(task_doc, initial, calculator, label)


def vasp_slab_flow(
    bulk: Structure, miller: Miller, phase: str, slabs: list[SlabInfo], spec: CalculatorSpec | str | dict,
    fmax: float, steps: int, name: str = "slabs",
) -> Flow:
    """The VASP version of ``SlabMaker.make``: bulk single point, then per slab a fixed-cell relaxation
    (fixed bottom layers from ``selective_dynamics``) and ``surface_energy_job``."""
    from interchem.workflows.interfaces import surface_energy_job

    spec = interface_spec(spec)
    calc = spec.model_dump(mode="json")
    relax = relax_maker(spec, fmax, steps)
    jobs, ref = _bulk_jobs(bulk, phase, spec)
    outputs = []
    for slab in slabs:
        t = slab.termination
        tag = f"{phase}{tuple(miller)} {t.label}"
        start = sort_like_vasp(slab.structure)
        rlx = relax.make(start)
        rlx.name = f"relax slab {tag}"
        relaxed = vasp_relaxed_slab(rlx.output, start, calc, label=f"{phase} {t.label}")
        relaxed.name = f"relaxed slab {tag}"
        info = {"phase": phase, "miller": tuple(miller), "termination": t.label, "opposite_termination": t.opposite_label,
                "symmetric": t.symmetric, "polar": t.polar, "note": t.note}
        gamma = surface_energy_job(relaxed.output, ref, info)
        gamma.name = f"surface energy {tag}"
        jobs += [rlx, relaxed, gamma]
        outputs.append(gamma.output)
    return Flow(jobs, output=outputs, name=f"{name} {phase}{tuple(miller)}")
