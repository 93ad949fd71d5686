"""Pure thermodynamic analysis on pymatgen entries: hull, stability windows, Li_xSi voltages,
interface reactions, tie-lines and the combined screen. No I/O, no calculators, no stores.

Entries must carry final energies (corrections applied by the caller); phases are named by
``entry.data["phase"]`` (fallback: reduced formula).
"""

from interchem.analysis._common import PhaseDiagramCache, find_entry, phase_name
from interchem.analysis.hull import HullRow, build_phase_diagram, energies_above_hull, hull_table
from interchem.analysis.reactions import (
    InterfaceReaction,
    interface_reaction,
    lithiation_reaction_map,
    reaction_at_mixing_ratio,
    reaction_energy_vs_li,
)
from interchem.analysis.screen import ReductionVsLi, ScreenAnalysis, screen_analysis
from interchem.analysis.tielines import TieLine, shares_tie_line
from interchem.analysis.voltage import (
    VoltagePlateau,
    li_potential_at,
    lithiation_voltage_profile,
    stability_voltage_range,
)
from interchem.analysis.windows import (
    ZHU_HULL_OFFSET_EV_PER_ATOM,
    StabilityWindow,
    VoltageStep,
    stability_window,
)

__all__ = [
    "ZHU_HULL_OFFSET_EV_PER_ATOM",
    "HullRow",
    "InterfaceReaction",
    "PhaseDiagramCache",
    "ReductionVsLi",
    "ScreenAnalysis",
    "StabilityWindow",
    "TieLine",
    "VoltagePlateau",
    "VoltageStep",
    "build_phase_diagram",
    "energies_above_hull",
    "find_entry",
    "hull_table",
    "interface_reaction",
    "reaction_at_mixing_ratio",
    "li_potential_at",
    "lithiation_reaction_map",
    "lithiation_voltage_profile",
    "phase_name",
    "reaction_energy_vs_li",
    "screen_analysis",
    "shares_tie_line",
    "stability_voltage_range",
    "stability_window",
]

from interchem.analysis.diffusion import (  # noqa: E402
    ArrheniusResult,
    DiffusionInputError,
    DiffusionResult,
    MSDResult,
    NoDiffusionError,
    arrhenius_fit,
    diffusion_coefficient,
    msd,
    nernst_einstein_conductivity,
    unwrap_positions,
)

__all__ += [
    "ArrheniusResult",
    "DiffusionInputError",
    "DiffusionResult",
    "MSDResult",
    "NoDiffusionError",
    "arrhenius_fit",
    "diffusion_coefficient",
    "msd",
    "nernst_einstein_conductivity",
    "unwrap_positions",
]
