"""Markdown report with PNG figures and summary.json, from a ScreenResult (no recomputation)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from interchem.reports.common import number, plt, save_figure, write_json, write_text
from interchem.workflows.thermo import ScreenResult


def screen_warnings_of(result: ScreenResult) -> list[dict[str, Any]]:
    """Every warning of a screen as plain dicts (kind, phase, value, threshold, message): skipped phases,
    unconverged or moved relaxations, electrolytes far above the hull, and committee disagreements."""
    from interchem.analysis.quality import screen_warnings

    found = [w.model_dump(mode="json") for w in screen_warnings(result.analysis, result.relaxations)]
    return found + list((result.uncertainty or {}).get("flags", []))


def summary_dict(result: ScreenResult) -> dict[str, Any]:
    from interchem.analysis import ScreenAnalysis

    summary = ScreenAnalysis.model_validate(result.analysis).summary()
    summary["warnings"] = screen_warnings_of(result)
    summary["tie_lines"] = [
        {k: t.get(k) for k in ("a", "b", "direct", "products", "note")} for t in result.analysis.get("tie_lines", [])
    ]
    summary["calculator"] = result.calculator
    summary["level_of_theory"] = result.level_of_theory
    summary["versions"] = result.versions
    summary["anodes"] = result.anodes
    summary["electrolytes"] = result.electrolytes
    summary["relaxations"] = [
        {
            k: r.get(k)
            for k in (
                "phase",
                "formula",
                "n_atoms",
                "energy_per_atom_eV",
                "volume_change_percent",
                "matches_input",
                "converged",
                "n_steps",
                "calc_key",
            )
        }
        for r in result.relaxations
    ]
    if result.uncertainty is not None:  # a committee of one has none: exactly the single-model output
        summary["uncertainty"] = result.uncertainty
    # What depends on this run rather than on the inputs: kept apart, so that a resumed or repeated
    # screen gives the same summary outside "run" as an uninterrupted fresh one.
    summary["run"] = {"reused_from_store": [r.get("phase") for r in result.relaxations if r.get("reused")]}
    return summary


def write_report(result: ScreenResult, output_dir: str | Path, wall_time_s: float | None = None) -> Path:
    out = Path(output_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    summary = summary_dict(result)
    if wall_time_s is not None:
        summary["run"]["wall_time_s"] = round(wall_time_s, 1)
    write_json(summary, out / "summary.json")
    analysis = result.analysis
    figures = {
        "hull": _plot_hull(analysis, figs / "hull.png"),
        "windows": _plot_windows(analysis, figs / "stability_windows.png", result.uncertainty),
        "voltage": _plot_voltage(analysis, figs / "voltage_profile.png", result.uncertainty),
        "reactions": _plot_reaction_map(analysis, figs / "reaction_map.png"),
    }
    md = _markdown(result, {k: v.relative_to(out) for k, v in figures.items() if v is not None})
    path = out / "report.md"
    write_text(md, path)
    return path


def _plot_hull(analysis: dict, path: Path) -> Path | None:
    rows = analysis.get("hull", [])
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (r["chemsys"], r["e_above_hull_eV_per_atom"]))
    fig, axes = plt.subplots(1, 2, figsize=(13, max(4, 0.22 * len(rows))), gridspec_kw={"width_ratios": [1, 1.2]})
    # Left: the Li-Si binary hull (formation energy vs Li fraction).
    ax = axes[0]
    lisi = [r for r in rows if set(r["chemsys"].split("-")) <= {"Li", "Si"}]
    if lisi:
        from pymatgen.core import Composition

        pts = sorted(
            (
                Composition(r["formula"]).get_atomic_fraction("Li"),
                r["formation_energy_eV_per_atom"],
                r["phase"],
                r["stable"],
            )
            for r in lisi
        )
        stable = [p for p in pts if p[3]]
        ax.plot([p[0] for p in stable], [p[1] for p in stable], "-o", color="tab:blue", label="hull")
        unstable = [p for p in pts if not p[3]]
        ax.plot([p[0] for p in unstable], [p[1] for p in unstable], "x", color="tab:red", label="above hull")
        for x, e, name, _ in pts:
            ax.annotate(name, (x, e), textcoords="offset points", xytext=(3, -10), fontsize=7)
        ax.set_xlabel("Li atomic fraction in Li$_x$Si")
        ax.set_ylabel("formation energy (eV/atom)")
        ax.set_title("Li–Si convex hull")
        ax.legend(fontsize=8)
    else:
        ax.axis("off")
    # Right: energy above hull of every phase.
    ax = axes[1]
    names = [r["phase"] for r in rows]
    ehull = [1000 * r["e_above_hull_eV_per_atom"] for r in rows]
    ax.barh(names, ehull, color=["tab:green" if r["stable"] else "tab:orange" for r in rows])
    ax.set_xlabel("energy above hull (meV/atom)")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("stability of every phase")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def _committee_range(q: dict | None) -> tuple[float, float] | None:
    """(min, max) over the committee's models of one quantity; None without a committee or a bound."""
    vals = [v for v in ((q or {}).get("values") or {}).values() if v is not None]
    return (min(vals), max(vals)) if len(vals) > 1 else None


def _plot_windows(analysis: dict, path: Path, unc: dict | None = None) -> Path | None:
    windows = analysis.get("windows", {})
    if not windows:
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    names = list(windows)
    finite = [v for w in windows.values() for v in (w["reduction_V"], w["oxidation_V"]) if v is not None]
    top, bottom = max(finite + [3.0]) + 0.5, min(finite + [0.0]) - 0.5
    for i, name in enumerate(names):
        w = windows[name]
        low = bottom if w["reduction_V"] is None else w["reduction_V"]
        high = top if w["oxidation_V"] is None else w["oxidation_V"]  # unbounded: bar runs off the axis
        ax.bar(i, high - low, bottom=low, width=0.6, color="tab:green", alpha=0.7)
        ax.text(i, high + 0.05, _num(w["oxidation_V"]), ha="center", fontsize=8)
        ax.text(i, low - 0.18, _num(w["reduction_V"], none="−∞"), ha="center", fontsize=8)
        spreads = (unc or {}).get("windows", {}).get(name, {})
        for edge in ("reduction_V", "oxidation_V"):  # the committee's range of each edge as an error bar
            span = _committee_range(spreads.get(edge))
            if span is not None and w[edge] is not None:
                yerr = [[w[edge] - span[0]], [span[1] - w[edge]]]
                label = "committee range" if not ax.get_legend_handles_labels()[1].count("committee range") else None
                ax.errorbar(i, w[edge], yerr=yerr, fmt="none", ecolor="k", capsize=6, lw=1.2, label=label)
    ax.set_ylim(bottom - 0.3, top + 0.3)
    plateaus = analysis.get("voltage_profile", [])
    if plateaus:
        vmax = max(p["voltage_V"] for p in plateaus)
        ax.axhspan(0, max(vmax, 0.0), color="tab:blue", alpha=0.12, label="Li$_x$Si lithiation range")
        for p in plateaus:
            ax.axhline(p["voltage_V"], color="tab:blue", lw=0.8, ls="--")
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("potential vs Li/Li$^+$ (V)")
    ax.set_title("electrochemical stability windows vs Li$_x$Si potentials")
    if ax.get_legend_handles_labels()[1]:  # nothing to explain without plateaus or a committee
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def _plot_voltage(analysis: dict, path: Path, unc: dict | None = None) -> Path | None:
    plateaus = analysis.get("voltage_profile", [])
    if not plateaus:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    xs, vs = [], []
    spreads = (unc or {}).get("voltage_profile", [])
    for i, p in enumerate(plateaus):
        span = _committee_range(spreads[i]["voltage_V"]) if i < len(spreads) else None
        if span is not None:  # the committee's range of this plateau as a shaded band
            label = "committee range" if i == 0 else None
            ax.fill_between([p["x_from"], p["x_to"]], *span, color="tab:blue", alpha=0.2, lw=0, label=label)
        xs += [p["x_from"], p["x_to"]]
        vs += [p["voltage_V"], p["voltage_V"]]
        ax.annotate(
            f"{p['phase_from']}→{p['phase_to']}",
            ((p["x_from"] + p["x_to"]) / 2, p["voltage_V"]),
            textcoords="offset points",
            xytext=(0, 5),
            ha="center",
            fontsize=7,
        )
    ax.plot(xs, vs, "-", color="tab:blue", lw=2)
    ax.set_xlabel("x in Li$_x$Si")
    ax.set_ylabel("voltage vs Li/Li$^+$ (V)")
    ax.set_title("Li–Si voltage profile (0 K, hull plateaus)")
    ax.set_ylim(bottom=min(0.0, min(vs) - 0.05))
    if spreads:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def _plot_reaction_map(analysis: dict, path: Path) -> Path | None:
    reactions = analysis.get("reactions", [])
    if not reactions:
        return None
    # Li metal (x_Li None) sorts last: it is the end of the lithiation series.
    x_of = {r["anode"]: (float("inf") if r["x_Li"] is None else r["x_Li"]) for r in reactions}
    anodes = sorted(x_of, key=x_of.get)
    electrolytes = list(dict.fromkeys(r["electrolyte"] for r in reactions))
    grid = np.full((len(anodes), len(electrolytes)), np.nan)
    for r in reactions:
        grid[anodes.index(r["anode"]), electrolytes.index(r["electrolyte"])] = r["E_rxn_meV_per_atom"]
    fig, ax = plt.subplots(figsize=(2.2 + 2.2 * len(electrolytes), 1.2 + 0.55 * len(anodes)))
    im = ax.imshow(
        grid,
        cmap="RdBu",
        vmin=-max(1.0, np.nanmax(np.abs(grid))),
        vmax=max(1.0, np.nanmax(np.abs(grid))),
        aspect="auto",
    )
    for i in range(len(anodes)):
        for j in range(len(electrolytes)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=8)
    xl = {a: next((r["x_Li"] for r in reactions if r["anode"] == a), None) for a in anodes}
    ax.set_yticks(range(len(anodes)), [f"{a} (x={_num(xl[a])})" if xl[a] is not None else a for a in anodes])
    ax.set_xticks(range(len(electrolytes)), electrolytes)
    fig.colorbar(im, ax=ax, label="most negative E$_{rxn}$ (meV/atom)")
    ax.set_title("anode | electrolyte reaction energy vs lithiation")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


_num = partial(number, none="∞")  # an unbounded window edge or staircase step


def _fmt_products(products) -> str:
    return ", ".join(products) if products else "—"


def _markdown(result: ScreenResult, figures: dict[str, Path]) -> str:
    a = result.analysis
    lines = _header_and_windows(result, a, figures)
    lines += _reactions_and_tie_lines(a, figures, result.uncertainty)
    lines += _hull_and_relaxations(result, a, figures)
    if result.uncertainty is not None:
        lines += _committee(result.uncertainty)
    warnings = screen_warnings_of(result)
    if warnings:
        lines += ["", "## Warnings", ""]
        for w in warnings:
            measured = "" if w["value"] is None else f" (value {w['value']}; threshold {w['threshold']})"
            lines.append(f"- **{w['kind']}**{' ' + w['phase'] if w['phase'] else ''}: {w['message']}{measured}")
    return "\n".join(lines) + "\n"


def _pm(quantity: dict | None, fmt: str = ".2f", scale: float = 1.0) -> str:
    """' ± spread' of a committee quantity ('' without a committee, ' ± ?' when a model has no value)."""
    if quantity is None:
        return ""
    return " ± ?" if quantity["spread"] is None else f" ± {_num(quantity['spread'], fmt, scale)}"


def _edges(a: dict, unc: dict | None) -> list[str]:
    """Per window edge, the competing phases that set it and the reaction that reaches them."""
    lines = [
        "",
        "### Window edges: the phases that set each limit",
        "",
        "At each limit the electrolyte is in equilibrium with the phases of the next step of its staircase; "
        "the reaction is per formula unit of the electrolyte (pymatgen's grand-potential element profile).",
        "",
        "| electrolyte | edge | V | phases that set it | reaction |",
        "|---|---|---|---|---|",
    ]
    for name, w in a.get("windows", {}).items():
        for edge in ("reduction", "oxidation"):
            q = (unc or {}).get("windows", {}).get(name, {})
            flag = " ⚠ models disagree" if q.get(f"{edge}_products", {}).get("differ") else ""
            lines.append(
                f"| {name} | {edge} | {_num(w[f'{edge}_V'], none='−∞' if edge == 'reduction' else '∞')}"
                f"{_pm(q.get(f'{edge}_V'))} | {_fmt_products(w[f'{edge}_products'])}{flag} | "
                f"{w.get(f'{edge}_reaction') or '—'} |"
            )
    return lines


def _committee(unc: dict) -> list[str]:
    """Every committee quantity: the value of each model, the spread (max - min) and std."""
    models = unc["models"]
    lines = [
        "",
        "## Model committee",
        "",
        f"Values of the default model **{unc['default_model']}** are the ones reported above; spread = "
        f"{unc['spread']}, std = {unc['std']}. ⚠: the models give different products / phases.",
        "",
        f"| quantity | {' | '.join(models)} | spread | std |",
        "|---|" + "---|" * (len(models) + 2),
    ]

    def row(label: str, q: dict, fmt: str = ".2f", scale: float = 1.0, differ: bool = False) -> None:
        cells = " | ".join(_num(q["values"][m], fmt, scale) for m in models)
        lines.append(
            f"| {label}{' ⚠' if differ else ''} | {cells} | {_num(q['spread'], fmt, scale, none='—')} | "
            f"{_num(q['std'], fmt, scale, none='—')} |"
        )

    for name, w in unc.get("windows", {}).items():
        for edge in ("reduction", "oxidation"):
            row(f"{name} {edge} (V)", w[f"{edge}_V"], differ=w[f"{edge}_products"]["differ"])
    for p in unc.get("voltage_profile", []):
        row(
            f"plateau x {p['x_from']:.2f}–{p['x_to']:.2f} (V)",
            p["voltage_V"],
            ".3f",
            differ=p["two_phase_region"]["differ"],
        )
    for r in unc.get("reactions", []):
        label = f"E_rxn {r['anode']} | {r['electrolyte']} (meV/atom)"
        row(label, r["E_rxn_meV_per_atom"], ".0f", differ=r["products"]["differ"])
    for name, q in unc.get("reductions_vs_li", {}).items():
        row(f"{name} + Li at 0 V (eV/atom)", q, ".3f")
    return lines


def _header_and_windows(result: ScreenResult, a: dict, figures: dict[str, Path]) -> list[str]:
    lines = [
        "# interchem thermodynamic screen",
        "",
        f"- calculator: `{json.dumps(result.calculator)}` — {result.level_of_theory}",
        f"- anodes: {', '.join(result.anodes)}",
        f"- electrolytes: {', '.join(result.electrolytes)}",
        f"- phases relaxed: {len(result.relaxations)} "
        f"({sum(1 for r in result.relaxations if r.get('reused'))} reused from the store)",
        f"- versions: {', '.join(f'{k} {v}' for k, v in result.versions.items())}",
        "",
        "Energies are 0 K, on the Materials Project MP2020 scale (see the docs on energy conventions). "
        "An MLIP screen ranks and flags; DFT decides: see the accuracy notes in the README.",
        "",
        "## Electrochemical stability windows (V vs Li/Li+)",
        "",
        "Computed from the Li grand-potential phase diagram; an electrolyte above the hull is placed on it "
        "first (Zhu, He & Mo, ACS AMI 2015).",
        "",
        "| electrolyte | E above hull (meV/atom) | reduction (V) | oxidation (V) | "
        "products at reduction | products at oxidation |",
        "|---|---|---|---|---|---|",
    ]
    for name, w in a.get("windows", {}).items():
        q = (result.uncertainty or {}).get("windows", {}).get(name, {})
        lines.append(
            f"| {name} | {_num(w.get('e_above_hull_eV_per_atom'), '.0f', 1000)} | "
            f"{_num(w['reduction_V'], none='−∞')}{_pm(q.get('reduction_V'))} | "
            f"{_num(w['oxidation_V'])}{_pm(q.get('oxidation_V'))} | "
            f"{_fmt_products(w['reduction_products'])} | {_fmt_products(w['oxidation_products'])} |"
        )
    lines += _edges(a, result.uncertainty)
    if "windows" in figures:
        lines += ["", f"![stability windows]({figures['windows']})"]
    lines += ["", "### Voltage staircase of each electrolyte", ""]
    for name, w in a.get("windows", {}).items():
        lines += [f"**{name}**", "", "| from (V) | to (V) | Li per f.u. | phases |", "|---|---|---|---|"]
        for step in w.get("staircase", []):
            lines.append(
                f"| {_num(step.get('voltage_from_V'), none='−∞')} | {_num(step.get('voltage_to_V'))} | "
                f"{_num(step.get('li_per_fu'), '+.2f')} | {_fmt_products(step.get('products', []))} |"
            )
        lines.append("")
    lines += ["## Li–Si voltage profile", "", "| x from | x to | voltage (V) | two-phase region |", "|---|---|---|---|"]
    spreads = (result.uncertainty or {}).get("voltage_profile", [])
    for i, p in enumerate(a.get("voltage_profile", [])):
        q = spreads[i] if i < len(spreads) else None
        lines.append(
            f"| {p['x_from']:.2f} | {p['x_to']:.2f} | {p['voltage_V']:.3f}{_pm(q and q['voltage_V'], '.3f')} | "
            f"{p['phase_from']} + {p['phase_to']}{' ⚠' if q and q['two_phase_region']['differ'] else ''} |"
        )
    if "voltage" in figures:
        lines += ["", f"![voltage profile]({figures['voltage']})"]
    return lines


def _reactions_and_tie_lines(a: dict, figures: dict[str, Path], unc: dict | None = None) -> list[str]:
    lines = [
        "",
        "## Anode | electrolyte reactions (lithiation map)",
        "",
        "E_rxn: most negative pseudo-binary reaction energy (pymatgen InterfacialReactivity), mixing ratio = "
        "atomic fraction of the anode; E_mutual: the same with each reactant at its hull energy (Richards "
        "et al. 2016); open Li: the reaction with Li exchanged at the anode's own potential.",
        "",
        "| anode | x_Li | electrolyte | E_rxn (meV/atom) | ratio | products | E_mutual (meV/atom) | "
        "V_anode (V) | E_rxn open Li (meV/atom) | products open Li |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    spreads = {(q["anode"], q["electrolyte"]): q for q in (unc or {}).get("reactions", [])}
    for r in a.get("reactions", []):
        v = r.get("open_li_voltage_V")
        eo = r.get("E_rxn_open_Li_meV_per_atom")
        q = spreads.get((r["anode"], r["electrolyte"]))
        flag = " ⚠" if q and q["products"]["differ"] else ""
        lines.append(
            f"| {r['anode']} | {_num(r['x_Li'], none='Li metal')} | {r['electrolyte']} | "
            f"{_num(r['E_rxn_meV_per_atom'], '.0f')}{_pm(q and q['E_rxn_meV_per_atom'], '.0f')} | "
            f"{_num(r['mixing_ratio'])} | {_fmt_products(r['products'])}{flag} | "
            f"{_num(r.get('E_mutual_meV_per_atom'), '.0f', none='—')} | "
            f"{'—' if v is None else f'{v:.2f}'} | {'—' if eo is None else f'{eo:.0f}'} | "
            f"{_fmt_products(r.get('open_li_products', []))} |"
        )
    if "reactions" in figures:
        lines += ["", f"![reaction map]({figures['reactions']})"]
    reductions = a.get("reductions_vs_li", {})
    if reductions:
        lines += [
            "",
            "### Reduction by Li metal at 0 V",
            "",
            "| electrolyte | E (eV/atom) | products |",
            "|---|---|---|",
        ]
        for name, r in reductions.items():
            lines.append(
                f"| {name} | {_num(r.get('E_eV_per_atom'), '.3f', none='—')} | {_fmt_products(r.get('products', []))} |"
            )
    tie_lines = a.get("tie_lines", [])
    if tie_lines:
        lines += [
            "",
            "## Tie-lines (interlayer rule: an interlayer must share a tie-line with Li metal)",
            "",
            "| A | B | direct tie-line | forms instead |",
            "|---|---|---|---|",
        ]
        for t in tie_lines:
            lines.append(
                f"| {t['a']} | {t['b']} | {'yes' if t['direct'] else 'no'} | {_fmt_products(t.get('products', []))} |"
            )
    return lines


def _hull_and_relaxations(result: ScreenResult, a: dict, figures: dict[str, Path]) -> list[str]:
    lines = [
        "",
        "## Hull: energy above hull of every phase",
        "",
        "| phase | chemsys | E_f (eV/atom) | E above hull (meV/atom) | decomposes to |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(a.get("hull", []), key=lambda r: (r["chemsys"], r["phase"])):
        lines.append(
            f"| {row['phase']} | {row['chemsys']} | {_num(row['formation_energy_eV_per_atom'], '.3f')} | "
            f"{_num(row['e_above_hull_eV_per_atom'], '.0f', 1000)} | {_fmt_products(row.get('decomposition', []))} |"
        )
    if "hull" in figures:
        lines += ["", f"![hull]({figures['hull']})"]
    lines += [
        "",
        "## Relaxations",
        "",
        "| phase | atoms | E (eV/atom) | ΔV (%) | converged | steps | reused |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.relaxations:
        lines.append(
            f"| {r['phase']} | {r['n_atoms']} | {_num(r['energy_per_atom_eV'], '.4f')} | "
            f"{_num(r['volume_change_percent'], '+.1f')} | "
            f"{r.get('converged')} | {r.get('n_steps')} | {'yes' if r.get('reused') else 'no'} |"
        )
    return lines
