"""``interchem interface ANODE ELECTROLYTE``: build lattice-matched interfaces, relax the best
candidates, compute adhesion, run interface MD on the best one and write the report."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import app, console, fail, out
from interchem.errors import InterchemError


def _miller(text: str) -> tuple[int, int, int]:
    """"100", "1,1,1", "1 -1 0", "1-10" or "(111)" -> (h, k, l)."""
    t = text.replace("(", "").replace(")", "").strip()
    parts = t.replace(",", " ").split() if ("," in t or " " in t) else re.findall(r"-?\d", t)
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not any(values):
        raise InterchemError(f"Miller index {text!r} must be three integers, not all zero (e.g. 100, 1,1,1 or '1 -1 0')")
    return values  # type: ignore[return-value]


def run_flow(flow, settings, work_dir: Path):
    """Run a flow locally on the settings' job store; on failure an InterchemError that names the failing
    job and its own error (e.g. VASP's write-only stop), not jobflow's generic message."""
    from interchem.runner import run_flow as run_any_flow

    return run_any_flow(flow, settings, work_dir=work_dir, what="the interface flow")


@app.command()
def interface(
    anode: Annotated[str, typer.Argument(help="anode phase (Si, LiSi, Li15Si4, ...) or structure file")],
    electrolyte: Annotated[str, typer.Argument(help="electrolyte phase (Li6PS5Cl, LLZO, LiPON, ...) or structure file")],
    miller_anode: Annotated[str, typer.Option("--miller-anode", help="anode Miller index (conventional cell), e.g. 100 or 1,1,1")] = "100",
    miller_electrolyte: Annotated[str, typer.Option("--miller-electrolyte", help="electrolyte Miller index")] = "100",
    max_area: Annotated[float, typer.Option("--max-area", help="largest matched interface area (A^2)")] = 400.0,
    max_strain: Annotated[float, typer.Option("--max-strain", help="largest principal strain of the electrolyte (fraction)")] = 0.05,
    max_atoms: Annotated[int, typer.Option("--max-atoms", help="largest interface cell (atoms)")] = 400,
    anode_thickness: Annotated[float, typer.Option("--anode-thickness", help="minimum anode slab thickness (A)")] = 6.0,
    electrolyte_thickness: Annotated[float, typer.Option("--electrolyte-thickness", help="minimum electrolyte slab thickness (A)")] = 6.0,
    model: Annotated[str, typer.Option("--model", help="vacuum (one interface) or periodic (two interfaces)")] = "vacuum",
    termination_anode: Annotated[Optional[str], typer.Option("--termination-anode", help="termination index or label (default: all)")] = None,
    termination_electrolyte: Annotated[Optional[str], typer.Option("--termination-electrolyte")] = None,
    amorphous: Annotated[Optional[str], typer.Option("--amorphous", help="'anode' or 'electrolyte': that partner is an amorphous block (file) cut to the other's cell")] = None,
    calculator: Annotated[Optional[str], typer.Option("--calculator", "-c", help="chgnet (default), mace:model=PATH, ...")] = None,
    top: Annotated[int, typer.Option("--top", help="relax and report the N best candidates")] = 2,
    fmax: Annotated[float, typer.Option("--fmax", help="force threshold of relaxations (eV/A)")] = 0.05,
    steps: Annotated[int, typer.Option("--steps", help="maximum optimiser steps per relaxation")] = 200,
    md_temperature: Annotated[float, typer.Option("--md-temperature", help="NVT temperature of the interface MD (K)")] = 600.0,
    md_steps: Annotated[int, typer.Option("--md-steps", help="MD steps on the best interface (0: no MD)")] = 200,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="report folder")] = None,
    store: Annotated[Optional[Path], typer.Option("--store", "-s", help="embedded store folder")] = None,
) -> None:
    """Lattice-matched anode|electrolyte interfaces: build, scan the gap, relax, adhesion, MD reactivity."""
    from interchem.calculators import CalculatorSpec, check_calculator
    from interchem.reports.interfaces import write_interface_report
    from interchem.settings import get_settings
    from interchem.structures.interfaces import (
        InterfaceBuilder,
        InterfaceLimits,
        amorphous_interface,
        describe_candidate,
    )
    from interchem.structures.library import resolve_phase
    from interchem.workflows.interfaces import InterfaceMaker, InterfaceMDMaker, InterfaceMDResult, InterfaceSummary

    # Everything is checked here, before a job exists or a byte is written.
    try:
        settings = get_settings(store_path=store, output_dir=output)
        spec = CalculatorSpec.parse(calculator or settings.calculator)
        a_name, a_bulk = resolve_phase(anode)
        e_name, e_bulk = resolve_phase(electrolyte)
        elements = {el.symbol for s in (a_bulk, e_bulk) for el in s.composition.elements}
        check_calculator(spec, elements, context=f"{a_name}|{e_name}")
        if top < 1:
            raise InterchemError(f"--top must be >= 1, not {top}")
        if md_steps < 0:
            raise InterchemError(f"--md-steps must be >= 0, not {md_steps}")
        ma, me = _miller(miller_anode), _miller(miller_electrolyte)
        start = time.perf_counter()
        if amorphous is None:
            builder = InterfaceBuilder(
                a_bulk, e_bulk, ma, me, anode_name=a_name, electrolyte_name=e_name,
                limits=InterfaceLimits(max_area=max_area, max_strain=max_strain, max_atoms=max_atoms, max_candidates=max(top, 20)),
                anode_thickness_A=anode_thickness, electrolyte_thickness_A=electrolyte_thickness, model=model,  # type: ignore[arg-type]
                anode_termination=_term(termination_anode), electrolyte_termination=_term(termination_electrolyte),
            )
            candidates = builder.build()
        elif amorphous in ("anode", "electrolyte"):
            crystal, block = (e_bulk, a_bulk) if amorphous == "anode" else (a_bulk, e_bulk)
            role = "electrolyte" if amorphous == "anode" else "anode"
            cand = amorphous_interface(
                crystal, me if role == "electrolyte" else ma, block, crystal_role=role,  # type: ignore[arg-type]
                termination=_term(termination_electrolyte if role == "electrolyte" else termination_anode),
                crystal_thickness_A=electrolyte_thickness if role == "electrolyte" else anode_thickness,
                amorphous_thickness_A=anode_thickness if role == "electrolyte" else electrolyte_thickness,
                crystal_name=e_name if role == "electrolyte" else a_name, amorphous_name=a_name if role == "electrolyte" else e_name,
            )
            cand.rank = 0
            candidates = [cand]
        else:
            raise InterchemError(f"--amorphous must be 'anode' or 'electrolyte', not {amorphous!r}")
    except InterchemError as exc:
        fail(exc)
    build_s = time.perf_counter() - start
    table = Table(title=f"{len(candidates)} {a_name}|{e_name} candidates (built in {build_s:.1f} s)")
    for col in ("rank", "interface", "atoms", "area (A^2)", "strain (%)"):
        table.add_column(col)
    rows = [describe_candidate(c) for c in candidates]
    for r in rows[: max(top, 5)]:
        table.add_row(str(r["rank"]), r["label"], str(r["n_atoms"]), f"{r['area_A2']:.1f}", f"{r['strain_percent']:.2f}")
    out.print(table)
    chosen = candidates[:top]
    folder = Path(output) if output else Path(settings.output_dir) / f"interface-{a_name}-{e_name}"
    logging.getLogger("jobflow").setLevel(logging.WARNING)
    console.print(f"relaxing {len(chosen)} candidate(s) with [cyan]{spec.label()}[/], store {settings.store_path}")
    try:
        flow = InterfaceMaker(calculator=spec, fmax=fmax, steps=steps).make(chosen, a_bulk, e_bulk)
        summary = InterfaceSummary.model_validate(run_flow(flow, settings, folder / "jobs"))
        md_results = []
        if md_steps > 0 and summary.results:
            best = summary.results[0]
            console.print(f"interface MD: {best.label} at {md_temperature:.0f} K, {md_steps} steps")
            md_flow = InterfaceMDMaker(calculator=spec, temperature_K=md_temperature, steps=md_steps).make(best.structure, label=best.label)
            md_results.append(InterfaceMDResult.model_validate(run_flow(md_flow, settings, folder / "jobs")))
    except InterchemError as exc:
        fail(exc)
    wall = time.perf_counter() - start
    report = write_interface_report(summary, folder, [describe_candidate(c) for c in chosen], md_results, wall_time_s=wall)
    table = Table(title=f"Adhesion ({summary.level_of_theory})")
    for col in ("interface", "gap (A)", "W_sep (J/m^2)", "W_ad (J/m^2)", "gamma_int (J/m^2)"):
        table.add_column(col)
    for r in summary.results:
        table.add_row(r.label, f"{r.gap_scan['best_gap_A']:.2f}", f"{r.work_of_separation_J_m2:.3f}",
                      f"{r.work_of_adhesion_J_m2:.3f}", f"{r.interface_energy_J_m2:.3f}")
    out.print(table)
    for md in md_results:
        s = md.reactivity.summary
        console.print(f"MD: bonds across the interface {s['cross_interface_bonds_start']} -> {s['cross_interface_bonds_end']}; "
                      f"new product-like {s['new_product_like_end']}")
    console.print(f"report: {report}  ({wall:.0f} s)")


def _term(value: str | None):
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value
