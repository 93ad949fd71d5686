"""Stored results read back: one job's output, the latest screen of a calculator and its entries, stored
phonons and Li barriers. Queries only: nothing here computes or writes (a read never creates a store)."""

from __future__ import annotations

from typing import Any

from interchem.calculators import CalculatorSpec
from interchem.errors import InterchemError
from interchem.settings import Settings, get_settings, screen_default
from interchem.workflows.thermo import ScreenResult


def load_output(settings: Settings, uuid: str) -> Any:
    """The stored output of one job (its last run), data-store fields loaded."""
    from interchem.store import make_job_store

    store = make_job_store(settings)
    store.connect()
    try:
        return store.get_output(uuid, which="last", load=True)
    finally:
        store.close()


def latest_screen_result(
    settings: Settings | None = None, calculator: str | CalculatorSpec | None = None
) -> ScreenResult:
    """The most recent screen stored with this calculator spec: queries answer from it, no recomputing."""
    from interchem.store import describe, make_job_store

    settings = settings or get_settings()
    spec = CalculatorSpec.parse(calculator or screen_default(settings))
    store = make_job_store(settings, must_exist=True)  # a query never creates an empty store
    store.connect()
    try:
        docs = list(
            store.query(
                {"name": "analyse screen", "output.calculator": spec.model_dump(mode="json")},
                properties=["uuid", "index", "completed_at"],
                sort={"completed_at": -1},
                limit=1,
            )
        )
        if not docs:
            raise InterchemError(
                f"no stored screen computed with calculator {spec.label()!r} in the {describe(store)}; "
                "run `interchem screen` first"
            )
        output = store.get_output(docs[0]["uuid"], which="last", load=True)
    finally:
        store.close()
    return ScreenResult.model_validate(output)


def screen_entries(result: ScreenResult) -> list:
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    return [ComputedStructureEntry.from_dict(d) if isinstance(d, dict) else d for d in result.entries]


def stored_phonons(settings: Settings, keys: dict[str, str]) -> dict:
    """phase -> the stored PhononSummary with that phase's key, for the phases that have one."""
    from interchem.store import make_job_store
    from interchem.workflows.common import find_stored
    from interchem.workflows.phonons import PhononSummary

    store = make_job_store(settings)
    store.connect()
    try:
        found = {phase: find_stored(store, key, field="phonon_key") for phase, key in keys.items()}
    finally:
        store.close()
    return {phase: PhononSummary.model_validate(doc) for phase, doc in found.items() if doc}


def stored_li_barriers(settings: Settings, phases: list[str], calculator: str | CalculatorSpec) -> dict[str, dict]:
    """{phase: {"barrier_eV", "percolation"}} from each phase's latest stored barrier report with this calculator:
    the lowest barrier percolating in 3D (else 2D, 1D). Phases without one (or no store) are absent."""
    from interchem.store import make_job_store

    spec = CalculatorSpec.parse(calculator) if isinstance(calculator, str) else calculator
    try:
        store = make_job_store(settings, must_exist=True)
    except InterchemError:
        return {}
    store.connect()
    out: dict[str, dict] = {}
    try:
        for phase in phases:
            # the job is named "barrier report <phase>"; its output is the only one with percolation thresholds
            query = {
                "output.phase": phase,
                "output.percolation_eV": {"$exists": True},
                "output.calculator": spec.model_dump(mode="json"),
            }
            docs = list(store.query(query, properties=["uuid"], sort={"completed_at": -1}, limit=1))
            if not docs:
                continue
            report = store.get_output(docs[0]["uuid"], which="last", load=True)
            report = report.model_dump() if hasattr(report, "model_dump") else report
            for dim in ("3", "2", "1"):
                values = [v[dim] for v in report["percolation_eV"].values() if v.get(dim) is not None]
                if values:
                    out[phase] = {"barrier_eV": float(min(values)), "percolation": f"{dim}D"}
                    break
    finally:
        store.close()
    return out
