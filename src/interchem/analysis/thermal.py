"""Finite-temperature screen: add harmonic vibrational free energies F_vib(T) to the entries.

G(T) ~ E_0K + F_vib(T) for solids (the pV term is negligible at 1 bar). Adding F_vib to every phase
of the hull shifts reaction energies and stability windows by typically 10-50 meV/atom between 0 K
and 350 K; the shift is shown next to the 0 K value, never silently replacing it. Every phase of the
hull must have F_vib: a hull that mixes corrected and uncorrected phases is meaningless, so a missing
phase is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pymatgen.entries.computed_entries import ComputedStructureEntry, ConstantEnergyAdjustment

from interchem.errors import InterchemError


class ThermalCorrectionError(InterchemError):
    """F_vib(T) missing or unusable for a phase of the hull."""


def entry_phase(entry) -> str:
    data = getattr(entry, "data", None) or {}
    return str(data.get("phase") or entry.composition.reduced_formula)


def add_vibrational_free_energy(
    entries: Iterable[ComputedStructureEntry], f_vib_per_atom_eV: Mapping[str, float], temperature_K: float
) -> list[ComputedStructureEntry]:
    """Copies of ``entries`` with N * F_vib(T) added as a named energy adjustment.

    ``f_vib_per_atom_eV`` maps phase names (``entry.data["phase"]``) to F_vib per atom at T.
    """
    out, missing = [], []
    for entry in entries:
        phase = entry_phase(entry)
        if phase not in f_vib_per_atom_eV:
            missing.append(phase)
            continue
        new = type(entry).from_dict(entry.as_dict())
        n = new.composition.num_atoms
        new.energy_adjustments.append(
            ConstantEnergyAdjustment(
                f_vib_per_atom_eV[phase] * n,
                name=f"vibrational free energy ({temperature_K:g} K)",
                description="harmonic F_vib(T) from phonons (interchem.workflows.phonons)",
                cls={"@module": __name__},
            )
        )
        new.data = {**new.data, "temperature_K": temperature_K, "f_vib_per_atom_eV": f_vib_per_atom_eV[phase]}
        out.append(new)
    if missing:
        raise ThermalCorrectionError(
            f"no F_vib({temperature_K:g} K) for {sorted(set(missing))}; every phase of the hull needs phonons "
            "(run them first) or the corrected and uncorrected phases would be mixed"
        )
    return out


class WindowShift(BaseModel):
    electrolyte: str
    reduction_V_0K: float | None
    reduction_V_T: float | None
    oxidation_V_0K: float | None
    oxidation_V_T: float | None
    products_0K: dict[str, list[str]]
    products_T: dict[str, list[str]]


class ThermalScreen(BaseModel):
    """Screen analysis at T next to the 0 K one (both from the same relaxed structures)."""

    temperature_K: float
    f_vib_per_atom_eV: dict[str, float]
    windows: list[WindowShift]
    reductions_vs_li_eV_per_atom: dict[str, dict[str, float | None]]  # electrolyte -> {"0K": x, "T": y}
    e_above_hull_meV: dict[str, dict[str, float]]  # phase -> {"0K": x, "T": y}
    summary_0K: dict[str, Any]
    summary_T: dict[str, Any]
    phases_with_imaginary_modes: list[str]


def screen_at_temperature(
    entries: Sequence[ComputedStructureEntry],
    f_vib_per_atom_eV: Mapping[str, float],
    temperature_K: float,
    anodes: Sequence[str],
    electrolytes: Sequence[str],
    imaginary: Iterable[str] = (),
) -> ThermalScreen:
    from interchem.analysis import screen_analysis

    base = screen_analysis(list(entries), anodes=anodes, electrolytes=electrolytes)
    hot = screen_analysis(
        add_vibrational_free_energy(entries, f_vib_per_atom_eV, temperature_K), anodes=anodes, electrolytes=electrolytes
    )
    s0, st = base.summary(), hot.summary()
    shifts = []
    for name in electrolytes:
        w0, wt = base.windows.get(name), hot.windows.get(name)
        if w0 is None or wt is None:
            continue
        shifts.append(
            WindowShift(
                electrolyte=name,
                reduction_V_0K=w0.reduction_V,
                reduction_V_T=wt.reduction_V,
                oxidation_V_0K=w0.oxidation_V,
                oxidation_V_T=wt.oxidation_V,
                products_0K={"reduction": list(w0.reduction_products), "oxidation": list(w0.oxidation_products)},
                products_T={"reduction": list(wt.reduction_products), "oxidation": list(wt.oxidation_products)},
            )
        )
    red = {}
    for name in electrolytes:
        r0, rt = base.reductions_vs_li.get(name), hot.reductions_vs_li.get(name)
        red[name] = {
            "0K": getattr(r0, "E_eV_per_atom", None),
            "T": getattr(rt, "E_eV_per_atom", None),
        }
    ehull = {
        phase: {"0K": 1000 * e0, "T": 1000 * hot.e_above_hull.get(phase, float("nan"))}
        for phase, e0 in base.e_above_hull.items()
    }
    return ThermalScreen(
        temperature_K=temperature_K,
        f_vib_per_atom_eV=dict(f_vib_per_atom_eV),
        windows=shifts,
        reductions_vs_li_eV_per_atom=red,
        e_above_hull_meV=ehull,
        summary_0K=s0,
        summary_T=st,
        phases_with_imaginary_modes=sorted(set(imaginary)),
    )
