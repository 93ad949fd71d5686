"""What every command shares: the Typer app, the two consoles (results on stdout, everything else on
stderr) and the one error handler."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="interchem: atomistic workflows for Si / Li_xSi anodes against solid electrolytes.")
console = Console(stderr=True)
out = Console()

# A quick set for tests and first looks: the argyrodite against three Li_xSi phases.
QUICK_ELECTROLYTES = ["Li6PS5Cl"]
QUICK_ANODES = ["Si", "LiSi", "Li15Si4"]


def fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)
