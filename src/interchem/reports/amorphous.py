"""Reports of melt-quench and lithiation-mechanics results: structures (CIF, extxyz), markdown tables,
figures (g(r), volume per Si against x, moduli against x) and the result as JSON.

Writes only into ``output_dir``; takes the result documents of ``interchem.workflows.amorphous`` and
``interchem.workflows.mechanics`` (models or their dicts).
"""

from __future__ import annotations

from pathlib import Path

from interchem.reports.common import number, plt, save_figure, write_json, write_structure
from interchem.workflows.amorphous import AmorphousResult
from interchem.workflows.mechanics import LithiationResult


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def _plot_rdf(result: AmorphousResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    offset = 0.0
    for pair, rdf in sorted(result.rdf_300K.items()):
        ax.plot(rdf.r, [g + offset for g in rdf.g], label=f"{pair} (300 K)")
        offset += max(rdf.g) * 0.6 if rdf.g else 0.0
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r) (offset per pair)")
    ax.set_title(f"{result.label}: partial g(r), {result.n_atoms} atoms")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def write_amorphous_report(result: AmorphousResult | dict, output_dir: str | Path) -> Path:
    result = AmorphousResult.model_validate(result)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(result.label)
    files = write_structure(result.structure, out / stem, plain=False)
    figure = _plot_rdf(result, out / f"{stem}_rdf.png")
    write_json(
        result.model_dump(mode="json", exclude={"structure"}), out / f"{stem}.json", indent=1, trailing_newline=True
    )
    t = result.target
    ref = result.reference_density
    lines = [
        f"# Amorphous {result.label} by melt-quench",
        "",
        f"Calculator: {result.level_of_theory}. Cell: {t['cell_formula']} ({result.n_atoms} atoms; requested "
        f"{t['requested_formula']}, largest atom-fraction error {t['composition_error']:.4f}).",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| start density (packing) | {result.start_density:.3f} g/cm³ ({t['start_density_source']}) |",
        f"| after NPT quench | {result.density_after_quench:.3f} g/cm³ |",
        f"| 300 K anneal (mean of 2nd half) | {result.density_anneal_mean:.3f} g/cm³ |",
        f"| **0 K after cell relaxation** | **{result.density:.3f} g/cm³** ({result.volume_per_atom_A3:.2f} Å³/atom) |",
    ]
    if ref is not None:
        lines.append(f"| published | {ref[0]:.3f}–{ref[1]:.3f} g/cm³ ({result.reference_source}) |")
        lines.append(f"| deviation from published (mid) | {result.density_deviation_percent:+.1f} % |")
    if not result.density_sane:
        lines.append(
            f"| **warning** | density outside the sane window "
            f"{t['density_bounds'][0]:.2f}–{t['density_bounds'][1]:.2f} g/cm³ |"
        )
    lines += [
        "",
        "Melt-quench schedule: "
        + "; ".join(
            f"{k}: {v['steps']} steps × {v['timestep_fs']} fs, {v['ensemble']}, "
            f"{v['temperature_K']:.0f}"
            f"{'→' + format(v['end_temperature_K'], '.0f') if v.get('end_temperature_K') else ''} K "
            f"(mean {result.mean_temperatures_K.get(k, float('nan')):.0f} K)"
            for k, v in result.schedule.items()
        )
        + f"; then cell + positions relaxation (converged: {result.relax_converged}).",
        "",
        "| pair | first peak 300 K (Å) | first minimum (Å) | coordination 300 K | "
        "first peak 0 K (Å) | coordination 0 K |",
        "|---|---|---|---|---|---|",
    ]
    for pair, rdf in sorted(result.rdf_300K.items()):
        r0 = result.rdf_0K.get(pair)
        lines.append(
            f"| {pair} | {_f(rdf.first_peak_A)} | {_f(rdf.first_minimum_A)} | {_f(rdf.coordination)} | "
            f"{_f(r0.first_peak_A if r0 else None)} | {_f(r0.coordination if r0 else None)} |"
        )
    lines += ["", f"![g(r)]({figure.name})", "", "Files: " + ", ".join(p.name for p in files) + f", {stem}.json", ""]
    report = out / f"{stem}_report.md"
    report.write_text("\n".join(lines))
    return report


_f = number


def _plot_volumes(result: LithiationResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    cr = [p for p in result.phases if not p.amorphous]
    am = [p for p in result.phases if p.amorphous]
    ax.plot([p.x for p in cr], [p.volume_per_si_A3 for p in cr], "o", label="crystalline (calc.)")
    exp = [p for p in cr if p.experimental_volume_per_si_A3]
    ax.plot(
        [p.x for p in exp],
        [p.experimental_volume_per_si_A3 for p in exp],
        "k+",
        ms=9,
        label="crystalline (exp. structures)",
    )
    if am:
        ax.plot([p.x for p in am], [p.volume_per_si_A3 for p in am], "s", label="amorphous (calc.)")
    if result.experimental_line:
        a, b = result.experimental_line
        xs = [0, max(p.x for p in result.phases)]
        ax.plot(xs, [a + b * x for x in xs], "k:", lw=0.8, label=f"exp. line {a:.1f} + {b:.1f}x")
    ax.set_xlabel("x in LiₓSi")
    ax.set_ylabel("volume per Si (Å³)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def _plot_moduli(result: LithiationResult, path: Path) -> Path | None:
    pts = [p for p in result.phases if p.moduli is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for attr, label, marker in (("bulk_vrh", "B", "o"), ("shear_vrh", "G", "s"), ("youngs_vrh", "E", "^")):
        for amorphous, fill in ((False, "full"), (True, "none")):
            sel = [p for p in pts if p.amorphous == amorphous]
            if sel:
                ax.plot(
                    [p.x for p in sel],
                    [getattr(p.moduli, attr) for p in sel],
                    marker,
                    fillstyle=fill,
                    label=f"{label} ({'amorphous' if amorphous else 'crystalline'})",
                )
    ax.set_xlabel("x in LiₓSi")
    ax.set_ylabel("modulus, Voigt-Reuss-Hill (GPa)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def write_lithiation_report(result: LithiationResult | dict, output_dir: str | Path) -> Path:
    result = LithiationResult.model_validate(result)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for p in result.phases:
        if p.structure is not None:
            write_structure(p.structure, out / "structures" / _safe(p.phase), plain=False)
    vol = _plot_volumes(result, out / "volume_vs_x.png")
    mod = _plot_moduli(result, out / "moduli_vs_x.png")
    write_json(
        result.model_dump(mode="json", exclude={"phases": {"__all__": {"structure"}}}),
        out / "lithiation.json",
        indent=1,
        trailing_newline=True,
    )
    lines = [
        "# Mechanics of lithiation (Li_xSi)",
        "",
        f"Calculator: {result.level_of_theory}. Expansion relative to the calculator's relaxed c-Si "
        f"({result.reference_volume_per_si_A3:.2f} Å³/Si).",
        "",
        "| phase | x | atoms | V/Si (Å³) | V/Si exp. (Å³) | expansion (%) | "
        "ρ (g/cm³) | B (GPa) | G (GPa) | E (GPa) | ν |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in result.phases:
        m = p.moduli
        lines.append(
            f"| {p.phase} | {p.x:.2f} | {p.n_atoms} | {p.volume_per_si_A3:.2f} | "
            f"{_f(p.experimental_volume_per_si_A3)} | "
            f"{p.expansion_percent:.0f} | {p.density:.3f} | {_f(m.bulk_vrh if m else None, '.1f')} | "
            f"{_f(m.shear_vrh if m else None, '.1f')} | {_f(m.youngs_vrh if m else None, '.1f')} | "
            f"{_f(m.poisson_vrh if m else None, '.3f')} |" + (f" {p.elastic_note}" if p.elastic_note else "")
        )
    for name, line in (
        ("crystalline (calc.)", result.crystalline_line),
        ("amorphous (calc.)", result.amorphous_line),
        ("crystalline (exp. structures)", result.experimental_line),
    ):
        if line:
            lines.append(f"\nVolume per Si, {name}: {line[0]:.2f} + {line[1]:.2f} x Å³.")
    lines += ["", f"![volume per Si]({vol.name})"]
    if mod:
        lines += ["", f"![moduli]({mod.name})"]
    report = out / "lithiation_report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
