"""Interstitial Li sites as energy minima of the chosen calculator, for the interstitial NEB hops.

``hops.find_interstitial_sites`` finds maxima of the distance to the nearest atom: good starting points,
not energy minima. In open, low-symmetry frameworks (Li2PO2N) several candidates sit in one void and
relax into the same minimum, so an NEB between two of them has no barrier (it is flagged, but the real
hops are then missing), while a candidate on a saddle (the hexagonal site in Si) is not a site at all.

Here one Li is put at a representative of each candidate orbit in a fixed supercell and relaxed at fixed
cell with the calculator, after a small seeded rattle of the Li; the curvature of the Li's own force-
constant block is then checked, and a Li left on a saddle (held there by symmetry: the hexagonal site of
Si) is pushed along the negative-curvature direction and relaxed again. Relaxed positions are taken relative to the
host (its mean drift removed) and
folded into the unit cell; going up in energy, a relaxed site within ``merge_tol_A`` of a symmetry image
of an already kept site is merged into it; a kept site is snapped onto its special position and expanded
into its full orbit. The result lists every candidate (where it went, its energy) and the full site list
for ``enumerate_li_hops(..., interstitial_sites=...)``.

Written by hand: pymatgen-analysis-defects' interstitial generators are geometric (charge density or
Voronoi) and atomate2's defect flows are VASP supercell workflows; neither relaxes candidates with an
arbitrary ASE calculator and merges the ones that collapse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jobflow import job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, ase_calculator, check_calculator
from interchem.errors import HopError
from interchem.structures.hops import (
    find_interstitial_sites,
    periodic_within,
    snap_to_special_position,
    supercell_scaling,
    symmetry_operations_frac,
    symmetry_orbit,
)


class InterstitialSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supercell_min_length: float = Field(default=8.0, gt=0, description="A; the Li and its images kept apart")
    fmax: float = Field(default=0.05, gt=0, description="eV/A, fixed-cell relaxation")
    steps: int = Field(default=300, gt=0)
    merge_tol_A: float = Field(default=0.5, gt=0, description="relaxed sites closer than this are one site")
    rattle_A: float = Field(default=0.05, ge=0, description="seeded random displacement of the Li before relaxing")
    seed: int = 0
    symprec: float = 0.1


class InterstitialCandidate(BaseModel):
    orbit: int
    multiplicity: int
    start_frac: list[float]
    relaxed_frac: list[float]
    displacement_A: float  # how far the Li moved from the candidate (host drift removed)
    energy_eV: float  # supercell + Li, relaxed
    relative_energy_eV: float = 0.0  # above the lowest candidate
    converged: bool
    saddle_escapes: int = 0  # times the Li was found on a saddle (negative curvature) and pushed off
    kept_as: int | None = None  # index into ``InterstitialSites.minima`` of the minimum it relaxed into


class InterstitialSites(BaseModel):
    """Candidates, where they relaxed, and the distinct minima with their full orbits."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    formula: str
    calculator: dict[str, Any]
    level_of_theory: str
    settings: dict[str, Any]
    supercell: list[int]
    candidates: list[InterstitialCandidate]
    minima: list[dict[str, Any]]  # frac (snapped), relative_energy_eV, multiplicity, from candidate orbits
    sites_frac: list[list[float]]  # every site of every minimum's orbit, for enumerate_li_hops

    @property
    def sites(self) -> np.ndarray:
        return np.array(self.sites_frac, float).reshape(-1, 3)


def _li_curvature(atoms, index: int, delta: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (eV/A^2) and eigenvectors of the moving atom's own 3x3 force-constant block, by central
    differences of its force with the host frozen (6 single points)."""
    x0 = atoms.positions[index].copy()
    h = np.zeros((3, 3))
    for k in range(3):
        f = []
        for sign in (1.0, -1.0):
            atoms.positions[index] = x0 + sign * delta * np.eye(3)[k]
            f.append(atoms.get_forces()[index])
        h[k] = -(f[0] - f[1]) / (2 * delta)
    atoms.positions[index] = x0
    return np.linalg.eigh(0.5 * (h + h.T))


def _relax_to_minimum(atoms, settings: InterstitialSettings, max_escapes: int = 3) -> tuple[bool, int]:
    """Fixed-cell FIRE, then a curvature check of the Li (last atom): a candidate held on a saddle by
    symmetry (the hexagonal site of Si) relaxes nowhere from a small rattle, because the force there is
    below fmax; it is pushed 0.3 A along the negative-curvature direction and relaxed again."""
    from ase.optimize import FIRE

    escapes = 0
    while True:
        converged = bool(FIRE(atoms, logfile=None).run(fmax=settings.fmax, steps=settings.steps))
        values, vectors = _li_curvature(atoms, len(atoms) - 1)
        if values[0] > -0.05 or escapes >= max_escapes:
            return converged, escapes
        atoms.positions[-1] += 0.3 * vectors[:, 0]
        escapes += 1


def relax_interstitial_sites(
    structure: Structure,
    calculator: CalculatorSpec | str | dict,
    settings: InterstitialSettings | dict | None = None,
    species: str = "Li",
) -> InterstitialSites:
    """Relax one ``species`` atom from each candidate orbit and merge the candidates that share a minimum."""
    # Long by intent (~80 lines): one loop over candidate orbits that relaxes and merges in place.
    from pymatgen.io.ase import AseAtomsAdaptor

    spec = CalculatorSpec.parse(calculator)
    settings = InterstitialSettings.model_validate(settings or {})
    backend = check_calculator(
        spec, {el.symbol for el in structure.composition} | {species}, context="interstitial sites"
    )
    if backend.make_ase_calculator is None:
        raise HopError(f"calculator {spec.name!r} has no ASE calculator to relax interstitial sites with")
    sites, orbit_of = find_interstitial_sites(structure, symprec=settings.symprec, return_orbits=True)
    if not len(sites):
        raise HopError(f"no interstitial candidates in {structure.composition.reduced_formula}")
    lattice = structure.lattice
    ops = symmetry_operations_frac(structure, settings.symprec)
    scaling = supercell_scaling(structure, settings.supercell_min_length)
    host = structure.copy()
    host.make_supercell(np.diag(scaling))
    n = np.array(scaling, float)
    calc = ase_calculator(spec)
    rng = np.random.default_rng(settings.seed)

    candidates: list[InterstitialCandidate] = []
    for orbit in range(int(orbit_of.max()) + 1):
        members = np.flatnonzero(orbit_of == orbit)
        p = sites[members[0]]
        cell = host.copy()
        cell.append(species, p / n)
        atoms = AseAtomsAdaptor.get_atoms(cell)
        start = atoms.get_positions().copy()
        atoms.positions[-1] += rng.normal(size=3) * settings.rattle_A / np.sqrt(3)
        atoms.calc = calc
        converged, unstable = _relax_to_minimum(atoms, settings)
        energy = float(atoms.get_potential_energy())
        # Displacements by the minimum image in the supercell; the host's mean drift is not the Li's move.
        disp = atoms.get_positions() - start
        frac_disp = np.linalg.solve(atoms.cell.array.T, disp.T).T
        frac_disp -= np.rint(frac_disp)
        disp = frac_disp @ atoms.cell.array
        li_move = disp[-1] - disp[:-1].mean(axis=0)
        relaxed = (p + lattice.get_fractional_coords(li_move)) % 1.0
        candidates.append(
            InterstitialCandidate(
                orbit=orbit,
                multiplicity=len(members),
                start_frac=p.tolist(),
                relaxed_frac=relaxed.tolist(),
                displacement_A=float(np.linalg.norm(li_move)),
                energy_eV=energy,
                converged=converged,
                saddle_escapes=unstable,
            )
        )

    e_min = min(c.energy_eV for c in candidates)
    minima: list[dict[str, Any]] = []
    orbits: list[list[np.ndarray]] = []
    for c in sorted(candidates, key=lambda c: c.energy_eV):
        c.relative_energy_eV = c.energy_eV - e_min
        r = np.array(c.relaxed_frac)
        home = next(
            (k for k, orb in enumerate(orbits) if periodic_within(lattice, r, np.array(orb), settings.merge_tol_A)),
            None,
        )
        if home is None:
            snapped = snap_to_special_position(r, lattice, ops, settings.merge_tol_A)
            orbits.append(symmetry_orbit(snapped, lattice, ops, settings.merge_tol_A))
            home = len(orbits) - 1
            minima.append(
                {
                    "frac": snapped.tolist(),
                    "relative_energy_eV": c.relative_energy_eV,
                    "multiplicity": len(orbits[-1]),
                    "from_candidate_orbits": [c.orbit],
                }
            )
        else:
            minima[home]["from_candidate_orbits"].append(c.orbit)
        c.kept_as = home
    candidates.sort(key=lambda c: c.orbit)
    return InterstitialSites(
        formula=structure.composition.reduced_formula,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        settings=settings.model_dump(mode="json"),
        supercell=list(scaling),
        candidates=candidates,
        minima=minima,
        sites_frac=[q.tolist() for orb in orbits for q in orb],
    )


@job(name="interstitial sites")
def interstitial_sites_job(
    structure: Structure, calculator: dict, settings: dict, species: str = "Li"
) -> InterstitialSites:
    return relax_interstitial_sites(structure, calculator, settings, species=species)
