"""What every command shares: the Typer app, the two consoles (results on stdout, everything else on
stderr), the option types, the boundary parsers (calculator spec, Miller index, temperatures) and the
one error handler."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from interchem.errors import InterchemError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="interchem: atomistic workflows for Si / Li_xSi anodes against solid electrolytes.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True)
out = Console()
SHOW_TRACEBACK = {"on": False}  # set by --traceback for this invocation


class LibraryWarnings:
    """Warnings of the libraries underneath (jobflow, torch, scipy, ...) are collected, not printed, and
    summarised in one line when the command ends; ``-v`` shows them as they come. interchem's own
    warnings are always shown."""

    def __init__(self) -> None:
        self.hidden: dict[str, int] = {}
        self._show = warnings.showwarning

    def showwarning(self, message, category, filename, lineno, file=None, line=None):
        if "/interchem/" in str(filename):
            return self._show(message, category, filename, lineno, file, line)
        key = f"{category.__name__}: {str(message).splitlines()[0][:80]}"
        self.hidden[key] = self.hidden.get(key, 0) + 1
        return None

    def summary(self) -> None:
        warnings.showwarning = self._show
        if self.hidden:
            n = sum(self.hidden.values())
            console.print(f"[dim]{n} library warning(s) hidden; -v shows them[/]")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        import interchem

        libs = ", ".join(f"{p} {version(p)}" for p in ("pymatgen", "atomate2", "jobflow", "ase", "torch"))
        out.print(f"interchem {interchem.__version__} ({libs})")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show library warnings, banners and logs")] = False,
    traceback: Annotated[bool, typer.Option("--traceback", help="on an error, print the Python traceback")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="versions of interchem and its stack")
    ] = False,
) -> None:
    """interchem: atomistic workflows for Si / Li_xSi anodes against solid electrolytes."""
    SHOW_TRACEBACK["on"] = traceback
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("interchem").setLevel(logging.INFO)
        return
    collected = LibraryWarnings()
    warnings.showwarning = collected.showwarning
    ctx.call_on_close(collected.summary)


CALCULATOR_HELP = (
    "calculator spec: chgnet (default), sevennet, mace:model=PATH, cp2k, vasp, emt "
    "(NAME or NAME:key=value,...; `interchem calculators` lists them)"
)
CalculatorOption = Annotated[Optional[str], typer.Option("--calculator", "-c", help=CALCULATOR_HELP)]
StaticCalculatorOption = Annotated[
    Optional[str],
    typer.Option(
        "--static-calculator",
        help="single points on the relaxed geometries with this calculator (e.g. MLIP relax, DFT static)",
    ),
]
StoreOption = Annotated[
    Optional[Path], typer.Option("--store", "-s", help="embedded store folder (reused across runs)")
]
OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", help="report folder")]
QuickOption = Annotated[bool, typer.Option("--quick", help="small set: Li6PS5Cl vs Si, LiSi, Li15Si4")]
FmaxOption = Annotated[Optional[float], typer.Option("--fmax", help="force threshold of relaxations (eV/A)")]
StepsOption = Annotated[Optional[int], typer.Option("--steps", help="maximum optimiser steps per relaxation")]
ElectrolyteOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--electrolyte", "-e", help="electrolyte phase name, alias (LLZO, LiPON) or structure file; repeatable"
    ),
]
AnodeOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--anode",
        "-a",
        help="anode phase (Si, LiSi, Li15Si4, ... or a file); repeatable; default: the whole Li_xSi series",
    ),
]
PhaseOption = Annotated[
    Optional[list[str]],
    typer.Option("--phase", "-p", help="extra phase or structure file to include in the hull; repeatable"),
]


def fail(exc: Exception) -> NoReturn:
    """The one error handler: the message in red on stderr (with ``--traceback`` the full traceback
    first), exit code 2."""
    if SHOW_TRACEBACK["on"]:
        console.print_exception()
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def parse_calculator(text: str | None, default: str):
    """The calculator spec, parsed and validated once at the command line (``CalculatorSpec``)."""
    from interchem.calculators import CalculatorSpec, check_calculator

    spec = CalculatorSpec.parse(text or default)
    check_calculator(spec)  # unknown name or bad settings: an error here, before anything is built
    return spec


def parse_miller(text: str) -> tuple[int, int, int]:
    """ "100", "1,1,1", "1 -1 0", "1-10" or "(111)" -> (h, k, l)."""
    from interchem.workflows.pipelines import miller_index

    return miller_index(text)


def parse_temperatures(text: str) -> list[float]:
    """ "600,700,800" -> [600.0, 700.0, 800.0] (K, each >= 0)."""
    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise InterchemError(f"temperatures must be comma-separated numbers, got {text!r}") from None
    if any(t < 0 for t in values):
        raise InterchemError(f"temperatures must be >= 0 K, got {text!r}")
    return values


def parse_termination(value: str | None) -> int | str | None:
    """A termination index ("0") or label."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def quick_presets(electrolytes: list[str] | None, anodes: list[str] | None) -> tuple[list[str], list[str]]:
    """``--quick``: the preset phases where none were given."""
    from interchem.workflows.pipelines import QUICK_ANODES, QUICK_ELECTROLYTES

    return electrolytes or list(QUICK_ELECTROLYTES), anodes or list(QUICK_ANODES)
