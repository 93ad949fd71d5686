"""Bulk references of slabs and interfaces: the energy per atom a surface energy is measured against.

A surface energy is only meaningful against a bulk of the same composition, the same atomic arrangement
and the same in-plane strain, treated with the same settings. So, by default (``"relaxed"``), every bulk
reference is relaxed with the same positions-only relaxation (same optimiser, fmax and step budget, cell
fixed) as the slabs cut from it: an ordered approximant whose Li sites are not a minimum (the ordered
Li6PS5Cl card) then relaxes in the bulk as it does in the slab, instead of making the slab look more
stable than its bulk (the negative surface energy of issue 15). The electrolyte film of an interface is
strained, so its reference is the same bulk strained the same way (``structures.strained``).
``"single_point"`` keeps the unrelaxed card cell (the old reference; recorded VASP tests use it).
"""

from __future__ import annotations

from typing import Any, Literal

from jobflow import job
from pymatgen.core import Structure

from interchem.calculators import CalculatorMakers, CalculatorSpec, calculator_makers
from interchem.schemas import RelaxedStructure

BulkReferenceMode = Literal["relaxed", "single_point"]


def interface_makers(spec: CalculatorSpec) -> CalculatorMakers:
    """The calculator's makers for slab and interface work (checked for both capabilities)."""
    return calculator_makers(spec, "single_points").require("positions_relax").for_interfaces()


@job(name="bulk reference")
def bulk_reference(energies: Any, structure: Structure, label: str = "", ordering: str | None = None) -> dict[str, Any]:
    """Energy per atom of a bulk reference cell: from its single point (``energies``: a list) or from its
    relaxation (a ``RelaxedStructure``), with whether it converged; ``ordering``: which ordered cell of a
    partially occupied phase it is (the same one the slabs and interfaces are cut from)."""
    if isinstance(energies, list):
        energy, converged, steps, e0, fmax_end = float(energies[0]), True, 0, float(energies[0]), None
    else:
        r = energies if isinstance(energies, RelaxedStructure) else RelaxedStructure.model_validate(energies)
        energy, converged, steps, e0, fmax_end = (
            r.energy_eV,
            r.converged,
            r.n_steps,
            r.initial_energy_eV,
            r.max_force_eV_A,
        )
    n = len(structure)
    return {
        "label": label,
        "energy_per_atom_eV": energy / n,
        "n_atoms": n,
        "formula": structure.composition.reduced_formula,
        "relaxed": not isinstance(energies, list),
        "converged": bool(converged),
        "relax_steps": int(steps),
        "max_force_eV_A": fmax_end,
        "relaxation_meV_per_atom": (e0 - energy) / n * 1000.0,
        "ordering": ordering,
    }


def bulk_reference_jobs(
    makers: CalculatorMakers,
    bulk: Structure,
    label: str,
    mode: BulkReferenceMode = "relaxed",
    fmax: float = 0.05,
    steps: int = 600,
) -> tuple[list, Any]:
    """The bulk cell (in the code's atom order) relaxed like the slabs (or its single point) and its
    reference energy per atom. An ordered cell of a partially occupied phase names its ordering
    (``properties["ordering"]``, set where it was ordered) in the reference."""
    ordering = ((bulk.properties or {}).get("ordering") or {}).get("text")
    bulk = makers.input_order(bulk)
    if mode == "single_point":
        jobs, energies = makers.single_points([bulk], [f"single point bulk {label}"], label)
    else:
        jobs, energies = makers.positions_relax(bulk, fmax, steps, label=f"bulk {label}", name=f"relax bulk {label}")
    ref = bulk_reference(energies, bulk, label=label, ordering=ordering)
    ref.name = f"bulk reference {label}"
    return [*jobs, ref], ref.output
