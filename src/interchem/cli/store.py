"""``interchem store check``, ``repair`` and ``clean``: the embedded store's integrity."""

from __future__ import annotations

from pathlib import Path

import typer

from interchem.cli.common import RESULTS, StoreOption, app, console, fail, out
from interchem.errors import InterchemError, StoreMissingError

store_app = typer.Typer(
    help="Check, repair or clean the embedded on-disk store.",
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
    left = _incomplete(path, remove=False)
    for doc in left:
        out.print(
            f"no output: {doc['name']} ({doc['uuid']}, index {doc['index']}, {doc['completed_at']})", soft_wrap=True
        )
    if left:
        console.print(
            f"{len(left)} job document(s) without output, left by interrupted runs (harmless; never reused); "
            f"remove them with: interchem store clean -s {path}",
            soft_wrap=True,
        )


def _incomplete(path: Path, remove: bool) -> list[dict]:
    from interchem.store import embedded_store, incomplete_jobs, remove_incomplete_jobs

    store = embedded_store(path, must_exist=True)
    store.connect()
    try:
        return remove_incomplete_jobs(store) if remove else incomplete_jobs(store)
    finally:
        store.close()


@store_app.command("clean")
def clean(store: StoreOption = None) -> None:
    """Remove the job documents interrupted runs leave without output (run it when no run uses the store)."""
    try:
        path = _store_path(store)
        removed = _incomplete(path, remove=True)
    except InterchemError as exc:
        fail(exc)
    for doc in removed:
        out.print(f"removed: {doc['name']} ({doc['uuid']}, index {doc['index']})", soft_wrap=True)
    out.print(f"store at {path}: {len(removed)} job document(s) without output removed", soft_wrap=True)


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
