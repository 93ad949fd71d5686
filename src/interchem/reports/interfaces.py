"""Interface report: structures (CIF + extxyz), adhesion table, MD reactivity plots, summary.json.
Drawn from stored results only (InterfaceSummary, InterfaceMDResult); nothing is recomputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from interchem.analysis.interfaces import md_length_verdict
from interchem.reports.common import plt, save_figure, write_json, write_structure

HOP_BARRIER_EV = 0.3


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
) -> Path:
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
            | {"gap_A": _get(r, "gap_scan")["best_gap_A"]}
        )
    lines += _flag_lines([*results, *excluded])
    if results or excluded:
        scan = plot_gap_scans([*results, *excluded], figs / "gap_scan.png")
        lines += ["", f"![gap scan]({scan.relative_to(out).as_posix()})"]
    md_lines, md_rows = _md_sections(md_results or [], out, figs)
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


def _md_sections(md_results: list, out: Path, figs: Path) -> tuple[list[str], list[dict]]:
    """One section (and figure) per interface MD; the rows of summary.json."""
    lines, md_rows = [], []
    for k, md in enumerate(md_results):
        fig = plot_reactivity(md, figs / f"md_reactivity_{k}.png")
        r = _get(md, "reactivity")
        r = r if isinstance(r, dict) else r.model_dump()
        s = r["summary"]
        # Li hop barrier for the run-length check: 0.3 eV, the low end of Li hops in argyrodites and
        # Li-Si alloys (an assumption stated in the report; `interchem barriers` computes the real ones)
        verdict = md_length_verdict(
            float(s.get("duration_fs", 0.0)),
            float(_get(md, "temperature_K")),
            HOP_BARRIER_EV,
            int(sum(s["new_product_like_end"].values())),
        )
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
            f"- rate: {verdict['new_product_like_per_ps']:.2f} new product-like atoms per ps; run length: "
            + verdict["verdict"],
            "",
            f"![MD reactivity]({fig.relative_to(out).as_posix()})",
        ]
        md_rows.append({"label": _get(md, "label"), "summary": s, "run_length": verdict})
    return lines, md_rows
