"""interchem's ASE route: the makers shared by every backend with an ASE calculator (CHGNet, MACE,
SevenNet, EMT, CP2K through ASE).

``calculators.registry`` describes the capabilities and the ``CalculatorMakers`` interface; a backend
without its own ``make_makers`` gets ``AseMakers`` (registered here on import of ``interchem.workflows``).
The jobs it returns are interchem's own ASE algorithms: fixed-atom FIRE+BFGS (``relax_positions``),
checkpointed MD (``md_job``), climbing-image NEB with batched images (``neb_job``) and batched single
points (``single_point_energies``). They live in ``workflows`` because they are workflow algorithms over
an ASE calculator, not calculator code; the registry cannot import them, hence the registration.
"""

from __future__ import annotations

from typing import Any

from jobflow import job
from pymatgen.core import Structure

from interchem.calculators import (
    CalculatorMakers,
    CalculatorSpec,
    evaluate_many,
    set_default_makers,
)
from interchem.schemas import MDResult, MDSettings, NEBSettings


@job(name="single points")
def single_point_energies(structures: list[Structure], calculator: CalculatorSpec) -> list[float]:
    """Total energies (eV) of ``structures`` in one job (batched where the backend batches)."""
    return [float(r["energy"]) for r in evaluate_many(structures, calculator)]


class AseMakers(CalculatorMakers):
    """Every capability through the registry's ASE calculator (see the module docstring)."""

    def single_points(self, structures: list, names: list[str], label: str = "") -> tuple[list, Any]:
        j = single_point_energies(list(structures), self.spec)
        j.name = names[0] if len(names) == 1 else f"single points {label}".strip()
        return [j], j.output

    def positions_relax(self, structure, fmax: float, steps: int, label: str = "", name: str = "") -> tuple[list, Any]:
        from interchem.workflows.relax import relax_positions

        j = relax_positions(structure, self.spec, fmax, steps, label=label)
        j.name = name or f"relax positions {label}".strip()
        return [j], j.output

    def md(self, structure, settings: MDSettings, label: str = "", name: str = ""):
        from interchem.workflows.md import md_job

        j = md_job(structure, self.spec, settings, label=label)
        if name:
            j.name = name
        return j

    def read_md(self, output: Any, label: str = "") -> MDResult:
        return output if isinstance(output, MDResult) else MDResult.model_validate(output)

    def neb(self, structure, hop: dict, settings: NEBSettings, label: str):
        from interchem.workflows.neb import neb_job

        j = neb_job(structure, hop, self.spec, settings, label)
        j.name = f"neb {label}"
        return j


set_default_makers(AseMakers)
