"""Slab report: surface energy of each termination (``workflows.slabs.SlabEnergy``), a table, a figure
of gamma against the Li potential and summary.json. Stoichiometric slabs have one number; Li-rich or
Li-poor ones (``li_layers``) a line in mu_Li, given over the potential range the flow used. Drawn from the
flow's results only; nothing is recomputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interchem.reports.common import plt, save_figure, write_json, write_structure


def _get(obj: Any, name: str):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


def gamma_text(slab: Any) -> str:
    """'0.235' for a stoichiometric slab; for a non-stoichiometric one the line over the potential range."""
    vs = _get(slab, "surface_energy_vs_mu_li")
    if not vs:
        return f"{_get(slab, 'surface_energy_J_m2'):.3f}"
    (v0, v1), g = vs["potential_range_V"], vs["gamma_J_m2"]
    text = (
        f"{g[0]:.3f} at {v0:g} V -> {g[-1]:.3f} at {v1:g} V vs Li/Li+ "
        f"(d gamma / d mu_Li = {vs['slope_J_m2_per_eV']:+.3f} J/m^2 per eV)"
    )
    if vs["negative_at_V"]:
        text += f"; < 0 at {min(vs['negative_at_V']):g}-{max(vs['negative_at_V']):g} V"
    return text


def slab_row(slab: Any) -> dict[str, Any]:
    """summary.json's row of one slab."""
    keys = (
        "phase",
        "miller",
        "termination",
        "opposite_termination",
        "symmetric",
        "polar",
        "note",
        "li_layers",
        "li_excess",
        "n_atoms",
        "area_A2",
        "energy_eV",
        "bulk_energy_per_atom_eV",
        "surface_energy_J_m2",
        "unrelaxed_surface_energy_J_m2",
        "surface_energy_vs_mu_li",
        "converged",
        "unconverged",
        "n_steps",
        "level_of_theory",
    )
    row = {k: _get(slab, k) for k in keys}
    row["miller"], row["li_layers"] = list(row["miller"]), list(row["li_layers"])
    return row


def plot_gamma_vs_potential(slabs: list, path: Path, potential_range_V: tuple[float, float]) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in slabs:
        vs = _get(s, "surface_energy_vs_mu_li")
        label = f"{_get(s, 'termination')} {tuple(_get(s, 'li_layers'))}"
        if vs:
            ax.plot(vs["potentials_V"], vs["gamma_J_m2"], marker=".", label=f"{label}, {vs['li_excess']:+g} Li")
        else:
            ax.plot(potential_range_V, [_get(s, "surface_energy_J_m2")] * 2, ls="--", label=f"{label}, stoichiometric")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("Li potential V (V vs Li/Li+; mu_Li = mu_Li(Li metal) - eV)")
    ax.set_ylabel("surface energy (J/m^2)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path


def write_slab_report(slabs: list, output_dir: Path, wall_time_s: float | None = None) -> Path:
    """report.md (table, figure, notes), summary.json and each relaxed slab's structure files."""
    out = Path(output_dir)
    (out / "structures").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    first = slabs[0]
    ranges = [
        _get(s, "surface_energy_vs_mu_li")["potential_range_V"] for s in slabs if _get(s, "surface_energy_vs_mu_li")
    ]
    potential_range = tuple(ranges[0]) if ranges else (0.0, 3.0)
    lines = [
        f"# Surface energies: {_get(first, 'phase')}{tuple(_get(first, 'miller'))}",
        "",
        f"Calculator: `{json.dumps(_get(first, 'calculator'))}` ({_get(first, 'level_of_theory')})",
        *([f"Wall time: {wall_time_s:.0f} s"] if wall_time_s is not None else []),
        "",
        "gamma = (E_slab - N e_bulk) / 2A, face-averaged, against the bulk relaxed with the same settings. A slab "
        "with Li layers added or removed (Li layers top/bottom) is not stoichiometric: with dN_Li Li beyond n bulk "
        "formula units, gamma(mu_Li) = (E_slab - n E_bulk,fu - dN_Li mu_Li) / 2A, given from the anode's potential "
        f"(0 V: mu_Li of Li metal, computed with the same calculator) to {potential_range[1]:g} V vs Li/Li+ "
        "(mu_Li = mu_Li(Li metal) - eV). A Li-rich face is cheaper the closer mu_Li is to Li metal; where gamma "
        "< 0 it forms spontaneously from the bulk and the Li reservoir.",
        "",
        "| # | termination (top / bottom) | Li layers (top, bottom) | extra Li | atoms | area (A^2) | gamma (J/m^2) "
        "| relaxed | files |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, s in enumerate(slabs):
        files = write_structure(_get(s, "structure"), out / "structures" / f"slab_{k}")
        relaxed = "yes" if _get(s, "converged") else "NOT CONVERGED"
        lines.append(
            f"| {k} | {_get(s, 'termination')} / {_get(s, 'opposite_termination')} | {tuple(_get(s, 'li_layers'))} | "
            f"{_get(s, 'li_excess'):+d} | {_get(s, 'n_atoms')} | {_get(s, 'area_A2'):.2f} | {gamma_text(s)} | "
            f"{relaxed} ({_get(s, 'n_steps')} steps) | {', '.join(f.relative_to(out).as_posix() for f in files)} |"
        )
    for s in slabs:
        lines += [f"- **not converged** {_get(s, 'termination')}: {m}" for m in _get(s, "unconverged") or []]
        lines += [f"- {_get(s, 'termination')}: {_get(s, 'note')}"] if _get(s, "note") else []
    fig = plot_gamma_vs_potential(slabs, out / "figures" / "gamma_vs_potential.png", potential_range)
    lines += ["", f"![gamma vs Li potential]({fig.relative_to(out).as_posix()})"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    write_json(
        {
            "calculator": _get(first, "calculator"),
            "level_of_theory": _get(first, "level_of_theory"),
            "potential_range_V": list(potential_range),
            "slabs": [slab_row(s) for s in slabs],
            "wall_time_s": wall_time_s,
        },
        out / "summary.json",
    )
    return path
