"""``interchem export``: a stored structure, MD trajectory or NEB band to extxyz, ASE traj, CIF or POSCAR."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from interchem.cli.common import StoreOption, app, console, fail, out
from interchem.errors import InterchemError


@app.command()
def export(
    target: Annotated[str, typer.Argument(help="job uuid (or its first 6+ characters), phase name, or MD/NEB label")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="file to write; its name gives the format (.extxyz .traj .cif POSCAR)",
        ),
    ],
    fmt: Annotated[
        Optional[str], typer.Option("--format", help="extxyz, traj, cif or poscar (default: from the file name)")
    ] = None,
    frame: Annotated[
        Optional[int], typer.Option(help="only this frame or image (0 = first, -1 = last); default: all")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Export a stored structure, MD trajectory or NEB band (the newest match; frames from the data store)."""
    from interchem.reports.export import find_exportable, write_export
    from interchem.settings import get_settings

    try:
        item = find_exportable(target, get_settings(store_path=store))
        paths = write_export(item, output, fmt, frame)
    except InterchemError as exc:
        fail(exc)
    what = {"structure": "structure", "md": "MD trajectory", "neb": "NEB band"}[item.kind]
    console.print(f"{what} of {item.name!r} ({item.uuid}), {len(item.frames)} frame(s)", soft_wrap=True)
    for path in paths:
        out.print(str(path), soft_wrap=True)
