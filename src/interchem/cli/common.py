"""What every command shares: the Typer app, the two consoles (results on stdout, everything else on
stderr), the option types, the boundary parsers (calculator spec, Miller index, temperatures) and the
one error handler."""

from __future__ import annotations

import logging
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
import typer.core
from rich.console import Console

from interchem.errors import EXIT_INPUT, InterchemError

# The command groups of the top-level help (typer's rich_help_panel), in the order they are shown.
THERMODYNAMICS = "Thermodynamics"
INTERFACES = "Interfaces and structures"
KINETICS = "Kinetics"
RESULTS = "Store and results"
CLUSTER = "Cluster"
LIBRARY = "Library"
PANELS = (THERMODYNAMICS, INTERFACES, KINETICS, RESULTS, CLUSTER, LIBRARY)

APP_HELP = (
    "interchem: atomistic workflows for the interface chemistry of Si / Li_xSi anodes with solid electrolytes "
    "(Li6PS5Cl, LLZO, LiPON): stability windows, reactions, interfaces, Li transport.\n\n"
    "Every computing command takes a calculator (-c; chgnet, offline, by default), keeps its calculations in a "
    "store (-s; reused across runs) and writes a report (-o). Exit codes: 2 usage, 3 input, 4 calculation "
    "failed, 5 service unreachable (docs/cli.md)."
)


class InterchemGroup(typer.core.TyperGroup):
    """The top-level command group: old option spellings (``DEPRECATED_OPTIONS``) are rewritten to the
    current ones, with a warning on stderr, before the command parses its arguments. Done here, once,
    because click can hide an option but not one of an option's names."""

    def list_commands(self, ctx) -> list[str]:
        """Commands in the order of their help panels (``PANELS``), then as registered."""
        names = super().list_commands(ctx)
        rank = {panel: i for i, panel in enumerate(PANELS)}
        return sorted(names, key=lambda n: rank.get(getattr(self.commands[n], "rich_help_panel", None), len(rank)))

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        aliases = DEPRECATED_OPTIONS.get(name or "", {})
        return name, cmd, rewrite_deprecated(rest, aliases, name) if aliases else rest


def rewrite_deprecated(args: list[str], aliases: dict[str, str], command: str | None = None) -> list[str]:
    """``args`` with each deprecated option name (also ``--old=value``) replaced by its current name;
    everything after ``--`` is left alone."""
    new: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return new + args[i:]
        head, sep, value = arg.partition("=")
        if head in aliases:
            console.print(f"[yellow]warning:[/] {command} {head} is deprecated; use {aliases[head]}")
            arg = aliases[head] + sep + value
        new.append(arg)
    return new


# Old spelling -> current one, per command (issue 14: one name per concept). Kept where they cost one line.
DEPRECATED_OPTIONS: dict[str, dict[str, str]] = {
    "screen": {"--steps": "--relax-steps"},
    "interface": {"--steps": "--relax-steps"},
    "submit": {"--steps": "--relax-steps", "-n": "--name"},
    "fireworks": {"--steps": "--relax-steps", "-n": "--name"},
    "diffusion": {"--steps": "--md-steps", "--temperatures": "--temperature", "--supercell": "--supercell-length"},
    "barriers": {"--supercell": "--supercell-length"},
    "phonons": {"--min-length": "--supercell-length"},
    "lithiation": {"--amorphous": "--with-amorphous"},  # --amorphous is interface's "which side" choice
}

app = typer.Typer(
    cls=InterchemGroup,
    add_completion=False,
    no_args_is_help=True,
    help=APP_HELP,
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
    SHOW_TRACEBACK["on"] = traceback
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("interchem").setLevel(logging.INFO)
        return
    collected = LibraryWarnings()
    warnings.showwarning = collected.showwarning
    ctx.call_on_close(collected.summary)


# --- option types: one name, one type and one help text per concept (docs/cli.md; the concept table in
# cli/docs.py is checked over every command by tests/cli/test_grammar.py) ---------------------------

CALCULATOR_HELP = (
    "calculator spec NAME[:key=value,...]: chgnet (default, offline), sevennet[:model=7net-0], "
    "mace:model=PATH, cp2k[:cutoff=300,kspacing=0.5,...], vasp[:write_only=true], emt; "
    "`interchem calculators` lists them"
)
LIST_HELP = "repeat the option or give comma-separated values"
CalculatorOption = Annotated[Optional[str], typer.Option("--calculator", "-c", help=CALCULATOR_HELP)]
StaticCalculatorOption = Annotated[
    Optional[str],
    typer.Option(
        "--static-calculator",
        help="single points on the relaxed geometries with this calculator (e.g. MLIP relax, DFT static); "
        "same spec as -c",
    ),
]
StoreOption = Annotated[
    Optional[Path],
    typer.Option(
        "--store",
        "-s",
        help="embedded store folder, reused across runs (default: the settings' store_path, created on first "
        "use); a folder named here must exist unless --create; ignored when INTERCHEM_STORE_URI is set",
    ),
]
CreateOption = Annotated[
    bool, typer.Option("--create", help="create the store folder named by -s when it does not exist yet")
]
OutputOption = Annotated[
    Optional[Path], typer.Option("--output", "-o", help="output folder of the report (default: settings output_dir)")
]
QuickOption = Annotated[
    bool,
    typer.Option(
        "--quick", help="small set: Li6PS5Cl vs Si, LiSi, Li15Si4 (and every phase of Li-Si-P-S-Cl the hull needs)"
    ),
]
FmaxOption = Annotated[Optional[float], typer.Option("--fmax", help="force threshold of relaxations (eV/A)")]
RelaxStepsOption = Annotated[
    Optional[int], typer.Option("--relax-steps", help="maximum optimiser steps per relaxation")
]
MDStepsOption = Annotated[int, typer.Option("--md-steps", help="MD steps (per temperature; 0: no MD where allowed)")]
SupercellLengthOption = Annotated[
    float, typer.Option("--supercell-length", help="minimum length of each supercell vector (A)")
]
TemperaturesOption = Annotated[
    Optional[list[str]], typer.Option("--temperature", "-T", help=f"temperature(s) in K; {LIST_HELP}")
]
SeedOption = Annotated[int, typer.Option("--seed", help="random seed (packing, thermostat, displacements)")]
ElectrolyteOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--electrolyte", "-e", help=f"electrolyte phase name, alias (LLZO, LiPON) or structure file; {LIST_HELP}"
    ),
]
AnodeOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--anode",
        "-a",
        help=f"anode phase (Si, LiSi, Li15Si4, ... or a file); {LIST_HELP}; default: the whole Li_xSi series",
    ),
]
PhaseOption = Annotated[
    Optional[list[str]],
    typer.Option("--phase", "-p", help=f"extra phase or structure file to include in the hull; {LIST_HELP}"),
]


class Mechanism(str, Enum):
    """Li hop mechanisms of ``barriers``."""

    vacancy = "vacancy"
    interstitial = "interstitial"
    both = "both"


class InterfaceModel(str, Enum):
    """Interface cell: one interface with vacuum, or two in a periodic cell."""

    vacuum = "vacuum"
    periodic = "periodic"


class AmorphousSide(str, Enum):
    """Which partner of an interface is an amorphous block."""

    anode = "anode"
    electrolyte = "electrolyte"


def split_list(values: list[str] | None) -> list[str]:
    """The one way lists are given: ``-e A -e B`` and ``-e A,B`` (or both) -> ["A", "B"]. Empty items are
    dropped; ``None`` (option not given) stays an empty list."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def parse_floats(values: list[str] | None, what: str) -> list[float]:
    """Numbers of a list option (``split_list``); a non-number is an input error naming ``what``."""
    items = split_list(values)
    try:
        return [float(x) for x in items]
    except ValueError:
        raise InterchemError(f"{what} must be numbers, got {', '.join(items)!r}") from None


def computing_settings(store: Path | None, create: bool, **overrides):
    """The settings of a computing command. A store named by ``-s`` must exist unless ``--create`` (a typo
    would otherwise start an empty store); the default store (no ``-s``) is created on first use."""
    from interchem.errors import StoreMissingError
    from interchem.settings import get_settings

    settings = get_settings(store_path=store, **overrides)
    uri = settings.store_uri.get_secret_value() if settings.store_uri is not None else ""
    if store is not None and not uri and not create and not Path(store).expanduser().exists():
        raise StoreMissingError(
            f"there is no store at {Path(store).expanduser().resolve()}: check -s, or add --create to start one there"
        )
    return settings


def fail(exc: Exception) -> NoReturn:
    """The one error handler: the message in red on stderr (with ``--traceback`` the full traceback
    first), and the error's exit code (``InterchemError.exit_code``: 3 input, 4 calculation, 5 service;
    other exceptions handed here, e.g. pydantic's ValueError or a YAML error, are input errors)."""
    if SHOW_TRACEBACK["on"]:
        console.print_exception()
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=getattr(exc, "exit_code", EXIT_INPUT))


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


def parse_temperatures(values: list[str] | None) -> list[float]:
    """``-T 600 -T 700,800`` -> [600.0, 700.0, 800.0] (K, each >= 0)."""
    temperatures = parse_floats(values, "temperatures")
    if any(t < 0 for t in temperatures):
        raise InterchemError(f"temperatures must be >= 0 K, got {', '.join(f'{t:g}' for t in temperatures)}")
    return temperatures


def parse_termination(value: str | None) -> int | str | None:
    """A termination index ("0") or label."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def quick_presets(electrolytes: list[str] | None, anodes: list[str] | None) -> tuple[list[str], list[str]]:
    """``--quick``: the preset phases where none were given."""
    from interchem.structures.library import QUICK_ANODES, QUICK_ELECTROLYTES

    return electrolytes or list(QUICK_ELECTROLYTES), anodes or list(QUICK_ANODES)
