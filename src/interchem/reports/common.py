"""What every report writer shares: headless matplotlib, one way to save a figure, to write JSON and a
structure (CIF + extended XYZ), and one number formatter for tables."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on clusters and CI
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["number", "plt", "save_figure", "write_json", "write_structure", "write_text"]


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; it replaces ``path`` in one step (``os.replace``) when
    the block succeeds, and is removed when it fails. Two runs writing one report folder at once then
    leave one whole file each time, never a mix or a truncated file; a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: Path) -> Path:
    """``path.write_text(text)``, atomically (``atomic_path``)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def save_figure(fig, path: Path, dpi: int = 120) -> Path:
    """Save (atomically) and close (a report writes many figures: open ones would pile up)."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return path


def write_json(data: Any, path: Path, indent: int = 2, trailing_newline: bool = False) -> Path:
    """Pydantic models as their JSON form; anything else JSON cannot encode as its ``str``. Atomic."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    return write_text(json.dumps(data, indent=indent, default=str) + ("\n" if trailing_newline else ""), path)


def write_structure(structure, path_stem: Path, plain: bool = True) -> list[Path]:
    """CIF and extended XYZ of one structure. ``plain``: site properties dropped, except the interface
    side, kept as a per-atom array of the XYZ; otherwise ASE writes the site properties it knows."""
    import numpy as np
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.cif import CifWriter

    path_stem.parent.mkdir(parents=True, exist_ok=True)
    cif, xyz = path_stem.with_name(path_stem.name + ".cif"), path_stem.with_name(path_stem.name + ".extxyz")
    if not plain:
        structure.to(filename=str(cif))
        write(xyz, AseAtomsAdaptor.get_atoms(structure), format="extxyz")
        return [cif, xyz]
    stripped = structure.copy()
    side = stripped.site_properties.get("interface_side")
    for key in list(stripped.site_properties):
        stripped.remove_site_property(key)
    CifWriter(stripped).write_file(cif)
    atoms = AseAtomsAdaptor.get_atoms(stripped)
    if side is not None:
        atoms.arrays["interface_side"] = np.array(side)
    write(xyz, atoms, format="extxyz")
    return [cif, xyz]


def number(value: Any, fmt: str = ".2f", scale: float = 1.0, none: str = "–") -> str:
    """A table cell of a number that may be None (``none``: e.g. an unbounded window edge)."""
    if value is None:
        return none
    return format(value if scale == 1.0 else scale * value, fmt)
