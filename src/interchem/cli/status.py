"""``interchem status``: how far the long jobs are, from the progress log each job writes in its folder
(``interchem.progress``): local runs under the output folder, or a jobflow-remote work_dir."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from interchem.cli.common import app, console, fail, out
from interchem.errors import InterchemError


@app.command()
def status(
    folder: Annotated[
        Optional[Path],
        typer.Argument(help="where the job folders are (default: the output folder; or a jobflow-remote work_dir)"),
    ] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="also jobs whose last loop has finished")] = False,
) -> None:
    """Last progress line of every running job (MD steps, NEB iterations, relaxation steps, ETA)."""
    from interchem.progress import job_progress
    from interchem.settings import get_settings

    try:
        root = folder if folder is not None else get_settings().output_dir
        if not Path(root).expanduser().is_dir():
            raise InterchemError(f"no job folders at {root}: give the folder the jobs run in")
    except InterchemError as exc:
        fail(exc)
    rows = job_progress(root, include_done=all_jobs)
    if not rows:
        console.print(f"no {'' if all_jobs else 'running '}job with a progress log under {root}")
    for job_dir, line, age in rows:
        out.print(f"{line}  [dim]({age:.0f} s ago, {job_dir})[/]")
