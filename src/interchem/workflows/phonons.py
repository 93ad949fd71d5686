"""Harmonic phonons through atomate2's force-field phonon flow, wired to the calculator registry.

atomate2's ``PhononMaker`` (phonopy finite displacements) does the work: tight relaxation, displaced
supercells, force constants, band structure along the seekpath path, DOS and thermodynamics. Its
calculator is our registry's ``ase_calculator`` (the same trick as the relax maker), so any registry
calculator with an ASE interface gives phonons. We add a small summary job: dynamical stability (the
lowest frequency over the band path and the DOS mesh, imaginary modes reported as negative THz) and
the vibrational free energy per atom F_vib(T) in eV, which ``analysis.thermal`` adds to screen entries.

The large arrays (force constants, band structure, DOS) stay in atomate2's document, routed to the
data store by atomate2 itself; the summary is small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel
from pymatgen.core import Structure

from interchem.calculators import (
    CalculatorSpec,
    TrackedBFGS,
    calculator_makers,
    check_calculator,
    get_backend,
)
from interchem.schemas import task_field
from interchem.workflows.common import cache_key, resolve_calculator

PHONON_PROTOCOL = "phonons-2"  # bump when the meaning of a stored phonon summary changes

# J/mol -> eV per particle
_J_PER_MOL_TO_EV = 1.0 / 96485.33212

# |f| below this (THz) is numerical noise of the acoustic modes near Gamma, not an instability.
IMAGINARY_TOLERANCE_THZ = 0.1


class PhononSummary(BaseModel):
    phase: str
    formula: str
    calculator: dict[str, Any]
    level_of_theory: str
    n_atoms_primitive: int
    supercell_matrix: list[list[float]] | None
    min_frequency_THz: float  # negative = imaginary
    has_imaginary_modes: bool
    imaginary_tolerance_THz: float
    temperatures_K: list[float]
    free_energy_per_atom_eV: list[float]  # F_vib(T) per atom (zero-point energy included)
    entropy_per_atom_kB: list[float]
    phonon_key: str | None = None  # set by callers that look phonons up in the store for reuse
    phonon_doc_uuid: str | None = None  # the atomate2 job holding band structure and DOS (for plots)

    def free_energy_at(self, temperature_K: float) -> float:
        t = np.asarray(self.temperatures_K)
        if not t.min() - 1e-9 <= temperature_K <= t.max() + 1e-9:
            from interchem.errors import InterchemError

            raise InterchemError(
                f"F_vib of {self.phase} is known for {t.min():.0f}-{t.max():.0f} K, not {temperature_K} K"
            )
        return float(np.interp(temperature_K, t, self.free_energy_per_atom_eV))


def _min_frequency(doc: Any) -> float:
    bs = task_field(doc, "phonon_bandstructure")
    dos = task_field(doc, "phonon_dos")
    freqs = []
    if bs is not None:
        if isinstance(bs, dict):
            from pymatgen.phonon.bandstructure import PhononBandStructureSymmLine

            bs = PhononBandStructureSymmLine.from_dict(bs)
        freqs.append(float(np.min(bs.bands)))
    if dos is not None:
        if isinstance(dos, dict):
            from pymatgen.phonon.dos import PhononDos

            dos = PhononDos.from_dict(dos)
        f = np.asarray(dos.frequencies)[np.asarray(dos.densities) > 1e-6 * np.max(dos.densities)]
        if len(f):
            freqs.append(float(f.min()))
    if not freqs:
        from interchem.errors import InterchemError

        raise InterchemError("phonon document has neither a band structure nor a DOS")
    return min(freqs)


@job(name="phonon summary")
def phonon_summary(
    phase: str,
    calculator: CalculatorSpec,
    phonon_doc: Any,
    phonon_doc_uuid: str | None = None,
    phonon_key: str | None = None,
) -> PhononSummary:
    spec = calculator
    structure = task_field(phonon_doc, "structure")
    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    comp = structure.composition
    atoms_per_fu = comp.reduced_composition.num_atoms  # atomate2/pymatgen give F per formula unit
    temps = [float(t) for t in task_field(phonon_doc, "temperatures")]
    free = [f * _J_PER_MOL_TO_EV / atoms_per_fu for f in task_field(phonon_doc, "free_energies")]
    entropies = [s * _J_PER_MOL_TO_EV / 8.617333262e-5 / atoms_per_fu for s in task_field(phonon_doc, "entropies")]
    fmin = _min_frequency(phonon_doc)
    sc = task_field(phonon_doc, "supercell_matrix")
    return PhononSummary(
        phase=phase,
        formula=comp.reduced_formula,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=get_backend(spec).level_of_theory(spec),
        n_atoms_primitive=len(structure),
        supercell_matrix=np.asarray(sc).tolist() if sc is not None else None,
        min_frequency_THz=fmin,
        has_imaginary_modes=fmin < -IMAGINARY_TOLERANCE_THZ,
        imaginary_tolerance_THz=IMAGINARY_TOLERANCE_THZ,
        temperatures_K=temps,
        free_energy_per_atom_eV=free,
        entropy_per_atom_kB=entropies,
        phonon_doc_uuid=phonon_doc_uuid,
        phonon_key=phonon_key,
    )


@dataclass
class PhononsMaker(Maker):
    """atomate2's force-field phonon flow with a registry calculator, then a small summary.

    ``min_length`` (A) of the supercell: atomate2 defaults to 20 A; 12 A converges F_vib(T) of these
    ionic solids to a few meV/atom at a fraction of the cost (set 20 for publication-grade dispersions).
    """

    name: str = "phonons"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, in __post_init__
    min_length: float = 12.0
    displacement: float = 0.01
    relax: bool = True
    relax_fmax: float = 1e-3
    t_max_K: float = 1000.0
    t_step_K: float = 5.0

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def key(self, structure: Structure) -> str:
        """Cache key of the phonons of ``structure`` (``common.cache_key``): callers look it up in the
        store (``common.find_stored(store, key, field="phonon_key")``) before making the flow."""
        settings = {
            "min_length": self.min_length,
            "displacement": self.displacement,
            "relax": self.relax,
            "relax_fmax": self.relax_fmax,
            "t_max_K": self.t_max_K,
            "t_step_K": self.t_step_K,
        }
        return cache_key(self.calculator, structure, settings, PHONON_PROTOCOL)

    def make(self, structure: Structure, phase: str | None = None, phonon_key: str | None = None) -> Flow:
        from atomate2.forcefields.flows.phonons import PhononMaker
        from atomate2.forcefields.jobs import (
            ForceFieldRelaxMaker,
            ForceFieldStaticMaker,
        )

        spec = self.calculator
        check_calculator(spec, {el.symbol for el in structure.composition}, context="phonons")
        calculator_makers(spec, "phonons")  # atomate2's force-field phonon flow on the ASE calculator
        phase = phase or structure.composition.reduced_formula
        ff = {"@module": "interchem.calculators", "@callable": "ase_calculator"}
        kwargs = {"spec": spec.model_dump(mode="json")}
        static = ForceFieldStaticMaker(force_field_name=ff, calculator_kwargs=kwargs, store_trajectory="no")
        relax = (
            ForceFieldRelaxMaker(
                force_field_name=ff,
                calculator_kwargs=kwargs,
                relax_kwargs={"fmax": self.relax_fmax},
                optimizer_kwargs={"optimizer": TrackedBFGS},
                steps=1000,
                store_trajectory="no",
            )
            if self.relax
            else None
        )
        flow = PhononMaker(
            name=f"phonons {phase}",
            min_length=self.min_length,
            displacement=self.displacement,
            bulk_relax_maker=relax,
            static_energy_maker=static,
            phonon_displacement_maker=static,
            born_maker=None,
            store_force_constants=False,
            generate_frequencies_eigenvectors_kwargs={
                "tmin": 0,
                "tmax": self.t_max_K + self.t_step_K,
                "tstep": self.t_step_K,
            },
        ).make(structure)
        summary = phonon_summary(phase, spec, flow.output, phonon_doc_uuid=flow.output.uuid, phonon_key=phonon_key)
        summary.name = f"phonon summary {phase}"
        return Flow([flow, summary], output=summary.output, name=f"{self.name} {phase}")
