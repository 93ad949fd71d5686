"""``interchem screen`` and the commands that read a stored screen: ``tieline``, ``report``,
``phases``, ``calculators``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import (
    AnodeOption,
    CalculatorOption,
    ElectrolyteOption,
    FmaxOption,
    OutputOption,
    PhaseOption,
    QuickOption,
    StaticCalculatorOption,
    StepsOption,
    StoreOption,
    app,
    console,
    fail,
    out,
    parse_calculator,
    quick_presets,
)
from interchem.errors import InterchemError


@app.command()
def screen(
    electrolyte: ElectrolyteOption = None,
    anode: AnodeOption = None,
    phase: PhaseOption = None,
    calculator: CalculatorOption = None,
    static_calculator: StaticCalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
    quick: QuickOption = False,
    fmax: FmaxOption = None,
    steps: StepsOption = None,
    temperature: Annotated[
        Optional[float],
        typer.Option(
            "--temperature",
            "-T",
            help="also give windows and reactions at this temperature (K): phonons of every phase, "
            "F_vib(T) added, shown next to 0 K",
        ),
    ] = None,
) -> None:
    """Thermodynamic screen: relax all phases, then hull, windows, voltages, reactions, tie-lines."""
    from interchem.settings import get_settings
    from interchem.store import check_store

    try:
        settings = get_settings(store_path=store, output_dir=output, relax_fmax=fmax, relax_steps=steps)
        # the store first, before the heavy imports and any job: an unreachable one fails in seconds
        where = check_store(settings, timeout_ms=settings.store_timeout_ms)
    except InterchemError as exc:
        fail(exc)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from interchem.reports.screen import write_report
    from interchem.runner import plan_screen, run_screen

    try:
        if temperature is not None:
            from interchem.workflows.pipelines import ThermalScreenMaker

            ThermalScreenMaker(temperature_K=temperature)  # the range is checked before the screen runs
        if quick:
            electrolyte, anode = quick_presets(electrolyte, anode)
        static = parse_calculator(static_calculator, "") if static_calculator else None
        plan = plan_screen(
            electrolyte,
            anode,
            parse_calculator(calculator, settings.calculator),
            extra_phases=phase or [],
            settings=settings,
            static_calculator=static,
        )
    except InterchemError as exc:
        fail(exc)
    console.print(
        f"[bold]interchem screen[/]: {len(plan.phases)} phases, calculator [cyan]{plan.calculator.label()}[/], {where}"
    )
    for system, names in plan.systems.items():
        console.print(f"  {system}: {', '.join(names)}")
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        # One record per phase and level: relaxation, and the single point when a static level is set.
        task = bar.add_task("relaxing", total=len(plan.phases) * (2 if plan.static_calculator else 1))
        try:
            result = run_screen(plan, settings=settings, progress=_count_phases(bar, task))
        except InterchemError as exc:
            fail(exc)
    elapsed = time.perf_counter() - start
    report = write_report(result, settings.output_dir, wall_time_s=elapsed)
    _print_summary(result)
    reused = sum(1 for r in result.relaxations if r.get("reused"))
    console.print(f"{len(result.relaxations)} phases ({reused} reused from the store) in {elapsed:.0f} s")
    console.print(f"report: {report}\nsummary: {Path(settings.output_dir) / 'summary.json'}")
    if temperature is not None:
        _thermal_screen(temperature, settings, plan.calculator)


def _thermal_screen(temperature: float, settings, calculator) -> None:
    from interchem.reports.common import write_json
    from interchem.runner import run_thermal_screen

    console.print(
        f"[bold]phonons[/] of every phase for the screen at {temperature:g} K (reused from the store when done before)"
    )
    try:
        thermal, summaries = run_thermal_screen(
            temperature,
            settings,
            calculator,
            progress=lambda kind, name: (
                console.print(f"  {kind} {name}")
                if name.startswith(("phonon summary", "phonons")) and kind != "starting"
                else None
            ),
        )
    except InterchemError as exc:
        fail(exc)
    table = Table(title=f"Stability windows at 0 K and {temperature:g} K (V vs Li/Li+; harmonic F_vib)")
    for col in (
        "electrolyte",
        "reduction 0 K",
        f"reduction {temperature:g} K",
        "oxidation 0 K",
        f"oxidation {temperature:g} K",
    ):
        table.add_column(col)
    for w in thermal.windows:
        table.add_row(
            w.electrolyte,
            _num(w.reduction_V_0K),
            _num(w.reduction_V_T),
            _num(w.oxidation_V_0K, none="inf"),
            _num(w.oxidation_V_T, none="inf"),
        )
    out.print(table)
    if thermal.phases_with_imaginary_modes:
        console.print(
            f"[yellow]imaginary modes (harmonic F_vib unreliable):[/] {', '.join(thermal.phases_with_imaginary_modes)}"
        )
    path = write_json(thermal.model_dump(mode="json"), Path(settings.output_dir) / f"thermal_{temperature:g}K.json")
    console.print(f"thermal screen: {path}")


def _count_phases(bar, task):
    """Advance the bar once per phase, whether it was relaxed (record job) or reused."""

    def callback(event: str, name: str) -> None:
        if event == "reused" or (event == "finished" and name.startswith("record ")):
            bar.advance(task)
        elif name.startswith(("relax or reuse", "static or reuse")):
            bar.update(task, description=name.replace(" or reuse", "").replace("relax", "relaxing"))
        elif event == "finished" and name == "analyse screen":
            bar.update(task, description="analysed")

    return callback


def _num(value, fmt: str = ".2f", none: str = "-") -> str:
    return none if value is None else format(value, fmt)


def _print_summary(result) -> None:
    summary = result.analysis
    table = Table(title="Electrochemical stability windows (V vs Li/Li+)")
    for col in ("electrolyte", "reduction", "oxidation", "products at reduction", "products at oxidation"):
        table.add_column(col)
    for name, w in summary.get("windows", {}).items():
        table.add_row(
            name,
            _num(w["reduction_V"], none="-inf"),
            _num(w["oxidation_V"], none="inf"),
            ", ".join(w["reduction_products"]),
            ", ".join(w["oxidation_products"]),
        )
    out.print(table)
    table = Table(title="Most negative anode|electrolyte reaction energies")
    for col in ("anode", "x_Li", "electrolyte", "E_rxn (meV/atom)", "products"):
        table.add_column(col)
    for r in summary.get("reactions", []):
        table.add_row(
            r["anode"],
            _num(r["x_Li"], none="Li metal"),
            r["electrolyte"],
            _num(r["E_rxn_meV_per_atom"], ".0f"),
            ", ".join(r["products"]),
        )
    out.print(table)


@app.command()
def tieline(
    phase_a: Annotated[str, typer.Argument(help="first phase, e.g. Li2S")],
    phase_b: Annotated[str, typer.Argument(help="second phase, e.g. Li15Si4 or Li")],
    calculator: CalculatorOption = None,
    store: StoreOption = None,
) -> None:
    """Do two phases share a direct tie-line? Answered from the stored screen (the interlayer rule: an
    interlayer must share a tie-line with Li metal)."""
    from interchem.analysis import shares_tie_line
    from interchem.runner import latest_screen_result, screen_entries
    from interchem.settings import get_settings
    from interchem.structures.library import canonical_name

    try:
        result = latest_screen_result(get_settings(store_path=store), calculator)
        t = shares_tie_line(screen_entries(result), canonical_name(phase_a), canonical_name(phase_b))
    except InterchemError as exc:
        fail(exc)
    verdict = "[green]direct tie-line[/]" if t.direct else "[red]no direct tie-line[/]"
    out.print(f"{t.a} | {t.b}: {verdict} ({result.level_of_theory})")
    if not t.direct:
        out.print(f"  they react to: {', '.join(t.products) or '—'} (E_mutual {t.E_mutual_meV_per_atom:.0f} meV/atom)")
    if t.note:
        out.print(f"  note: {t.note}")


@app.command()
def report(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="report folder")] = None,
    calculator: CalculatorOption = None,
    store: StoreOption = None,
) -> None:
    """Re-draw the report of the latest stored screen (no recomputation)."""
    from interchem.reports.screen import write_report
    from interchem.runner import latest_screen_result
    from interchem.settings import get_settings

    try:
        settings = get_settings(store_path=store, output_dir=output)
        result = latest_screen_result(settings, calculator)
    except InterchemError as exc:
        fail(exc)
    path = write_report(result, settings.output_dir)
    _print_summary(result)
    console.print(f"report: {path}")


@app.command()
def phases(
    chemsys: Annotated[Optional[str], typer.Option(help="e.g. Li-Si: only phases within these elements")] = None,
) -> None:
    """List the phase library (crystallographic cards) with sources."""
    from interchem.structures.library import card_phases_in, cards

    names = card_phases_in(chemsys.split("-")) if chemsys else sorted(cards())
    table = Table(title=f"{len(names)} phase cards")
    for col in ("phase", "space group", "ordered approx.", "source"):
        table.add_column(col)
    for n in names:
        c = cards()[n]
        table.add_row(
            n,
            f"{c.space_group.symbol} ({c.space_group.number})",
            "yes" if c.ordered_approximant else "",
            c.source.citation[:70],
        )
    out.print(table)


@app.command()
def calculators() -> None:
    """List the calculator registry."""
    from interchem.calculators import CalculatorSpec, registered_backends

    table = Table(title="calculators")
    for col in ("name", "energy convention", "description"):
        table.add_column(col)
    for name, b in sorted(registered_backends().items()):
        try:
            conv = b.energy_convention(CalculatorSpec(name=name))
        except Exception:
            conv = "?"
        table.add_row(name, conv, b.description)
    out.print(table)
