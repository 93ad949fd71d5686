"""Interface report: structures (CIF + extxyz), adhesion table, MD reactivity plots, summary.json.
Drawn from stored results only (InterfaceSummary, InterfaceMDResult); nothing is recomputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from interchem.analysis.interfaces import PRODUCT_RULES, md_length_verdict
from interchem.reports.common import plt, save_figure, write_json, write_structure

# The run-length check's Li hop barrier when none is stored for either partner: the measured activation
# energies of the project's fast electrolytes (the ones validation/electrolyte_conduction.py checks).
HOP_BARRIER_EV = 0.3
HOP_BARRIER_SOURCE = (
    "assumed 0.3 eV: impedance activation energies of argyrodite Li6PS5Cl are 0.3-0.4 eV (Boulineau et al., "
    "Solid State Ionics 221, 1 (2012); Kraft et al., J. Am. Chem. Soc. 139, 10909 (2017)) and of cubic LLZO "
    "0.3 eV (Murugan et al., Angew. Chem. Int. Ed. 46, 7778 (2007)); `interchem barriers` stores computed ones"
)


def _get(obj: Any, name: str):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


def plot_reactivity(md: Any, path: Path) -> Path:
    r = _get(md, "reactivity")
    r = r if isinstance(r, dict) else r.model_dump()
    t = np.asarray(r["times_fs"]) / 1000.0
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0, 0]
    prof = np.asarray(r["li_profile"])
    z = np.asarray(r["normal_axis_bins_A"])
    for k in sorted({0, len(prof) // 2, len(prof) - 1}):
        ax.plot(z, prof[k], label=f"{t[k]:.2f} ps")
    ax.axvline(r["interface_position_A"], color="k", ls=":", lw=1, label="interface (t=0)")
    ax.set_xlabel("position along the normal (A)")
    ax.set_ylabel("Li density (Li/A^3)")
    ax.set_title("Li concentration profile")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for key, values in r["cross_interface_counts"].items():
        ax.plot(t, values, marker=".", label=key)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("bonds across the interface")
    ax.set_title("contacts between the partners (by origin)")
    if r["cross_interface_counts"]:
        ax.legend(fontsize=7)
    ax = axes[1, 0]
    for key, values in r["pair_counts"].items():
        v = np.asarray(values, float)
        ax.plot(t, v - v[0], marker=".", label=key)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("change in bonds since t=0")
    ax.set_title("bonds per element pair")
    if r["pair_counts"]:
        ax.legend(fontsize=7, ncol=2)
    ax = axes[1, 1]
    for key, values in r["new_product_counts"].items():
        ax.plot(t, values, marker=".", label=key)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("atoms that became product-like")
    ax.set_title("product-like environments (new since t=0)")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"{_get(md, 'label')}: NVT {_get(md, 'temperature_K'):.0f} K, {_get(md, 'level_of_theory')}", fontsize=10
    )
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path


def plot_gap_scans(results: list, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        scan = _get(r, "gap_scan")
        e = np.asarray(scan["energies_eV"])
        ax.plot(scan["gaps_A"], (e - e.min()) / _get(r, "area_A2") * 16.0218, marker="o", label=_get(r, "label")[:60])
    ax.set_xlabel("interfacial gap (A)")
    ax.set_ylabel("E - E_min (J/m^2)")
    ax.set_title("interfacial-distance scan (single points)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path


def write_interface_report(
    summary: Any,
    output_dir: Path,
    candidates: list[dict],
    md_results: list | None = None,
    wall_time_s: float | None = None,
    md_context: dict | None = None,
    orderings: dict[str, dict] | None = None,
) -> Path:
    """``md_context``: what the MD is compared with, gathered by the caller from the store:
    ``{"reactions": {md label: reaction_at_mixing_ratio dict, or a sentence why there is none},
    "barriers": {phase: {"barrier_eV", "percolation"}}, "level_of_theory": the screen's}``.
    ``orderings``: {phase: description} of the partners that were partially occupied and ordered first."""
    # long: the writer reads top to bottom as the markdown it writes, section by section
    out = Path(output_dir)
    figs = out / "figures"
    structs = out / "structures"
    figs.mkdir(parents=True, exist_ok=True)
    structs.mkdir(parents=True, exist_ok=True)
    results = _get(summary, "results")
    lines = ["# Interface report", ""]
    lines.append(f"Calculator: `{json.dumps(_get(summary, 'calculator'))}` ({_get(summary, 'level_of_theory')})")
    if wall_time_s is not None:
        lines.append(f"Wall time: {wall_time_s:.0f} s")
    lines += ordering_lines(orderings or {})
    lines += [
        "",
        "## Candidates (lattice match)",
        "",
        "| rank | interface | atoms | area (A^2) | strain (%) | von Mises (%) |",
        "|---|---|---|---|---|---|",
    ]
    for c in candidates:
        lines.append(
            f"| {c['rank']} | {c['label']} | {c['n_atoms']} | {c['area_A2']:.1f} | "
            f"{c['strain_percent']:.2f} | {c['von_mises_percent']:.2f} |"
        )
    excluded = list(_get(summary, "excluded") or [])
    lines += [
        "",
        "## Adhesion (relaxed, ranked by interface energy)",
        "",
        *ADHESION_NOTES,
        "",
        "| # | interface | gap (A) | W_sep (J/m^2) | W_ad (J/m^2) | gamma_A | gamma_B | "
        "gamma_int (J/m^2) | relaxed | files |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary_rows = []
    for k, r in enumerate([*results, *excluded]):
        stem = structs / f"interface_{k}"
        files = write_structure(_get(r, "structure"), stem)
        write_structure(_get(r, "anode_structure"), structs / f"interface_{k}_anode")
        write_structure(_get(r, "electrolyte_structure"), structs / f"interface_{k}_electrolyte")
        lines.append(
            f"| {k} | {_get(r, 'label')} | {_get(r, 'gap_scan')['best_gap_A']:.2f} | "
            f"{_get(r, 'work_of_separation_J_m2'):.3f} | "
            f"{_get(r, 'work_of_adhesion_J_m2'):.3f} | {_get(r, 'surface_energy_anode_J_m2'):.3f} | "
            f"{_get(r, 'surface_energy_electrolyte_J_m2'):.3f} | {_get(r, 'interface_energy_J_m2'):.3f} | "
            f"{_status(r)} ({_get(r, 'relax_steps')} steps) | "
            f"{', '.join(f.relative_to(out).as_posix() for f in files)} |"
        )
        summary_rows.append(
            {
                key: _get(r, key)
                for key in (
                    "label",
                    "n_atoms",
                    "area_A2",
                    "strain",
                    "work_of_separation_J_m2",
                    "work_of_adhesion_J_m2",
                    "surface_energy_anode_J_m2",
                    "surface_energy_electrolyte_J_m2",
                    "interface_energy_J_m2",
                    "converged",
                    "ranked",
                    "unconverged",
                    "problems",
                )
            }
            | {"gap_A": _get(r, "gap_scan")["best_gap_A"], "bulk_references": reference_rows(r)}
        )
    lines += _flag_lines([*results, *excluded])
    if results or excluded:
        scan = plot_gap_scans([*results, *excluded], figs / "gap_scan.png")
        lines += ["", f"![gap scan]({scan.relative_to(out).as_posix()})"]
    md_lines, md_rows = _md_sections(md_results or [], out, figs, md_context or {})
    lines += md_lines
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    write_json(
        {
            "calculator": _get(summary, "calculator"),
            "level_of_theory": _get(summary, "level_of_theory"),
            "candidates": candidates,
            "interfaces": summary_rows,
            "md": md_rows,
            "orderings": orderings or {},
            "wall_time_s": wall_time_s,
        },
        out / "summary.json",
    )
    return path


ADHESION_NOTES = [
    "W_sep (work of separation): the relaxed interface pulled apart rigidly, the two partners keeping the "
    "interface's atom positions. W_ad (work of adhesion): the partners each relaxed after separation. "
    "W_sep >= W_ad always, and the difference is the relaxation energy of the two free surfaces per area: "
    "large when the contact rearranged the atoms (Li drawn across, bonds formed), which the free surfaces "
    "then undo. The thermodynamic quantity is W_ad; W_sep is the ideal (cleavage) work.",
    "",
    "gamma: face-averaged surface energies of the separated, relaxed partners against bulk references relaxed "
    "with the same settings (the electrolyte's reference strained as its film is, so gamma holds no strain "
    "energy). gamma_int = gamma_A + gamma_B - W_ad (Dupre): negative means the interface is lower in energy "
    "than the two free surfaces it replaces minus the adhesion, i.e. the partners would rather touch than "
    "stay apart (a wetting, reactive contact); positive, that the interface costs energy. Interfaces that "
    "did not converge are not ranked (unless --include-unconverged); refused ones (a negative surface "
    "energy) never are.",
]


def ordering_lines(orderings: dict[str, dict]) -> list[str]:
    """The section naming the ordered cell used for each partially occupied partner."""
    if not orderings:
        return []
    lines = [
        "",
        "## Ordered cells of partially occupied partners",
        "",
        "Each was ordered before anything else (docs/disorder.md): Ewald-ranked orderings relaxed (cell and "
        "positions) with this calculator, the lowest kept. Its slabs, the interfaces and its bulk reference "
        "(strained as the film is) are all cut from that one relaxed cell, so the surface energies are measured "
        "against the same Li arrangement. Miller indices refer to the ordered cell's conventional setting.",
        "",
    ]
    return lines + [f"- {d['text']} (calc key {d.get('calc_key', '?')[:12]})" for d in orderings.values()]


def reference_rows(r) -> dict[str, dict]:
    """summary.json's view of a result's bulk references: which cell, its energy, relaxed, converged, ordering."""
    keys = ("label", "formula", "n_atoms", "energy_per_atom_eV", "relaxed", "converged", "ordering")
    return {side: {k: ref.get(k) for k in keys} for side, ref in (_get(r, "bulk_references") or {}).items()}


def _status(r) -> str:
    if _get(r, "problems"):
        return "REFUSED, not ranked"
    if not _get(r, "converged"):
        return "NOT CONVERGED, " + ("ranked on request" if _get(r, "ranked") else "not ranked")
    return "yes"


def _flag_lines(results: list) -> list[str]:
    """What did not converge and what was refused, under the table."""
    lines = []
    for r in results:
        for msg in _get(r, "problems") or []:
            lines.append(f"- **refused** {_get(r, 'label')}: {msg}")
        for msg in _get(r, "unconverged") or []:
            lines.append(f"- **not converged** {_get(r, 'label')}: {msg}")
    return ["", *lines] if lines else []


def run_length_barrier(md: Any, barriers: dict[str, dict]) -> tuple[float, str]:
    """(barrier eV, where it comes from) for the run-length check: the stored barriers of the pair's
    phases (the higher one: Li must move on both sides for a product to grow), else the stated 0.3 eV."""
    phases = [p for p in (_get(md, "anode_phase"), _get(md, "electrolyte_phase")) if p]
    known = {p: barriers[p] for p in phases if p in barriers}
    if not known:
        return HOP_BARRIER_EV, HOP_BARRIER_SOURCE
    phase, b = max(known.items(), key=lambda kv: kv[1]["barrier_eV"])
    missing = [p for p in phases if p not in known]
    text = (
        f"computed: {phase}'s lowest {b['percolation']}-percolating Li barrier, {b['barrier_eV']:.2f} eV "
        "(the higher of the pair's: Li must move on both sides)"
    )
    return b["barrier_eV"], text + (f"; none stored for {', '.join(missing)}" if missing else "")


def screen_comparison(reaction: dict | str | None, new_products: dict[str, int]) -> list[str]:
    """Report lines setting what formed in the run against what the thermodynamic screen predicts at the
    cell's composition (products, reaction energy)."""
    if reaction is None:
        return []
    if isinstance(reaction, str):
        return [f"- thermodynamic screen: {reaction}"]
    tracked = {r["name"].removesuffix("-like"): r["name"] for r in PRODUCT_RULES.values()}
    seen = [p for p in reaction["products"] if p in tracked and new_products.get(tracked[p], 0) > 0]
    unseen = [p for p in reaction["products"] if p in tracked and p not in seen]
    untracked = [p for p in reaction["products"] if p not in tracked]
    m = reaction["most_negative"]
    lines = [
        f"- thermodynamic screen at this cell's composition (anode atom fraction {reaction['x_anode']:.2f}): "
        f"E_rxn {reaction['E_rxn_meV_per_atom']:.0f} meV/atom -> {', '.join(reaction['products']) or 'no reaction'} "
        f"(most negative along the tie-line: {m['E_rxn_meV_per_atom']:.0f} meV/atom at x = {m['x_anode']:.2f}, "
        f"{', '.join(m['products']) or 'none'})",
        f"- predicted and forming in the run: {', '.join(seen) or 'none'}; predicted, not (yet) seen: "
        f"{', '.join(unseen) or 'none'}"
        + (f"; not tracked by the environment analysis: {', '.join(untracked)}" if untracked else ""),
    ]
    return lines


def _md_sections(md_results: list, out: Path, figs: Path, context: dict) -> tuple[list[str], list[dict]]:
    """One section (and figure) per interface MD; the rows of summary.json."""
    # long: one markdown section per MD, read top to bottom as written
    lines, md_rows = [], []
    for k, md in enumerate(md_results):
        fig = plot_reactivity(md, figs / f"md_reactivity_{k}.png")
        r = _get(md, "reactivity")
        r = r if isinstance(r, dict) else r.model_dump()
        s = r["summary"]
        barrier, barrier_source = run_length_barrier(md, context.get("barriers") or {})
        verdict = md_length_verdict(
            float(s.get("duration_fs", 0.0)),
            float(_get(md, "temperature_K")),
            barrier,
            int(sum(s["new_product_like_end"].values())),
        )
        verdict["barrier_source"] = barrier_source
        reaction = (context.get("reactions") or {}).get(_get(md, "label"))
        lines += [
            "",
            f"## MD reactivity: {_get(md, 'label')}",
            "",
            f"NVT {_get(md, 'temperature_K'):.0f} K, {_get(md, 'steps')} steps x {_get(md, 'timestep_fs')} fs, "
            f"{_get(md, 'n_atoms')} atoms; trajectory in the data store (job {_get(md, 'trajectory_uuid')}).",
            "",
            f"- bonds across the interface: {s['cross_interface_bonds_start']} -> {s['cross_interface_bonds_end']}",
            "- per pair, first -> last frame: "
            + ", ".join(f"{key} {v[0]}->{v[-1]}" for key, v in r["cross_interface_counts"].items())
            if r["cross_interface_counts"]
            else "- no bonds across the interface",
            f"- atoms that became product-like: {s['new_product_like_end']}",
            f"- Li past the initial interface plane (by origin): {s['li_crossed_end']}",
            *screen_comparison(reaction, s["new_product_like_end"]),
            f"- rate: {verdict['new_product_like_per_ps']:.2f} new product-like atoms per ps; run length: "
            + verdict["verdict"]
            + f" (hop barrier {barrier_source})",
            "",
            f"![MD reactivity]({fig.relative_to(out).as_posix()})",
        ]
        md_rows.append({"label": _get(md, "label"), "summary": s, "run_length": verdict, "screen_prediction": reaction})
    return lines, md_rows
