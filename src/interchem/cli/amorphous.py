"""``interchem amorphous`` and ``interchem lithiation``: melt-quench and mechanics of lithiation.

Registered on the main app by one import line in ``interchem.cli``. Inputs are validated (and the
random packing built) before the store is opened, so bad input writes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from interchem.cli.common import (
    INTERFACES,
    CalculatorOption,
    CreateOption,
    OutputOption,
    SeedOption,
    StoreOption,
    app,
    computing_settings,
    console,
    fail,
    out,
    parse_calculator,
    parse_floats,
    split_list,
)
from interchem.errors import InterchemError

# The melt-quench schedule, the same options in ``amorphous`` and ``lithiation``.
MeltStepsOption = Annotated[int, typer.Option("--melt-steps", help="NVT melt steps (1 fs)")]
QuenchStepsOption = Annotated[int, typer.Option("--quench-steps", help="NPT quench steps (1 fs), linear ramp to 300 K")]
AnnealStepsOption = Annotated[int, typer.Option("--anneal-steps", help="NPT anneal steps at 300 K (2 fs)")]


def run_flow(flow, settings, label: str) -> Any:
    """Run a flow locally on the configured store and return its output (loaded): the shared runner,
    printing jobs as they start or are reused."""
    from interchem.runner import run_flow as _run
    from interchem.runner import step_display

    def progress(event: str, name: str) -> None:
        if event in ("starting", "reused"):
            console.print(f"  {event} {name}")

    with step_display(console) as steps:  # live bars of MD steps and relaxation steps
        return _run(flow, settings, progress, what=label, steps=steps)


@app.command(rich_help_panel=INTERFACES)
def amorphous(
    target: Annotated[
        str, typer.Argument(help="preset (a-Si, a-LiPON) or composition (Li2.9PO3.3N0.46, a-Li3.75Si, Li15Si4)")
    ],
    atoms: Annotated[
        Optional[int], typer.Option("--atoms", "-n", help="atoms in the cell (default: 64; a-LiPON 100)")
    ] = None,
    density: Annotated[
        Optional[float],
        typer.Option(
            "--density", help="start density of the random packing (g/cm3); default from a crystalline relative"
        ),
    ] = None,
    calculator: CalculatorOption = None,
    melt_temperature: Annotated[
        Optional[float], typer.Option("--melt-temperature", help="K (default: a-Si 3000, Li_xSi 2000, LiPON 2500)")
    ] = None,
    melt_steps: MeltStepsOption = 3000,
    quench_steps: QuenchStepsOption = 5000,
    anneal_steps: AnnealStepsOption = 2000,
    seed: SeedOption = 0,
    max_composition_error: Annotated[
        float,
        typer.Option(
            "--max-composition-error", help="largest relative error of an element's amount in the integer cell"
        ),
    ] = 0.1,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Amorphous phase by melt-quench MD: density, partial g(r), coordination; CIF/extxyz + report."""
    from interchem.reports.amorphous import write_amorphous_report
    from interchem.structures.amorphous import amorphous_target
    from interchem.workflows.amorphous import AmorphousResult, MeltQuenchMaker

    try:
        settings = computing_settings(store, create, output_dir=output)
        from interchem.store import check_store

        where = check_store(settings, timeout_ms=settings.store_timeout_ms)  # before any job; named in the header
        spec = parse_calculator(calculator, settings.calculator)
        t = amorphous_target(
            target,
            n_atoms=atoms,
            density=density,
            melt_temperature_K=melt_temperature,
            max_relative_error=max_composition_error,
        )
        maker = MeltQuenchMaker(
            calculator=spec, melt_steps=melt_steps, quench_steps=quench_steps, anneal_steps=anneal_steps
        )
        flow = maker.make(t, seed=seed)
    except (InterchemError, ValueError) as exc:  # ValueError: pydantic rejects MD settings
        fail(exc)
    out_dir = Path(settings.output_dir)
    console.print(
        f"[bold]interchem amorphous[/] {t.label}: {t.cell_formula} ({t.n_atoms} atoms, composition error "
        f"{t.composition_error:.4f}), start {t.start_density:.3f} g/cm3, melt {t.melt_temperature_K:.0f} K, "
        f"calculator [cyan]{spec.label()}[/], {where}"
    )
    start = time.perf_counter()
    try:
        result = AmorphousResult.model_validate(run_flow(flow, settings, f"melt-quench of {t.label}"))
    except InterchemError as exc:
        fail(exc)
    report = write_amorphous_report(result, out_dir)
    table = Table(title=f"{result.label} ({result.level_of_theory})")
    for col in ("density (g/cm3)", "published", "deviation", "pair", "peak (Å)", "coordination"):
        table.add_column(col)
    ref = result.reference_density
    first = True
    for pair, rdf in sorted(result.rdf_0K.items()):
        table.add_row(
            f"{result.density:.3f}" if first else "",
            (f"{ref[0]:.2f}-{ref[1]:.2f}" if ref else "-") if first else "",
            (f"{result.density_deviation_percent:+.1f} %" if result.density_deviation_percent is not None else "-")
            if first
            else "",
            pair,
            "-" if rdf.first_peak_A is None else f"{rdf.first_peak_A:.2f}",
            "-" if rdf.coordination is None else f"{rdf.coordination:.2f}",
        )
        first = False
    out.print(table)
    if not result.density_sane:
        console.print("[bold red]warning:[/] the final density is outside the sane window: the run is not trustworthy")
    console.print(f"done in {time.perf_counter() - start:.0f} s; report: {report}")


@app.command(rich_help_panel=INTERFACES)
def lithiation(
    calculator: CalculatorOption = None,
    phase: Annotated[
        Optional[list[str]],
        typer.Option(
            "--phase",
            "-p",
            help="crystalline Li_xSi card; repeat the option or give comma-separated values (default: all)",
        ),
    ] = None,
    amorphous_: Annotated[
        bool, typer.Option("--with-amorphous/--no-amorphous", help="melt-quench amorphous Li_xSi too")
    ] = True,
    x: Annotated[
        Optional[list[str]],
        typer.Option(
            "--x",
            help="x of amorphous Li_xSi; repeat the option or give comma-separated values (default 0, 1, 2, 3.75)",
        ),
    ] = None,
    n_si: Annotated[int, typer.Option("--n-si", help="Si atoms per amorphous cell")] = 16,
    elastic: Annotated[
        bool, typer.Option("--elastic/--no-elastic", help="elastic moduli through atomate2's elastic flow")
    ] = True,
    elastic_phase: Annotated[
        Optional[list[str]],
        typer.Option(
            "--elastic-phase",
            help="phases for the elastic flow; repeat the option or give comma-separated values "
            "(default: crystalline cells of <= 64 atoms)",
        ),
    ] = None,
    melt_steps: MeltStepsOption = 3000,
    quench_steps: QuenchStepsOption = 5000,
    anneal_steps: AnnealStepsOption = 2000,
    seed: SeedOption = 0,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Volume per Si and expansion against x (crystalline + amorphous Li_xSi), elastic moduli (VRH)."""
    # long: a command: option checks, the Maker, the progress display and the printed table in order
    from interchem.reports.amorphous import write_lithiation_report
    from interchem.structures.lithiation import crystalline_series
    from interchem.workflows.amorphous import MeltQuenchMaker
    from interchem.workflows.mechanics import LithiationMaker, LithiationResult

    try:
        settings = computing_settings(store, create, output_dir=output)
        from interchem.store import check_store

        where = check_store(settings, timeout_ms=settings.store_timeout_ms)  # before any job; named in the header
        spec = parse_calculator(calculator, settings.calculator)
        xs = (parse_floats(x, "--x") or [0.0, 1.0, 2.0, 3.75]) if amorphous_ else []
        series = crystalline_series()
        names = split_list(phase) or [n for n, _, _ in series]
        if elastic:
            small = {n for n, _, s in series if len(s) <= 64}
            elastic_list = (
                split_list(elastic_phase)
                if elastic_phase
                else [n for n in (["Si", *names] if "Si" not in names else names) if n in small]
            )
        else:
            elastic_list = []
        maker = LithiationMaker(
            calculator=spec,
            crystalline=names,
            amorphous_x=xs,
            n_si=n_si,
            elastic=elastic_list,
            relax_fmax=settings.relax_fmax,
            relax_steps=settings.relax_steps,
            seed=seed,
            melt_quench=MeltQuenchMaker(
                calculator=spec, melt_steps=melt_steps, quench_steps=quench_steps, anneal_steps=anneal_steps
            ),
        )
        flow = maker.make()
    except (InterchemError, ValueError) as exc:
        fail(exc)
    console.print(
        f"[bold]interchem lithiation[/]: crystalline {', '.join(names)}; "
        f"amorphous x = {', '.join(f'{v:g}' for v in xs) or 'none'}; "
        f"elastic {', '.join(elastic_list) or 'none'}; calculator [cyan]{spec.label()}[/], {where}"
    )
    start = time.perf_counter()
    try:
        result = LithiationResult.model_validate(run_flow(flow, settings, "lithiation mechanics"))
    except InterchemError as exc:
        fail(exc)
    report = write_lithiation_report(result, settings.output_dir)
    table = Table(title=f"Li_xSi mechanics ({result.level_of_theory})")
    for col in ("phase", "x", "V/Si (Å3)", "exp. V/Si", "expansion %", "B", "G", "E (GPa)"):
        table.add_column(col)
    for p in result.phases:
        m = p.moduli
        table.add_row(
            p.phase,
            f"{p.x:.2f}",
            f"{p.volume_per_si_A3:.2f}",
            "-" if p.experimental_volume_per_si_A3 is None else f"{p.experimental_volume_per_si_A3:.2f}",
            f"{p.expansion_percent:.0f}",
            *(("-", "-", "-") if m is None else (f"{m.bulk_vrh:.1f}", f"{m.shear_vrh:.1f}", f"{m.youngs_vrh:.1f}")),
        )
    out.print(table)
    console.print(f"done in {time.perf_counter() - start:.0f} s; report: {report}")
