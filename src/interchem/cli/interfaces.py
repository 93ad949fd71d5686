"""``interchem interface ANODE ELECTROLYTE``: the interface pipeline (``workflows.pipelines.
InterfacePipelineMaker``): build lattice-matched interfaces, relax the best candidates, compute
adhesion, run interface MD on the best one and write the report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import (
    INTERFACES,
    AmorphousSide,
    CalculatorOption,
    CreateOption,
    InterfaceModel,
    MDStepsOption,
    OutputOption,
    RelaxStepsOption,
    StoreOption,
    app,
    computing_settings,
    console,
    fail,
    out,
    parse_calculator,
    parse_miller,
    parse_termination,
)
from interchem.errors import InterchemError


@app.command(rich_help_panel=INTERFACES)
def interface(
    anode: Annotated[str, typer.Argument(help="anode phase (Si, LiSi, Li15Si4, ...) or structure file")],
    electrolyte: Annotated[
        str, typer.Argument(help="electrolyte phase (Li6PS5Cl, LLZO, LiPON, ...) or structure file")
    ],
    miller_anode: Annotated[
        str, typer.Option("--miller-anode", help="anode Miller index (conventional cell), e.g. 100 or 1,1,1")
    ] = "100",
    miller_electrolyte: Annotated[str, typer.Option("--miller-electrolyte", help="electrolyte Miller index")] = "100",
    max_area: Annotated[float, typer.Option("--max-area", help="largest matched interface area (A^2)")] = 400.0,
    max_strain: Annotated[
        float, typer.Option("--max-strain", help="largest principal strain of the electrolyte (fraction)")
    ] = 0.05,
    max_atoms: Annotated[int, typer.Option("--max-atoms", help="largest interface cell (atoms)")] = 400,
    anode_thickness: Annotated[float, typer.Option("--anode-thickness", help="minimum anode slab thickness (A)")] = 6.0,
    electrolyte_thickness: Annotated[
        float, typer.Option("--electrolyte-thickness", help="minimum electrolyte slab thickness (A)")
    ] = 6.0,
    model: Annotated[
        InterfaceModel, typer.Option("--model", help="vacuum (one interface) or periodic (two interfaces)")
    ] = InterfaceModel.vacuum,
    termination_anode: Annotated[
        Optional[str], typer.Option("--termination-anode", help="termination index or label (default: all)")
    ] = None,
    termination_electrolyte: Annotated[
        Optional[str], typer.Option("--termination-electrolyte", help="termination index or label (default: all)")
    ] = None,
    amorphous: Annotated[
        Optional[AmorphousSide],
        typer.Option(
            "--amorphous",
            help="'anode' or 'electrolyte': that partner is an amorphous block (file) cut to the other's cell",
        ),
    ] = None,
    calculator: CalculatorOption = None,
    top: Annotated[int, typer.Option("--top", help="relax and report the N best candidates")] = 2,
    fmax: Annotated[float, typer.Option("--fmax", help="force threshold of relaxations (eV/A)")] = 0.05,
    relax_steps: RelaxStepsOption = 600,
    include_unconverged: Annotated[
        bool,
        typer.Option("--include-unconverged", help="rank interfaces whose relaxations did not converge (marked)"),
    ] = False,
    md_temperature: Annotated[
        float, typer.Option("--md-temperature", help="NVT temperature of the interface MD (K)")
    ] = 600.0,
    md_steps: MDStepsOption = 200,
    md_time: Annotated[
        Optional[str],
        typer.Option("--md-time", help="MD length with a unit instead of --md-steps, e.g. 5ps, 500fs, 0.01ns"),
    ] = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Lattice-matched anode|electrolyte interfaces: build, scan the gap, relax, adhesion, MD reactivity
    (--md-steps on the best interface; 0: no MD)."""
    from interchem.calculators import check_calculator
    from interchem.workflows.pipelines import InterfacePipelineMaker

    # Everything is checked here, before a job exists or a byte is written.
    try:
        settings = computing_settings(store, create, output_dir=output)
        spec = parse_calculator(calculator, settings.calculator)
        (a_name, a_bulk), (e_name, e_bulk) = (partner_phase(name) for name in (anode, electrolyte))
        check_calculator(
            spec, {el.symbol for s in (a_bulk, e_bulk) for el in s.composition.elements}, context=f"{a_name}|{e_name}"
        )
        if md_steps < 0:
            raise InterchemError(f"--md-steps must be >= 0, not {md_steps}")
        if md_time is not None:
            md_steps = md_steps_for(md_time, MD_TIMESTEP_FS)
        maker = InterfacePipelineMaker.with_calculator(
            spec,
            fmax=fmax,
            steps=relax_steps,
            md_temperature_K=md_temperature,
            md_steps=md_steps,
            include_unconverged=include_unconverged,
            miller_anode=parse_miller(miller_anode),
            miller_electrolyte=parse_miller(miller_electrolyte),
            max_area=max_area,
            max_strain=max_strain,
            max_atoms=max_atoms,
            anode_thickness_A=anode_thickness,
            electrolyte_thickness_A=electrolyte_thickness,
            model=model.value,
            amorphous=amorphous.value if amorphous else None,
            top=top,
            termination_anode=parse_termination(termination_anode),
            termination_electrolyte=parse_termination(termination_electrolyte),
        )
        start = time.perf_counter()
        from interchem.store import check_store

        where = check_store(settings, timeout_ms=settings.store_timeout_ms)  # the store actually used, before any job
        # A partially occupied partner is ordered first (its lowest relaxed ordering, stored and reused); slabs,
        # interfaces and bulk references are all cut from that one relaxed cell.
        cells, planes, orderings = ordered_partners(maker, (a_name, e_name), (a_bulk, e_bulk), spec, settings)
        a_bulk, e_bulk = cells
        candidates = maker.candidates(a_bulk, e_bulk, a_name, e_name, *planes)
    except InterchemError as exc:
        fail(exc)
    _print_candidates(candidates, top, f"{a_name}|{e_name}", time.perf_counter() - start)
    folder = Path(output) if output else Path(settings.output_dir) / f"interface-{a_name}-{e_name}"
    console.print(
        f"relaxing {min(top, len(candidates))} candidate(s) with [cyan]{spec.label()}[/], {where}"
        + (f"; then MD at {md_temperature:.0f} K, {md_steps} steps on the best" if md_steps else "")
    )
    try:
        summary, md_results = _run_pipeline(maker, a_bulk, e_bulk, candidates, settings, folder / "jobs")
    except InterchemError as exc:
        fail(exc)
    _print_results(summary, md_results)
    context = md_context(settings, spec, md_results) if md_results else None
    _write_report(summary, md_results, candidates[:top], folder, time.perf_counter() - start, context, orderings)


def partner_phase(name: str):
    """(label, structure) of an interface partner: an ordered phase as ``resolve_phase`` gives it (primitive),
    a partially occupied one as it is (``ordered_partner`` orders it once the calculator and store are known)."""
    from interchem.structures.library import resolve_phase

    return resolve_phase(name, allow_disordered=True)  # a partially occupied phase comes in its conventional cell


def ordered_partner(label: str, structure, spec, settings, orderings: dict):
    """The structure itself when ordered; else its ordered cell (``runner.order_phase``: Ewald-ranked candidates
    relaxed with the calculator, cell and positions, lowest kept), described in ``orderings[label]`` and in
    the cell's ``ordering`` property, which the bulk references carry into the results."""
    from interchem.runner import order_phase

    if structure.is_ordered:
        return structure
    console.print(f"ordering [bold]{label}[/] (partially occupied) with [cyan]{spec.label()}[/]")
    result = order_phase(structure, label, spec, settings)
    cell = result.lowest.structure.copy()
    orderings[label] = ordering_description(result)
    cell.properties = {**(cell.properties or {}), "phase": label, "ordering": orderings[label]}
    console.print(f"  {orderings[label]['text']}")
    return cell


def ordered_partners(maker, names, bulks, spec, settings) -> tuple[tuple, list, dict]:
    """Both partners ordered where partially occupied (``ordered_partner``), per side the planes to try
    (``parent_planes``; None: the maker's one Miller index), and what the orderings were."""
    orderings: dict = {}
    cells = tuple(ordered_partner(name, bulk, spec, settings, orderings) for name, bulk in zip(names, bulks))
    millers = (maker.miller_anode, maker.miller_electrolyte)
    planes = [parent_planes(*args, orderings) for args in zip(names, bulks, cells, millers, strict=True)]
    return cells, planes, orderings


def parent_planes(label: str, parent, cell, miller, orderings: dict) -> list | None:
    """Every plane of an ordered cell that is ``miller`` in its partially occupied parent (the ordering broke
    the symmetry that made them one surface: each has its own lattice matches and terminations); None for
    a partner that was ordered to begin with. Said on the terminal and in the report's ordering note."""
    if parent.is_ordered or label not in orderings:
        return None
    from interchem.structures.disorder import parent_equivalent_millers

    planes = parent_equivalent_millers(parent, cell, miller)
    if len(planes) > 1:
        text = ", ".join("(" + "".join(map(str, p)) + ")" for p in planes)
        asked = "".join(map(str, miller))
        note = f"the parent's ({asked}) is {len(planes)} distinct planes of the ordered cell: {text}; all tried"
        orderings[label]["text"] += f"; {note}"
        orderings[label]["planes"] = [list(p) for p in planes]
        console.print(f"  {note}")
    return planes


def ordering_description(result) -> dict:
    """What the report says about an ordered cell: how it was chosen, its size, its energy, the runner-up."""
    low = result.lowest
    above = [r.above_lowest_meV_per_atom for r in result.ranking[1:]]
    method = "Ewald-ranked" if result.method == "ewald" else (result.method or "")
    text = (
        f"{result.phase}: ordered cell {low.structure.composition.reduced_formula} ({low.n_atoms} atoms, supercell "
        f"{result.supercell or '?'} of the disordered cell), lowest of {len(result.ranking)} {method} candidates "
        f"relaxed (cell and positions) with {low.level_of_theory}"
        + (f", next {min(above):.1f} meV/atom above" if above else "")
        + ("" if low.converged is not False else "; its relaxation did NOT converge")
    )
    return {
        "phase": result.phase,
        "method": result.method,
        "supercell": result.supercell,
        "n_atoms": low.n_atoms,
        "formula": low.formula,
        "energy_per_atom_eV": low.energy_per_atom_eV,
        "converged": low.converged,
        "calc_key": low.calc_key,
        "n_candidates": len(result.ranking),
        "above_lowest_meV_per_atom": [round(a, 2) for a in above],
        "text": text,
    }


MD_TIMESTEP_FS = 2.0  # interchem's MD default (workflows.md.MDSettings)
_TIME_UNITS_FS = {"fs": 1.0, "ps": 1e3, "ns": 1e6}


def md_steps_for(text: str, timestep_fs: float) -> int:
    """'5ps' / '500 fs' / '0.01ns' -> MD steps at ``timestep_fs`` (a clear error for anything else)."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(fs|ps|ns)\s*", text.lower())
    if not m:
        raise InterchemError(f"--md-time {text!r}: give a number and a unit, fs, ps or ns (e.g. 5ps, 500fs)")
    steps = round(float(m.group(1)) * _TIME_UNITS_FS[m.group(2)] / timestep_fs)
    if steps < 1:
        raise InterchemError(f"--md-time {text!r} is shorter than one {timestep_fs:g} fs step")
    return int(steps)


def _run_pipeline(maker, anode, electrolyte, candidates, settings, work_dir: Path):
    from interchem.runner import run_flow, step_display
    from interchem.workflows.interface_md import InterfaceMDResult
    from interchem.workflows.interfaces import InterfaceSummary

    flow = maker.make(anode, electrolyte, candidates=candidates)
    with step_display(console) as steps:  # live bars of relaxation and MD steps
        output = run_flow(flow, settings, work_dir=work_dir, what="the interface flow", steps=steps)
    return InterfaceSummary.model_validate(output["summary"]), [
        InterfaceMDResult.model_validate(m) for m in output["md"] or []
    ]


def _print_candidates(candidates, top: int, system: str, build_s: float) -> None:
    from interchem.structures.interfaces import describe_candidate

    table = Table(title=f"{len(candidates)} {system} candidates (built in {build_s:.1f} s)")
    for col in ("rank", "interface", "atoms", "area (A^2)", "strain (%)"):
        table.add_column(col)
    for r in [describe_candidate(c) for c in candidates][: max(top, 5)]:
        table.add_row(
            str(r["rank"]), r["label"], str(r["n_atoms"]), f"{r['area_A2']:.1f}", f"{r['strain_percent']:.2f}"
        )
    out.print(table)


def _print_results(summary, md_results) -> None:
    table = Table(title=f"Adhesion ({summary.level_of_theory})")
    for col in ("interface", "gap (A)", "W_sep (J/m^2)", "W_ad (J/m^2)", "gamma_int (J/m^2)"):
        table.add_column(col)
    table.add_column("status")
    for r in [*summary.results, *summary.excluded]:
        status = "refused" if r.problems else ("converged" if r.converged else "[red]NOT CONVERGED[/]")
        table.add_row(
            r.label,
            f"{r.gap_scan['best_gap_A']:.2f}",
            f"{r.work_of_separation_J_m2:.3f}",
            f"{r.work_of_adhesion_J_m2:.3f}",
            f"{r.interface_energy_J_m2:.3f}",
            status + ("" if r.ranked else ", not ranked"),
        )
    out.print(table)
    for r in summary.excluded + [x for x in summary.results if not x.converged]:
        for msg in [*r.problems, *r.unconverged]:
            console.print(f"[yellow]warning[/] {r.label}: {msg}")
    if not summary.results:
        console.print(
            "[yellow]no interface is ranked[/]: every candidate was refused or did not converge "
            "(raise --steps, or --include-unconverged to rank them anyway)"
        )
    for md in md_results:
        s = md.reactivity.summary
        console.print(
            f"MD {md.label}: bonds across the interface {s['cross_interface_bonds_start']} -> "
            f"{s['cross_interface_bonds_end']}; new product-like {s['new_product_like_end']}"
        )


def md_context(settings, spec, md_results) -> dict:
    """What the interface MD is set against, from the store (nothing recomputed): the stored screen's
    reaction of the pair at each cell's anode fraction (entries built as the screen built them), and
    the pair's stored Li barriers for the run-length check."""
    from interchem.analysis import reaction_at_mixing_ratio
    from interchem.stored import latest_screen_result, screen_entries, stored_li_barriers

    reactions: dict = {}
    level = None
    try:
        screen = latest_screen_result(settings, spec)
        entries, level = screen_entries(screen), screen.level_of_theory
    except InterchemError as exc:
        entries, why = None, f"not compared ({exc})"
    phases = sorted({p for md in md_results for p in (md.anode_phase, md.electrolyte_phase) if p})
    for md in md_results:
        if entries is None:
            reactions[md.label] = why
            continue
        try:
            reactions[md.label] = reaction_at_mixing_ratio(entries, md.anode_phase, md.electrolyte_phase, md.x_anode)
        except (InterchemError, ValueError, TypeError) as exc:  # a phase the stored screen did not include
            reactions[md.label] = (
                f"not compared: the stored screen ({level}) cannot place {md.anode_phase}|{md.electrolyte_phase} "
                f"({exc}); run `interchem screen` with both phases"
            )
    return {"reactions": reactions, "barriers": stored_li_barriers(settings, phases, spec), "level_of_theory": level}


def _write_report(summary, md_results, chosen, folder: Path, wall: float, context=None, orderings=None) -> None:
    from interchem.reports.interfaces import write_interface_report
    from interchem.structures.interfaces import describe_candidate

    report = write_interface_report(
        summary,
        folder,
        [describe_candidate(c) for c in chosen],
        md_results,
        wall_time_s=wall,
        md_context=context,
        orderings=orderings,
    )
    console.print(f"report: {report}  ({wall:.0f} s)")


DEFAULT_MAX_POTENTIAL_V = 3.0  # above the oxidation limits of Li6PS5Cl 2.01, Li2PO2N 2.63, LLZO 2.91 V (Zhu 2015)


@app.command(rich_help_panel=INTERFACES)
def slabs(
    phase: Annotated[
        str, typer.Argument(help="phase name (Li2S, LiCl, Li6PS5Cl-disordered@0.5, ...) or structure file")
    ],
    miller: Annotated[
        str, typer.Option("--miller", help="Miller index (conventional cell), e.g. 111 or 1,1,1")
    ] = "100",
    termination: Annotated[
        Optional[str], typer.Option("--termination", help="termination index or label (default: all)")
    ] = None,
    li_top: Annotated[
        int, typer.Option("--li-top", help="Li layers added (> 0) beyond or removed (< 0) from the top face")
    ] = 0,
    li_bottom: Annotated[int, typer.Option("--li-bottom", help="the same at the bottom face")] = 0,
    max_potential: Annotated[
        Optional[float],
        typer.Option(
            "--max-potential",
            help="highest Li potential (V vs Li/Li+) of gamma(mu_Li) for non-stoichiometric slabs "
            "(default: the phase's oxidation limit in the stored screen, else 3.0 V)",
        ),
    ] = None,
    thickness: Annotated[float, typer.Option("--thickness", help="minimum slab thickness (A)")] = 10.0,
    vacuum: Annotated[float, typer.Option("--vacuum", help="vacuum between periodic images (A)")] = 15.0,
    calculator: CalculatorOption = None,
    fmax: Annotated[float, typer.Option("--fmax", help="force threshold of relaxations (eV/A)")] = 0.05,
    relax_steps: RelaxStepsOption = 600,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Surface energies of one Miller plane's terminations against the bulk relaxed alike; with --li-top /
    --li-bottom the slab is Li-rich or Li-poor and gamma is given as a function of the Li potential."""
    from interchem.calculators import check_calculator
    from interchem.workflows.slabs import SlabEnergy, SlabMaker

    try:
        settings = computing_settings(store, create, output_dir=output)
        spec = parse_calculator(calculator, settings.calculator)
        name, bulk = partner_phase(phase)
        check_calculator(spec, {el.symbol for el in bulk.composition.elements}, context=f"{name} slabs")
        top, source = (
            oxidation_limit(settings, spec, name) if max_potential is None else (max_potential, "--max-potential")
        )
        maker = SlabMaker(
            calculator=spec,
            min_thickness_A=thickness,
            vacuum_A=vacuum,
            fmax=fmax,
            steps=relax_steps,
            li_layers=(li_top, li_bottom),
            potential_range_V=(0.0, top),
        )
        start = time.perf_counter()
        bulk = ordered_partner(name, bulk, spec, settings, {})
        flow = maker.make(
            bulk,
            parse_miller(miller),
            phase=name,
            terminations=[parse_termination(termination)] if termination else None,
        )
    except InterchemError as exc:
        fail(exc)
    from interchem.runner import run_flow, step_display

    folder = Path(output) if output else Path(settings.output_dir) / f"slabs-{name}-{miller}"
    if li_top or li_bottom:
        console.print(f"gamma(mu_Li) from 0 to {top:g} V vs Li/Li+ ({source})")
    try:
        with step_display(console) as steps:
            results = run_flow(flow, settings, work_dir=folder / "jobs", what="the slab flow", steps=steps)
    except InterchemError as exc:
        fail(exc)
    from interchem.reports.slabs import gamma_text, write_slab_report

    energies = [SlabEnergy.model_validate(r) for r in results]
    table = Table(title=f"{name} {miller} surface energies ({energies[0].level_of_theory})")
    for col in ("termination", "Li layers", "atoms", "gamma (J/m^2)", "relaxed"):
        table.add_column(col)
    for s in energies:
        table.add_row(
            s.termination,
            str(tuple(s.li_layers)),
            str(s.n_atoms),
            gamma_text(s),
            "yes" if s.converged else "[red]NO[/]",
        )
    out.print(table)
    report = write_slab_report(energies, folder, wall_time_s=time.perf_counter() - start)
    console.print(f"report: {report}")


def oxidation_limit(settings, spec, phase: str) -> tuple[float, str]:
    """(V, where it comes from): the phase's oxidation limit in the latest stored screen with this calculator,
    else the stated default (3.0 V, above every project electrolyte's limit)."""
    from interchem.stored import latest_screen_result

    try:
        window = (latest_screen_result(settings, spec).analysis.get("windows") or {}).get(phase) or {}
    except InterchemError:
        window = {}
    if window.get("oxidation_V"):
        return float(window["oxidation_V"]), f"{phase}'s oxidation limit in the stored screen"
    return DEFAULT_MAX_POTENTIAL_V, "default: above the oxidation limits of the project's electrolytes"
