"""Model-committee uncertainty: the same screen with several calculators, each quantity reported as the
default (first) model's value plus the spread across the committee. Pure functions on the analysis dicts
of each model's screen (``ScreenAnalysis.model_dump(mode="json")``); no I/O.

Spread = max - min over the models; std = population standard deviation (ddof = 0: the committee is the
whole set of models asked for, not a sample). A quantity that is unbounded or missing for any model (an
oxidation limit at infinity, a pair one model skipped) has no spread (None). Products are compared as sets
and flagged when they differ between models.

Plateaus are matched by composition: the default model's plateau x_from..x_to is compared with the
voltage each other model gives at its midpoint (its own staircase there), since models may put different
Li_xSi phases on the hull.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from interchem.analysis.quality import ScreenWarning
from interchem.errors import InterchemError


def spread(values: Mapping[str, float | None], default: str) -> dict[str, Any]:
    """{values, default, spread (max - min), std (ddof 0)} of one quantity over the committee."""
    vals = {k: (None if v is None else float(v)) for k, v in values.items()}
    finite = [v for v in vals.values() if v is not None]
    complete = len(finite) == len(vals) and bool(finite)
    return {
        "values": vals,
        "default": vals.get(default),
        "spread": float(max(finite) - min(finite)) if complete else None,
        "std": float(np.std(finite)) if complete else None,
    }


def agreement(values: Mapping[str, Sequence[str] | None]) -> dict[str, Any]:
    """{values, differ}: product lists per model; ``differ`` when the sets are not all the same."""
    sets = {k: (None if v is None else sorted(set(v))) for k, v in values.items()}
    distinct = {tuple(v) if v is not None else None for v in sets.values()}
    return {"values": sets, "differ": len(distinct) > 1}


def _plateau_at(profile: Sequence[Mapping[str, Any]], x: float) -> Mapping[str, Any] | None:
    return next((p for p in profile if p["x_from"] - 1e-9 <= x < p["x_to"] - 1e-9), None)


def _windows(analyses: Mapping[str, Mapping], default: str) -> dict[str, Any]:
    out = {}
    for name in analyses[default].get("windows", {}):
        ws = {m: a.get("windows", {}).get(name) for m, a in analyses.items()}
        out[name] = {
            **{
                edge: spread({m: (w or {}).get(edge) for m, w in ws.items()}, default)
                for edge in ("reduction_V", "oxidation_V")
            },
            **{
                edge: agreement({m: None if w is None else w.get(edge, []) for m, w in ws.items()})
                for edge in ("reduction_products", "oxidation_products")
            },
        }
    return out


def _plateaus(analyses: Mapping[str, Mapping], default: str) -> list[dict[str, Any]]:
    out = []
    for p in analyses[default].get("voltage_profile", []):
        mid = 0.5 * (p["x_from"] + p["x_to"])
        at = {m: _plateau_at(a.get("voltage_profile", []), mid) for m, a in analyses.items()}
        out.append(
            {
                "x_from": p["x_from"],
                "x_to": p["x_to"],
                "voltage_V": spread({m: q and q["voltage_V"] for m, q in at.items()}, default),
                # the two-phase region each model has at this composition
                "two_phase_region": agreement(
                    {m: None if q is None else [q.get("phase_from", ""), q.get("phase_to", "")] for m, q in at.items()}
                ),
            }
        )
    return out


def _reactions(analyses: Mapping[str, Mapping], default: str) -> list[dict[str, Any]]:
    def by_pair(a: Mapping) -> dict:
        return {(r["anode"], r["electrolyte"]): r for r in a.get("reactions", [])}

    pairs = {m: by_pair(a) for m, a in analyses.items()}
    out = []
    for key in pairs[default]:
        rs = {m: p.get(key) for m, p in pairs.items()}
        row: dict[str, Any] = {"anode": key[0], "electrolyte": key[1]}
        for q in ("E_rxn_meV_per_atom", "E_rxn_open_Li_meV_per_atom"):
            row[q] = spread({m: r and r.get(q) for m, r in rs.items()}, default)
        for q in ("products", "open_li_products"):
            row[q] = agreement({m: None if r is None else r.get(q, []) for m, r in rs.items()})
        out.append(row)
    return out


def _flags(unc: Mapping[str, Any]) -> list[ScreenWarning]:
    """A warning for every set of products (or two-phase region) that differs between the models."""
    found: list[tuple[str | None, str, dict]] = []
    for name, w in unc["windows"].items():
        found += [
            (name, f"{name} {edge.replace('_', ' ')}", w[edge]) for edge in ("reduction_products", "oxidation_products")
        ]
    for p in unc["voltage_profile"]:
        found.append((None, f"Li-Si two-phase region at x = {p['x_from']:.2f}-{p['x_to']:.2f}", p["two_phase_region"]))
    for r in unc["reactions"]:
        found.append((r["electrolyte"], f"{r['anode']} | {r['electrolyte']} reaction products", r["products"]))
    return [
        ScreenWarning(
            kind="committee_disagreement",
            phase=phase,
            value=a["values"],
            threshold="the same set for every model",
            message=f"models disagree on {what}: "
            + "; ".join(f"{m}: {', '.join(v) if v else '—'}" for m, v in a["values"].items()),
        )
        for phase, what, a in found
        if a["differ"]
    ]


def committee_uncertainty(analyses: Mapping[str, Mapping[str, Any]], default: str | None = None) -> dict[str, Any]:
    """The ``uncertainty`` block of a committee screen from each model's analysis (model label -> dict).

    ``default`` (the first model when None) is the model whose values are reported; every other model's
    value of the same quantity enters the spread. Returns windows, voltage_profile, reactions,
    reductions_vs_li and e_above_hull, each quantity as ``spread()`` or ``agreement()`` gives it, plus
    ``flags``: committee_disagreement warnings as plain dicts.
    """
    if len(analyses) < 2:
        raise InterchemError(f"a committee needs at least two models, got {len(analyses)}")
    models = list(analyses)
    default = default or models[0]
    if default not in analyses:
        raise InterchemError(f"default model {default!r} is not in the committee ({', '.join(models)})")
    base = analyses[default]
    unc: dict[str, Any] = {
        "models": models,
        "default_model": default,
        "spread": "max - min over the models",
        "std": "population standard deviation (ddof 0) over the models",
        "windows": _windows(analyses, default),
        "voltage_profile": _plateaus(analyses, default),
        "reactions": _reactions(analyses, default),
        "reductions_vs_li": {
            name: spread(
                {m: (a.get("reductions_vs_li", {}).get(name) or {}).get("E_eV_per_atom") for m, a in analyses.items()},
                default,
            )
            for name in base.get("reductions_vs_li", {})
        },
        "e_above_hull": {
            phase: spread({m: a.get("e_above_hull", {}).get(phase) for m, a in analyses.items()}, default)
            for phase in base.get("e_above_hull", {})
        },
    }
    unc["flags"] = [w.model_dump(mode="json") for w in _flags(unc)]
    return unc
