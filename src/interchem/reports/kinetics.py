"""Reports of the kinetics flows: JSON export, markdown and figures (NEB profiles, MSD curves,
Arrhenius plot with error bars, phonon band structure and DOS). Pure rendering of stored results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from interchem.reports.common import plt, save_figure, write_json
from interchem.workflows.diffusion import DiffusionReport
from interchem.workflows.neb import BarrierReport
from interchem.workflows.phonons import PhononSummary

KB_EV = 8.617333262e-5


def _calc_label(calculator: dict) -> str:
    from interchem.calculators import CalculatorSpec

    return CalculatorSpec.model_validate(calculator).label()


# ------------------------------------------------------------------------------------- barriers


def write_barrier_report(report: BarrierReport | dict, out_dir: str | Path) -> Path:
    report = report if isinstance(report, BarrierReport) else BarrierReport.model_validate(report)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    write_json(report, out / "barriers.json")
    fig, ax = plt.subplots(figsize=(6, 4))
    for path in report.neb_paths:
        x = np.asarray(path["reaction_coordinate_A"])
        ax.plot(
            x,
            path["energies_eV"],
            "o-",
            ls="--" if path["flagged"] else "-",
            label=path["label"].replace(f"{report.phase} ", "") + (" (flagged)" if path["flagged"] else ""),
        )
    ax.set_xlabel("reaction coordinate (Å)")
    ax.set_ylabel("E − E(initial) (eV)")
    ax.set_title(f"Li hops in {report.phase} ({_calc_label(report.calculator)})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "figures" / "neb_profiles.png", dpi=150)
    lines = [
        f"# Li migration barriers: {report.phase}",
        "",
        f"Calculator: `{_calc_label(report.calculator)}` ({report.level_of_theory}). Climbing-image NEB, IDPP start.",
        "",
        "| mechanism | hop | d (Å) | from → to | mult. | barrier (eV) | converged | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in report.hops:
        lines.append(
            f"| {h['mechanism']} | {h['hop']} | {h['distance_A']:.3f} | {h['start_wyckoff']} → {h['end_wyckoff']} | "
            f"{h['multiplicity']} | {h['barrier_eV']:.3f} | {'yes' if h['converged'] else 'no'} | "
            f"{h['flag_reason'] or ''} |"
        )
    lines += ["", "Percolation (lowest barrier that connects the cell; flagged hops never open a path):", ""]
    for mech, th in report.percolation_eV.items():
        txt = ", ".join(f"{d}D: {'none' if v is None else f'{v:.3f} eV'}" for d, v in th.items())
        lines.append(f"- {mech}: {txt}")
    sites = report.interstitial_sites
    if sites:
        lines += [
            "",
            "Interstitial sites, relaxed with the calculator (candidates that relaxed into one minimum are merged):",
            "",
            "| minimum | frac. coords | sites/cell | E − E_min (eV) | from candidate orbits |",
            "|---|---|---|---|---|",
        ]
        for k, m in enumerate(sites["minima"]):
            xyz = ", ".join(f"{x:.3f}" for x in m["frac"])
            lines.append(
                f"| {k} | ({xyz}) | {m['multiplicity']} | {m['relative_energy_eV']:.3f} | "
                f"{', '.join(map(str, m['from_candidate_orbits']))} |"
            )
    lines += ["", "![NEB profiles](figures/neb_profiles.png)", ""]
    (out / "barriers.md").write_text("\n".join(lines))
    return out / "barriers.md"


# ------------------------------------------------------------------------------------ diffusion


def write_diffusion_report(report: DiffusionReport | dict, out_dir: str | Path) -> Path:
    report = report if isinstance(report, DiffusionReport) else DiffusionReport.model_validate(report)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    write_json(report, out / "diffusion.json")

    _plot_msd(report, out / "figures" / "msd.png")
    _plot_arrhenius(report, out / "figures" / "arrhenius.png")
    lines = [
        f"# Li diffusion: {report.phase}",
        "",
        f"Calculator: `{_calc_label(report.calculator)}` ({report.level_of_theory}); "
        f"Nernst-Einstein with Haven ratio {report.haven_ratio}.",
        "D from the Li MSD by block averaging (8 independent blocks; error = standard error of the block estimates).",
        "",
        "| T (K) | <T> (K) | production (ps) | D (cm²/s) | σ (S/cm) | note |",
        "|---|---|---|---|---|---|",
    ]
    for p in report.points:
        d = p.diffusion
        sig = f"{p.sigma_S_per_cm:.2e} ± {p.sigma_err_S_per_cm:.1e}" if p.sigma_S_per_cm else "—"
        lines.append(
            f"| {p.temperature_K:.0f} | {p.mean_temperature_K:.0f} | {p.production_ps:.1f} | "
            f"{d.D_cm2_per_s:.2e} ± {d.D_err_cm2_per_s:.1e} | {sig} | {d.flag_reason or ''} |"
        )
    lines.append("")
    if report.flagged:
        lines.append(f"**No Arrhenius fit:** {report.flag_reason}")
    else:
        lo, hi = report.sigma_300K_interval_S_per_cm
        lines.append(
            f"**Activation energy** {report.activation_energy_eV:.3f} ± {report.activation_energy_err_eV:.3f} eV; "
            f"**σ(300 K)** extrapolated {report.sigma_300K_S_per_cm:.2e} S/cm (1σ interval {lo:.1e}–{hi:.1e})."
        )
    lines += ["", "![MSD](figures/msd.png)", "", "![Arrhenius](figures/arrhenius.png)", ""]
    (out / "diffusion.md").write_text("\n".join(lines))
    return out / "diffusion.md"


def _plot_msd(report: DiffusionReport, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in report.points:
        ax.plot(
            p.msd.time_ps,
            p.msd.msd_A2,
            label=f"{p.temperature_K:.0f} K" + (" (no diffusion)" if p.diffusion.flagged else ""),
        )
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("Li MSD (Å²)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=150)


def _plot_arrhenius(report: DiffusionReport, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    good = [p for p in report.points if p.sigma_S_per_cm]
    if good:
        inv = np.array([1000.0 / p.temperature_K for p in good])
        st = np.array([p.sigma_S_per_cm * p.temperature_K for p in good])
        err = np.array([p.sigma_err_S_per_cm * p.temperature_K for p in good])
        ax.errorbar(inv, st, yerr=err, fmt="o", capsize=3, label="MD (block-averaging error)")
        if report.arrhenius_sigma is not None:
            a = report.arrhenius_sigma
            x = np.linspace(min(inv.min(), 1000 / 300), inv.max(), 50)
            ax.plot(
                x,
                a.prefactor * np.exp(-a.activation_energy_eV * (x / 1000.0) / KB_EV),
                "-",
                label=f"Ea = {a.activation_energy_eV:.3f} ± {a.activation_energy_err_eV:.3f} eV",
            )
            lo, hi = report.sigma_300K_interval_S_per_cm
            ax.errorbar(
                [1000 / 300],
                [a.value_300K * 300],
                yerr=[[a.value_300K * 300 - lo * 300], [hi * 300 - a.value_300K * 300]],
                fmt="s",
                capsize=3,
                label=f"300 K: {a.value_300K:.2e} S/cm",
            )
        ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("σT (S K / cm)")
    ax.set_title(f"{report.phase} ({_calc_label(report.calculator)})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=150)


# -------------------------------------------------------------------------------------- phonons


def write_phonon_report(summary: PhononSummary | dict, out_dir: str | Path, phonon_doc: Any = None) -> Path:
    summary = summary if isinstance(summary, PhononSummary) else PhononSummary.model_validate(summary)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    write_json(summary, out / "phonons.json")
    figures = []
    if phonon_doc is not None:
        figures = _plot_phonon_doc(phonon_doc, out / "figures")
    t = np.asarray(summary.temperatures_K)
    pick = [x for x in (0, 300, 333, 353, 600, 1000) if t.min() <= x <= t.max()]
    lines = [
        f"# Phonons: {summary.phase}",
        "",
        f"Calculator: `{_calc_label(summary.calculator)}` ({summary.level_of_theory}); atomate2 phonon flow (phonopy).",
        "",
        f"Lowest frequency {summary.min_frequency_THz:.3f} THz: "
        + (
            "**imaginary modes: dynamically unstable at this level of theory**"
            if summary.has_imaginary_modes
            else "no imaginary modes (dynamically stable)"
        )
        + f" (tolerance {summary.imaginary_tolerance_THz} THz).",
        "",
        "| T (K) | F_vib (eV/atom) |",
        "|---|---|",
    ]
    lines += [f"| {x} | {summary.free_energy_at(x):.4f} |" for x in pick]
    lines += [""] + [f"![{f.stem}](figures/{f.name})" for f in figures] + [""]
    (out / "phonons.md").write_text("\n".join(lines))
    return out / "phonons.md"


def _plot_phonon_doc(doc: Any, figs: Path) -> list[Path]:
    from pymatgen.phonon.bandstructure import PhononBandStructureSymmLine
    from pymatgen.phonon.dos import PhononDos
    from pymatgen.phonon.plotter import PhononBSPlotter, PhononDosPlotter

    get = (lambda k: doc.get(k)) if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    made = []
    bs, dos = get("phonon_bandstructure"), get("phonon_dos")
    if bs is not None:
        bs = PhononBandStructureSymmLine.from_dict(bs) if isinstance(bs, dict) else bs
        ax = PhononBSPlotter(bs).get_plot()
        save_figure(ax.figure, figs / "phonon_bands.png", dpi=150)
        made.append(figs / "phonon_bands.png")
    if dos is not None:
        dos = PhononDos.from_dict(dos) if isinstance(dos, dict) else dos
        plotter = PhononDosPlotter()
        plotter.add_dos("total", dos)
        ax = plotter.get_plot()
        save_figure(ax.figure, figs / "phonon_dos.png", dpi=150)
        made.append(figs / "phonon_dos.png")
    return made
