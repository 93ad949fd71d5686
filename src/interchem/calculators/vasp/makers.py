"""``VaspMakers``: what the ``vasp`` backend provides for each capability (``calculators.registry``).

atomate2's VASP makers do the calculations; this module's readers turn their task documents into the
documents every workflow reads (``interchem.schemas``): single points are VASP jobs whose
``output.energy`` is passed on, positions-only relaxations are fixed-cell VASP relaxations read by
``interfaces.vasp_relaxed``, MD is atomate2's VASP MD job read by ``md.vasp_md_result``, and a NEB is
``neb.vasp_neb_flow`` (endpoints -> fixed-cell relaxations -> IDPP images -> atomate2 NEB -> collate).
Phonons are not declared: atomate2's VASP phonon flow is not wired here (``MissingCapabilityError``).
"""

from __future__ import annotations

from typing import Any

from interchem.calculators.registry import CalculatorMakers
from interchem.calculators.vasp import interfaces as vasp_interfaces

VASP_CAPABILITIES = frozenset({"relax", "static", "single_points", "positions_relax", "md", "neb"})

# interchem's MD ensembles -> atomate2's VASP MD ensembles (VASP's own thermostats).
_ENSEMBLES = {"nvt-langevin": "nvt", "nvt-bussi": "nvt", "nve": "nve", "npt-berendsen": "npt"}


class VaspMakers(CalculatorMakers):
    """atomate2's VASP makers plus the task-document readers (module docstring)."""

    def input_order(self, structure):
        # VASP input sets write the atoms sorted by electronegativity: sort first (site properties
        # follow) so that the indices of every output match the input's.
        return vasp_interfaces.sort_like_vasp(structure)

    def for_interfaces(self) -> VaspMakers:
        """One electronic footing for bulk cells, slabs and interfaces (``INTERFACE_ELECTRONIC_INCAR``)."""
        return VaspMakers(vasp_interfaces.interface_spec(self.spec))

    def single_points(self, structures: list, names: list[str], label: str = "") -> tuple[list, Any]:
        maker = vasp_interfaces.single_point_maker(self.spec)
        jobs = []
        for structure, name in zip(structures, names):
            j = maker.make(structure)
            j.name = name
            jobs.append(j)
        return jobs, [j.output.output.energy for j in jobs]

    def positions_relax(self, structure, fmax: float, steps: int, label: str = "", name: str = "") -> tuple[list, Any]:
        relax = vasp_interfaces.relax_maker(self.spec, fmax, steps).make(structure)
        relax.name = name or f"relax {label}".strip()
        read = vasp_interfaces.vasp_relaxed(relax.output, structure, self.spec, label=label)
        read.name = relax.name.replace("relax", "relaxed", 1)
        return [relax, read], read.output

    def md(self, structure, settings, label: str = "", name: str = ""):
        from interchem.calculators.vasp.inputs import make_md_maker

        # The job keeps atomate2's name ("VASP MD nvt 600 K"): recorded VASP runs are found by it.
        return make_md_maker(
            self.spec,
            temperature=settings.temperature_K,
            steps=settings.steps,
            timestep=settings.timestep_fs,
            ensemble=_ENSEMBLES[settings.ensemble],
            end_temperature=settings.end_temperature_K,
        ).make(structure)

    def read_md(self, output: Any, label: str = ""):
        from interchem.calculators.vasp.md import vasp_md_result
        from interchem.schemas import MDResult

        return output if isinstance(output, MDResult) else vasp_md_result(output, label=label)

    def md_frame_steps(self, steps: int, sample_interval: int) -> list[int]:
        """VASP writes every ionic step to vasprun.xml (``vasp_md_result`` numbers them from 0)."""
        return list(range(steps))

    def neb(self, structure, hop: dict, settings, label: str):
        from interchem.calculators.vasp.neb import vasp_neb_flow

        return vasp_neb_flow(structure, hop, self.spec, settings, label)
