"""The smallest real interface the tests build: Li(100)|LiCl(100), 6 atoms (3 A slabs, one candidate)."""

from __future__ import annotations

from interchem.structures.interfaces import InterfaceBuilder, InterfaceLimits
from interchem.structures.library import resolve_phase


def li_licl_bulks():
    """The Li and LiCl bulk cells the tiny interface is cut from (conventional Li, primitive LiCl)."""
    return resolve_phase("Li", primitive=False)[1], resolve_phase("LiCl")[1]


def li_licl_candidates(li=None, licl=None, fixed_bottom_layers: int = 0) -> list:
    """The one Li(100)|LiCl(100) candidate, optionally with the bottom anode layers fixed."""
    if li is None or licl is None:
        li, licl = li_licl_bulks()
    return InterfaceBuilder(
        li,
        licl,
        (1, 0, 0),
        (1, 0, 0),
        limits=InterfaceLimits(max_area=40, max_atoms=40, max_candidates=1, max_strain=0.06),
        anode_thickness_A=3.0,
        electrolyte_thickness_A=3.0,
        anode_termination=0,
        electrolyte_termination=0,
        fixed_bottom_layers=fixed_bottom_layers,
    ).build()
