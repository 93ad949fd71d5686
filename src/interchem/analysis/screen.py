"""One call that runs the whole thermodynamic screen on a set of entries, reusing phase diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pymatgen.core import Element
from pymatgen.entries import Entry

from interchem.analysis._common import PhaseDiagramCache, phase_name
from interchem.analysis.hull import HullRow, energies_above_hull, hull_table
from interchem.analysis.reactions import (
    InterfaceReaction,
    ReductionVsLi,
    lithiation_reaction_map,
    reaction_energy_vs_li,
)
from interchem.analysis.tielines import TieLine, shares_tie_line
from interchem.analysis.voltage import VoltagePlateau, lithiation_voltage_profile
from interchem.analysis.windows import StabilityWindow, stability_window
from interchem.errors import ChemicalSystemError, UnknownPhaseError


class ScreenAnalysis(BaseModel):
    host: str = "Si"
    ion: str = "Li"
    e_above_hull: dict[str, float]
    hull: list[HullRow]
    windows: dict[str, StabilityWindow]
    voltage_profile: list[VoltagePlateau]
    reactions: list[InterfaceReaction]
    reductions_vs_li: dict[str, ReductionVsLi]
    tie_lines: list[TieLine]
    # Requested anodes / electrolytes that were skipped, and why.
    warnings: list[str] = []

    def summary(self) -> dict[str, Any]:
        """Plain-JSON digest: windows, voltage profile, reactions, energies above hull (+ warnings)."""
        return {
            "windows": {
                name: {
                    "reduction_V": w.reduction_V,
                    "oxidation_V": w.oxidation_V,
                    "reduction_products": list(w.reduction_products),
                    "oxidation_products": list(w.oxidation_products),
                    # the competing phases that set each limit, as the reaction at that edge
                    "reduction_reaction": w.reduction_reaction,
                    "oxidation_reaction": w.oxidation_reaction,
                    "e_above_hull_eV_per_atom": w.e_above_hull_eV_per_atom,
                }
                for name, w in self.windows.items()
            },
            "voltage_profile": [
                {"x_from": p.x_from, "x_to": p.x_to, "voltage_V": p.voltage_V} for p in self.voltage_profile
            ],
            "reactions": [
                {
                    "anode": r.anode,
                    "electrolyte": r.electrolyte,
                    "x_Li": r.x_Li,
                    "E_rxn_meV_per_atom": r.E_rxn_meV_per_atom,
                    "mixing_ratio": r.mixing_ratio,
                    "products": list(r.products),
                }
                for r in self.reactions
            ],
            "e_above_hull": dict(self.e_above_hull),
            "reductions_vs_li": {k: v.model_dump(mode="json") for k, v in self.reductions_vs_li.items()},
            "warnings": list(self.warnings),
        }


def _usable(cache: PhaseDiagramCache, name: str, extra: set[Element], role: str, warns: list[str]) -> str | None:
    """The phase's own name if it resolves and its chemical system (plus ``extra``) has all references."""
    try:
        entry = cache.phase(name)
        cache.get(set(entry.composition.elements) | extra)
    except (UnknownPhaseError, ChemicalSystemError) as exc:
        warns.append(f"skipped {role} {name!r}: {exc}")
        return None
    return phase_name(entry)


def _entries_with_references(entries: Sequence[Entry], warns: list[str]) -> list[Entry]:
    """The entries whose elements all have an elemental reference; a warning for each one left out."""
    have_refs = {e.composition.elements[0] for e in PhaseDiagramCache(entries).entries if e.is_element}
    for e in entries:
        if not set(e.composition.elements) <= have_refs:
            lacking = sorted(str(el) for el in set(e.composition.elements) - have_refs)
            warns.append(
                f"entry {phase_name(e)!r} left out of the hull: no elemental reference for {', '.join(lacking)}"
            )
    return [e for e in entries if set(e.composition.elements) <= have_refs]


def _usable_anodes(
    cache: PhaseDiagramCache, anodes: Sequence[str], host: str, ion: str, have_profile: bool, warns: list[str]
) -> list[str]:
    """Names of the requested anodes that are Li metal or a Li_xSi phase on the hull (warnings for the rest)."""
    ans: list[str] = []
    for a in anodes:
        name = _usable(cache, a, {Element(ion), Element(host)}, "anode", warns)
        if name is None:
            continue
        comp_els = set(cache.phase(a).composition.elements)
        if not have_profile:
            warns.append(f"skipped anode {a!r}: no {ion}-{host} hull to set its potential")
        elif not comp_els <= {Element(host), Element(ion)}:
            warns.append(f"skipped anode {a!r}: not Li metal or a {ion}_x{host} phase")
        elif name not in ans:
            ans.append(name)
    return ans


def screen_analysis(
    entries: Sequence[Entry],
    anodes: Sequence[str],
    electrolytes: Sequence[str],
    *,
    host: str = "Si",
    ion: str = "Li",
) -> ScreenAnalysis:
    """Hull, windows, Li_xSi voltages, anode x electrolyte reactions, reductions vs Li and tie-lines.

    A requested anode or electrolyte that is unknown or whose elements lack references is skipped with a
    warning recorded in the result, as is an entry whose elements lack references. Raises
    ChemicalSystemError only when no entry is usable (e.g. an empty list).
    """
    warns: list[str] = []
    # Entries with an element that has no reference cannot be placed on any hull: drop them (and say so)
    # rather than fail the whole screen. Diagrams of the remaining systems are unchanged by this.
    usable = _entries_with_references(entries, warns)
    if not usable:
        raise ChemicalSystemError(f"no entry can be placed on a hull: {'; '.join(warns) or 'no entries given'}")
    cache = PhaseDiagramCache(usable)
    entries = cache.entries
    li = {Element(ion)}

    els = [n for n in dict.fromkeys(_usable(cache, e, li, "electrolyte", warns) for e in electrolytes) if n]

    try:
        profile = lithiation_voltage_profile(entries, host, ion, cache=cache)
    except ChemicalSystemError as exc:
        warns.append(f"no {ion}-{host} voltage profile: {exc}")
        profile = None
    ans = _usable_anodes(cache, anodes, host, ion, profile is not None, warns)

    windows = {e: stability_window(entries, e, ion, cache=cache) for e in els}
    reductions = {}
    for e in els:
        reductions[e] = reaction_energy_vs_li(entries, e, ion=ion, cache=cache)
    reactions = lithiation_reaction_map(entries, ans, els, host=host, ion=ion, cache=cache) if els else []

    # Tie-lines vs Li metal (the interlayer rule) for electrolytes, anodes and window products; and
    # each electrolyte vs each anode.
    li_name = phase_name(cache.phase(ion)) if els or ans else ion
    vs_li = [*els, *ans]
    for w in windows.values():
        vs_li += [*w.reduction_products, *w.oxidation_products]
    pairs = [(p, li_name) for p in dict.fromkeys(vs_li) if p != li_name]
    pairs += [(e, a) for e in els for a in ans]
    tie_lines = [shares_tie_line(entries, a, b, cache=cache) for a, b in dict.fromkeys(pairs)]

    return ScreenAnalysis(
        host=host,
        ion=ion,
        e_above_hull=energies_above_hull(entries, cache=cache),
        hull=hull_table(entries, cache=cache),
        windows=windows,
        voltage_profile=profile or [],
        reactions=reactions,
        reductions_vs_li=reductions,
        tie_lines=tie_lines,
        warnings=warns,
    )
