"""CP2K's settings and data files: the spec's defaults, and what the Debian ``cp2k-data`` files (or
``CP2K_DATA_DIR``) hold: which elements have a basis and a GTH potential, valence electrons, basis
function counts (read with ``pymatgen.io.cp2k``'s ``BasisFile``/``PotentialFile``). Split from
``cp2k.py`` (the calculator and its input) so each stays readable.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from interchem.calculators.registry import CalculatorSpec

DEFAULTS: dict[str, Any] = {
    "xc": "PBE",
    "basis": "DZVP-MOLOPT-SR-GTH",
    "cutoff": 400,
    "rel_cutoff": 50,
    "smearing_K": 300,
    "kpoints": "auto",
    "kspacing": 0.25,
    "charge": 0,
    "max_scf": 200,
    "stress": True,
    "omp_threads": "auto",
}
ALLOWED_SETTINGS = frozenset(DEFAULTS)

BASIS_FILES = ("BASIS_MOLOPT", "BASIS_MOLOPT_UCL")
POTENTIAL_FILE = "GTH_POTENTIALS"
# Requested basis -> the better basis of the same family used for elements that lack it.
BASIS_FALLBACK = {"SZV-MOLOPT-SR-GTH": "DZVP-MOLOPT-SR-GTH", "SZV-MOLOPT-GTH": "DZVP-MOLOPT-GTH"}
_GTH_FAMILIES = {"PBE": "GTH-PBE", "BLYP": "GTH-BLYP", "BP": "GTH-BP", "PADE": "GTH-PADE", "LDA": "GTH-PADE"}


def settings_of(spec: CalculatorSpec) -> dict[str, Any]:
    return {**DEFAULTS, **spec.settings}


# ---------------------------------------------------------------------------------------------------
# Data files


def data_dir() -> Path:
    return Path(os.environ.get("CP2K_DATA_DIR") or "/usr/share/cp2k")


@lru_cache(maxsize=16)
def _basis_file(path: str, mtime: float):
    """A CP2K basis-set file as pymatgen reads it (``pymatgen.io.cp2k.inputs.BasisFile``), cached per file
    version."""
    from pymatgen.io.cp2k.inputs import BasisFile

    return BasisFile.from_file(path)


@lru_cache(maxsize=16)
def _potential_file(path: str, mtime: float):
    from pymatgen.io.cp2k.inputs import PotentialFile

    return PotentialFile.from_file(path)


def _names(entry) -> tuple[str, ...]:
    return (entry.name, *(entry.alias_names or ()))


def _parse_headers(path: str, mtime: float) -> dict[str, list[tuple[str, ...]]]:
    """Element -> list of name tuples of each entry (its name and aliases)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for entry in _basis_file(path, mtime).objects:
        out.setdefault(entry.element.symbol, []).append(_names(entry))
    return out


def _parse_valence(path: str, mtime: float, name: str) -> dict[str, int]:
    """Element -> valence electrons of the GTH potential called ``name`` (its electrons per shell summed)."""
    out: dict[str, int] = {}
    for entry in _potential_file(path, mtime).objects:
        if name in _names(entry):
            n = entry.n_elecs
            out.setdefault(entry.element.symbol, int(sum(n.values() if isinstance(n, dict) else n)))
    return out


def _headers(filename: str) -> dict[str, list[tuple[str, ...]]]:
    path = data_dir() / filename
    if not path.is_file():
        return {}
    return _parse_headers(str(path), path.stat().st_mtime)


def potential_name(spec: CalculatorSpec) -> str:
    return _GTH_FAMILIES.get(str(settings_of(spec)["xc"]).upper(), "GTH-PBE")


def valence_electrons(spec: CalculatorSpec) -> dict[str, int]:
    path = data_dir() / POTENTIAL_FILE
    if not path.is_file():
        return {}
    return _parse_valence(str(path), path.stat().st_mtime, potential_name(spec))


def _has(filename: str, element: str, name: str) -> bool:
    return any(name in names for names in _headers(filename).get(element, ()))


def basis_for(spec: CalculatorSpec, element: str) -> tuple[str, str] | None:
    """(basis name, file) used for ``element``, or None when no basis of the requested family exists."""
    requested = str(settings_of(spec)["basis"])
    for name in (requested, BASIS_FALLBACK.get(requested)):
        if name is None:
            continue
        for filename in BASIS_FILES:
            if _has(filename, element, name):
                return name, filename
    return None


def _parse_function_count(path: str, mtime: float, element: str, name: str) -> int | None:
    """Number of contracted (spherical) functions of one basis entry: per set, ``nshell`` shells of each
    angular momentum l from ``lmin``; a shell of angular momentum l gives 2l+1."""
    for entry in _basis_file(path, mtime).objects:
        if entry.element.symbol == element and name in _names(entry):
            total = 0
            for lmin, shells in zip(entry.lmin, entry.nshell):
                counts = list(shells.values()) if isinstance(shells, dict) else list(shells)
                total += sum(n * (2 * (lmin + j) + 1) for j, n in enumerate(counts))
            return total
    return None


def basis_function_count(spec: CalculatorSpec, element: str) -> int | None:
    """Contracted basis functions per atom of ``element`` with the spec's basis (None if unknown)."""
    found = basis_for(spec, element)
    if found is None:
        return None
    path = data_dir() / found[1]
    return _parse_function_count(str(path), path.stat().st_mtime, element, found[0])


def known_basis_names() -> set[str]:
    return {n for f in BASIS_FILES for entries in _headers(f).values() for names in entries for n in names}


def supported_elements(spec: CalculatorSpec) -> frozenset[str]:
    """Elements with both a basis (requested or its documented fallback) and the GTH potential."""
    valence = valence_electrons(spec)
    elements = set().union(*(_headers(f).keys() for f in BASIS_FILES)) if BASIS_FILES else set()
    return frozenset(e for e in elements if e in valence and basis_for(spec, e) is not None)


def fallback_elements(spec: CalculatorSpec, elements: set[str] | None = None) -> dict[str, str]:
    """Element -> basis actually used, for elements where it differs from the requested basis."""
    requested = str(settings_of(spec)["basis"])
    out = {}
    for element in sorted(elements if elements is not None else supported_elements(spec)):
        chosen = basis_for(spec, element)
        if chosen is not None and chosen[0] != requested:
            out[element] = chosen[0]
    return out
