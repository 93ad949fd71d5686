"""CLI commands of the kinetics flows: ``barriers``, ``diffusion``, ``phonons``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from interchem.cli.common import (
    KINETICS,
    CalculatorOption,
    CreateOption,
    MDStepsOption,
    Mechanism,
    OutputOption,
    SeedOption,
    StoreOption,
    SupercellLengthOption,
    TemperaturesOption,
    app,
    computing_settings,
    console,
    fail,
    out,
    parse_calculator,
    parse_temperatures,
    split_list,
)
from interchem.errors import InterchemError


def _prepare(phase: str, calculator: str | None, output: Path | None, store: Path | None, default_out: str, create):
    """Settings (``-s`` checked: it must exist unless ``create``), phase, structure, calculator, report folder."""
    from interchem.runner import resolve_ordered

    settings = computing_settings(store, create, output_dir=output)
    spec = parse_calculator(calculator, settings.calculator)
    # A partially occupied phase (Li6PS5Cl-disordered@0.25, a CIF with occupancies) is ordered first: its
    # Ewald-lowest orderings relaxed with this calculator, the lowest kept (stored and reused).
    name, structure = resolve_ordered(phase, spec, settings)
    out_dir = Path(output) if output else Path(settings.output_dir) / f"{default_out}-{name}"
    return settings, name, structure, spec, out_dir


def _run(flow, settings, what: str):
    from interchem.runner import run_flow, step_display
    from interchem.store import check_store

    t0 = time.perf_counter()
    where = check_store(settings, timeout_ms=settings.store_timeout_ms)  # the store actually used, before any job
    console.print(f"[bold]{what}[/]: {len(flow.jobs)} jobs, {where}")
    with step_display(console) as steps:  # live bars of MD steps, NEB iterations, relaxation steps
        result = run_flow(
            flow,
            settings,
            progress=lambda kind, name: console.print(f"  {kind} {name}") if kind != "starting" else None,
            what=what,
            steps=steps,
        )
    return result, time.perf_counter() - t0


@app.command(rich_help_panel=KINETICS)
def barriers(
    phases: Annotated[Optional[list[str]], typer.Argument(help="phase names, aliases or structure files")] = None,
    standard: Annotated[
        bool, typer.Option("--standard", help="the electrolytes, Li_xSi phases and interphase products (14 phases)")
    ] = False,
    mechanism: Annotated[
        Mechanism, typer.Option("--mechanism", help="Li hop mechanism (Si, without Li: interstitial always)")
    ] = Mechanism.vacancy,
    cutoff: Annotated[float, typer.Option("--cutoff", help="longest hop considered (A)")] = 4.0,
    max_hops: Annotated[
        Optional[int], typer.Option("--max-hops", help="only the N shortest distinct hops per mechanism")
    ] = None,
    images: Annotated[int, typer.Option("--images", help="intermediate NEB images")] = 5,
    fmax: Annotated[float, typer.Option("--fmax", help="NEB force threshold (eV/A)")] = 0.05,
    supercell_length: SupercellLengthOption = 8.0,
    relax_sites: Annotated[
        bool,
        typer.Option(
            "--relax-sites/--geometric-sites",
            help="interstitial: relax the candidate sites with the calculator and hop between distinct minima "
            "(default), or use the geometric candidates",
        ),
    ] = True,
    rattle: Annotated[
        float,
        typer.Option(
            "--rattle", help="endpoint_rattle_A: same seeded displacement of both NEB endpoints (split sites)"
        ),
    ] = 0.0,
    across: Annotated[
        Optional[str],
        typer.Option("--across", help="electrolyte: instead, the Li hop across the best PHASE|ELECTROLYTE interface"),
    ] = None,
    max_atoms: Annotated[int, typer.Option("--max-atoms", help="--across: largest interface cell (atoms)")] = 400,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Li migration barriers: every symmetry-distinct hop by climbing-image NEB, plus percolation.
    Silicon (no Li) is done by the interstitial mechanism whatever --mechanism says."""
    from interchem.reports.kinetics import write_barrier_report
    from interchem.workflows.pipelines import STANDARD_BARRIER_PHASES

    names = split_list(phases) + (STANDARD_BARRIER_PHASES if standard else [])
    if not names:
        fail(InterchemError("give at least one phase (or --standard)"))
    if across:
        for name in names:
            _interface_barrier(name, across, images, fmax, calculator, output, (store, create), max_atoms)
        return
    neb = {"n_images": images, "fmax": fmax, "supercell_min_length": supercell_length, "endpoint_rattle_A": rattle}
    try:
        targets, flow, settings = _barrier_flow(
            names, mechanism.value, cutoff, max_hops, relax_sites, neb, calculator, output, (store, create)
        )
        reports, wall = _run(flow, settings, f"interchem barriers {' '.join(targets)}")
        paths = [write_barrier_report(rep, out_dir) for rep, out_dir in zip(reports, targets.values(), strict=True)]
    except InterchemError as exc:
        fail(exc)
    for name, report in zip(targets, reports, strict=True):
        _print_barriers(name, report)
    console.print("reports: " + ", ".join(str(p) for p in paths) + f" ({wall:.0f} s)")


def _barrier_flow(names, mechanism, cutoff, max_hops, relax_sites, neb_settings, calculator, output, store):
    """Every phase resolved and validated (and the flow built) before anything runs; phase -> report folder.
    ``store``: (the -s folder, --create)."""
    from interchem.workflows.pipelines import StandardBarriersMaker

    structures, targets = {}, {}
    for phase in names:
        settings, name, structure, spec, out_dir = _prepare(
            phase, calculator, output if len(names) == 1 else None, store[0], "barriers", store[1]
        )
        structures[name] = structure
        targets[name] = Path(output) / name if output and len(names) > 1 else out_dir
    maker = StandardBarriersMaker(
        calculator=spec,
        mechanism=mechanism,
        cutoff=cutoff,
        max_hops=max_hops,
        relax_interstitial_sites=relax_sites,
        neb_settings=neb_settings,
    )
    return targets, maker.make(structures), settings


def _print_barriers(name: str, report: dict) -> None:
    out.print(f"[bold]{name}[/]")
    for h in report["hops"]:
        flag = f"  [yellow]flagged: {h['flag_reason']}[/]" if h["flagged"] else ""
        out.print(
            f"  {h['mechanism']:12s} hop {h['hop']}  {h['distance_A']:.3f} A  barrier {h['barrier_eV']:.3f} eV{flag}"
        )
    for mech, th in report["percolation_eV"].items():
        out.print(
            f"  percolation ({mech}): "
            + ", ".join(f"{d}D {'-' if v is None else f'{v:.3f} eV'}" for d, v in th.items())
        )


def _interface_barrier(
    anode: str, electrolyte: str, images: int, fmax: float, calculator, output, store, max_atoms: int = 400
) -> None:
    import json

    from interchem.structures.library import resolve_phase
    from interchem.workflows.pipelines import InterfaceHopMaker

    try:
        settings, a_name, a_struct, spec, _ = _prepare(anode, calculator, output, store[0], "barriers", store[1])
        e_name, e_struct = resolve_phase(electrolyte)
        maker = InterfaceHopMaker(calculator=spec, n_images=images, fmax=fmax, max_atoms=max_atoms)
        best = maker.best_interface(a_struct, e_struct, a_name, e_name)
        flow = maker.make(a_struct, e_struct, interface=best)
        result, wall = _run(flow, settings, f"interchem barriers {flow.name}")
        out_dir = Path(output) if output else Path(settings.output_dir) / f"barriers-{a_name}-{e_name}-interface"
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "interface_hop.json").write_text(
            json.dumps({k: v for k, v in result.items() if k != "images"}, indent=2, default=str)
        )
        best.structure.to(filename=str(out_dir / "interface.cif"))
    except InterchemError as exc:
        fail(exc)
    flag = f"  [yellow]flagged: {result['flag_reason']}[/]" if result["flagged"] else ""
    out.print(
        f"{flow.name}: {result['hop']['distance_A']:.2f} A, barrier {result['barrier_eV']:.3f} eV, "
        f"reaction energy {result['reaction_energy_eV']:.3f} eV{flag}"
    )
    console.print(f"written: {out_dir} ({wall:.0f} s)")


@app.command(rich_help_panel=KINETICS)
def diffusion(
    phase: Annotated[str, typer.Argument(help="phase name, alias or structure file")],
    temperature: TemperaturesOption = None,
    md_steps: MDStepsOption = 5000,
    timestep: Annotated[float, typer.Option("--timestep", help="MD time step (fs)")] = 2.0,
    equilibration: Annotated[
        float, typer.Option("--equilibration", help="ps discarded at the start of each run")
    ] = 1.0,
    supercell_length: SupercellLengthOption = 10.0,
    seed: SeedOption = 0,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Li diffusion and conductivity from NVT MD at several temperatures (-T, at least 3; default 600, 700,
    800, 900 K), with Arrhenius extrapolation."""
    from interchem.reports.kinetics import write_diffusion_report
    from interchem.workflows.diffusion import DiffusionMaker

    try:
        settings, name, structure, spec, out_dir = _prepare(phase, calculator, output, store, "diffusion", create)
        flow = DiffusionMaker(
            calculator=spec,
            temperatures_K=tuple(parse_temperatures(temperature) or (600.0, 700.0, 800.0, 900.0)),
            steps=md_steps,
            timestep_fs=timestep,
            equilibration_ps=equilibration,
            supercell_min_length=supercell_length,
            seed=seed,
        ).make(structure, phase=name)
        report, wall = _run(flow, settings, f"interchem diffusion {name}")
        path = write_diffusion_report(report, out_dir)
    except InterchemError as exc:
        fail(exc)
    for p in report["points"]:
        d = p["diffusion"]
        note = f"  [yellow]{d['flag_reason']}[/]" if d["flagged"] else ""
        out.print(f"{p['temperature_K']:7.0f} K  D = {d['D_cm2_per_s']:.2e} ± {d['D_err_cm2_per_s']:.1e} cm2/s{note}")
    if report["flagged"]:
        out.print(f"[yellow]no Arrhenius fit:[/] {report['flag_reason']}")
    else:
        out.print(
            f"Ea = {report['activation_energy_eV']:.3f} ± {report['activation_energy_err_eV']:.3f} eV; "
            f"sigma(300 K) = {report['sigma_300K_S_per_cm']:.2e} S/cm"
        )
    console.print(f"report: {path} ({wall:.0f} s)")


@app.command(rich_help_panel=KINETICS)
def phonons(
    phase: Annotated[str, typer.Argument(help="phase name, alias or structure file")],
    supercell_length: SupercellLengthOption = 12.0,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Harmonic phonons (atomate2/phonopy): imaginary modes, band structure, DOS, F_vib(T)."""
    from interchem.reports.kinetics import write_phonon_report
    from interchem.stored import load_output
    from interchem.workflows.phonons import PhononsMaker

    try:
        settings, name, structure, spec, out_dir = _prepare(phase, calculator, output, store, "phonons", create)
        flow = PhononsMaker(calculator=spec, min_length=supercell_length).make(structure, phase=name)
        summary, wall = _run(flow, settings, f"interchem phonons {name}")
        doc = load_output(settings, summary["phonon_doc_uuid"]) if summary.get("phonon_doc_uuid") else None
        path = write_phonon_report(summary, out_dir, doc)
    except InterchemError as exc:
        fail(exc)
    state = "IMAGINARY MODES" if summary["has_imaginary_modes"] else "dynamically stable"
    out.print(f"{name}: lowest frequency {summary['min_frequency_THz']:.3f} THz ({state})")
    console.print(f"report: {path} ({wall:.0f} s)")
