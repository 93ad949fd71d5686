"""``interchem store check`` and ``interchem store repair``: the embedded store's integrity."""

from __future__ import annotations

from pathlib import Path

import typer

from interchem.cli.common import RESULTS, StoreOption, app, console, fail, out
from interchem.errors import StoreMissingError

store_app = typer.Typer(
    help="Check or repair the embedded on-disk store.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(store_app, name="store", rich_help_panel=RESULTS)


def _store_path(store: Path | None) -> Path:
    from interchem.settings import get_settings

    path = Path(store or get_settings().store_path).expanduser().resolve()
    if not path.is_dir():
        raise StoreMissingError(f"there is no store at {path}: check -s or INTERCHEM_STORE_PATH")
    return path


@store_app.command("check")
def check(store: StoreOption = None) -> None:
    """Run SQLite's integrity check on every file of the store; exit 1 if any is damaged."""
    from interchem.store import corrupt_store_files

    try:
        path = _store_path(store)
    except StoreMissingError as exc:
        fail(exc)
    corrupt = corrupt_store_files(path)
    for file, reason in corrupt:
        out.print(f"corrupt: {file} ({reason})", soft_wrap=True)
    if corrupt:
        console.print(f"repair with: interchem store repair -s {path}", soft_wrap=True)
        raise typer.Exit(code=1)
    out.print(f"store at {path}: every file passes SQLite's integrity check")


@store_app.command("repair")
def repair(store: StoreOption = None) -> None:
    """Keep every readable document of each damaged file; the damaged file is moved aside, not deleted."""
    from interchem.store import repair_embedded_store

    try:
        path = _store_path(store)
    except StoreMissingError as exc:
        fail(exc)
    report = repair_embedded_store(path)
    if not report:
        out.print(f"store at {path}: nothing to repair")
    for r in report:
        out.print(
            f"repaired {r['file']}: kept {r['kept']} documents, lost {r['lost']}; damaged file kept as {r['moved_to']}",
            soft_wrap=True,
        )
