"""Interface MD: NVT MD of a built interface with the calculator's MD maker, then the reactivity
analysis along the frames (Li profile, bonds across the interface, product-like environments), for any
backend whose MD output its ``read_md`` reads (interchem's ``MDResult`` or atomate2's VASP task document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Maker, job
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from interchem.analysis.interfaces import ReactivityAnalysis, analyse_reactivity
from interchem.calculators import CalculatorSpec, calculator_makers
from interchem.errors import InterfaceError
from interchem.workflows.common import resolve_calculator


class InterfaceMDResult(BaseModel):
    label: str
    md_key: str
    temperature_K: float
    steps: int
    timestep_fs: float
    n_atoms: int
    calculator: dict[str, Any]
    level_of_theory: str
    reactivity: ReactivityAnalysis
    trajectory_uuid: str = Field(description="uuid of the MD job: its trajectory is in the data store")
    # the partners and the cell's make-up: what the thermodynamic screen is asked about (its reaction at
    # this anode fraction) when the report compares what formed with what should form
    anode_phase: str | None = None
    electrolyte_phase: str | None = None
    x_anode: float | None = Field(default=None, description="atom fraction of anode atoms in the cell")


@job(name="interface reactivity")
def analyse_interface_md(
    md_output: Any,
    structure: Structure,
    label: str,
    md_uuid: str,
    calculator: CalculatorSpec,
    partners: dict[str, str] | None = None,
) -> InterfaceMDResult:
    """Reactivity time series from the MD job's trajectory (loaded from the data store by jobflow), read
    by the calculator's makers (``read_md``: interchem's ``MDResult`` or atomate2's VASP task document)."""
    from interchem.workflows.md import cartesian_frames

    md = calculator_makers(calculator).read_md(md_output, label=label)
    if [s.specie.symbol for s in structure] != [getattr(sp, "symbol", str(sp)) for sp in md.trajectory.species]:
        raise InterfaceError("the MD trajectory does not hold the interface's atoms in its order")
    frames, lattices = cartesian_frames(md.trajectory)
    dt = float(md.settings["timestep_fs"])
    times = [p["step"] * dt for p in md.trajectory.frame_properties]
    sides = structure.site_properties["interface_side"]
    analysis = analyse_reactivity([s.specie.symbol for s in structure], frames, lattices, sides, times)
    props = partners or structure.properties or {}
    return InterfaceMDResult(
        anode_phase=props.get("anode"),
        electrolyte_phase=props.get("electrolyte"),
        x_anode=sum(1 for side in sides if side == "anode") / len(sides),
        label=label,
        md_key=md.md_key,
        temperature_K=float(md.settings["temperature_K"]),
        steps=md.steps_done,
        timestep_fs=dt,
        n_atoms=md.n_atoms,
        calculator=md.calculator,
        level_of_theory=md.level_of_theory,
        reactivity=analysis,
        trajectory_uuid=md_uuid,
    )


@dataclass
class InterfaceMDMaker(Maker):
    """NVT MD of an interface (``interchem.workflows.md.MDMaker``: restartable, trajectory to the data
    store) followed by the reactivity analysis: Li profile along the normal, bonds per element pair
    (and across the interface), product-like environments (Li2S-, Li3P-, LiCl-, Li2O-like) per frame."""

    name: str = "interface md"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, here
    temperature_K: float = 600.0
    steps: int = 2000
    md_settings: dict[str, Any] = field(default_factory=lambda: {"sample_interval": 10})

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(self, structure: Structure, label: str = "") -> Flow:
        from interchem.workflows.md import MDMaker

        if "interface_side" not in structure.site_properties:
            raise InterfaceError(
                "interface MD needs a structure with the 'interface_side' site property (an interface built here)"
            )
        label = (
            label
            or f"{(structure.properties or {}).get('anode', '?')}|"
            f"{(structure.properties or {}).get('electrolyte', '?')}"
        )
        # The code's atom order (VASP sorts by electronegativity; site properties follow), so that the
        # trajectory's atom order is the order of 'interface_side'.
        props = structure.properties or {}
        partners = {k: props[k] for k in ("anode", "electrolyte") if k in props}
        structure = calculator_makers(self.calculator, "md").input_order(structure)
        plain = structure.copy()
        for key in list(plain.site_properties):
            plain.remove_site_property(key)
        md = MDMaker(
            calculator=self.calculator, temperature_K=self.temperature_K, steps=self.steps, md_settings=self.md_settings
        ).make(plain, label=label)
        ana = analyse_interface_md(md.output, structure, label, md.uuid, self.calculator, partners)
        ana.name = f"interface reactivity {label}"
        return Flow([md, ana], output=ana.output, name=f"{self.name} {label}")
