"""Queries over stored results (embedded store or MongoDB): filter, tabulate, export, re-draw reports.

One row per stored job output. Columns: flow (``metadata.interchem_flow`` set by ``interchem submit``,
else the flow uuid), job name, phase, formula, chemical system, calculator label, level of theory, and
the job's scalar numeric outputs (energies, volumes, steps, ...). Filters:

* ``chemsys``: rows whose elements lie within the system (``Li-Si`` matches Li, Si, LiSi, Li15Si4);
* ``phase``: phase name (as given to the flow, e.g. ``Li15Si4``) or reduced formula;
* ``calculator``: a spec (``mace:model=...``) or a bare name (``mace``, ``chgnet``);
* ``prop``: only rows having this property, and it is the value column shown;
* ``flow``: the flow name given at submission or a flow uuid (prefix).

Reports are re-drawn from stored screen results (``analyse screen`` outputs) without recomputing.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchem.errors import InterchemError
from interchem.settings import Settings, get_settings

_META_FIELDS = {
    "phase",
    "formula",
    "calc_key",
    "calculator",
    "level_of_theory",
    "energy_convention",
    "reused",
    "structure",
    "provenance",
    "versions",
    "geometry_calculator",
    "geometry_calc_key",
}


@dataclass
class ResultRow:
    uuid: str
    name: str
    flow: str
    phase: str | None
    formula: str | None
    chemsys: str | None
    calculator: str | None
    level_of_theory: str | None
    reused: bool | None
    completed_at: str | None
    properties: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "uuid",
                "name",
                "flow",
                "phase",
                "formula",
                "chemsys",
                "calculator",
                "level_of_theory",
                "reused",
                "completed_at",
            )
        } | {"properties": self.properties}


def _elements(formula: str | None) -> list[str]:
    if not formula:
        return []
    from pymatgen.core import Composition

    try:
        return sorted(el.symbol for el in Composition(formula).elements)
    except Exception:
        return []


def _calc_label(calc: Any) -> str | None:
    if not isinstance(calc, dict) or "name" not in calc:
        return None
    from interchem.calculators import CalculatorSpec

    try:
        return CalculatorSpec.model_validate({"name": calc["name"], "settings": calc.get("settings") or {}}).label()
    except Exception:
        return str(calc.get("name"))


def _scalars(output: dict) -> dict[str, float]:
    out = {}
    for k, v in output.items():
        if k in _META_FIELDS or isinstance(v, bool):
            continue
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            out[k] = float(v)
    return out


def _row(doc: dict) -> ResultRow | None:
    output = doc.get("output")
    if not isinstance(output, dict):
        return None
    meta = doc.get("metadata") or {}
    hosts = doc.get("hosts") or []
    formula = output.get("formula")
    if formula is None and isinstance(output.get("structure"), dict):
        try:
            from pymatgen.core import Structure

            formula = Structure.from_dict(output["structure"]).composition.reduced_formula
        except Exception:
            formula = None
    elements = _elements(formula)
    calc = output.get("calculator")
    return ResultRow(
        uuid=doc.get("uuid", ""),
        name=doc.get("name", ""),
        flow=meta.get("interchem_flow") or (hosts[-1] if hosts else ""),
        phase=output.get("phase"),
        formula=formula,
        chemsys="-".join(elements) or None,
        calculator=_calc_label(calc),
        level_of_theory=output.get("level_of_theory"),
        reused=output.get("reused"),
        completed_at=str(doc.get("completed_at") or ""),
        properties=_scalars(output),
    )


def _calc_matches(row: ResultRow, calculator: str) -> bool:
    if row.calculator is None:
        return False
    if ":" not in calculator:
        return row.calculator.split(":")[0] == calculator.lower()
    from interchem.calculators import CalculatorSpec

    return row.calculator == CalculatorSpec.parse(calculator).label()


def query_results(
    settings: Settings | None = None,
    chemsys: str | None = None,
    phase: str | list[str] | None = None,
    calculator: str | None = None,
    prop: str | None = None,
    flow: str | None = None,
    include_reused: bool = False,
    limit: int = 10_000,
) -> list[ResultRow]:
    """Rows of stored results matching every given filter (see module docstring), newest first.

    Reused records (a flow that found the calculation in the store) are hidden unless include_reused:
    the original calculation is the result; the reuse is bookkeeping.
    """
    from interchem.store import make_job_store

    settings = settings or get_settings()
    criteria: dict[str, Any] = {}
    if flow:
        criteria["$or"] = [{"metadata.interchem_flow": flow}, {"hosts": flow}]
    if prop:
        criteria[f"output.{prop}"] = {"$exists": True}
    store = make_job_store(settings, must_exist=True)  # a query never creates an empty store
    store.connect()
    try:
        docs = list(
            store.query(
                criteria,
                properties=["uuid", "name", "output", "metadata", "hosts", "completed_at"],
                sort={"completed_at": -1},
                limit=limit,
                load=False,
            )
        )
    finally:
        store.close()
    wanted = set(chemsys.split("-")) if chemsys else None
    phases = {phase} if isinstance(phase, str) else set(phase or [])  # any of them
    rows = []
    for doc in docs:
        row = _row(doc)
        if row is None:
            continue
        if not include_reused and row.reused:
            continue
        if wanted is not None and (not row.chemsys or not set(row.chemsys.split("-")) <= wanted):
            continue
        if phases and not phases & {row.phase, row.formula}:
            continue
        if calculator and not _calc_matches(row, calculator):
            continue
        if prop and prop not in row.properties:
            continue
        rows.append(row)
    return rows


DEFAULT_PROPS = ("energy_per_atom_eV", "volume_change_percent", "n_steps")


def table_columns(rows: list[ResultRow], prop: str | None = None) -> list[str]:
    if prop:
        return [prop]
    present = [p for p in DEFAULT_PROPS if any(p in r.properties for r in rows)]
    return present


def table_rows(rows: list[ResultRow], prop: str | None = None) -> tuple[list[ResultRow], list[str]]:
    """The rows a results table shows, and the job names of those it leaves out.

    A table row is a result of a phase (it has one), or, with ``prop``, anything having that property.
    Left out: job outputs that belong to no phase and would show only empty columns (``analyse screen``,
    whose results ``--report`` re-draws; jobflow's ``store_inputs``; atomate2's raw task documents, whose
    numbers the phase's record carries). JSON/CSV exports keep every row."""
    shown, left_out = [], []
    for r in rows:
        if r.phase or (prop and prop in r.properties):
            shown.append(r)
        else:
            left_out.append(r.name)
    return shown, left_out


def export(rows: list[ResultRow], fmt: str, prop: str | None = None) -> str:
    """JSON (every field) or CSV (flat: fixed columns + each property)."""
    if fmt == "json":
        return json.dumps([r.as_dict() for r in rows], indent=2, default=str)
    if fmt == "csv":
        props = [prop] if prop else sorted({k for r in rows for k in r.properties})
        buf = io.StringIO()
        w = csv.writer(buf)
        fixed = ["uuid", "name", "flow", "phase", "formula", "chemsys", "calculator", "reused"]
        w.writerow(fixed + props)
        for r in rows:
            w.writerow(
                [getattr(r, f) if getattr(r, f) is not None else "" for f in fixed]
                + [r.properties.get(p, "") for p in props]
            )
        return buf.getvalue()
    raise InterchemError(f"export format {fmt!r} is not json or csv")


def stored_screens(
    settings: Settings | None = None, flow: str | None = None, calculator: str | None = None
) -> list[tuple[dict, Any]]:
    """(job doc, ScreenResult) of stored screens matching the filters, newest first."""
    from interchem.store import make_job_store
    from interchem.workflows.thermo import ScreenResult

    settings = settings or get_settings()
    criteria: dict[str, Any] = {"name": "analyse screen"}
    if flow:
        criteria["$or"] = [{"metadata.interchem_flow": flow}, {"hosts": flow}]
    store = make_job_store(settings, must_exist=True)
    store.connect()
    try:
        docs = list(
            store.query(
                criteria,
                properties=["uuid", "metadata", "hosts", "completed_at", "output.calculator"],
                sort={"completed_at": -1},
                load=False,
            )
        )
        out = []
        for doc in docs:
            label = _calc_label((doc.get("output") or {}).get("calculator"))
            if calculator and not _calc_matches(
                ResultRow("", "", "", None, None, None, label, None, None, None), calculator
            ):
                continue
            out.append((doc, ScreenResult.model_validate(store.get_output(doc["uuid"], which="last", load=True))))
    finally:
        store.close()
    return out


def redraw_reports(
    output_dir: str | Path,
    settings: Settings | None = None,
    flow: str | None = None,
    calculator: str | None = None,
    latest_only: bool = True,
) -> list[Path]:
    """Write the report of each matching stored screen (the latest only by default) from stored results."""
    from interchem.reports.screen import write_report

    screens = stored_screens(settings, flow=flow, calculator=calculator)
    kinetics = stored_kinetics_reports(settings, calculator=calculator)
    if not screens and not kinetics:
        raise InterchemError("no stored screen or kinetics report matches (flow/calculator filters); nothing to report")
    screens = screens[:1] if latest_only else screens
    paths = []
    for _i, (doc, result) in enumerate(screens):
        target = (
            Path(output_dir)
            if latest_only
            else Path(output_dir) / (doc.get("metadata", {}).get("interchem_flow") or doc["uuid"][:8])
        )
        paths.append(write_report(result, target))
    paths += _redraw_kinetics(kinetics, Path(output_dir), settings)
    return paths


# Kinetics reports are re-drawn from the stored report documents: the latest one per kind and phase.
_KINETICS_JOBS = {"barrier report": "barriers", "diffusion report": "diffusion", "phonon summary": "phonons"}


def stored_kinetics_reports(
    settings: Settings | None = None, calculator: str | None = None
) -> list[tuple[str, str, dict]]:
    """(kind, phase, output) of the newest stored barrier/diffusion/phonon report per phase."""
    from interchem.store import make_job_store

    settings = settings or get_settings()
    store = make_job_store(settings, must_exist=True)
    store.connect()
    found: dict[tuple[str, str], dict] = {}
    try:
        for prefix, kind in _KINETICS_JOBS.items():
            docs = store.query(
                {"name": {"$regex": f"^{prefix} "}},
                properties=["uuid", "name", "output.calculator"],
                sort={"completed_at": -1},
                load=False,
            )
            for doc in docs:
                phase = doc["name"][len(prefix) + 1 :]
                label = _calc_label((doc.get("output") or {}).get("calculator"))
                if calculator and not _calc_matches(
                    ResultRow("", "", "", None, None, None, label, None, None, None), calculator
                ):
                    continue
                if (kind, phase) not in found:
                    found[(kind, phase)] = store.get_output(doc["uuid"], which="last", load=True)
    finally:
        store.close()
    return [(kind, phase, out) for (kind, phase), out in found.items()]


def _redraw_kinetics(reports: list[tuple[str, str, dict]], output_dir: Path, settings: Settings | None) -> list[Path]:
    from interchem.reports.kinetics import write_barrier_report, write_diffusion_report, write_phonon_report

    paths = []
    for kind, phase, output in reports:
        target = output_dir / f"{kind}-{phase}"
        if kind == "barriers":
            paths.append(write_barrier_report(output, target))
        elif kind == "diffusion":
            paths.append(write_diffusion_report(output, target))
        else:
            doc = None
            uuid = (
                output.get("phonon_doc_uuid") if isinstance(output, dict) else getattr(output, "phonon_doc_uuid", None)
            )
            if uuid:
                from interchem.store import make_job_store

                store = make_job_store(settings or get_settings(), must_exist=True)
                store.connect()
                try:
                    doc = store.get_output(uuid, which="last", load=True)
                finally:
                    store.close()
            paths.append(write_phonon_report(output, target, doc))
    return paths
