"""``interchem screen`` and the commands that read a stored screen: ``tieline``, ``report``,
``phases``, ``calculators``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import (
    LIBRARY,
    RESULTS,
    THERMODYNAMICS,
    AnodeOption,
    CalculatorOption,
    CreateOption,
    ElectrolyteOption,
    FmaxOption,
    OutputOption,
    PhaseOption,
    QuickOption,
    RelaxStepsOption,
    StaticCalculatorOption,
    StoreOption,
    TemperaturesOption,
    app,
    computing_settings,
    console,
    fail,
    out,
    parse_calculator,
    parse_temperatures,
    quick_presets,
    split_list,
)
from interchem.errors import InterchemError
from interchem.settings import screen_default


@app.command(rich_help_panel=THERMODYNAMICS)
def screen(
    electrolyte: ElectrolyteOption = None,
    anode: AnodeOption = None,
    phase: PhaseOption = None,
    calculator: CalculatorOption = None,
    static_calculator: StaticCalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
    quick: QuickOption = False,
    fmax: FmaxOption = None,
    relax_steps: RelaxStepsOption = None,
    committee: Annotated[
        Optional[str],
        typer.Option(
            "--committee",
            help="model committee, e.g. chgnet,sevennet:model=7net-0: the same screen with each model; "
            "values of the first plus the spread (max-min, std) across them",
        ),
    ] = None,
    temperature: TemperaturesOption = None,
) -> None:
    """Thermodynamic screen: relax all phases, then hull, windows, voltages, reactions, tie-lines.
    With -T: also windows and reactions at each temperature (phonons of every phase, F_vib(T) added)."""
    # long: a command: option checks, the plan, the progress display and the printed tables in order
    from interchem.store import check_store

    try:
        settings = computing_settings(store, create, output_dir=output, relax_fmax=fmax, relax_steps=relax_steps)
        # the store first, before the heavy imports and any job: an unreachable one fails in seconds
        where = check_store(settings, timeout_ms=settings.store_timeout_ms)
    except InterchemError as exc:
        fail(exc)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from interchem.reports.screen import write_report
    from interchem.runner import StepBars, plan_screen, run_screen

    try:
        temperatures = parse_temperatures(temperature)
        electrolyte, anode, phase = split_list(electrolyte) or None, split_list(anode) or None, split_list(phase)
        if temperatures:
            from interchem.workflows.pipelines import ThermalScreenMaker

            for t in temperatures:  # the range is checked before the screen runs
                ThermalScreenMaker(temperature_K=t)
        if quick:
            electrolyte, anode = quick_presets(electrolyte, anode)
        static = parse_calculator(static_calculator, "") if static_calculator else None
        plan = plan_screen(
            electrolyte,
            anode,
            calculator if committee else parse_calculator(calculator, screen_default(settings)),
            extra_phases=phase,
            settings=settings,
            static_calculator=static,
            committee=committee,
        )
    except InterchemError as exc:
        fail(exc)
    console.print(
        f"[bold]interchem screen[/]: {len(plan.phases)} phases, calculator [cyan]{plan.calculator.label()}[/], {where}"
    )
    if plan.committee:
        console.print(f"  committee: {', '.join(m.label() for m in plan.committee)} (values of the first reported)")
    for system, names in plan.systems.items():
        console.print(f"  {system}: {', '.join(names)}")
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        # One record per phase and level: relaxation, and the single point when a static level is set.
        per_phase = (2 if plan.static_calculator else 1) * max(1, len(plan.committee))
        task = bar.add_task("relaxing", total=len(plan.phases) * per_phase)
        try:
            result = run_screen(plan, settings=settings, progress=_count_phases(bar, task), steps=StepBars(bar))
        except InterchemError as exc:
            fail(exc)
    elapsed = time.perf_counter() - start
    report = write_report(result, settings.output_dir, wall_time_s=elapsed)
    _print_summary(result)
    _print_warnings(result)
    reused = sum(1 for r in result.relaxations if r.get("reused"))
    console.print(f"{len(result.relaxations)} phases ({reused} reused from the store) in {elapsed:.0f} s")
    console.print(f"report: {report}\nsummary: {Path(settings.output_dir) / 'summary.json'}")
    for t in temperatures:
        _thermal_screen(t, settings, plan.calculator)


def _thermal_screen(temperature: float, settings, calculator) -> None:
    from interchem.reports.common import write_json
    from interchem.runner import run_thermal_screen, step_display

    console.print(
        f"[bold]phonons[/] of every phase for the screen at {temperature:g} K (reused from the store when done before)"
    )
    try:
        with step_display(console) as steps:  # live bars: relaxation steps, phonon displacements
            thermal, summaries = run_thermal_screen(
                temperature,
                settings,
                calculator,
                progress=lambda kind, name: (
                    console.print(f"  {kind} {name}")
                    if name.startswith(("phonon summary", "phonons")) and kind != "starting"
                    else None
                ),
                steps=steps,
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


def _print_warnings(result) -> None:
    """Every warning of the screen on stderr, one line each (also in report.md and summary.json)."""
    from interchem.reports.screen import screen_warnings_of

    for w in screen_warnings_of(result):
        console.print(f"[yellow]warning[/] ({w['kind']}): {w['message']}", highlight=False)


def _spread(result, *path) -> str:
    """' ± spread' of a committee quantity, '' without a committee."""
    q = result.uncertainty
    for key in path:
        q = None if q is None else q.get(key)
    if q is None:
        return ""
    return " ± ?" if q["spread"] is None else f" ± {q['spread']:.2f}"


def _print_summary(result) -> None:
    summary = result.analysis
    table = Table(title="Electrochemical stability windows (V vs Li/Li+)")
    for col in ("electrolyte", "reduction", "oxidation", "products at reduction", "products at oxidation"):
        table.add_column(col)
    for name, w in summary.get("windows", {}).items():
        table.add_row(
            name,
            _num(w["reduction_V"], none="-inf") + _spread(result, "windows", name, "reduction_V"),
            _num(w["oxidation_V"], none="inf") + _spread(result, "windows", name, "oxidation_V"),
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


@app.command(rich_help_panel=THERMODYNAMICS)
def tieline(
    phase_a: Annotated[str, typer.Argument(help="first phase, e.g. Li2S")],
    phase_b: Annotated[str, typer.Argument(help="second phase, e.g. Li15Si4 or Li")],
    calculator: CalculatorOption = None,
    store: StoreOption = None,
) -> None:
    """Do two phases share a direct tie-line? Answered from the stored screen (the interlayer rule: an
    interlayer must share a tie-line with Li metal)."""
    from interchem.analysis import shares_tie_line
    from interchem.settings import get_settings
    from interchem.stored import latest_screen_result, screen_entries
    from interchem.structures.library import check_phase_name

    try:
        a, b = check_phase_name(phase_a), check_phase_name(phase_b)  # a typo is named before the store is read
        result = latest_screen_result(get_settings(store_path=store), calculator)
        t = shares_tie_line(screen_entries(result), a, b)
    except InterchemError as exc:
        fail(exc)
    verdict = "[green]direct tie-line[/]" if t.direct else "[red]no direct tie-line[/]"
    out.print(f"{t.a} | {t.b}: {verdict} ({result.level_of_theory})")
    if not t.direct:
        out.print(f"  they react to: {', '.join(t.products) or '—'} (E_mutual {t.E_mutual_meV_per_atom:.0f} meV/atom)")
    if t.note:
        out.print(f"  note: {t.note}")


@app.command(rich_help_panel=RESULTS)
def report(
    output: OutputOption = None,
    calculator: CalculatorOption = None,
    store: StoreOption = None,
) -> None:
    """Re-draw the report of the latest stored screen (no recomputation)."""
    from interchem.reports.screen import write_report
    from interchem.settings import get_settings
    from interchem.stored import latest_screen_result

    try:
        settings = get_settings(store_path=store, output_dir=output)
        result = latest_screen_result(settings, calculator)
    except InterchemError as exc:
        fail(exc)
    path = write_report(result, settings.output_dir)
    _print_summary(result)
    console.print(f"report: {path}")


@app.command(rich_help_panel=LIBRARY)
def phases(
    chemsys: Annotated[
        Optional[str], typer.Option("--chemsys", help="e.g. Li-Si: only phases within these elements")
    ] = None,
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


@app.command(rich_help_panel=LIBRARY)
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
