"""User structure files -> checked pymatgen Structure with provenance.

Formats, chosen by file name:

* CIF (``*.cif``, ``*.mcif``): pymatgen ``CifParser``, cell as written (no primitive reduction)
* VASP (``POSCAR*``, ``CONTCAR*``, ``*.vasp``, ``*.poscar``): pymatgen ``Poscar``
* extended XYZ (``*.extxyz``, ``*.xyz``): ASE; the file must define a periodic cell (``Lattice=``)
* pymatgen JSON (``*.json``, ``*.json.gz``): a serialised ``Structure`` (or a list of them)

Every failure raises :class:`StructureFileError` (file problems) or :class:`StructureValidationError`
(unphysical contents) naming the file. CIF and POSCAR text is checked first (``file_checks``), so a
malformed file is described in its own terms (a zero cell length, a truncated loop, an unknown element,
fewer coordinate lines than atoms) rather than by the reader's Python internals. A file with several
structures yields the first, with a warning. The structure carries
``properties["provenance"] = {origin: "user file", path, sha256, ...}`` so the result can be traced back
to the exact bytes it came from.
"""

from __future__ import annotations

import fnmatch
import hashlib
import warnings
from pathlib import Path

from pymatgen.core import Structure

from interchem.errors import StructureFileError, StructureValidationError
from interchem.structures.cards import check_structure
from interchem.structures.file_checks import cif_problem, poscar_problem

ORIGIN = "user file"

_PATTERNS: dict[str, tuple[str, ...]] = {
    "cif": ("*.cif", "*.mcif"),
    "poscar": ("poscar*", "contcar*", "*.vasp", "*.poscar"),
    "extxyz": ("*.extxyz", "*.xyz"),
    "json": ("*.json", "*.json.gz"),
}


def detect_format(path: Path) -> str:
    """File format from the file name (case-insensitive); StructureFileError if none fits."""
    name = path.name.lower()
    for fmt, patterns in _PATTERNS.items():
        if any(fnmatch.fnmatch(name, p) for p in patterns):
            return fmt
    known = ", ".join(p for patterns in _PATTERNS.values() for p in patterns)
    raise StructureFileError(f"structure file {path}: unknown format; supported names: {known}")


def load_structure_file(path: str | Path, require_ordered: bool = True) -> Structure:
    """Read, check and label the (first) structure in a user file.

    Args:
        path: CIF, POSCAR/CONTCAR/*.vasp, extxyz/xyz with a cell, or pymatgen JSON.
        require_ordered: raise StructureValidationError for partial occupancies (the default, since
            calculators need ordered cells); False loads disordered structures for a later
            ordering step.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise StructureFileError(f"structure file {path}: does not exist")
    if not path.is_file():
        raise StructureFileError(f"structure file {path}: is not a regular file")
    fmt = detect_format(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise StructureFileError(f"structure file {path}: is empty")

    structures = _READERS[fmt](path)
    if not structures:
        raise StructureFileError(f"structure file {path}: no structure found in this {fmt} file")
    if len(structures) > 1:
        warnings.warn(
            f"structure file {path} holds {len(structures)} structures; using the first one",
            UserWarning,
            stacklevel=2,
        )
    structure = structures[0]
    label = f"structure file {path}"
    if len(structure) == 0:
        raise StructureFileError(f"{label}: the structure has no atoms")

    if structure.is_ordered:
        check_structure(structure, label=label)
    elif require_ordered:
        raise StructureValidationError(
            f"{label}: has partially occupied sites ({_describe_disorder(structure)}); order it first "
            "(e.g. pymatgen OrderDisorderedStructureTransformation or an ordered-approximant step), "
            "or load with require_ordered=False"
        )
    else:
        _check_disordered(structure, label)

    structure.properties = {
        **(structure.properties or {}),
        "provenance": {
            "origin": ORIGIN,
            "path": str(path.resolve()),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "format": fmt,
            "structures_in_file": len(structures),
        },
    }
    return structure


def _describe_disorder(structure: Structure) -> str:
    partial = [i for i, site in enumerate(structure) if not site.is_ordered]
    first = structure[partial[0]]
    return (
        f"{len(partial)} site(s), e.g. site {partial[0]} = {first.species.formula} "
        f"at {first.frac_coords.round(4).tolist()}"
    )


def _check_disordered(structure: Structure, label: str) -> None:
    """Overlap/volume checks for a structure that may keep partial occupancies.

    Partially occupied split sites (e.g. Li in cubic LLZO) may sit closer than any bond because they
    are never filled together, so only fully occupied sites are checked against each other.
    """
    full = [site for site in structure if site.is_ordered]
    if full:
        check_structure(Structure.from_sites(full), label=label)
    if structure.volume / len(structure) < 2.0:
        raise StructureValidationError(
            f"{label}: volume per site {structure.volume / len(structure):.2f} A^3 is unphysically small"
        )


# -- readers: each returns every structure in the file, raises StructureFileError -----------------


def _read_cif(path: Path) -> list[Structure]:
    from pymatgen.io.cif import CifParser

    # name the problem in the file's terms first: pymatgen reports some as Python internals
    problem = cif_problem(path.read_text(errors="replace"))
    if problem:
        raise StructureFileError(f"structure file {path}: cannot parse as CIF: {problem}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = CifParser(path)
            structures = parser.parse_structures(primitive=False, on_error="ignore")
        except Exception as exc:  # CifParser raises many types for input the checks above let through
            raise StructureFileError(
                f"structure file {path}: cannot parse as CIF: pymatgen's reader failed ({type(exc).__name__}: {exc})"
            ) from exc
    messages = list(dict.fromkeys(str(w.message).strip().replace("\n", " ") for w in caught))
    if not structures:
        reasons = "; ".join(messages) or "no data block with a cell and atom sites"
        raise StructureFileError(f"structure file {path}: cannot parse as CIF: {reasons}")
    for message in messages:  # parsed, but pymatgen had remarks (rescaled occupancies, ...): pass them on
        warnings.warn(f"structure file {path}: {message}", UserWarning, stacklevel=3)
    return structures


def _read_poscar(path: Path) -> list[Structure]:
    from pymatgen.io.vasp import Poscar

    # name the problem in the file's terms first: pymatgen reports some as Python internals, reads others wrongly
    problem = poscar_problem(path.read_text(errors="replace"))
    if problem:
        raise StructureFileError(f"structure file {path}: cannot parse as POSCAR: {problem}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "elements from POTCAR" notes; errors still raise
            return [Poscar.from_file(path, check_for_potcar=False).structure]
    except Exception as exc:
        raise StructureFileError(f"structure file {path}: cannot parse as POSCAR: {exc}") from exc


def _read_extxyz(path: Path) -> list[Structure]:
    import ase.io
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        frames = ase.io.read(path, index=":", format="extxyz")
    except Exception as exc:
        raise StructureFileError(f"structure file {path}: cannot parse as (ext)XYZ: {exc}") from exc
    structures = []
    for i, atoms in enumerate(frames):
        # a plain XYZ (or extxyz without Lattice=) gives a zero cell: a molecule, not a crystal
        if not atoms.pbc.all() or atoms.cell.rank < 3:
            raise StructureFileError(
                f"structure file {path}: frame {i} has no periodic cell (pbc={atoms.pbc.tolist()}); "
                'give Lattice="..." and pbc="T T T" in the extxyz comment line'
            )
        structures.append(AseAtomsAdaptor.get_structure(atoms))
    return structures


def _read_json(path: Path) -> list[Structure]:
    from monty.serialization import loadfn

    try:
        data = loadfn(path)
    except Exception as exc:
        raise StructureFileError(f"structure file {path}: cannot parse as JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    structures = []
    for item in items:
        if isinstance(item, dict) and "lattice" in item and "sites" in item:
            try:  # a Structure dict without "@class" (e.g. Structure.as_dict() dumped with json)
                item = Structure.from_dict(item)
            except Exception as exc:
                raise StructureFileError(f"structure file {path}: malformed structure dict: {exc}") from exc
        if not isinstance(item, Structure):
            raise StructureFileError(
                f"structure file {path}: JSON holds a {type(item).__name__}, not a pymatgen Structure"
            )
        structures.append(item)
    return structures


_READERS = {"cif": _read_cif, "poscar": _read_poscar, "extxyz": _read_extxyz, "json": _read_json}
