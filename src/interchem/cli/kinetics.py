"""CLI commands of the kinetics flows: ``barriers``, ``diffusion``, ``phonons``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from interchem.cli.common import (
    CalculatorOption,
    OutputOption,
    StoreOption,
    app,
    console,
    fail,
    out,
    parse_calculator,
    parse_temperatures,
)
from interchem.errors import InterchemError


def _prepare(phase: str, calculator: str | None, output: Path | None, store: Path | None, default_out: str):
    from interchem.runner import resolve_ordered
    from interchem.settings import get_settings

    settings = get_settings(store_path=store, output_dir=output)
    spec = parse_calculator(calculator, settings.calculator)
    # A partially occupied phase (Li6PS5Cl-disordered@0.25, a CIF with occupancies) is ordered first: its
    # Ewald-lowest orderings relaxed with this calculator, the lowest kept (stored and reused).
    name, structure = resolve_ordered(phase, spec, settings)
    out_dir = Path(output) if output else Path(settings.output_dir) / f"{default_out}-{name}"
    return settings, name, structure, spec, out_dir


def _run(flow, settings, what: str):
    from interchem.runner import run_flow

    t0 = time.perf_counter()
    console.print(
        f"[bold]{what}[/]: {len(flow.jobs)} jobs, store {settings.store_path if not settings.store_uri else 'MongoDB'}"
    )
    result = run_flow(
        flow,
        settings,
        progress=lambda kind, name: console.print(f"  {kind} {name}") if kind != "starting" else None,
        what=what,
    )
    return result, time.perf_counter() - t0


@app.command()
def barriers(
    phases: Annotated[Optional[list[str]], typer.Argument(help="phase names, aliases or structure files")] = None,
    standard: Annotated[
        bool, typer.Option("--standard", help="the electrolytes, Li_xSi phases and interphase products (14 phases)")
    ] = False,
    mechanism: Annotated[str, typer.Option(help="vacancy, interstitial or both")] = "vacancy",
    cutoff: Annotated[float, typer.Option(help="longest hop considered (A)")] = 4.0,
    max_hops: Annotated[Optional[int], typer.Option(help="only the N shortest distinct hops per mechanism")] = None,
    images: Annotated[int, typer.Option(help="intermediate NEB images")] = 5,
    fmax: Annotated[float, typer.Option(help="NEB force threshold (eV/A)")] = 0.05,
    supercell: Annotated[float, typer.Option(help="minimum supercell length (A)")] = 8.0,
    relax_sites: Annotated[
        bool,
        typer.Option(
            "--relax-sites/--geometric-sites",
            help="interstitial: relax the candidate sites with the calculator and hop between distinct minima "
            "(default), or use the geometric candidates",
        ),
    ] = True,
    rattle: Annotated[
        float, typer.Option(help="endpoint_rattle_A: same seeded displacement of both NEB endpoints (split sites)")
    ] = 0.0,
    across: Annotated[
        Optional[str], typer.Option(help="electrolyte: instead, the Li hop across the best PHASE|ELECTROLYTE interface")
    ] = None,
    max_atoms: Annotated[int, typer.Option(help="--across: largest interface cell (atoms)")] = 400,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
) -> None:
    """Li migration barriers: every symmetry-distinct hop by climbing-image NEB, plus percolation.
    Silicon (no Li) is done by the interstitial mechanism whatever --mechanism says."""
    from interchem.reports.kinetics import write_barrier_report
    from interchem.workflows.pipelines import STANDARD_BARRIER_PHASES

    names = list(phases or []) + (STANDARD_BARRIER_PHASES if standard else [])
    if not names:
        fail(InterchemError("give at least one phase (or --standard)"))
    if across:
        for name in names:
            _interface_barrier(name, across, images, fmax, calculator, output, store, max_atoms)
        return
    neb = {"n_images": images, "fmax": fmax, "supercell_min_length": supercell, "endpoint_rattle_A": rattle}
    try:
        targets, flow, settings = _barrier_flow(
            names, mechanism, cutoff, max_hops, relax_sites, neb, calculator, output, store
        )
        reports, wall = _run(flow, settings, f"interchem barriers {' '.join(targets)}")
        paths = [write_barrier_report(rep, out_dir) for rep, out_dir in zip(reports, targets.values(), strict=True)]
    except InterchemError as exc:
        fail(exc)
    for name, report in zip(targets, reports, strict=True):
        _print_barriers(name, report)
    console.print("reports: " + ", ".join(str(p) for p in paths) + f" ({wall:.0f} s)")


def _barrier_flow(names, mechanism, cutoff, max_hops, relax_sites, neb_settings, calculator, output, store):
    """Every phase resolved and validated (and the flow built) before anything runs; phase -> report folder."""
    from interchem.workflows.pipelines import StandardBarriersMaker

    structures, targets = {}, {}
    for phase in names:
        settings, name, structure, spec, out_dir = _prepare(
            phase, calculator, output if len(names) == 1 else None, store, "barriers"
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
        settings, a_name, a_struct, spec, _ = _prepare(anode, calculator, output, store, "barriers")
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


@app.command()
def diffusion(
    phase: Annotated[str, typer.Argument(help="phase name, alias or structure file")],
    temperatures: Annotated[str, typer.Option(help="comma-separated temperatures (K), at least 3")] = "600,700,800,900",
    steps: Annotated[int, typer.Option(help="MD steps per temperature")] = 5000,
    timestep: Annotated[float, typer.Option(help="fs")] = 2.0,
    equilibration: Annotated[float, typer.Option(help="ps discarded at the start of each run")] = 1.0,
    supercell: Annotated[float, typer.Option(help="minimum supercell length (A)")] = 10.0,
    seed: int = 0,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
) -> None:
    """Li diffusion and conductivity from NVT MD at several temperatures, with Arrhenius extrapolation."""
    from interchem.reports.kinetics import write_diffusion_report
    from interchem.workflows.diffusion import DiffusionMaker

    try:
        settings, name, structure, spec, out_dir = _prepare(phase, calculator, output, store, "diffusion")
        flow = DiffusionMaker(
            calculator=spec,
            temperatures_K=tuple(parse_temperatures(temperatures)),
            steps=steps,
            timestep_fs=timestep,
            equilibration_ps=equilibration,
            supercell_min_length=supercell,
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


@app.command()
def phonons(
    phase: Annotated[str, typer.Argument(help="phase name, alias or structure file")],
    min_length: Annotated[float, typer.Option(help="minimum supercell length (A)")] = 12.0,
    calculator: CalculatorOption = None,
    output: OutputOption = None,
    store: StoreOption = None,
) -> None:
    """Harmonic phonons (atomate2/phonopy): imaginary modes, band structure, DOS, F_vib(T)."""
    from interchem.reports.kinetics import write_phonon_report
    from interchem.runner import load_output
    from interchem.workflows.phonons import PhononsMaker

    try:
        settings, name, structure, spec, out_dir = _prepare(phase, calculator, output, store, "phonons")
        flow = PhononsMaker(calculator=spec, min_length=min_length).make(structure, phase=name)
        summary, wall = _run(flow, settings, f"interchem phonons {name}")
        doc = load_output(settings, summary["phonon_doc_uuid"]) if summary.get("phonon_doc_uuid") else None
        path = write_phonon_report(summary, out_dir, doc)
    except InterchemError as exc:
        fail(exc)
    state = "IMAGINARY MODES" if summary["has_imaginary_modes"] else "dynamically stable"
    out.print(f"{name}: lowest frequency {summary['min_frequency_THz']:.3f} THz ({state})")
    console.print(f"report: {path} ({wall:.0f} s)")
