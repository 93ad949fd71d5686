"""Relaxation results -> pymatgen ComputedStructureEntries on Materials Project's energy scale.

Why MP2020: GGA/GGA+U total energies carry systematic errors for anions (O2 overbinding, S, N, Cl,
P, Si in silicides ...) and for mixing GGA with GGA+U. MP's MaterialsProject2020Compatibility
(Wang et al., Sci. Rep. 11, 15496 (2021)) fits per-anion corrections to experimental formation
enthalpies; the stability windows of Zhu, He & Mo (2015) and the interface reaction energies of
Richards et al. (2016) were computed on that scale, so ours must be too for the numbers to compare.

What is applied depends on the calculator's energy convention (see interchem.calculators):
* ``mp2020_corrected`` (CHGNet): the model already predicts corrected energies; nothing is added,
  and the entry records that the correction is included (double counting would shift e.g. Li2S by
  the S correction of ~-0.5 eV/S).
* ``gga_raw`` (MACE-MP, VASP with MP input sets): MaterialsProject2020Compatibility is applied
  (check_potcar=False: there are no POTCARs behind an MLIP energy).
* ``none`` (EMT, other DFT): no correction; such entries form hulls only among themselves.
Levels of theory are never mixed silently: ``build_entries`` refuses records from different levels.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymatgen.core import Structure
from pymatgen.entries.computed_entries import ComputedStructureEntry

from interchem.errors import ChemicalSystemError


def record_to_entry(record: dict) -> ComputedStructureEntry:
    structure = record["structure"]
    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    convention = record["energy_convention"]
    entry = ComputedStructureEntry(
        structure=structure,
        energy=record["energy_eV"],
        parameters={
            "run_type": "GGA",  # MP2020 needs a run type; the potential mimics PBE(+U) without U on these elements
            "hubbards": {},
            "is_hubbard": False,
            "level_of_theory": record["level_of_theory"],
        },
        data={
            "phase": record["phase"],
            "calc_key": record["calc_key"],
            "calculator": record["calculator"],
            "level_of_theory": record["level_of_theory"],
            "energy_convention": convention,
            "provenance": record.get("provenance", {}),
        },
        entry_id=f"{record['phase']}:{record['calc_key'][:8]}",
    )
    if convention == "gga_raw":
        from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

        processed = MaterialsProject2020Compatibility(check_potcar=False).process_entry(entry)
        if processed is None:
            raise ChemicalSystemError(f"MP2020 compatibility rejected the entry of {record['phase']}")
        entry = processed
        entry.data["mp2020_correction_eV"] = entry.correction
    elif convention == "mp2020_corrected":
        entry.data["mp2020_correction_eV"] = "included in the model energy"
    return entry


def build_entries(records: Iterable[dict]) -> list[ComputedStructureEntry]:
    records = [r.model_dump() if hasattr(r, "model_dump") else r for r in records]
    if not records:
        raise ChemicalSystemError("no relaxed phases to build entries from")
    levels = {r["level_of_theory"] for r in records}
    if len(levels) > 1:
        raise ChemicalSystemError("refusing to mix levels of theory in one phase diagram: " + "; ".join(sorted(levels)))
    return [record_to_entry(r) for r in records]
