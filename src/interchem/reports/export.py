"""Export stored structures, MD trajectories and NEB bands to files other codes read (``interchem export``).

What can be exported is whatever a stored job output holds (the documents of ``interchem.schemas`` and
``workflows.thermo``, large data loaded back from the ``data`` store):

* a relaxed phase (``RelaxedPhase``, ``RelaxedStructure``, atomate2's task documents): one structure;
* an MD run (``MDResult``): every saved frame of the trajectory, with step, energy and temperature;
* an NEB band (``NEBResult``): every image, endpoints included, with its energy along the path.

A target is a job uuid (or a unique prefix of one, at least 6 characters) or a name: a relaxed phase
(``output.phase``, e.g. ``LiCl``) or the label of an MD run or NEB band; the newest matching computed
(not reused) result is taken. Formats: ``extxyz`` and ASE ``traj`` hold every frame (with the energies
as per-frame info / a single-point calculator); ``cif`` and ``poscar`` hold one structure, so several
frames become numbered files, or pick one with ``frame``. ASE and pymatgen write the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchem.errors import ExportError
from interchem.settings import Settings, get_settings

FORMATS = ("extxyz", "traj", "cif", "poscar")
_SUFFIXES = {".extxyz": "extxyz", ".xyz": "extxyz", ".traj": "traj", ".cif": "cif", ".vasp": "poscar"}


@dataclass
class Exportable:
    """Frames read from one stored job output."""

    uuid: str
    name: str
    kind: str  # "structure", "md" or "neb"
    frames: list[Any]  # pymatgen Structures
    info: list[dict[str, Any]] = field(default_factory=list)  # per frame: energy, step, temperature, ...


def _kind(output: dict) -> str | None:
    if "trajectory" in output and "md_key" in output:
        return "md"
    if "images" in output and "energies_eV" in output:
        return "neb"
    if _structure_of(output) is not None:
        return "structure"
    return None


def _structure_of(output: dict) -> Any:
    """The structure of a relaxation-like output: ``structure``, ``final_structure`` or ``output.structure``
    (atomate2's task documents)."""
    inner = output.get("output")
    nested = inner.get("structure") if isinstance(inner, dict) else getattr(inner, "structure", None)
    for value in (output.get("structure"), output.get("final_structure"), nested):
        if isinstance(value, dict) and "lattice" in value and "sites" in value:
            return value
        if hasattr(value, "lattice") and hasattr(value, "sites"):
            return value
    return None


def _as_structure(value: Any):
    from pymatgen.core import Structure

    return value if isinstance(value, Structure) else Structure.from_dict(value)


def _as_plain(output: Any) -> dict:
    if hasattr(output, "model_dump"):
        return {k: getattr(output, k) for k in type(output).model_fields}
    return output if isinstance(output, dict) else {}


def _frames(output: dict, kind: str) -> tuple[list, list[dict]]:
    if kind == "structure":
        s = _as_structure(_structure_of(output))
        energy = output.get("energy_eV")
        return [s], [{"energy": float(energy)} if energy is not None else {}]
    if kind == "neb":
        images = [_as_structure(s) for s in output["images"]]
        energies = output.get("energies_eV") or []
        coords = output.get("reaction_coordinate_A") or []
        info = [
            {
                "image": i,
                **({"energy_rel": float(energies[i])} if i < len(energies) else {}),
                **({"reaction_coordinate": float(coords[i])} if i < len(coords) else {}),
            }
            for i in range(len(images))
        ]
        return images, info
    from pymatgen.core.trajectory import Trajectory

    traj = output["trajectory"]
    traj = traj if isinstance(traj, Trajectory) else Trajectory.from_dict(traj)
    props = list(traj.frame_properties or [{}] * len(traj))
    frames = [traj.get_structure(i) for i in range(len(traj))]
    info = [{k: v for k, v in (p or {}).items() if isinstance(v, (int, float)) and v is not None} for p in props]
    return frames, info


def _matching_docs(store, target: str) -> list[dict]:
    docs = store.docs_store
    props = ["uuid", "index", "name", "completed_at"]
    if len(target) >= 6 and all(c in "0123456789abcdef-" for c in target.lower()):
        hits = [d for d in docs.query({}, properties=props) if str(d.get("uuid", "")).startswith(target.lower())]
        if hits:
            return hits
    crit = {"$or": [{"output.phase": target}, {"output.label": target}], "output.reused": {"$ne": True}}
    return list(docs.query(crit, properties=props))


def find_exportable(target: str, settings: Settings | None = None) -> Exportable:
    """The frames of the stored result ``target`` names (module docstring); ExportError names what matched."""
    from interchem.store import make_job_store

    settings = settings or get_settings()
    store = make_job_store(settings, must_exist=True)  # an export never creates an empty store
    store.connect()
    try:
        docs = _matching_docs(store, target)
        uuids = {d["uuid"] for d in docs}
        if len(uuids) > 1 and all(d["uuid"].startswith(target.lower()) for d in docs):
            raise ExportError(f"{target!r} is the start of {len(uuids)} job uuids; give more of it")
        candidates = []
        for doc in sorted(docs, key=lambda d: (str(d.get("completed_at")), d.get("index", 1)), reverse=True):
            full = store.query_one({"uuid": doc["uuid"], "index": doc["index"]}, properties=["output"], load=True)
            output = _as_plain((full or {}).get("output"))
            kind = _kind(output) if output else None
            if kind is not None:
                candidates.append((doc, output, kind))
    finally:
        store.close()
    if not candidates:
        hint = "no stored job output has that uuid, phase name or label" if not docs else "it holds no structure"
        raise ExportError(
            f"nothing to export for {target!r} in the {_where(settings)}: {hint}; "
            "`interchem results` lists what is stored"
        )
    doc, output, kind = candidates[0]  # the newest
    frames, info = _frames(output, kind)
    return Exportable(uuid=doc["uuid"], name=doc.get("name", ""), kind=kind, frames=frames, info=info)


def _where(settings: Settings) -> str:
    if settings.store_uri is not None and settings.store_uri.get_secret_value():
        return "MongoDB store"
    return f"store at {Path(settings.store_path).expanduser().resolve()}"


def export_format(path: Path, fmt: str | None) -> str:
    """The format asked for, or the one the file name says (``POSCAR*``/``CONTCAR*`` are POSCAR)."""
    if fmt:
        if fmt.lower() not in FORMATS:
            raise ExportError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt.lower()
    if path.name.upper().startswith(("POSCAR", "CONTCAR")):
        return "poscar"
    if path.suffix.lower() in _SUFFIXES:
        return _SUFFIXES[path.suffix.lower()]
    raise ExportError(
        f"cannot tell the format of {path.name!r}: name it *.extxyz, *.traj, *.cif or POSCAR, or give --format"
    )


def write_export(item: Exportable, path: str | Path, fmt: str | None = None, frame: int | None = None) -> list[Path]:
    """Write the frames of ``item`` (or only ``frame``, Python indexing) to ``path``; the files written."""
    path = Path(path)
    fmt = export_format(path, fmt)
    frames, info = item.frames, item.info or [{}] * len(item.frames)
    if frame is not None:
        if not -len(frames) <= frame < len(frames):
            raise ExportError(f"frame {frame} is out of range: {item.name!r} has {len(frames)} frame(s)")
        frames, info = [frames[frame]], [info[frame]]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("extxyz", "traj"):
        _write_ase(frames, info, path, fmt)
        return [path]
    if len(frames) == 1:
        return [_write_single(frames[0], path, fmt)]
    # one structure per file: name_000.cif, ... (POSCAR_000, ...)
    width = len(str(len(frames) - 1))
    return [
        _write_single(s, path.with_name(f"{path.stem}_{i:0{width}d}{path.suffix}"), fmt) for i, s in enumerate(frames)
    ]


def _write_ase(frames: list, info: list[dict], path: Path, fmt: str) -> None:
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    images = []
    for structure, extra in zip(frames, info, strict=True):
        atoms = AseAtomsAdaptor.get_atoms(structure)
        # only the frame's own numbers: pymatgen may carry frame properties (the energy) into info as well
        atoms.info = {k: v for k, v in extra.items() if k != "energy"}
        if extra.get("energy") is not None:  # the potential energy, as a calculator result both formats keep
            atoms.calc = SinglePointCalculator(atoms, energy=float(extra["energy"]))
        images.append(atoms)
    write(path, images, format="extxyz" if fmt == "extxyz" else "traj")


def _write_single(structure, path: Path, fmt: str) -> Path:
    from pymatgen.io.cif import CifWriter
    from pymatgen.io.vasp import Poscar

    plain = structure.copy()
    for key in list(plain.site_properties):
        plain.remove_site_property(key)
    if fmt == "cif":
        CifWriter(plain).write_file(path)
    else:
        Poscar(plain).write_file(path)
    return path
